"""Resumable JSON-lines batches: each input, keyed by an id, becomes one output line.

Lines grow in a partial file beside the output, flushed as they are written, and the partial
file becomes the output by rename once every input is handled: the output is whole or absent.
A run killed at any moment is continued by the same call: it keeps the complete lines already
written (in the partial file, or in a finished output), drops a torn last line, and maps only
the inputs not there yet. An input whose mapping fails is reported and not written, so the next
run tries it again; the others go on.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from medllm.atomic import atomic_write_text

T = TypeVar("T")
Record = dict[str, Any]


@dataclass
class Failure(Generic[T]):
    id: str
    item: T
    error: Exception


@dataclass
class MapReport(Generic[T]):
    written: int = 0  # inputs mapped and written by this run
    resumed: list[Record] = field(default_factory=list)  # the lines of inputs an earlier run finished
    failed: list[Failure[T]] = field(default_factory=list)  # not written: the next run tries them again


def partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


def read_lines(path: Path, key: str = "id") -> list[tuple[str, Record]]:
    """(line, record) for each complete JSON-object line of `path` that carries `key`; a line cut
    short by a kill, or anything else, is left out."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get(key) is not None:
            out.append((line, rec))
    return out


def map_jsonl(
    items: Sequence[tuple[str, T]],
    out: Path,
    fn: Callable[[list[tuple[str, T]]], list[Record]],
    *,
    key: str = "id",
    chunk: int = 1,
    catch: tuple[type[Exception], ...] = (Exception,),
    part: Path | None = None,
    force: bool = False,
    strict: bool = False,
    still_done: Callable[[Record], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MapReport[T]:
    """Write `{key: id, **record}` to `out` for each `(id, item)` of `items`, in order, where `fn`
    maps `chunk` of them at a time to their records. Resumes what an earlier run wrote (unless
    `force`): an id found there `n` times covers its first `n` inputs (so ids may repeat where
    the output keeps input order: nothing caught).

    `catch`: the errors of `fn` that fail only the chunk's inputs (others end the run, resumably).
    `part`: where the lines grow (default `.NAME.partial` beside `out`); `part=out` appends to
    `out` itself and never renames it (a progress ledger). `strict`: refuse (ValueError) an output
    holding ids these inputs do not have, one written for another input. `still_done`: whether
    an earlier line still stands; the input of one that does not is mapped again.
    `progress(handled, total)`: at the start and after each input or chunk."""
    part = part or partial_path(out)
    src = part if part.exists() else out  # a part, when there is one, holds all the done lines
    lines = [] if force else read_lines(src, key)
    if still_done:
        lines = [(line, rec) for line, rec in lines if still_done(rec)]
    done: dict[str, list[Record]] = {}
    for _, rec in lines:
        done.setdefault(str(rec[key]), []).append(rec)
    if strict:
        wanted = Counter(id_ for id_, _ in items)
        for id_, recs in done.items():
            if len(recs) > wanted[id_]:
                raise ValueError(f"{src} was written for another input (it holds id "
                                 f"{id_!r}, which the input does not have); use another output or delete the file")
    # rewritten whole: drops a torn last line, and carries a finished output's lines into the part
    atomic_write_text(part, "".join(line + "\n" for line, _ in lines))
    report: MapReport[T] = MapReport()
    total = len(items)
    if progress:
        progress(0, total)
    with part.open("a", encoding="utf-8") as f:
        def run(batch: list[tuple[str, T]]) -> None:
            try:
                records = fn(batch)
            except catch as e:
                report.failed += [Failure(id_, item, e) for id_, item in batch]
                return
            for (id_, _), rec in zip(batch, records, strict=True):
                f.write(json.dumps({key: id_, **rec}, ensure_ascii=False) + "\n")
            f.flush()
            report.written += len(batch)

        pending: list[tuple[str, T]] = []
        for id_, item in items:
            if done.get(id_):
                report.resumed.append(done[id_].pop(0))
            else:
                pending.append((id_, item))
                if len(pending) < chunk:
                    continue
                run(pending)
                pending = []
            if progress:
                progress(len(report.resumed) + report.written + len(report.failed), total)
        if pending:
            run(pending)
            if progress:
                progress(total, total)
        os.fsync(f.fileno())
    if part != out:
        os.replace(part, out)
    return report
