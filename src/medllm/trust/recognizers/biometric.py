"""Biometric identifiers (labelled values)."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class BiometricRecognizer(ContextPatternRecognizer):
    ENTITY = "BIOMETRIC"
    NAME = "BiometricRecognizer"
    PATTERNS = (
        NamedPattern("biometric_label", r'(?i:\b(?:fingerprint|finger\s{1,2}print|voiceprint|voice\s{1,2}print|retina(?:l)?\s{1,2}scan|iris(?:\s{1,2}scan)?|palm\s{0,2}print|biometric|facial\s{1,2}recognition)(?:\s{1,2}(?:template|hash|record|identifier|enrollment|scan))?)(?![a-z])\s{0,3}(?:number|no\.?|num\.?|#|ID)?\s{0,3}[:#=]?\s{0,3}(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.92, flags=2),
    )
