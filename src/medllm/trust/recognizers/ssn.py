"""Social security numbers."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class ClinicalSsnRecognizer(ContextPatternRecognizer):
    ENTITY = "SSN"
    NAME = "ClinicalSsnRecognizer"
    PATTERNS = (
        NamedPattern("ssn_label", r'(?i:\b(?:SSN|SS#|social\s{1,2}security(?:\s{1,2}(?:number|no\.?|#))?)\s{0,2}[:#]?\s{0,2})(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4})\b', 0.95, flags=2),
        NamedPattern("ssn_dashed", r'(?P<v>\b\d{3}-\d{2}-\d{4})\b', 0.95, flags=2),
    )
