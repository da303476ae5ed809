"""Web addresses, with or without a scheme."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class PlainUrlRecognizer(ContextPatternRecognizer):
    ENTITY = "URL"
    NAME = "PlainUrlRecognizer"
    PATTERNS = (
        NamedPattern("url_scheme", r"""(?P<v>\bhttps?://[^\s<>\"')\]]{1,500}[^\s<>\"').,;\]])""", 0.95, flags=2),
        NamedPattern("url_www", r"""(?P<v>\bwww\.[^\s<>\"')\]]{1,500}[^\s<>\"').,;\]])""", 0.95, flags=2),
    )
