"""Fax numbers, told apart from phones by their label."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class FaxRecognizer(ContextPatternRecognizer):
    ENTITY = "FAX"
    NAME = "FaxRecognizer"
    PATTERNS = (
        NamedPattern("fax_label", r'(?i:\bfax(?:\s{0,2}(?:number|no\.?|#))?\s{0,2}[:#]?\s{0,2})(?P<v>(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4})', 0.97, flags=2),
    )
