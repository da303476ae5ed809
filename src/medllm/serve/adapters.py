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
    """The triage decision as the service shows it. `reason`, `findings`, `rule` and `intent`
    come from the decision record when it has them (its `to_dict()`), so new fields of the
    record show up here without a change."""

    level: str  # emergency | urgent | routine
    refuse: bool = False
    reason: str = ""  # why, in our words (never the input)
    advice: str = ""
    findings: list[dict[str, Any]] = Field(default_factory=list)  # present findings: text, concept, assertion
    rule: Any = None  # the red-flag table row that matched, if any
    intent: Any = None
    flags: list[Flag] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)  # the rest of the record (scores, stage ...)


def deidentify(deidentifier: Any, text: str, mode: str) -> DeidResult:
    """De-identify one text in a fresh PHI session (no vault: nothing is kept on disk)."""
    from medllm.trust.privacy import PhiSession

    res = deidentifier.deidentify(text, PhiSession(), mode)
    return DeidResult(text=res.text, mode=mode, counts=dict(res.counts),
                      spans=[MaskedSpan(start=s.start, end=s.end, label=s.label) for s in res.spans])


def triage(triager: Any, text: str) -> TriageResult:
    """The safety triage the ask pipeline runs (`medllm.trust.triage.Triager`)."""
    from medllm.trust import safety

    text = text.strip()
    if not text:
        raise ValueError("the message is empty; give the text to triage")
    d = triager.decide(text)
    record = _jsonable(d.to_dict() if hasattr(d, "to_dict") else dict(vars(d)))
    if not isinstance(record, dict):
        record = {}
    findings = record.pop("findings", None)
    rule = record.pop("rule", None)
    top = {k: record.pop(k, None) for k in ("level", "refuse", "reason", "advice", "intent")}
    inner = record.pop("detail", None)
    detail = {k: v for k, v in record.items() if v is not None}
    if isinstance(inner, dict):
        detail.update({k: v for k, v in inner.items() if k not in detail and _plain(v)})
    return TriageResult(level=str(top["level"] or d.level), refuse=bool(top["refuse"]), reason=str(top["reason"] or ""),
                        advice=str(top["advice"] or ""),
                        findings=[f if isinstance(f, dict) else {"text": str(f)} for f in (findings or [])],
                        rule=rule, intent=top["intent"], flags=safety.decision_flags(d), detail=detail)


def _jsonable(v: Any) -> Any:
    """Plain JSON values (enums, paths, sets and records become strings or lists)."""
    import json

    return json.loads(json.dumps(v, default=lambda o: o.value if hasattr(o, "value") else
                                 (sorted(o, key=str) if isinstance(o, (set, frozenset)) else str(o))))


def _plain(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool, type(None), list, dict))
