"""The de-identification job: one text with its PHI replaced, in a fresh PHI session (no vault:
nothing is kept on disk), by the session's de-identifier (with its site lexicon)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from medllm.session import Session


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


@dataclass(frozen=True)
class DeidRequest:
    """`mode`: redact | tag | surrogate | shift (dates only)."""

    text: str
    mode: str = "surrogate"


def deid(session: Session, req: DeidRequest) -> DeidResult:
    """The text de-identified, with per-category counts and where the PHI was."""
    from medllm.trust.privacy import PhiSession

    res = session.deidentifier().deidentify(req.text, PhiSession(), req.mode)
    return DeidResult(text=res.text, mode=req.mode, counts=dict(res.counts),
                      spans=[MaskedSpan(start=s.start, end=s.end, label=s.label) for s in res.spans])
