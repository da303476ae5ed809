"""The passage store: one SQLite file, row number = position in the BM25 and dense indexes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from medllm.knowledge.chunking import text_hash
from medllm.types import Passage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
  row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, title TEXT, text TEXT NOT NULL,
  source TEXT, url TEXT, license TEXT, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_hash ON passages(hash);
"""
_COLS = "id, doc_id, title, text, source, url, license"


class PassageStore:
    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: passage store missing; rebuild the index with `medllm kb build`")
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.executescript(_SCHEMA)

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def add(self, passages: Iterable[Passage], commit: bool = True) -> int:
        """Append passages at rows len(self), len(self)+1, ...; returns how many."""
        start = len(self)
        rows = [(start + i, p.id, p.doc_id, p.title, p.text, p.source, p.url, p.license, text_hash(p))
                for i, p in enumerate(passages)]
        self._db.executemany(f"INSERT INTO passages (row, {_COLS}, hash) VALUES (?,?,?,?,?,?,?,?,?)", rows)
        if commit:
            self._db.commit()
        return len(rows)

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def get(self, rows: Sequence[int]) -> list[Passage]:
        """Passages at `rows`, in the order asked."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {r[0]: Passage(id=r[1], doc_id=r[2], title=r[3] or "", text=r[4], source=r[5] or "", url=r[6], license=r[7])
                 for r in self._db.execute(f"SELECT row, {_COLS} FROM passages WHERE row IN ({marks})", [int(x) for x in rows])}
        return [found[int(r)] for r in rows]

    def doc_ids(self, source: str | None = None) -> set[str]:
        """The distinct document ids held (of one `source` when given)."""
        if source is None:
            return {r[0] for r in self._db.execute("SELECT DISTINCT doc_id FROM passages")}
        return {r[0] for r in self._db.execute("SELECT DISTINCT doc_id FROM passages WHERE source = ?", (source,))}

    def rows_of(self, doc_ids: Sequence[str]) -> dict[str, list[int]]:
        """Each document's passage rows, in row order."""
        out: dict[str, list[int]] = {d: [] for d in doc_ids}
        if not doc_ids:
            return out
        marks = ",".join("?" * len(doc_ids))
        for row, doc in self._db.execute(f"SELECT row, doc_id FROM passages WHERE doc_id IN ({marks}) ORDER BY row",
                                         list(doc_ids)):
            out[doc].append(int(row))
        return out

    def by_id(self, pid: str) -> Passage | None:
        r = self._db.execute("SELECT row FROM passages WHERE id = ?", (pid,)).fetchone()
        return self.get([r[0]])[0] if r else None

    def iter_all(self, batch: int = 5000) -> Iterator[Passage]:
        last = -1
        while True:
            rows = self._db.execute(f"SELECT row, {_COLS} FROM passages WHERE row > ? ORDER BY row LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield Passage(id=r[1], doc_id=r[2], title=r[3] or "", text=r[4], source=r[5] or "", url=r[6], license=r[7])
            last = rows[-1][0]

    def hashes(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT hash FROM passages")}

    def close(self) -> None:
        self._db.close()
