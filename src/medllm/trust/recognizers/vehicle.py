"""Vehicle identifiers: VINs and labelled licence plates."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class VehicleRecognizer(ContextPatternRecognizer):
    ENTITY = "VEHICLE"
    NAME = "VehicleRecognizer"
    PATTERNS = (
        NamedPattern("vin", r'(?P<v>\b(?=[A-HJ-NPR-Z0-9]{0,16}\d)(?=[A-HJ-NPR-Z0-9]{0,16}[A-Z])[A-HJ-NPR-Z0-9]{17})\b', 0.93, flags=2),
        NamedPattern("vin_label", r'(?i:\b(?:VIN|vehicle\s{1,2}(?:identification\s{1,2})?(?:number|no\.?|#|ID))\s{0,2}[:#]?\s{0,2})(?P<v>[A-Z0-9]{11,17})\b', 0.93, flags=2),
        NamedPattern("plate_label", r'(?i:\b(?:licen[cs]e\s{1,2}plate|plate)(?![a-z])\s{0,2}(?:number|no\.?|#)?\s{0,2}[:#]?\s{0,2})(?P<v>(?=[A-Z0-9 -]{0,12}\d)[A-Z0-9]{1,4}[- ]?[A-Z0-9]{1,4}(?:[- ]?[A-Z0-9]{1,3})?)\b', 0.93, flags=2),
    )
