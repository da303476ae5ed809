"""The generation job: a visit's note, a section of it, or a question's summary, behind the
session's privacy gate and recorded in its audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from medllm.models.base import GenParams
from medllm.tasks.gen.pipeline import Job
from medllm.types import Answer

if TYPE_CHECKING:
    from medllm.session import Session


@dataclass(frozen=True)
class GenerateRequest:
    """`job`: "note" (visit conversation -> note), "summary" (consumer question -> short
    question) or "section" (snippet -> the section named by `header`)."""

    job: Job
    text: str
    header: str = "GENHX"
    params: GenParams | None = None
    client: str | None = None


def generate(session: Session, req: GenerateRequest) -> Answer:
    """An `Answer` whose text is the generated document."""
    from medllm.tasks.gen.pipeline import generate as run

    return run(session, req.job, req.text, header=req.header, params=req.params, client=req.client)
