"""The runner interface: a `Job` in two steps, and a `Runner` that drives it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

U = TypeVar("U")  # a unit of work (a file, a chunk of lines)
P = TypeVar("P")  # what a worker is sent for one unit (picklable; no path it might not see)
W = TypeVar("W")  # what a worker sends back (picklable)
R = TypeVar("R", covariant=True)  # the job's report


class WorkerSpec(Protocol[P, W]):
    """Picklable recipe for the heavy, pure step: `build()` runs once per worker (it loads the
    model) and returns the function applied to each unit's payload."""

    def build(self) -> Callable[[P], W]: ...


class Job(Protocol[U, P, W, R]):
    """A batch job a runner can drive.

    `units()`: the units still to do, in output order (what an earlier run finished is left out).
    `payload(unit)`: what a worker gets for it, or None when the unit cannot be read (the commit
    step then reports it). `worker_spec()`: how a worker builds its function. `commit(results)`:
    the ordered, stateful step in the driver: writes the output atomically, resumably; it asks
    `results(unit)` for a unit's worker output (None: not precomputed, compute it here). With
    `results=None` the job runs all in this process, as it always has (the local runner)."""

    def units(self) -> Sequence[U]: ...

    def key(self, unit: U) -> str: ...

    def payload(self, unit: U) -> P | None: ...

    def worker_spec(self) -> WorkerSpec[P, W]: ...

    def commit(self, results: Callable[[U], W | None] | None) -> R: ...


@dataclass
class RunStats(Generic[U]):
    """How a run went, beside the job's own report: the runner, its workers, wall time and the
    time spent starting (a Ray cluster, the workers' models) before the first unit was done."""

    runner: str
    workers: int
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0
    units_sent: int = 0  # units handed to workers


class Runner(Protocol):
    name: str
    last: RunStats[Any] | None

    def run(self, job: Job[Any, Any, Any, R]) -> R: ...
