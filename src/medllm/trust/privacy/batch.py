"""De-identify many notes: a folder (or files) of .txt / .jsonl in, the same layout out.

One function, `deidentify_files`, for `medllm deid` and the service. It is resumable
(`medllm.batch`): each output file is written atomically when its input is done, and a ledger in
the output folder (`.deid-progress.jsonl`, one line per finished file: its PHI counts, no text;
it stays after the run) lets a run killed half-way continue where it stopped with the same vault
session (consistent surrogates) and complete totals. A file that cannot be read or de-identified is reported and skipped; the
others go on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medllm.atomic import atomic_write_text
from medllm.batch import map_jsonl, read_lines
from medllm.trust.privacy.gate import PrivacyGate

SUFFIXES = (".txt", ".jsonl")
LEDGER = ".deid-progress.jsonl"


@dataclass
class FileTask:
    src: Path
    rel: Path  # path relative to the output folder


@dataclass
class BatchReport:
    done: int = 0  # files de-identified in this run
    skipped: int = 0  # files finished by an earlier run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    counts: Counter[str] = field(default_factory=Counter)  # PHI per label, all finished files
    chars: int = 0  # characters de-identified in this run
    seconds: float = 0.0
    session_id: str = ""

    @property
    def chars_per_s(self) -> float:
        return self.chars / self.seconds if self.seconds else 0.0


def collect_inputs(paths: Sequence[Path]) -> list[FileTask]:
    """Every .txt/.jsonl under `paths` (files or folders), with its relative output path."""
    out: list[FileTask] = []
    for p in paths:
        if not p.exists():
            raise ValueError(f"{p} does not exist; give .txt/.jsonl files or folders holding them")
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
            out += [FileTask(f, f.relative_to(p)) for f in files]
        elif p.suffix in SUFFIXES:
            out.append(FileTask(p, Path(p.name)))
        else:
            raise ValueError(f"{p}: only .txt and .jsonl files are supported")
    if not out:
        raise ValueError("no .txt or .jsonl files found in the given paths")
    return out


def _scrub_json(obj: Any, gate: PrivacyGate, patient: str | None, fields: set[str] | None,
                key: str | None = None) -> Any:
    if isinstance(obj, str):
        return gate.scrub(obj, patient=patient)[0] if fields is None or key in fields else obj
    if isinstance(obj, list):
        return [_scrub_json(x, gate, patient, fields, key) for x in obj]
    if isinstance(obj, dict):
        return {k: _scrub_json(v, gate, patient, fields, k) for k, v in obj.items()}
    return obj


def _deidentify_one(task: FileTask, gate: PrivacyGate, fields: set[str] | None,
                    patient_field: str | None) -> tuple[str, int]:
    text = task.src.read_text(encoding="utf-8")
    if task.src.suffix == ".txt":
        return gate.scrub(text, patient=str(task.rel))[0], len(text)
    lines = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {n}: not valid JSON ({e.msg}); fix the line") from None
        pid = str(obj.get(patient_field)) if patient_field and isinstance(obj, dict) else None
        lines.append(json.dumps(_scrub_json(obj, gate, pid, fields), ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else ""), len(text)


def deidentify_files(tasks: Sequence[FileTask], out_dir: Path, gate: PrivacyGate, *,
                     fields: set[str] | None = None, patient_field: str | None = None,
                     force: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> BatchReport:
    """De-identify `tasks` into `out_dir` with `gate`, resuming what an earlier run finished
    (unless `force`). `progress(handled, total)` at the start and as files finish or are skipped."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(session_id=gate.session.id)

    def deidentify(batch: list[tuple[str, FileTask]]) -> list[dict[str, Any]]:
        out = []
        for _, task in batch:
            before = Counter(gate.counts)
            t0 = time.perf_counter()
            result, n_chars = _deidentify_one(task, gate, fields, patient_field)
            seconds = time.perf_counter() - t0
            atomic_write_text(out_dir / task.rel, result)
            report.seconds += seconds
            report.chars += n_chars
            counts = dict(gate.counts - before)
            report.counts.update(counts)
            report.done += 1
            out.append({"counts": counts, "session": gate.session.id})
        return out

    ledger = out_dir / LEDGER
    done = map_jsonl([(t.rel.as_posix(), t) for t in tasks], ledger, deidentify, key="file", part=ledger,
                     # one bad file does not sink the batch (RuntimeError: a detection time-out)
                     catch=(OSError, UnicodeDecodeError, ValueError, RuntimeError), force=force,
                     still_done=lambda r: (out_dir / str(r["file"])).exists(), progress=progress)
    report.skipped = len(done.resumed)
    for r in done.resumed:
        report.counts.update(r.get("counts", {}))
    report.failed = [(str(f.item.src), f"{type(f.error).__name__}: {f.error}") for f in done.failed]
    return report


def ledger_session(out_dir: Path) -> str | None:
    """The vault session of an earlier, unfinished run into `out_dir` (to continue it)."""
    for _, r in read_lines(out_dir / LEDGER, key="file"):
        if r.get("session"):
            return str(r["session"])
    return None
