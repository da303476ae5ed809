"""Medical record numbers: the value after an MRN label."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class MrnRecognizer(ContextPatternRecognizer):
    ENTITY = "MRN"
    NAME = "MrnRecognizer"
    PATTERNS = (
        NamedPattern("mrn_label", r'(?i:\b(?:MRN|MR#|medical\s{1,2}record|med\s{1,2}rec|chart|hospital\s{1,2}(?:number|no)|unit\s{1,2}(?:number|no)))(?![a-z])\s{0,3}(?:number|no\.?|num\.?|#|ID)?\s{0,3}[:#=]?\s{0,3}(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.95, flags=2),
    )
