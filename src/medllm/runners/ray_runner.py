"""The Ray runner: Ray Data over the job's pure step, one model per worker, the commit in order.

The pending units are the rows of a Ray Data dataset, in shards (one read task and one block per
shard of up to `SHARD_MAX` units). `map_batches` runs `_Step`, a callable class, on an actor pool
(`ActorPoolStrategy(size=workers)`, one CPU each): each actor builds the job's function once (the
model stays loaded) and maps a shard's payloads. The rows come out in input order
(`execution_options.preserve_order`) and go to the job's own `commit(results)`, so the local and
the Ray runner write the same bytes and resume from the same ledger.

Streaming: the payloads never all sit in memory. The driver reads a unit's payload
(`job.payload`, in unit order, once each) only when the commit step is within a window of shards
(`WINDOW_SHARDS` per worker) of it, and puts it in a small `_Feed` actor; a shard's read task (no
CPU, one at a time) waits there for its payloads, so only reads wait on the driver, never a
worker. The feed drops payloads the driver has taken the results of. The feed also holds the
workers' process ids (`RayRunner.worker_pids`: the benchmark kills one mid-run).

A worker killed mid-shard: its actor is restarted (the model built again) and Ray Data reruns the
shard on it (`RESTARTS` restarts per actor, retries per shard). The step is pure and the driver
writes a unit only when it commits it, in order, so nothing is written twice; if workers keep
dying the run stops with what it committed kept, and the next run resumes from the job's ledger.

Without an address a local Ray cluster starts for the run and stops after it.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from medllm.runners.base import Job, RunStats

R = TypeVar("R")

SHARD_MAX = 16  # units per shard (one Ray Data batch): fewer tasks, but more redone after a kill
MAX_SHARDS = 20_000  # read tasks in one run (each is a small object in the driver)
WINDOW_SHARDS = 4  # shards per worker read ahead of the commit step (payloads in the feed)
RESTARTS = 3  # per worker actor, and retries per shard, before a run gives up (resumable)


class _Feed:
    """The driver's payloads (pickled) for the shards in flight, and the workers' process ids.

    An async actor: `take` waits until the driver has put a shard's payloads (the driver puts them
    when the commit step nears the shard). Payloads stay until the driver `release`s them, so a
    read that is retried finds them again."""

    def __init__(self) -> None:
        import asyncio

        self._payloads: dict[int, Any] = {}
        self._cond = asyncio.Condition()
        self._pids: dict[str, int] = {}  # actor id -> pid of its current process
        self._ready: list[float] = []  # time.time() when each worker process had built its model

    async def put(self, items: list[tuple[int, Any]]) -> None:
        async with self._cond:
            self._payloads.update(items)
            self._cond.notify_all()

    async def take(self, ids: list[int]) -> list[Any]:
        async with self._cond:
            await self._cond.wait_for(lambda: all(i in self._payloads for i in ids))
            return [self._payloads[i] for i in ids]

    def release(self, below: int) -> None:
        for i in [i for i in self._payloads if i < below]:
            del self._payloads[i]

    def register(self, actor_id: str, pid: int) -> None:
        self._pids[actor_id] = pid
        self._ready.append(time.time())

    def pids(self) -> list[int]:
        return list(self._pids.values())

    def ready_times(self) -> list[float]:
        return list(self._ready)


def _shards(total: int, shard: int, feed: Any) -> Any:
    """A Ray Data datasource of the pending units' payloads: one read task, and one block, per
    shard of `shard` positions, with columns `id` (the position) and `payload` (pickled). A read
    task waits in the feed until the driver has put its shard's payloads: it is a read that waits
    for the commit step, never a worker, so a worker never holds its CPU idle. Its tasks take no
    CPU (the workers hold the cluster's CPUs; a read that waited for one would wait forever) and
    run one at a time, in order."""
    import numpy as np
    import pyarrow as pa
    import ray
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    def read(start: int, stop: int) -> Iterator[Any]:
        ids = list(range(start, stop))
        payloads = ray.get(feed.take.remote(ids))
        yield pa.table({"id": np.asarray(ids, dtype=np.int64), "payload": pa.array(payloads, type=pa.binary())})

    class Shards(Datasource):
        def estimate_inmemory_data_size(self) -> None:
            return None

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                           data_context: Any = None) -> list[Any]:
            tasks = []
            for start in range(0, total, shard):
                stop = min(total, start + shard)
                meta = BlockMetadata(num_rows=stop - start, size_bytes=None, input_files=None, exec_stats=None)
                tasks.append(ReadTask(lambda a=start, b=stop: read(a, b), meta, per_task_row_limit=per_task_row_limit))
            return tasks

    return Shards()


class _Step:
    """Ray Data's callable class: one per worker actor; builds the job's function once."""

    def __init__(self, spec: list[Any], feed: Any) -> None:
        import ray

        # the spec comes as [ObjectRef] that the driver holds for the run, so a restarted actor
        # finds it again (Ray warns that a large constructor argument may be gone by then)
        self._fn = ray.get(spec[0]).build()
        ray.get(feed.register.remote(ray.get_runtime_context().get_actor_id(), os.getpid()))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        from ray import cloudpickle

        out = []
        for b in batch["payload"]:
            p = cloudpickle.loads(b)
            out.append(cloudpickle.dumps(None if p is None else self._fn(p)))  # unpickled in the driver
        return {"id": batch["id"], "out": np.asarray(out, dtype=object)}


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
        self._feed: Any = None  # the run's `_Feed` actor, while a run is on

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the run's worker actors that have built their model (a restarted
        actor's new process replaces its old one); [] outside a run. The benchmark kills one."""
        import ray

        feed = self._feed
        if feed is None:
            return []
        try:
            return ray.get(feed.pids.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - the run ended meanwhile
            return []

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

        t0, wall0 = time.perf_counter(), time.time()
        started = self._start()
        import ray.data  # configures its logger on import

        # Ray Data's progress lines stay in its log file (the session's logs/ray-data.log), out of a
        # command's output: its console handlers show errors only during the run
        consoles = [(h, h.level) for h in logging.getLogger("ray.data").handlers
                    if not isinstance(h, logging.FileHandler)]
        for h, _ in consoles:
            h.setLevel(logging.ERROR)
        try:
            n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            stats: RunStats[Any] = RunStats(runner=self.name, workers=n)
            self.last = stats
            units = job.units()
            if not len(units):  # nothing left to do: the commit step only gathers the earlier totals
                report = job.commit(lambda _u: None)
                stats.wall_seconds = time.perf_counter() - t0
                return report
            self._feed = ray.remote(num_cpus=0, max_concurrency=64)(_Feed).remote()
            rows, close = self._rows(job, units, n, stats)
            try:
                report = job.commit(rows)
                ready = ray.get(self._feed.ready_times.remote())[:n]
            except BaseException:
                # the commit stopped with rows unread: the feed goes first, so a read waiting in it
                # fails instead of holding up the dataset's shutdown
                ray.kill(self._feed)
                raise
            finally:
                close()  # stops the dataset's execution (its actors) if the commit left rows unread
            stats.wall_seconds = time.perf_counter() - t0
            stats.startup_seconds = max(0.0, (max(ready) if ready else wall0) - wall0)
            return report
        finally:
            if self._feed is not None:
                try:
                    ray.kill(self._feed)
                except Exception:  # noqa: BLE001 - already gone
                    pass
                self._feed = None
            for h, lvl in consoles:
                h.setLevel(lvl)
            if started:
                ray.shutdown()

    def _rows(self, job: Job[Any, Any, Any, Any], units: Any, n: int,
              stats: RunStats[Any]) -> tuple[Callable[[Any], Any], Callable[[], None]]:
        """The commit step's `results` (a unit's worker output, read from the dataset in order), and
        a function that stops the dataset's execution."""
        import ray
        import ray.data
        from ray import cloudpickle

        total = len(units)
        # shards of up to SHARD_MAX units (more for a huge run: at most ~MAX_SHARDS read tasks), and
        # at least WINDOW_SHARDS of them per worker
        shard = max(1, min(max(SHARD_MAX, total // MAX_SHARDS), total // (n * WINDOW_SHARDS)))
        window = shard * n * WINDOW_SHARDS
        keys: dict[int, str] = {}  # position -> key, for the positions read and not yet taken
        fed = 0  # positions whose payload is in the feed
        feed = self._feed
        spec = ray.put(job.worker_spec())  # held by this closure (close() drops it) for the run

        def top_up(upto: int) -> None:
            """Feed the payloads up to position `upto` (rounded up to a whole shard)."""
            nonlocal fed
            upto = min(total, -(-upto // shard) * shard)
            batch: list[tuple[int, Any]] = []
            while fed < upto:
                unit = units[fed]
                payload = job.payload(unit)
                keys[fed] = job.key(unit)
                if payload is not None:  # unreadable: the row carries None, the commit step reports it
                    stats.units_sent += 1
                batch.append((fed, cloudpickle.dumps(payload)))
                fed += 1
            if batch:
                ray.get(feed.put.remote(batch))

        ctx = ray.data.DataContext.get_current()
        saved = (ctx.execution_options.preserve_order, ctx.enable_progress_bars, ctx.print_on_execution_start)
        try:  # the dataset keeps a copy of the context it was made under: ours is put back after
            ctx.execution_options.preserve_order = True  # rows come out in input order
            ctx.enable_progress_bars = False
            ctx.print_on_execution_start = False
            with warnings.catch_warnings():
                # Ray 2.60 deprecates passing actor options such as max_restarts through
                # map_batches (named ones replace them by 2.64; the `ray` extra pins 2.60); without
                # them a worker that always dies would be restarted forever
                warnings.simplefilter("ignore", DeprecationWarning)
                ds = ray.data.read_datasource(_shards(total, shard, feed), num_cpus=0,
                                              compute=ray.data.TaskPoolStrategy(size=1),
                                              override_num_blocks=-(-total // shard)).map_batches(
                    _Step, fn_constructor_args=([spec], feed), batch_size=shard,
                    compute=ray.data.ActorPoolStrategy(size=n), num_cpus=1, batch_format="numpy",
                    max_restarts=RESTARTS, max_task_retries=RESTARTS)
        finally:
            (ctx.execution_options.preserve_order, ctx.enable_progress_bars, ctx.print_on_execution_start) = saved
        out: Iterator[dict[str, Any]] | None = None
        taken = 0  # positions read from the output

        def results(unit: Any) -> Any:
            nonlocal out, taken
            key = job.key(unit)
            while taken < total:
                top_up(taken + window)  # the next row's shard, and the window after it, are fed
                if out is None:
                    out = iter(ds.iter_rows())
                row = next(out)
                pos = int(row["id"])
                if pos != taken:
                    raise RuntimeError(f"ray: row {pos} came out of order (expected {taken})")
                taken += 1
                if taken % shard == 0 or taken == total:
                    feed.release.remote(taken)
                if keys.pop(pos) == key:
                    return cloudpickle.loads(row["out"])
            return None  # not among the units sent: the job does it itself

        def close() -> None:
            nonlocal spec
            spec = None
            if out is not None:
                try:
                    getattr(out, "close", lambda: None)()
                except Exception:  # noqa: BLE001 - a dataset cut short may fail as it stops
                    pass

        return results, close
