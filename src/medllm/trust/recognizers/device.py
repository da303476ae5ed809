"""Device serial numbers and UDIs."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class DeviceRecognizer(ContextPatternRecognizer):
    ENTITY = "DEVICE"
    NAME = "DeviceRecognizer"
    PATTERNS = (
        NamedPattern("serial_label", r'(?i:\b(?:serial|S/N|SN|device(?:\s{1,2}(?:ID|identifier))?|UDI|model/serial|lot))(?![a-z])\s{0,3}(?:number|no\.?|num\.?|#|ID)?\s{0,3}[:#=]?\s{0,3}(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.92, flags=2),
        NamedPattern("gs1_udi", r'(?P<v>\(01\)\d{14}(?:\(\d{2}\)[A-Z0-9]{1,20}){0,4})', 0.92, flags=2),
    )
