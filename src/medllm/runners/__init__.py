"""Runners: one batch job, run in this process (`local`) or on a Ray cluster (`ray`).

A job is split where the cost is (see `base.Job`): a pure, heavy step any worker can run on one
unit (PHI detection on one note, with the detector loaded once per worker), and an ordered commit
step in the driver that owns the state and the output (surrogates, the vault, atomic files and
the progress ledger). So both runners write the same bytes to the same layout, resume from the
same ledger, and a worker killed mid-run costs only a retry of pure work.

    from medllm.runners import get_runner
    report = get_runner("ray", workers=2).run(job)
"""

from __future__ import annotations

from medllm.runners.base import Job, Runner, RunStats
from medllm.runners.local import LocalRunner

RUNNERS = ("local", "ray")


def get_runner(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Runner:
    """The runner called `name`. `address` (ray only): `auto` joins the cluster this machine is
    part of, `ray://host:10001` a remote one, None starts a local cluster for this run and stops it
    after. `workers` (ray only): how many worker actors, each holding one copy of the job's model."""
    if name == "local":
        if address or workers:
            raise ValueError("--ray-address and --workers are for --runner ray; the local runner uses one process")
        return LocalRunner()
    if name == "ray":
        from medllm.runners.ray_runner import RayRunner

        return RayRunner(address=address, workers=workers)
    raise ValueError(f"--runner {name!r}: use one of {', '.join(RUNNERS)}")


__all__ = ["RUNNERS", "Job", "LocalRunner", "RunStats", "Runner", "get_runner"]
