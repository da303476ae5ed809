"""Load on `medllm serve`: N concurrent clients on loopback at 1x, 2x and 4x the queue size,
then the service's memory under a mixed workload.

Load: starts `medllm serve` (a subprocess, 127.0.0.1 only, a fresh MEDLLM_HOME, no rate limit,
admission deadline --deadline) on a packaged model, then for each level runs N clients that each
send R chat requests one after another (OpenAI-compatible /v1/chat/completions, real patient
questions from K-QA dev). Prints p50/p95/p99 latency, the count of each status code, throughput
(200s per second) and goodput (requests per second answered 200 within the deadline) per level.
Every request must end in 200 or 429: a client-side timeout is counted as "hang" and any 5xx is
reported.

Memory (--memory, on by default): a second server with a small dense knowledge base (the
default clinical KB, first --kb-docs documents, MiniLM vectors) runs a mixed workload (triage,
de-identification, KB search, ask) and prints the server's RSS after the first use of each
component (what each costs), after a second round, and its peak (VmHWM).

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


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's resident memory (VmRSS) or its peak (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(medllm: list[str], env: dict, home: Path, args: list[str]) -> tuple[subprocess.Popen, str, object]:
    """`medllm serve` on a free loopback port; returns (process, URL, log file) once ready."""
    port = free_port()
    log = open(home / "server.log", "w")
    server = subprocess.Popen([*medllm, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        if server.poll() is not None:
            sys.exit(f"server exited; see {home / 'server.log'}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server, url, log
        except httpx.HTTPError:
            pass
        if time.time() > deadline:
            server.kill()
            sys.exit("server did not start within 300 s")
        time.sleep(0.5)


def stop_server(server: subprocess.Popen, log: object) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()  # type: ignore[attr-defined]


def memory(a: argparse.Namespace, medllm: list[str], env: dict, qs: list[str]) -> None:
    """The mixed workload: RSS after each component's first use, after a second round, and the peak."""
    home = Path(tempfile.mkdtemp(prefix="medllm-mem-"))
    env = {**env, "MEDLLM_HOME": str(home)}
    index = home / "indexes" / "default"
    t0 = time.perf_counter()
    subprocess.run([*medllm, "kb", "build-default", "--out", str(index), "--limit", str(a.kb_docs)], env=env,
                   check=True, capture_output=True)
    print(f"\nmemory: knowledge base of the first {a.kb_docs} documents of the default clinical KB (BM25 + MiniLM)"
          f" built in {time.perf_counter() - t0:.0f} s")
    key = subprocess.run([*medllm, "serve", "keys", "add", "mem"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    server, url, log = start_server(medllm, env, home, [
        "--model", a.model, "--index", str(index), "--no-kg", "--strategy", "direct", "--rate-limit", "0",
        "--max-tokens", str(a.max_tokens), "--timeout", str(a.deadline)])
    h = {"Authorization": f"Bearer {key}"}
    note = ("Mr. John Smith (MRN 4482913) was seen on 03/14/2024 at Boston General; call him at 617-555-0134. "
            "He reports chest tightness on exertion for two weeks.")
    steps = [
        ("triage (safety classifier)", "/v1/triage", {"text": qs[1]}),
        ("de-identification (Presidio + spaCy)", "/v1/deid", {"text": note, "mode": "tag"}),
        ("KB search (BM25 + MiniLM)", "/v1/kb/search", {"query": qs[2], "k": 5}),
        ("ask (retrieval, model, checks)", "/v1/chat/completions",
         {"model": "medllm-direct", "max_tokens": a.max_tokens, "messages": [{"role": "user", "content": qs[3]}]}),
    ]
    try:
        rows = [("at ready", rss_mb(server.pid), 0.0)]
        with httpx.Client(timeout=a.client_timeout, headers=h) as c:
            for name, path, body in steps:
                before = rss_mb(server.pid)
                r = c.post(f"{url}{path}", json=body)
                if r.status_code != 200:
                    sys.exit(f"{path} answered {r.status_code}: {r.text[:300]}")
                after = rss_mb(server.pid)
                rows.append((f"+ {name}", after, after - before))
            before = rss_mb(server.pid)
            for i, (_, path, body) in enumerate(steps * 2):  # a second and third round: does it settle?
                c.post(f"{url}{path}", json=body)
            rows.append(("two more rounds of all four", rss_mb(server.pid), rss_mb(server.pid) - before))
        print(f"model {a.model} · max_tokens {a.max_tokens} · triage judge {a.triage_judge}\n")
        print("| server state | RSS MB | added MB |")
        print("|---|---|---|")
        for name, rss, delta in rows:
            print(f"| {name} | {rss:.0f} | {delta:+.0f} |")
        print(f"\npeak RSS (VmHWM) after the mixed workload: {rss_mb(server.pid, 'VmHWM'):.0f} MB")
    finally:
        stop_server(server, log)


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
    ap.add_argument("--deadline", type=float, default=60.0,
                    help="the server's admission deadline (serve --timeout); goodput counts 200s within it")
    ap.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure memory under a mixed workload (builds a small knowledge base)")
    ap.add_argument("--kb-docs", type=int, default=100, help="documents of the default clinical KB for --memory")
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
    qs = questions(max(levels) * a.queue_size * a.requests)
    server, url, log = start_server(medllm, env, home, [
        "--model", a.model, "--no-kb", "--no-kg", "--strategy", "direct", "--queue-size", str(a.queue_size),
        "--rate-limit", "0", "--max-tokens", str(a.max_tokens), "--timeout", str(a.deadline)])
    try:
        headers = {"Authorization": f"Bearer {key}"}
        # one warm-up request: the first call pays for loading caches (and gives admission its first measurement)
        httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=a.client_timeout,
                   json={"model": a.pipeline, "max_tokens": a.max_tokens, "messages": [{"role": "user", "content": qs[0]}]})
        rss0 = rss_mb(server.pid)
        print(f"model {a.model} · pipeline {a.pipeline} · queue size {a.queue_size} · {a.requests} requests per client"
              f" · max_tokens {a.max_tokens} · deadline {a.deadline:g} s · triage judge {a.triage_judge}"
              f" · {os.cpu_count()} CPUs · server RSS at start {rss0:.0f} MB\n")
        print("| clients | x queue | requests | ok 200 | 429 | 5xx | hang | other | p50 s | p95 s | max s"
              " | ok/s | goodput/s | RSS after MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
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
            good = sum(1 for t in lat_ok if t <= a.deadline)
            print(f"| {n} | {level}x | {sum(codes.values())} | {codes['200']} | {codes['429']} | {fivexx} | {codes['hang']}"
                  f" | {other} | {pct(lat_ok, 50):.2f} | {pct(lat_ok, 95):.2f} | {max(lat_ok, default=float('nan')):.2f}"
                  f" | {codes['200'] / wall:.3f} | {good / wall:.3f} | {rss_mb(server.pid):.0f} |", flush=True)
        print(f"\nserver RSS: {rss0:.0f} MB before the levels, {rss_mb(server.pid):.0f} MB after"
              f" (latency is of 200 answers, from send to the full response; 429 answers return at once;"
              f" goodput: 200s within the {a.deadline:g} s deadline per second of the level)")
        m = httpx.get(f"{url}/metrics", headers=headers).text
        rejected = [line for line in m.splitlines() if line.startswith(("medllm_rejected_total",
                                                                       "medllm_service_seconds_per_unit"))]
        print("server counted:", "; ".join(rejected) or "no rejections")
    finally:
        stop_server(server, log)
    if a.memory:
        memory(a, medllm, env, qs)


if __name__ == "__main__":
    main()
