"""What keeps the service answering under load: a bounded queue in front of the model and a
per-key rate limit. Both refuse early (HTTP 429 with Retry-After) instead of letting work pile up.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Refused for now: the queue is full or the key is over its rate; retry after `retry_after` s."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, int(retry_after))


class Cancelled(Exception):
    """Raised inside model work whose request has gone (client left, or the timeout passed)."""


class ModelQueue:
    """One worker thread runs model work in arrival order (an in-process model answers one
    request at a time); at most `size` requests wait behind the one running. A request that
    finds the queue full is refused at once with a Retry-After estimated from recent job times."""

    def __init__(self, size: int, *, workers: int = 1):
        if size < 0:
            raise ValueError("queue size must be 0 or more")
        self.size = size
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medllm-model")
        self._lock = threading.Lock()
        self._pending = 0  # running + waiting
        self._mean_s = 2.0  # moving average of job time, for Retry-After

    @property
    def pending(self) -> int:
        return self._pending

    def _admit(self) -> None:
        with self._lock:
            if self._pending >= self.size + self.workers:
                wait = self._mean_s * (self._pending - self.workers + 1) / self.workers
                raise Busy("the model queue is full", math.ceil(wait))
            self._pending += 1

    def _job(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._mean_s = 0.8 * self._mean_s + 0.2 * (time.perf_counter() - t0)

    def _release(self, _f: object) -> None:
        with self._lock:
            self._pending -= 1

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue `fn(*args)`; raises Busy when full. The slot is held until the job has finished
        (or was cancelled before it started), not merely until its request gave up."""
        self._admit()
        try:
            cf = self._pool.submit(self._job, fn, args)
        except RuntimeError:  # shutting down
            self._release(None)
            raise Busy("the server is shutting down", 5) from None
        cf.add_done_callback(self._release)
        return asyncio.wrap_future(cf)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute on average, bursts up to `burst`.
    `per_minute` <= 0 turns the limit off."""

    def __init__(self, per_minute: float, burst: int | None = None):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, int(per_minute // 6) or 1))
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, last time)
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                raise Busy("rate limit for this key", math.ceil((1.0 - tokens) / self.rate))
            self._buckets[key_id] = (tokens - 1.0, now)
