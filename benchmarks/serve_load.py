"""Load on `medllm serve`: N concurrent clients on loopback at 1x, 2x and 4x the queue size.

Starts `medllm serve` (a subprocess, 127.0.0.1 only, a fresh MEDLLM_HOME, no rate limit) on a
packaged model, then for each level runs N clients that each send R chat requests one after
another (OpenAI-compatible /v1/chat/completions, real patient questions from K-QA dev). Prints
p50/p95/p99 latency, throughput and the count of each status code per level, and the server's
RSS before and after. Every request must end in 200 or 429: a client-side timeout is counted as
"hang" and any 5xx is reported.

    nice python benchmarks/serve_load.py --queue-size 4 --requests 3 --max-tokens 16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def questions(n: int) -> list[str]:
    path = DATA / "kqa" / "kqa_dev.jsonl"
    if not path.exists():
        sys.exit(f"no {path}; set MEDLLM_SHARED_DATA to the shared data folder")
    out = [json.loads(line)["Question"] for line in path.read_text().splitlines() if line.strip()]
    return out[:n]


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--queue-size", type=int, default=4)
    ap.add_argument("--levels", default="1,2,4", help="multiples of the queue size")
    ap.add_argument("--requests", type=int, default=3, help="requests per client, one after another")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--pipeline", default="medllm-direct")
    ap.add_argument("--client-timeout", type=float, default=300.0, help="seconds before a request counts as a hang")
    ap.add_argument("--max-clients", type=int, default=64, help="refuse levels above this many clients")
    ap.add_argument("--triage-judge", default="off",
                    help="the safety triage's judge model for the uncertain band (default off: the classifier and"
                         " rules still run; the 1.5B judge would dominate the time on a small CPU)")
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    if max(levels) * a.queue_size > a.max_clients:
        sys.exit(f"{max(levels) * a.queue_size} clients is over --max-clients {a.max_clients}")

    home = Path(tempfile.mkdtemp(prefix="medllm-load-"))
    env = {**os.environ, "MEDLLM_HOME": str(home),
           "MEDLLM_MODELS_DIR": os.environ.get("MEDLLM_MODELS_DIR", str(Path("~/.medllm/models").expanduser())),
           "MEDLLM_KG_DIR": os.environ.get("MEDLLM_KG_DIR", str(Path("~/.medllm/kg").expanduser())),
           "MEDLLM_TRIAGE_JUDGE": a.triage_judge}
    medllm = [str(Path(sys.executable).with_name("medllm"))]
    key = subprocess.run([*medllm, "serve", "keys", "add", "load"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [*medllm, "serve", "--host", "127.0.0.1", "--port", str(port), "--model", a.model, "--no-kb", "--no-kg",
         "--strategy", "direct", "--queue-size", str(a.queue_size), "--rate-limit", "0",
         "--max-tokens", str(a.max_tokens), "--timeout", str(a.client_timeout - 30)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            if server.poll() is not None:
                sys.exit(f"server exited; see {home / 'server.log'}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                sys.exit("server did not start within 180 s")
            time.sleep(0.5)
        qs = questions(max(levels) * a.queue_size * a.requests)
        headers = {"Authorization": f"Bearer {key}"}
        # one warm-up request: the first call pays for loading caches
        httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=a.client_timeout,
                   json={"model": a.pipeline, "max_tokens": a.max_tokens, "messages": [{"role": "user", "content": qs[0]}]})
        rss0 = rss_mb(server.pid)
        print(f"model {a.model} · pipeline {a.pipeline} · queue size {a.queue_size} · {a.requests} requests per client"
              f" · max_tokens {a.max_tokens} · triage judge {a.triage_judge} · {os.cpu_count()} CPUs"
              f" · server RSS at start {rss0:.0f} MB\n")
        print("| clients | x queue | requests | ok 200 | 429 | 5xx | hang | other | p50 s | p95 s | p99 s | ok/s | RSS after MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for level in levels:
            n = level * a.queue_size
            codes: Counter[str] = Counter()
            lat_ok: list[float] = []
            lock = threading.Lock()

            def client(i: int) -> None:
                with httpx.Client(timeout=a.client_timeout, headers=headers) as c:
                    for r in range(a.requests):
                        q = qs[(i * a.requests + r) % len(qs)]
                        t0 = time.perf_counter()
                        try:
                            resp = c.post(f"{url}/v1/chat/completions", json={
                                "model": a.pipeline, "max_tokens": a.max_tokens,
                                "messages": [{"role": "user", "content": q}]})
                            code = str(resp.status_code)
                        except httpx.TimeoutException:
                            code = "hang"
                        except httpx.HTTPError as e:
                            code = f"error:{type(e).__name__}"
                        dt = time.perf_counter() - t0
                        with lock:
                            codes[code] += 1
                            if code == "200":
                                lat_ok.append(dt)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(client, range(n)))
            wall = time.perf_counter() - t0
            fivexx = sum(v for k, v in codes.items() if k.startswith("5"))
            other = sum(v for k, v in codes.items() if k not in ("200", "429", "hang") and not k.startswith("5"))
            print(f"| {n} | {level}x | {sum(codes.values())} | {codes['200']} | {codes['429']} | {fivexx} | {codes['hang']}"
                  f" | {other} | {pct(lat_ok, 50):.2f} | {pct(lat_ok, 95):.2f} | {pct(lat_ok, 99):.2f}"
                  f" | {codes['200'] / wall:.2f} | {rss_mb(server.pid):.0f} |", flush=True)
        print(f"\nserver RSS: {rss0:.0f} MB before the levels, {rss_mb(server.pid):.0f} MB after"
              f" (latency is of 200 answers, from send to the full response; 429 answers return at once)")
        m = httpx.get(f"{url}/metrics").text
        rejected = [line for line in m.splitlines() if line.startswith("medllm_rejected_total")]
        print("server counted:", "; ".join(rejected) or "no rejections")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


if __name__ == "__main__":
    main()
