"""API keys for `medllm serve`, stored hashed in SQLite ($MEDLLM_HOME/serve/keys.sqlite).

A key is `mk_<id>_<secret>`: the id names the key in logs and the audit log, the secret (32
random bytes) is shown once when the key is made and never stored: only its SHA-256 is. A
random 256-bit secret needs no slow password hash; comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^mk_([a-f0-9]{12})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
                    " sha256 TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT)")
        return con

    def add(self, name: str) -> tuple[ApiKey, str]:
        """A new key named `name`: (its record, the key itself, to show once)."""
        if not _NAME.match(name):
            raise ValueError(f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        kid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        rec = ApiKey(kid, name, datetime.now(UTC).isoformat(timespec="seconds"))
        with self._connect() as con:
            con.execute("INSERT INTO keys VALUES (?, ?, ?, ?, NULL)", (kid, name, _digest(secret), rec.created))
        return rec, f"mk_{kid}_{secret}"

    def list(self) -> list[ApiKey]:
        if not self.path.exists():
            return []
        with self._connect() as con:
            rows = con.execute("SELECT id, name, created, revoked FROM keys ORDER BY created, id").fetchall()
        return [ApiKey(*r) for r in rows]

    def revoke(self, ref: str) -> list[ApiKey]:
        """Revoke the key with id `ref`, or every active key named `ref`; returns what was revoked."""
        hits = [k for k in self.list() if k.active and ref in (k.id, k.name)]
        if not hits:
            raise ValueError(f"no active key with id or name {ref!r}; see `medllm serve keys list`")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as con:
            con.executemany("UPDATE keys SET revoked = ? WHERE id = ?", [(now, k.id) for k in hits])
        return hits

    def verify(self, key: str) -> ApiKey | None:
        """The active key `key` is, or None (unknown, malformed or revoked)."""
        m = _KEY.match(key or "")
        if not m or not self.path.exists():
            return None
        with self._connect() as con:
            row = con.execute("SELECT id, name, created, revoked, sha256 FROM keys WHERE id = ?",
                              (m.group(1),)).fetchone()
        if row is None or row[3] is not None:
            return None
        if not hmac.compare_digest(row[4], _digest(m.group(2))):
            return None
        return ApiKey(*row[:4])
