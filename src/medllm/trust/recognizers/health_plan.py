"""Health plan beneficiary numbers (labelled values; the Medicare MBI shape)."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class HealthPlanRecognizer(ContextPatternRecognizer):
    ENTITY = "HEALTH_PLAN"
    NAME = "HealthPlanRecognizer"
    PATTERNS = (
        NamedPattern("plan_label", r'(?i:\b(?:member|subscriber|beneficiary|insurance|policy|plan|medicare|medicaid|MBI|HICN|group|payer)(?![a-z])\s{0,2}(?:ID|number|no\.?|#)?\s{0,2}[:#]?\s{0,2})(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.93, flags=2),
        NamedPattern("mbi", r'(?P<v>\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d{2})\b', 0.93, flags=2),
    )
