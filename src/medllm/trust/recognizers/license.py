"""Certificate and licence numbers (labelled values; the DEA shape)."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class LicenseRecognizer(ContextPatternRecognizer):
    ENTITY = "LICENSE"
    NAME = "LicenseRecognizer"
    PATTERNS = (
        NamedPattern("license_label", "(?i:\\b(?:licen[cs]e|DEA|NPI|certificate|cert\\.?|DL|driver'?s\\s{1,2}licen[cs]e|board\\s{1,2}cert\\w{0,10}|registration|permit))(?![a-z])\\s{0,3}(?:number|no\\.?|num\\.?|#|ID)?\\s{0,3}[:#=]?\\s{0,3}(?P<v>(?=[A-Z0-9-]{0,25}\\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])", 0.9, flags=2),
        NamedPattern("dea", r'(?P<v>\b[ABFGMPRX][A-Z]\d{7})\b', 0.9, flags=2),
    )
