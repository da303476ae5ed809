"""Telephone and pager numbers. Five-digit in-house pager/beeper numbers need a pager word
nearby: the same digits are platelet counts and times elsewhere."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern

_PAGER = frozenset("beeper beep bpr pager page pg pgr paged phone ph tel cell home work office "
                   "contact call reached number no".split())


class ClinicalPhoneRecognizer(ContextPatternRecognizer):
    ENTITY = "PHONE"
    NAME = "ClinicalPhoneRecognizer"
    PATTERNS = (
        NamedPattern("us_number", r"(?<![\d.])(?P<v>(?:\+?1[\s.-])?\(?\d{3}\)?[\s.-]{0,2}\d{3}[\s.-]\d{4}"
                     r"(?:\s{0,2}(?:x|ext\.?)\s{0,2}\d{1,5})?)(?!\d|\.\d)", 0.8, flags=2),
        NamedPattern("glued_number", r"(?<![\d.])(?P<v>\(?\d{6}-\d{4}\)?)(?!\d|\.\d)", 0.6),
        NamedPattern("pager", r"(?<![\d./:-])(?P<v>\d{5})(?!\d|[./:]\d|\s?(?:mg|ml|cc|units?)\b)", 0.1,
                     context=_PAGER, window=(3, 0)),
        NamedPattern("spaced_number", r"(?<![\d.])(?P<v>\d{3}\s\d{3}\s\d{4,5})(?!\d|\.\d)", 0.7),
        NamedPattern("exchange_number", r"(?<![\d.])(?P<v>\d{3}[\s.-]\d{4})(?!\d|\.\d)", 0.2,
                     context=_PAGER, window=(3, 0)),
    )
