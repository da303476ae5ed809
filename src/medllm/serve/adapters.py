"""Thin adapters from the trust library to the service's records: the one place to follow when
the de-identification or triage functions change shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from medllm.types import Flag


class MaskedSpan(BaseModel):
    """Where PHI was found in the submitted text; the text itself is not sent back (the caller
    has it), nor kept."""

    start: int
    end: int
    label: str


class DeidResult(BaseModel):
    text: str
    mode: str
    counts: dict[str, int] = Field(default_factory=dict)
    spans: list[MaskedSpan] = Field(default_factory=list)


class TriageResult(BaseModel):
    level: str  # emergency | urgent | routine
    refuse: bool = False
    flags: list[Flag] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)  # what the classifier adds (scores, stage ...)


def deidentify(deidentifier: Any, text: str, mode: str) -> DeidResult:
    """De-identify one text in a fresh PHI session (no vault: nothing is kept on disk)."""
    from medllm.trust.privacy import PhiSession

    res = deidentifier.deidentify(text, PhiSession(), mode)
    return DeidResult(text=res.text, mode=mode, counts=dict(res.counts),
                      spans=[MaskedSpan(start=s.start, end=s.end, label=s.label) for s in res.spans])


def triage(triager: Any, text: str) -> TriageResult:
    """The safety triage the ask pipeline runs (`medllm.trust.triage.Triager`: classifier, judge
    in the uncertain band, rules as overrides)."""
    from medllm.trust import safety

    text = text.strip()
    if not text:
        raise ValueError("the message is empty; give the text to triage")
    d = triager.decide(text)
    detail = {k: getattr(d, k, None) for k in ("category", "stage", "p_emergency", "p_harmful", "at_risk")}
    return TriageResult(level=d.level, refuse=bool(d.refuse), flags=safety.decision_flags(d),
                        detail={k: v for k, v in detail.items() if _plain(v)})


def _plain(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, type(None), list, dict))
