"""Telephone and pager numbers. Five-digit in-house pager/beeper numbers need a pager word
nearby: the same digits are platelet counts and times elsewhere."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern

_PAGER = frozenset("beeper beep bpr pager page pg pgr paged phone ph tel cell home work office "
                   "contact call reached number no telephone mobile cellphone ext extension reach "
                   "called".split())


class ClinicalPhoneRecognizer(ContextPatternRecognizer):
    ENTITY = "PHONE"
    NAME = "ClinicalPhoneRecognizer"
    PATTERNS = (
        NamedPattern("us_number", r"(?<![\d.])(?P<v>(?:\+?1[\s.-])?\(?\d{3}\)?[\s./-]{0,2}\d{3}[\s.-]\d{4}"
                     r"(?:\s{0,2}(?:x|ext\.?)\s{0,2}\d{1,5})?)(?!\d|\.\d)", 0.8, flags=2),
        NamedPattern("glued_number", r"(?<![\d.])(?P<v>\(?\d{6}-\d{4}\)?)(?!\d|\.\d)", 0.6),
        NamedPattern("pager", r"(?<![\d./:-])(?P<v>\d{5})(?!\d|[./:]\d|\s?(?:mg|ml|cc|units?)\b)", 0.1,
                     context=_PAGER, window=(3, 0)),
        NamedPattern("spaced_number", r"(?<![\d.])(?P<v>\d{3}\s\d{3}\s\d{4,5})(?!\d|\.\d)", 0.7),
        # a pager or extension word right before the digits: "pgr #4-1234", "ext. 5678"
        NamedPattern("pager_word", r"(?i:\b(?:(?:pager|pgr|pg|page|beeper|bpr|beep|ext|extension)\.?[ \t]{0,2}"
                     r"(?:#|no\.?|num(?:ber)?)?[ \t]{0,2}:?[ \t]{0,2}))(?P<v>\d{1,2}-\d{4,5}|\d{4,6})"
                     r"(?!\d|[./:]\d|\s?(?:mg|ml|cc|mcg|units?|l|hrs?|kg|%))", 0.6),
        # an in-house extension with a leading x or a dash, near a calling word: "x4-5678", "call 7-1234"
        NamedPattern("x_extension", r"(?<![\w.])x[ \t]?(?P<v>\d{1,2}-\d{4}|\d{4,5})(?!\d|[./:]\d)", 0.1,
                     context=_PAGER, window=(3, 0)),
        NamedPattern("dash_extension", r"(?<![\d./:-])(?P<v>\d{1,2}-\d{4})(?![\d/:-]|\.\d|\s?(?:mg|ml|cc|mcg|"
                     r"units?|l|hrs?|kg|%)\b)", 0.1, context=_PAGER, window=(3, 0)),
        NamedPattern("bare_ten", r"(?<![\d.])(?P<v>\d{10})(?!\d|\.\d)", 0.1, context=_PAGER, window=(3, 0)),
        NamedPattern("exchange_number", r"(?<![\d.])(?P<v>\d{3}[\s.-]\d{4})(?!\d|\.\d)", 0.2,
                     context=_PAGER, window=(3, 0)),
    )
