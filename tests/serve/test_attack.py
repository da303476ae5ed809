"""The service under attack and under load, on the real server: a flood without keys is
limited per address, counted and logged in aggregate, never audited; many concurrent chats
end in 200 or 429, never a timeout after admission."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from medllm.serve.app import ServeConfig


def _audit_lines(served) -> int:
    path = served.home / "audit.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_thousand_requests_without_a_key_add_no_audit_lines(served, serve_app, caplog):
    caplog.set_level(logging.INFO, logger="medllm.serve")
    cfg = ServeConfig(strategies=("direct",))  # the default allowance: 60 a minute, bursts of 30
    url = serve_app(cfg)
    before = _audit_lines(served)
    codes: Counter[int] = Counter()
    bad = {"Authorization": "Bearer mk_000000000000_" + "y" * 43}
    t0 = time.monotonic()
    with httpx.Client(timeout=30) as c:
        for i in range(1000):
            r = c.post(f"{url}/v1/triage", json={"text": "crushing chest pain"}, headers=bad if i % 2 else {})
            codes[r.status_code] += 1
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["type"] == "rate_limit_error"
    took = time.monotonic() - t0
    assert set(codes) == {401, 429}, codes
    assert codes[401] <= cfg.auth_fail_burst + took * cfg.auth_fail_per_minute / 60 + 2  # the burst, then the rate
    assert _audit_lines(served) - before <= 10  # the bound; in fact none
    assert _audit_lines(served) == before
    ours = [r.getMessage() for r in caplog.records if r.name == "medllm.serve"]
    assert not [m for m in ours if "/v1/triage" in m]  # no line per request
    assert 1 <= len([m for m in ours if m.startswith("auth:")]) <= 3  # one aggregate line per address and minute
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {served.key}"}) as c:
        # a valid key from the same address is not locked out, and is audited
        assert c.post(f"{url}/v1/triage", json={"text": "crushing chest pain"}).status_code == 200
        assert _audit_lines(served) == before + 1
        metrics = c.get(f"{url}/metrics").text
    counted = sum(float(v) for v in re.findall(r'^medllm_unauthenticated_total\{status="\d+"\} (\S+)$', metrics, re.M))
    assert counted == 1000


def test_thirty_concurrent_chats_get_200_or_429_never_a_timeout(served, serve_app):
    keys = [served.keys.add(f"load-{i}")[1] for i in range(3)]
    url = serve_app(ServeConfig(queue_size=8, rate_per_minute=600, burst=30, timeout_s=60, max_tokens=16,
                                strategies=("direct",)))

    def one(i: int) -> tuple[int, float, str]:
        t0 = time.monotonic()
        r = httpx.post(f"{url}/v1/chat/completions", timeout=300,
                       headers={"Authorization": f"Bearer {keys[i % 3]}"},
                       json={"model": "medllm-direct", "max_tokens": 16,
                             "messages": [{"role": "user", "content": f"What does insulin do? ({i})"}]})
        return r.status_code, time.monotonic() - t0, r.headers.get("Retry-After", "")

    with ThreadPoolExecutor(30) as pool:
        out = list(pool.map(one, range(30)))
    codes = Counter(c for c, _, _ in out)
    assert set(codes) <= {200, 429}, codes
    assert codes[200] >= 1 and codes[429] >= 1
    assert all(int(ra) >= 1 for c, _, ra in out if c == 429)
    # admitted means it could finish within the deadline at the measured rate (slack for a busy machine)
    assert max(t for c, t, _ in out if c == 200) < 2 * 60
    health = httpx.get(f"{url}/readyz").json()
    assert health["queue"]["pending"] == 0

