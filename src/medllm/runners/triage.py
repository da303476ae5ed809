"""Triage of a .jsonl file as a runner job: workers (one session each, from the driver's
settings, so one triager: the MiniLM encoder and the classifier heads) run the triage job
(`medllm.jobs.triage_many`): they decide the messages in the same chunks of 64 that `triage_file` would send to
`decide_many`, and the driver replays `triage_file` over their decisions, so `decisions.jsonl` is
written in input order, resumably, as by the local runner."""

from __future__ import annotations

import hashlib

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medllm.batch import partial_path, read_lines
from medllm.trust.triage_batch import OUT_NAME, BatchReport, _parse, triage_file

CHUNK = 64  # as triage_file: the encoder sees the same batches on either runner


@dataclass
class TriagerSpec:
    """What a worker needs to triage as the driver would: the driver's settings (a worker opens
    its own session from them) and the judge (None: the settings' `triage_judge`)."""

    settings: Any = None
    judge: str | None = None

    def build(self) -> Callable[[list[str]], list[Any]]:
        from medllm.jobs import triage_many
        from medllm.session import Session

        session = Session.configure(self.settings)
        session.triager(self.judge)  # loaded once per worker, before the first chunk
        return lambda texts: triage_many(session, texts, self.judge)


class _PrecomputedTriager:
    """What `triage_file` needs of a triager (`decide_many`), answered from the workers' decisions
    in input order; a text they did not decide is decided here."""

    def __init__(self, next_unit: Callable[[], dict[str, Any] | None], spec: TriagerSpec) -> None:
        self._next_unit, self._spec = next_unit, spec
        self._current: dict[str, Any] = {}
        self._local: Callable[[list[str]], list[Any]] | None = None

    def decide_many(self, texts: Sequence[str]) -> list[Any]:
        out = []
        for t in texts:
            while t not in self._current:
                unit = self._next_unit()
                if unit is None:
                    if self._local is None:
                        self._local = self._spec.build()
                    self._current = {t: self._local([t])[0]}
                    break
                self._current = unit
            out.append(self._current[t])
        return out


@dataclass
class TriageJob:
    """`medllm triage FILE.jsonl --out DIR`: decisions by `session`'s triager (default: a session
    of the configured settings) with `judge` (None: the settings' `triage_judge`)."""

    path: Path
    out: Path
    judge: str | None = None
    progress: Callable[[int, int], None] | None = None
    session: Any = None

    def __post_init__(self) -> None:
        if self.session is None:
            from medllm.session import Session

            self.session = Session.configure()

    def units(self) -> list[list[str]]:
        """The texts of each chunk `triage_file` will decide (lines a run already wrote left out)."""
        items = [_parse(n, line) for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1)
                 if line.strip()]
        out_file = self.out / OUT_NAME
        src = partial_path(out_file) if partial_path(out_file).exists() else out_file
        done: dict[str, int] = {}
        for _, r in read_lines(src, "id"):
            done[str(r["id"])] = done.get(str(r["id"]), 0) + 1
        pending = []
        for id_, text, _ in items:
            if done.get(id_):
                done[id_] -= 1
            else:
                pending.append(text)
        chunks = [pending[i:i + CHUNK] for i in range(0, len(pending), CHUNK)]
        return [[t for t in c if t is not None] for c in chunks if any(t is not None for t in c)]

    def key(self, unit: list[str]) -> str:
        # by content: commit() recomputes the units; equal chunks get equal decisions anyway
        return hashlib.blake2b("\x00".join(unit).encode(), digest_size=12).hexdigest()

    def payload(self, unit: list[str]) -> list[str]:
        return unit

    def worker_spec(self) -> TriagerSpec:
        return TriagerSpec(self.session.settings, self.judge)

    def commit(self, results: Callable[[list[str]], list[Any] | None] | None) -> BatchReport:
        if results is None:
            return triage_file(self.path, self.out, self.session.triager(self.judge), chunk=CHUNK,
                               progress=self.progress)
        pending = iter(self.units())

        def next_unit() -> dict[str, Any] | None:
            for unit in pending:
                got = results(unit)
                if got is not None:
                    return dict(zip(unit, got, strict=True))
            return None

        triager = _PrecomputedTriager(next_unit, self.worker_spec())
        return triage_file(self.path, self.out, triager, chunk=CHUNK, progress=self.progress)  # type: ignore[arg-type]
