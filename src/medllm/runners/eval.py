"""`medllm eval` as a runner job: workers (one model each, opened from the run's config and the
driver's settings, or one item-task predictor) answer chunks of `EVAL_CHUNK` items; the driver
writes their records to `predictions.jsonl` in item order, resumably, then the summary and the
results store, as the local runner does. Records equal the local runner's except `latency`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medllm.eval.runner import EvalConfig, EvalPlan, EvalWorkerSpec, RunResult, plan_eval
from medllm.types import Question

Unit = tuple[str, ...]  # the ids of one chunk of pending items


@dataclass
class EvalJob:
    """Evaluate `config` into `out_dir` (default $MEDLLM_HOME/runs/RUN-ID) with `session`'s
    settings (default: a session of the configured settings)."""

    config: EvalConfig
    out_dir: Path | None = None
    reidentify: bool = False
    progress: Callable[[int, int], None] | None = None
    session: Any = None
    dataset: Any = None
    _plan: EvalPlan | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.session is None:
            from medllm.session import Session

            self.session = Session.configure()

    def plan(self) -> EvalPlan:
        if self._plan is None:
            self._plan = plan_eval(self.config, out_dir=self.out_dir, settings=self.session.settings,
                                   dataset=self.dataset)
        return self._plan

    def units(self) -> list[Unit]:
        return [tuple(q.id for q in c) for c in self.plan().chunks()]

    def key(self, unit: Unit) -> str:
        return hashlib.blake2b("\x00".join(unit).encode(), digest_size=12).hexdigest()

    def payload(self, unit: Unit) -> list[Question]:
        by_id = {q.id: q for q in self.plan().pending}
        return [by_id[i] for i in unit]

    def worker_spec(self) -> EvalWorkerSpec:
        p = self.plan()
        return EvalWorkerSpec(self.config, p.settings, p.shots, self.reidentify)

    def commit(self, results: Callable[[Unit], list[dict[str, Any]] | None] | None) -> RunResult:
        from medllm.jobs import EvalRequest, evaluate

        req = EvalRequest(self.config, out_dir=self.out_dir, dataset=self.dataset, reidentify=self.reidentify)
        if results is None:
            return evaluate(self.session, req, progress=self.progress)
        return evaluate(self.session, req, progress=self.progress,
                        results=lambda chunk: results(tuple(q.id for q in chunk)))
