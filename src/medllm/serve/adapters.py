"""Thin adapters from the jobs' records to the service's: the one place to follow when the
de-identification or triage records change shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from medllm.jobs.deid import DeidResult, MaskedSpan
from medllm.types import Flag

__all__ = ["DeidResult", "MaskedSpan", "TriageResult", "triage_result"]


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


def triage_result(d: Any) -> TriageResult:
    """The service's record of a triage decision (`medllm.jobs.triage`)."""
    from medllm.trust import safety

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
