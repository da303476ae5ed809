"""The Ray runner: a pool of worker actors, each building the job's model once, runs the pure step
on the units; the driver commits the results in input order as they come (a bounded window of
units in flight, so a corpus never has to fit in memory).

Without an address a local Ray cluster starts for the run and stops after it. A worker killed
mid-unit is restarted and its units run again (the step is pure: nothing is written twice); if
workers keep dying the run stops with what it committed kept, and the next run resumes.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any, TypeVar

from medllm.runners.base import Job, RunStats

R = TypeVar("R")

WINDOW_PER_WORKER = 4  # units queued per worker: keeps workers busy while the driver commits
RESTARTS = 3  # per worker, before a run gives up (resumable)


class _Worker:
    """One Ray actor: builds the job's function once (the model stays loaded), then maps payloads."""

    def __init__(self, spec: Any) -> None:
        self._fn = spec.build()

    def ready(self) -> int:
        return os.getpid()

    def run(self, payload: Any) -> Any:
        return self._fn(payload)


class RayRunner:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("--runner ray needs Ray: `pip install 'medllm[ray]'` (or `pip install ray`)") from None
        if workers is not None and workers < 1:
            raise ValueError(f"--workers {workers}: give at least 1")
        if address is not None and not (address == "auto" or address.startswith(("ray://", "localhost:"))
                                         or ":" in address):
            raise ValueError(f"--ray-address {address!r}: use 'auto' (the cluster this machine is in) or "
                             "ray://HOST:10001 (a remote cluster's client port)")
        self.address = address
        self.workers = workers
        self.last: RunStats[Any] | None = None
        self.actors: list[Any] = []  # the live worker actors during a run
        self.worker_pids: list[int] = []  # their process ids (the benchmark kills one mid-run)

    def _start(self) -> bool:
        """Connect to (or start) a cluster; True when this run started it (and must stop it)."""
        import ray

        if ray.is_initialized():
            return False
        if self.address:
            ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
            return True  # disconnects the driver only; the cluster stays up
        n = self.workers or 2
        # a cluster just for this command; no dashboard, logs under Ray's temp dir, quiet driver
        # address="local": a new cluster even when another command's one runs on this machine
        ray.init(address="local", num_cpus=n, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False, configure_logging=True)
        return True

    def run(self, job: Job[Any, Any, Any, R]) -> R:
        import ray

        t0 = time.perf_counter()
        started = self._start()
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            stats: RunStats[Any] = RunStats(runner=self.name, workers=n)
            self.last = stats
            units = list(job.units())
            if not units:  # nothing left to do: the commit step only gathers the earlier totals
                report = job.commit(lambda _u: None)
                stats.wall_seconds = time.perf_counter() - t0
                return report
            spec = job.worker_spec()
            actor_cls = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(_Worker)
            self.actors = [actor_cls.remote(spec) for _ in range(min(n, len(units)))]
            self.worker_pids = ray.get([a.ready.remote() for a in self.actors])  # models loaded
            stats.startup_seconds = time.perf_counter() - t0
            window = WINDOW_PER_WORKER * len(self.actors)
            queue: deque[tuple[str, Any]] = deque()  # (unit key, object ref), in unit order
            todo = iter(units)
            rr = 0

            def top_up() -> None:
                nonlocal rr
                while len(queue) < window:
                    unit = next(todo, None)
                    if unit is None:
                        return
                    payload = job.payload(unit)
                    if payload is None:
                        continue  # unreadable: the commit step reports it
                    queue.append((job.key(unit), self.actors[rr % len(self.actors)].run.remote(payload)))
                    rr += 1
                    stats.units_sent += 1

            def results(unit: Any) -> Any:
                key = job.key(unit)
                top_up()
                while queue:
                    k, ref = queue.popleft()
                    top_up()
                    if k == key:
                        return ray.get(ref)
                return None  # not sent (unreadable, or not among units()): the job does it itself

            report = job.commit(results)
            stats.wall_seconds = time.perf_counter() - t0
            return report
        finally:
            for a in self.actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            self.actors = []
            if started:
                ray.shutdown()
