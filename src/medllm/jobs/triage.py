"""The triage job: the safety decision for a message, by the session's triager (its settings'
thresholds and judge)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medllm.trust.triage import TriageDecision

if TYPE_CHECKING:
    from medllm.session import Session


@dataclass(frozen=True)
class TriageRequest:
    """One message; `judge`: "probe", a llamacpp: model spec or "off" (default: the session's
    `triage_judge` setting)."""

    text: str
    judge: str | None = None


def triage(session: Session, req: TriageRequest) -> TriageDecision:
    """Level (emergency / urgent / routine), refusal, category, reason and advice."""
    text = req.text.strip()
    if not text:
        raise ValueError("the message is empty; give the text to triage")
    return session.triager(req.judge).decide(text)


def triage_many(session: Session, texts: Sequence[str], judge: str | None = None) -> list[TriageDecision]:
    """Decisions for `texts` in one batch through the encoder (what the batch runners send)."""
    return session.triager(judge).decide_many(list(texts))
