"""Reading JSON-lines files: one object per line, blank lines skipped, `.gz` read through gzip.

Each line comes back with its number, as the object or as a `BadLine` saying what is wrong with
it, so each caller decides whether a bad line stops the file (training data, corpora) or is
reported while the rest goes on (batches, eval datasets)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class BadLine:
    line: int
    problem: str  # e.g. "not valid JSON (Expecting value)", "expected a JSON object, got list"


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """(line number, object or BadLine) for each non-blank line of `path`."""
    with _open(Path(path)) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, BadLine(n, f"not valid JSON ({e.msg})")
                continue
            if not isinstance(rec, dict):
                yield n, BadLine(n, f"expected a JSON object, got {type(rec).__name__}")
                continue
            yield n, rec
