"""The evaluation job: a `medllm eval` run (resumable; stored in the session's results store)
with the session's settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medllm.eval.runner import EvalConfig, RunResult
from medllm.types import Question

if TYPE_CHECKING:
    from medllm.session import Session


@dataclass(frozen=True)
class EvalRequest:
    """`config`: what to evaluate; `out_dir`: the run folder (default $MEDLLM_HOME/runs/ID);
    `dataset`: items already loaded (default: read `config.dataset`); `reidentify`: behind the
    privacy gate, record answers re-identified."""

    config: EvalConfig
    out_dir: Path | None = None
    dataset: Any = None
    reidentify: bool = False


def evaluate(session: Session, req: EvalRequest, *,
             progress: Callable[[int, int], None] | None = None,
             results: Callable[[list[Question]], list[dict[str, Any]] | None] | None = None) -> RunResult:
    """Run (or resume) the evaluation. The session's model answers when it has one and it is the
    model the config names; else the config's model is opened with the session's settings.
    `results`: the records of a chunk of items computed by a runner's workers (`run_eval`)."""
    from medllm.eval.runner import run_eval

    model = session.model if session.model is not None and session.model.info.spec == req.config.model else None
    return run_eval(req.config, model=model, out_dir=req.out_dir, settings=session.settings, progress=progress,
                    dataset=req.dataset, reidentify=req.reidentify, results=results)
