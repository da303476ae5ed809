"""The local runner: the job's own in-process path (resumable, atomic, one bad unit never sinks
the batch), timed."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from medllm.runners.base import Job, RunStats

R = TypeVar("R")


class LocalRunner:
    name = "local"

    def __init__(self) -> None:
        self.last: RunStats[Any] | None = None

    def run(self, job: Job[Any, Any, Any, R]) -> R:
        t0 = time.perf_counter()
        report = job.commit(None)
        self.last = RunStats(runner=self.name, workers=1, wall_seconds=time.perf_counter() - t0)
        return report
