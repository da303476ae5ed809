"""What keeps the service answering under load and under attack:

- `ModelQueue`: a bounded queue in front of the model that admits a request only when its
  expected finish, estimated from the measured service rate, fits the request deadline; others
  get 429 with a Retry-After computed from the queue. An admitted request runs to its end.
- `RateLimiter`: a token bucket per API key.
- `AuthFailures`: requests without a valid key, limited and counted per client address and
  logged as one aggregate line per address and interval (never one line or audit entry each).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Refused for now: the queue is full or the key is over its rate; retry after `retry_after` s."""

    def __init__(self, reason: str, retry_after: float, kind: str = "queue"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind  # queue | rate | auth: the metrics label and the error code
        self.retry_after = max(1, math.ceil(retry_after))


class Cancelled(Exception):
    """Raised inside model work whose request has gone (the client left)."""


@dataclass(frozen=True)
class Estimate:
    """What admission knew when it decided: seconds until the new job would start and end."""

    start_s: float
    finish_s: float
    measured: bool  # False: no job has finished yet, the prior rate was used


class ServiceRate:
    """Seconds per unit of work (a unit is a budget token), from the last `window` finished
    jobs: their total seconds over their total units, so a long job weighs as much as it cost.
    Until a job has finished, `prior` seconds per unit."""

    def __init__(self, prior: float, window: int = 32):
        self.prior = prior
        self._jobs: deque[tuple[float, float]] = deque(maxlen=window)  # (seconds, units)

    @property
    def measured(self) -> bool:
        return bool(self._jobs)

    def add(self, seconds: float, units: float) -> None:
        self._jobs.append((seconds, max(units, 1e-9)))

    def per_unit(self) -> float:
        if not self._jobs:
            return self.prior
        return sum(s for s, _ in self._jobs) / sum(u for _, u in self._jobs)


class ModelQueue:
    """Worker threads run jobs in arrival order (an in-process model answers one request at a
    time). A job is admitted when (a) fewer than `size` jobs wait behind the running ones and (b) with a `deadline_s`,
    its estimated finish (what runs and waits ahead of it, then itself, at the measured rate,
    times `margin`) is within the deadline. Before any job has finished the rate is unknown:
    then at most one job waits behind each worker. A refused request gets Busy with the seconds
    until the queue ahead of it will have drained far enough for it to fit."""

    def __init__(self, size: int, *, workers: int = 1, deadline_s: float | None = None,
                 prior_s_per_unit: float = 0.05, margin: float = 1.25, name: str = "model"):
        if size < 0:
            raise ValueError("queue size must be 0 or more")
        self.size, self.workers, self.deadline_s, self.margin = size, workers, deadline_s, margin
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"medllm-{name}")
        self._lock = threading.Lock()
        self.rate = ServiceRate(prior_s_per_unit)
        self._waiting: dict[int, float] = {}  # job id -> units, admitted and not started
        self._running: dict[int, tuple[float, float]] = {}  # job id -> (start time, units)
        self._next = 0
        self.admitted = 0

    @property
    def pending(self) -> int:
        return len(self._waiting) + len(self._running)

    def _left_s(self, rate: float) -> tuple[float, float]:
        """Seconds of work left (running, waiting) ahead of a new job, spread over the workers."""
        now = time.monotonic()
        running = sum(max(0.0, rate * u * self.margin - (now - t0)) for t0, u in self._running.values())
        waiting = sum(rate * u * self.margin for u in self._waiting.values())
        return running / self.workers, waiting / self.workers

    def estimate(self, units: float) -> Estimate:
        with self._lock:
            rate = self.rate.per_unit()
            running, waiting = self._left_s(rate)
            start = running + waiting
            return Estimate(start, start + rate * units * self.margin, self.rate.measured)

    def _admit(self, units: float) -> int:
        with self._lock:
            rate = self.rate.per_unit()
            running, waiting = self._left_s(rate)
            finish = running + waiting + rate * units * self.margin
            over = finish - self.deadline_s if self.deadline_s is not None else 0.0
            if self.pending >= self.size + self.workers:
                # a slot frees when a running job ends; the request fits once enough has drained
                raise Busy("the model queue is full", max(running, over))
            if not self.rate.measured and self.pending >= self.workers + min(1, self.size):
                # no measurement yet: promise no more than one job behind each worker
                raise Busy("the service rate is not measured yet", max(running, over, 1.0))
            if over > 0 and self.pending > 0:
                # an idle queue always admits: the request then runs alone, the best it can get
                raise Busy(f"the model could not finish this request within {self.deadline_s:g} s", over)
            jid = self._next
            self._next += 1
            self._waiting[jid] = units
            self.admitted += 1
            return jid

    def _job(self, jid: int, units: float, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        t0 = time.monotonic()
        with self._lock:
            self._waiting.pop(jid, None)
            self._running[jid] = (t0, units)
        ok = False
        try:
            out = fn(*args)
            ok = True
            return out
        finally:
            dt = time.monotonic() - t0
            with self._lock:
                self._running.pop(jid, None)
                if ok:  # a cancelled or failed job's time says little about the rate
                    self.rate.add(dt, units)

    def _forget(self, jid: int, f: Future) -> None:
        if f.cancelled():  # cancelled before it started (shutdown)
            with self._lock:
                self._waiting.pop(jid, None)

    def submit(self, fn: Callable[..., T], *args: Any, units: float = 1.0) -> asyncio.Future[T]:
        """Queue `fn(*args)` costing `units` of work; raises Busy when it cannot be admitted."""
        jid = self._admit(units)
        try:
            cf = self._pool.submit(self._job, jid, units, fn, args)
        except RuntimeError:  # shutting down
            with self._lock:
                self._waiting.pop(jid, None)
            raise Busy("the server is shutting down", 5) from None
        cf.add_done_callback(lambda f: self._forget(jid, f))
        return asyncio.wrap_future(cf)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class RateLimiter:
    """A token bucket per key: `per_minute` requests a minute on average, bursts up to `burst`.
    `per_minute` <= 0 turns the limit off. At most `max_keys` buckets are kept (the least
    recently used go first), so a flood of new addresses cannot grow memory without end."""

    def __init__(self, per_minute: float, burst: int | None = None, *, max_keys: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, int(per_minute // 6) or 1))
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def check(self, key_id: str, *, reason: str = "rate limit for this key", kind: str = "rate") -> None:
        """Take one token for `key_id`, or raise Busy with the seconds until one is there."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key_id] = (tokens, now)
                raise Busy(reason, (1.0 - tokens) / self.rate, kind)
            self._buckets[key_id] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)

    def peek(self, key_id: str) -> float | None:
        """Seconds until `key_id` has a token again, or None when it has one now (none taken)."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        return None if tokens >= 1.0 else (1.0 - tokens) / self.rate


class AuthFailures:
    """Requests that came without a valid key, per client address: limited (a token bucket:
    past it they get 429 before their key is even looked at), counted, and logged at most once
    per `interval_s` per address as one line with the counts since the last line. They are not
    audit entries: the audit log records what authenticated callers did."""

    def __init__(self, per_minute: float, burst: int, *, interval_s: float = 60.0,
                 log: logging.Logger | None = None, max_addresses: int = 10_000):
        self.limiter = RateLimiter(per_minute, burst, max_keys=max_addresses)
        self.interval_s = interval_s
        self.log = log or logging.getLogger("medllm.serve")
        self.max_addresses = max_addresses
        self._lock = threading.Lock()
        # address -> (last logged time, {status: count since then})
        self._seen: OrderedDict[str, tuple[float, dict[int, int]]] = OrderedDict()
        self.total = 0

    def check(self, address: str) -> None:
        """Raise Busy when `address` has used up its allowance of requests without a valid key."""
        left = self.limiter.peek(address)
        if left is not None:
            raise Busy("too many requests without a valid API key from this address", left, "auth")

    def failed(self, address: str, status: int) -> None:
        """Count one refused request (401, or 429 for being over the allowance)."""
        if status == 401:
            try:
                self.limiter.check(address, kind="auth")
            except Busy:
                pass  # the next one is refused by check()
        now = time.monotonic()
        line = None
        with self._lock:
            self.total += 1
            last, counts = self._seen.pop(address, (now - self.interval_s, {}))
            counts[status] = counts.get(status, 0) + 1
            if now - last >= self.interval_s:
                line, counts, last = dict(counts), {}, now
            self._seen[address] = (last, counts)
            while len(self._seen) > self.max_addresses:
                self._seen.popitem(last=False)
        if line:
            self.log.warning("auth: %d request(s) without a valid key from %s in the last %.0fs (%s)",
                             sum(line.values()), address, self.interval_s,
                             ", ".join(f"{k}: {v}" for k, v in sorted(line.items())))

    def flush(self) -> None:
        """Log what was counted since each address's last line (at shutdown)."""
        with self._lock:
            rest = [(a, c) for a, (_, c) in self._seen.items() if c]
            self._seen.clear()
        for address, counts in rest:
            self.log.warning("auth: %d request(s) without a valid key from %s since the last line (%s)",
                             sum(counts.values()), address,
                             ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
