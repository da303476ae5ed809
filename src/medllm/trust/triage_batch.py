"""Triage every line of a .jsonl file into `OUT/decisions.jsonl`: one output line per input
record, in input order; resumable (lines already decided are kept, see `medllm.batch`); a bad
line becomes an error record naming its line number, and the batch goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medllm.batch import Record, map_jsonl
from medllm.trust.triage import Triager

OUT_NAME = "decisions.jsonl"

Line = tuple[int, str | None, str | None]  # (line number, text, error): text is None iff error


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
    items: list[tuple[str, Line]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            id_, text, err = _parse(n, line)
            items.append((id_, (n, text, err)))
    report = BatchReport(out_dir / OUT_NAME)

    def decide(batch: list[tuple[str, Line]]) -> list[Record]:
        texts = [text for _, (_, text, _) in batch if text is not None]
        decisions = iter(triager.decide_many(texts) if texts else [])
        out: list[Record] = []
        for id_, (n, _, err) in batch:
            if err is not None:
                report.errors.append((n, err))
                out.append({"line": n, "error": err})
                continue
            d = next(decisions)
            report.emergency += d.level == "emergency"
            report.urgent += d.level == "urgent"
            report.refused += d.refuse
            report.written += 1
            out.append(d.record(id_))
        return out

    # a failing chunk ends the run (catch nothing): the output stays in input order
    done = map_jsonl(items, report.out_file, decide, chunk=chunk, catch=(), strict=True, progress=progress)
    report.skipped = len(done.resumed)
    return report
