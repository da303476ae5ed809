"""Ages over 89 (Safe Harbor folds them into one "90 or older" category)."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern

_AGE = frozenset("age aged yo old years year yrs yr".split())


class AgeOver89Recognizer(ContextPatternRecognizer):
    ENTITY = "AGE"
    NAME = "AgeOver89Recognizer"
    PATTERNS = (
        NamedPattern("age_years_old", r"(?P<v>\b(?:9\d|1[01]\d))(?=\s{0,2}-?\s{0,2}(?:years?|yrs?|y)[-\s]{0,2}"
                     r"(?:old|o\b|/o)|\s{0,2}(?:yo|y/o|y\.o\.|yof|yom)\b)", 0.9, flags=2),
        NamedPattern("age_label", r"(?i:\b(?:age|aged)\s{0,2}:?\s{0,2})(?P<v>(?:9\d|1[01]\d))\b", 0.9),
        NamedPattern("age_sex", r"(?P<v>\b(?:9\d|1[01]\d))(?=\s?(?:M|F)\b)", 0.2, context=_AGE, window=(2, 2)),
    )
