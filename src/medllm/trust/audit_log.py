"""Append-only, hash-chained audit log (JSON lines) that never holds raw text.

Each entry carries `seq`, `prev` (the previous entry's hash) and `hash` = sha256(prev + canonical
JSON of the entry without `hash`). Editing, deleting or reordering any line breaks the chain. A
chain alone cannot see its tail cut off, so a small head file (`<log>.head`: last seq and hash,
replaced atomically on each append) anchors the end; `verify` compares the two.

What an entry may hold is fixed by `AuditEntry`: times, model and strategy names, a hash of the
prompt, evidence ids, flag kinds and gate decisions with per-category counts. No free text field
exists, so a caller cannot put patient text here by accident.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from medllm.atomic import atomic_write_text
from medllm.types import Answer, Flag

GENESIS = "0" * 64
_ID_MAX = 200  # ids are short codes; anything longer is probably text and is refused


class GateRecord(BaseModel):
    """What the privacy gate decided for one call: never the text, only counts by category."""

    on: bool
    reason: str = ""  # e.g. "auto: remote backend", "setting: off"
    counts: dict[str, int] = Field(default_factory=dict)


class FlagRecord(BaseModel):
    kind: str
    severity: str = "info"


class AuditEntry(BaseModel):
    """One audited event. Only hashes, names, ids and counts: no free text."""

    event: str = "answer"  # answer | eval | deid | audit ...
    time: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    model: str = ""
    strategy: str = ""
    question_id: str | None = None
    prompt_sha256: str | None = None
    output_sha256: str | None = None
    evidence_ids: list[str] = Field(default_factory=list)
    flags: list[FlagRecord] = Field(default_factory=list)
    gate: GateRecord | None = None
    metrics: dict[str, float | int | bool] = Field(default_factory=dict)
    client: str | None = None  # who asked: an API key's id (`medllm serve`), never the key

    @field_validator("evidence_ids")
    @classmethod
    def _short_ids(cls, v: list[str]) -> list[str]:
        for x in v:
            if len(x) > _ID_MAX or "\n" in x:
                raise ValueError("evidence ids must be short codes, not text")
        return v

    @field_validator("question_id", "model", "strategy", "event", "client")
    @classmethod
    def _short(cls, v: str | None) -> str | None:
        if v is not None and (len(v) > _ID_MAX or "\n" in v):
            raise ValueError("audit fields hold names and ids, not text (max 200 chars, one line)")
        return v


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((prev + canonical(body)).encode("utf-8")).hexdigest()


class AuditLog:
    """An append-only audit log at `path`. Safe for several processes (an advisory file lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def _tail(self) -> tuple[int, str]:
        """(next seq, previous hash), from the head file, or by reading the log when it is new."""
        if self.head_path.exists():
            head = json.loads(self.head_path.read_text())
            return int(head["seq"]) + 1, str(head["hash"])
        if self.path.exists() and self.path.stat().st_size > 0:
            raise ValueError(
                f"{self.path} exists but its head file {self.head_path.name} is missing; run "
                "`medllm audit-log verify` and restore the head file before appending"
            )
        return 0, GENESIS

    def append(self, entry: AuditEntry) -> str:
        """Append one entry; returns its hash."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                seq, prev = self._tail()
                body = {"seq": seq, "prev": prev, **entry.model_dump(mode="json")}
                h = entry_hash(prev, body)
                line = canonical({**body, "hash": h}) + "\n"
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                atomic_write_text(self.head_path, json.dumps({"seq": seq, "hash": h}))
                return h
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


def _flag_records(flags: Iterable[Flag]) -> list[FlagRecord]:
    # Flag messages are written by us, but keep only kind and severity: the log holds no prose.
    return [FlagRecord(kind=f.kind, severity=f.severity) for f in flags]


def record_answer(
    log: AuditLog,
    *,
    prompt: str,
    answer: Answer,
    gate: GateRecord | None = None,
    event: str = "answer",
    client: str | None = None,
) -> str:
    """Log one answered request. `prompt` is hashed, never stored; pass the text that was actually
    sent to the model (the gated text), so the hash cannot be matched to patient text."""
    entry = AuditEntry(
        event=event,
        model=answer.model,
        strategy=answer.strategy,
        question_id=answer.question_id,
        prompt_sha256=sha256_text(prompt),
        output_sha256=sha256_text(answer.text or answer.raw or ""),
        evidence_ids=[e.passage_id for e in answer.evidence],
        flags=_flag_records(answer.flags),
        gate=gate,
        metrics={k: v for k, v in {"confidence": answer.confidence}.items() if v is not None},
        client=client,
    )
    return log.append(entry)


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def verify(path: str | Path) -> VerifyResult:
    """Check the whole chain and the head anchor. Reports the first line of each problem."""
    log = AuditLog(path)
    if not log.path.exists():
        raise FileNotFoundError(f"audit log {log.path} does not exist; check the path")
    problems: list[str] = []
    warnings: list[str] = []
    prev = GENESIS
    n = 0
    last_hash = GENESIS
    with open(log.path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(f"line {lineno}: not valid JSON (edited or truncated)")
                prev, n = "?", n + 1
                continue
            claimed = obj.pop("hash", None)
            if obj.get("seq") != n:
                problems.append(
                    f"line {lineno}: sequence number {obj.get('seq')} where {n} was expected "
                    "(an entry was deleted, inserted or moved)"
                )
            if obj.get("prev") != prev:
                problems.append(
                    f"line {lineno}: does not link to the entry before it "
                    "(deleted, inserted or reordered entries)"
                )
            if claimed != entry_hash(str(obj.get("prev")), obj):
                problems.append(f"line {lineno}: content does not match its hash (edited)")
            prev = claimed or "?"
            last_hash = prev
            n += 1
    if log.head_path.exists():
        try:
            head = json.loads(log.head_path.read_text())
        except json.JSONDecodeError:
            problems.append(f"{log.head_path.name}: not valid JSON")
        else:
            if int(head.get("seq", -1)) != n - 1 or head.get("hash") != last_hash:
                problems.append(
                    f"the log ends at entry {n - 1} but its head file records entry "
                    f"{head.get('seq')}: entries were removed from (or added to) the end"
                )
    elif n:
        warnings.append(
            f"no head file {log.head_path.name}: a cut-off tail cannot be detected"
        )
    return VerifyResult(ok=not problems, entries=n, problems=problems, warnings=warnings)
