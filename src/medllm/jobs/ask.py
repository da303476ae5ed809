"""The ask job: one question through the main pipeline (triage, privacy gate, strategy,
checks, audit) on a session's model and knowledge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medllm.models.base import GenParams
from medllm.types import Answer

if TYPE_CHECKING:
    from medllm.session import Session


@dataclass(frozen=True)
class AskRequest:
    """One question. `options`: multiple-choice options (text or list); `strategy`/`params`:
    default the session's; `client`: an API key's id for the audit record; `k`: passages rag
    shows; `decision`: the question's triage decision when the caller already has it; `gate`: a
    privacy gate from `session.new_gate()` (default: a fresh one when the session is gated)."""

    question: str
    options: str | Sequence[str] | None = None
    strategy: str | None = None
    params: GenParams | None = None
    client: str | None = None
    k: int = 5
    decision: Any = None
    gate: Any = None


def ask(session: Session, req: AskRequest, *, on_token: Callable[[str], None] | None = None) -> Answer:
    """The `Answer` to `req.question`; `on_token` receives the text as it is written."""
    return session.ask(req.question, options=req.options, strategy=req.strategy, params=req.params,
                       on_token=on_token, client=req.client, k=req.k, decision=req.decision, gate=req.gate)
