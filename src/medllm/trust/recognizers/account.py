"""Account numbers: the value after an account label."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class AccountRecognizer(ContextPatternRecognizer):
    ENTITY = "ACCOUNT"
    NAME = "AccountRecognizer"
    PATTERNS = (
        NamedPattern("account_label", r'(?i:\b(?:account|acct|billing|invoice|encounter|visit|financial|FIN|CSN|bank)(?:\s{1,2}account)?)(?![a-z])\s{0,3}(?:number|no\.?|num\.?|#|ID)?\s{0,3}[:#=]?\s{0,3}(?P<v>(?=[A-Z0-9-]{0,25}\d)[A-Z0-9][A-Z0-9-]{3,24}[A-Z0-9])', 0.92, flags=2),
    )
