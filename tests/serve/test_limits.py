"""Admission by measured service rate, the per-key and per-address limits, without a model:
real threads running jobs of known length."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from medllm.serve.limits import AuthFailures, Busy, ModelQueue, RateLimiter


def test_admission_follows_the_measured_rate_and_admitted_jobs_meet_the_deadline():
    async def main() -> None:
        q = ModelQueue(size=50, deadline_s=1.0, margin=1.0)
        # no measurement yet: one job running, one waiting, the third is refused
        first = [q.submit(time.sleep, 0.2, units=1.0), q.submit(time.sleep, 0.2, units=1.0)]
        with pytest.raises(Busy) as e:
            q.submit(time.sleep, 0.2, units=1.0)
        assert e.value.kind == "queue" and e.value.retry_after >= 1
        await asyncio.gather(*first)
        assert 0.15 < q.rate.per_unit() < 0.5  # measured: ~0.2 s per unit

        # now 0.2 s a job and a 1 s deadline: about 5 fit, the rest get 429 with a Retry-After
        t0 = time.monotonic()
        admitted, refused = [], []
        for _ in range(12):
            try:
                admitted.append(q.submit(time.sleep, 0.2, units=1.0))
            except Busy as b:
                refused.append(b)
        assert 3 <= len(admitted) <= 6 and len(refused) == 12 - len(admitted)
        assert all(1 <= b.retry_after <= 3 for b in refused)
        await asyncio.gather(*admitted)
        assert time.monotonic() - t0 < 1.0 + 0.5  # what was admitted finished within the deadline (slack: a busy CI)
        # an idle queue admits even a request estimated over the deadline: it runs alone
        await q.submit(time.sleep, 0.01, units=10.0)
        q.shutdown()

    asyncio.run(main())


def test_a_full_queue_refuses_with_the_time_the_running_job_has_left():
    async def main() -> None:
        q = ModelQueue(size=0, deadline_s=None)
        running = q.submit(time.sleep, 0.3)
        with pytest.raises(Busy) as e:
            q.submit(time.sleep, 0.3)
        assert e.value.retry_after == 1
        await running
        await q.submit(time.sleep, 0.0)  # the slot is free again
        q.shutdown()

    asyncio.run(main())


def test_rate_limiter_buckets_are_bounded():
    r = RateLimiter(60, 2, max_keys=100)
    for i in range(1000):
        r.check(f"k{i}")
    assert len(r._buckets) == 100
    r.check("x")
    r.check("x")
    with pytest.raises(Busy) as e:
        r.check("x")
    assert e.value.retry_after == 1 and e.value.kind == "rate"


def test_auth_failures_are_limited_per_address_and_logged_in_aggregate(caplog):
    caplog.set_level(logging.WARNING, logger="test.auth")
    a = AuthFailures(per_minute=6, burst=3, interval_s=60, log=logging.getLogger("test.auth"))
    for _ in range(3):
        a.check("10.0.0.1")
        a.failed("10.0.0.1", 401)
    with pytest.raises(Busy) as e:
        a.check("10.0.0.1")
    assert e.value.kind == "auth" and e.value.retry_after >= 1
    a.check("10.0.0.2")  # another address is not affected
    for _ in range(500):
        a.failed("10.0.0.1", 429)
    lines = [r for r in caplog.records if r.name == "test.auth"]
    assert len(lines) == 1 and "1 request(s)" in lines[0].getMessage()  # the first; the rest wait for the interval
    a.flush()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.auth"]
    assert len(lines) == 2 and "502 request(s)" in lines[1] and "401: 2, 429: 500" in lines[1]
    assert a.total == 503
