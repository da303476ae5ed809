"""Triage every line of a .jsonl file into `OUT/decisions.jsonl`: one output line per input
record, in input order; resumable (lines already decided are kept); each chunk is written
atomically; a bad line becomes an error record naming its line number, and the batch goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medllm.atomic import atomic_write_text
from medllm.trust.triage import Triager

OUT_NAME = "decisions.jsonl"


@dataclass
class BatchReport:
    out_file: Path
    written: int = 0
    skipped: int = 0
    emergency: int = 0
    urgent: int = 0
    refused: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _parse(n: int, line: str) -> tuple[str, str | None, str | None]:
    """(id, text, error) for input line `n`."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return f"line-{n}", None, f"not valid JSON ({e.msg}); expected {{\"id\": ..., \"text\": ...}}"
    if not isinstance(obj, dict):
        return f"line-{n}", None, "not a JSON object; expected {\"id\": ..., \"text\": ...}"
    id_ = obj.get("id")
    id_ = f"line-{n}" if id_ is None else str(id_)
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return id_, None, "field 'text' is missing or empty"
    if obj.get("id") is None:
        return id_, None, "field 'id' is missing"
    return id_, text, None


def triage_file(path: Path, out_dir: Path, triager: Triager, chunk: int = 64,
                progress: Callable[[int, int], None] | None = None) -> BatchReport:
    records = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if line.strip()]
    parsed = [(n, *_parse(n, line)) for n, line in records]
    out_file = out_dir / OUT_NAME
    report = BatchReport(out_file)
    done: list[str] = []
    if out_file.exists():
        for line in out_file.read_text(encoding="utf-8").splitlines():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                break  # cannot happen with atomic writes; stop at anything odd and redo from there
            done.append(line)
        for (n, id_, _, _), line in zip(parsed, done, strict=False):
            if json.loads(line).get("id") != id_:
                raise ValueError(
                    f"{out_file} was written for another input (line {n}: id {id_!r} differs); "
                    "use a new --out folder or delete the file")
        done = done[: len(parsed)]
        report.skipped = len(done)
    lines = list(done)
    total = len(parsed)
    if progress:
        progress(len(lines), total)
    for start in range(len(lines), total, chunk):
        part = parsed[start: start + chunk]
        ok = [(n, id_, text) for n, id_, text, err in part if err is None]
        decisions = iter(triager.decide_many([t for _, _, t in ok]) if ok else [])
        for n, id_, text, err in part:
            if err is not None:
                report.errors.append((n, err))
                lines.append(json.dumps({"id": id_, "line": n, "error": err}, ensure_ascii=False))
                continue
            d = next(decisions)
            report.emergency += d.level == "emergency"
            report.urgent += d.level == "urgent"
            report.refused += d.refuse
            lines.append(json.dumps(d.record(id_), ensure_ascii=False))
            report.written += 1
        atomic_write_text(out_file, "\n".join(lines) + "\n")
        if progress:
            progress(len(lines), total)
    if not out_file.exists():
        atomic_write_text(out_file, "")
    return report
