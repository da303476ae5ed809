"""Any other unique identifying number, recognised by its label."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class OtherIdRecognizer(ContextPatternRecognizer):
    ENTITY = "OTHER_ID"
    NAME = "OtherIdRecognizer"
    PATTERNS = (
        NamedPattern("id_label", r'(?i:\b(?:patient|study|subject|employee|badge|passport|case|accession|specimen|claim|order|reference|ref|requisition|trial|enrollment|member|record|sample|kit|ticket|confirmation|tracking)(?![a-z])\s{0,2}(?:ID|number|no\.?|#|code)\s{0,2}[:#]?\s{0,2})(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.88, flags=2),
    )
