"""IP addresses. Four dotted numbers are also blood gases and lab strings ("7.45.34.7"), so a
bare IPv4 address needs a network word nearby; IPv6 is unambiguous."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_NET = frozenset("ip address addr host server connected login logged from via vpn network".split())


class ClinicalIpRecognizer(ContextPatternRecognizer):
    ENTITY = "IP"
    NAME = "ClinicalIpRecognizer"
    PATTERNS = (
        NamedPattern("ipv4", rf"(?<![\d./])(?P<v>{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})(?![\d/]|\.\d)", 0.2,
                     context=_NET, window=(3, 1)),
        NamedPattern("ipv6", r"(?<![\w:])(?P<v>(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4})(?![\w:])", 0.9, flags=2),
    )
