"""Parity with lm-evaluation-harness: the same MedMCQA dev items, the same GGUF model, zero-shot
log-likelihood scoring, run by lm-eval and by `medllm eval --mode loglik`.

lm-eval runs in its own virtual environment made here (`python -m venv`, `pip install
lm-eval[api]`; lm-eval >= 0.4.9 needs no torch for API models). It talks to llama-cpp-python's
OpenAI-compatible server (`python -m llama_cpp.server --logits_all true`) through its `gguf`
model type (its llama.cpp path: echo + logprobs on /v1/completions, continuation found by text
offset, so no separate tokenizer is needed). The task is lm-eval's own `medmcqa` task (its
doc_to_text, choices " A".." D", acc and acc_norm) pointed at the local JSON lines file through an
`include` of the installed task YAML; MedMCQA's `cop` is 1-4 in our file, 0-3 upstream, so the
target is `cop - 1`.

Prints: both accuracies, the share of items where the predictions agree (goal >= 98%), and the
wall-time ratio medllm / lm-eval (goal <= 0.5). Both timings are whole processes (start, model
load, scoring); the lm-eval server is started (and its model loaded) before lm-eval's clock
starts, which favours lm-eval.

If lm-eval cannot be installed or run (or does not finish within --lmeval-timeout), the script
says why and compares medllm against a naive per-option scorer instead (each (context, option)
scored from scratch, no shared prefix).

Measured here (llama-cpp-python 0.3.36, Gemma 3 270M, vocabulary 262,144, 2 shared cores): the
server answers lm-eval's echo+logprobs requests correctly but slowly: its logprobs are computed
in Python for every prompt token over the whole vocabulary (first request: 20.7 s in llama.cpp,
~8 min until the HTTP reply under load), so 800 requests for 200 items do not finish here.

    python benchmarks/eval_parity.py [--n 200] [--model gemma3-270m] [--venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", REPO.parent / "shared" / "data"))

TASK_YAML = """\
include: {builtin}
task: medmcqa_local
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files:
    validation: {data}
training_split: null
validation_split: validation
test_split: validation
doc_to_target: "{{{{cop - 1}}}}"
"""

LMEVAL_DRIVER = """\
import json, sys, time
import lm_eval
from lm_eval.tasks import TaskManager
base_url, include, limit, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
res = lm_eval.simple_evaluate(
    model="gguf", model_args=f"base_url={base_url}", tasks=["medmcqa_local"],
    task_manager=TaskManager(include_path=include), limit=limit, log_samples=True,
    num_fewshot=0, bootstrap_iters=0,
)
samples = res["samples"]["medmcqa_local"]
preds = {}
for s in samples:
    lls = [r[0] for r in s["filtered_resps"]]
    preds[s["doc"]["id"]] = "ABCD"[max(range(len(lls)), key=lambda i: lls[i])]
json.dump({"acc": res["results"]["medmcqa_local"]["acc,none"],
           "acc_norm": res["results"]["medmcqa_local"]["acc_norm,none"],
           "n": len(samples), "preds": preds, "seconds": time.perf_counter() - t0,
           "version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "?"},
          open(out, "w"))
"""


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def make_venv(venv: Path) -> Path:
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating lm-eval venv at {venv}", flush=True)
        sh([sys.executable, "-m", "venv", str(venv)])
    try:
        sh([str(py), "-c", "import lm_eval, requests, datasets"])
    except subprocess.CalledProcessError:
        print("pip install lm-eval[api] (a few minutes) ...", flush=True)
        sh([str(py), "-m", "pip", "install", "-q", "lm-eval[api]", "requests"])
    return py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, port: int, threads: int, log: Path) -> subprocess.Popen:
    # the server's log goes to a file: an unread pipe fills up and blocks the server
    with log.open("w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--logits_all",
             "true", "--n_ctx", "2048", "--n_threads", str(threads), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=f, stderr=subprocess.STDOUT, text=True,
        )
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not answer within 180 s")


def run_medllm(spec: str, n: int, home: Path, models_dir: Path) -> tuple[dict, float]:
    """`medllm eval` as a user runs it. Its wall time is kept in the work directory, so a
    benchmark restarted with the same --work reuses the finished run instead of redoing it."""
    out = home / "medllm-run"
    timing = home / "medllm_wall.json"
    if timing.exists() and (out / "summary.json").exists():
        t = json.loads(timing.read_text())
        if t["n"] == n:
            summary = json.loads((out / "summary.json").read_text())
            preds = {json.loads(x)["id"]: json.loads(x)["pred"]
                     for x in (out / "predictions.jsonl").read_text().splitlines()}
            print(f"(medllm run and its wall time reused from {home})")
            return {"summary": summary, "preds": preds}, float(t["wall"])
    # a fresh home (no response cache, no earlier run to resume), the shared assembled models
    env = {**os.environ, "MEDLLM_HOME": str(home), "MEDLLM_CACHE": "0",
           "MEDLLM_MODELS_DIR": str(models_dir), "PYTHONPATH": str(REPO / "src")}
    t0 = time.perf_counter()
    sh([sys.executable, "-c", "from medllm.cli import main; main()", "eval",
        "--dataset", f"medmcqa:{DATA}/medmcqa/dev_a.jsonl", "--model", spec,
        "--limit", str(n), "--out", str(out)], env=env)
    wall = time.perf_counter() - t0
    timing.write_text(json.dumps({"n": n, "wall": wall}))
    summary = json.loads((out / "summary.json").read_text())
    preds = {json.loads(x)["id"]: json.loads(x)["pred"]
             for x in (out / "predictions.jsonl").read_text().splitlines()}
    return {"summary": summary, "preds": preds}, wall


def run_lmeval(py: Path, gguf: Path, n: int, tmp: Path, threads: int,
               timeout: float) -> tuple[dict, float]:
    builtin = sh([str(py), "-c", "import lm_eval, os; print(os.path.join(os.path.dirname("
                  "lm_eval.__file__), 'tasks', 'medmcqa', 'medmcqa.yaml'))"]).stdout.strip()
    tasks = tmp / "tasks"
    tasks.mkdir()
    (tasks / "medmcqa_local.yaml").write_text(
        TASK_YAML.format(builtin=builtin, data=DATA / "medmcqa" / "dev_a.jsonl"))
    driver = tmp / "driver.py"
    driver.write_text(LMEVAL_DRIVER)
    port = free_port()
    server = start_server(gguf, port, threads, tmp / "server.log")
    try:
        out = tmp / "lmeval.json"
        env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
               "HF_HOME": str(tmp / "hf")}
        t0 = time.perf_counter()
        try:
            r = subprocess.run([str(py), str(driver), f"http://127.0.0.1:{port}", str(tasks),
                                str(n), str(out)], env=env, text=True, capture_output=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            log = (tmp / "server.log").read_text()
            done = log.count('"POST /v1/completions')
            raise RuntimeError(
                f"lm-eval ran but answered only {done} of {4 * n} requests in {timeout:.0f} s: "
                "llama-cpp-python's server computes echo logprobs (top-10 for every prompt token)"
                " in Python over the whole vocabulary, which is minutes per request for large "
                "vocabularies on a small CPU. Raise --lmeval-timeout on a bigger machine."
            ) from None
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"lm-eval failed:\n{r.stderr[-3000:]}")
        return json.loads(out.read_text()), wall
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_naive(spec: str, n: int) -> tuple[dict, float]:
    """Fallback reference: every (context, option) scored alone with the same prompt."""
    sys.path.insert(0, str(REPO / "src"))
    from medllm.eval.datasets import load_dataset
    from medllm.session import Session
    from medllm.tasks.prompts import loglik_requests

    t0 = time.perf_counter()
    model = Session.configure().load_model(spec, cache=False)
    qs = load_dataset(f"medmcqa:{DATA}/medmcqa/dev_a.jsonl").questions[:n]
    preds = {}
    for q in qs:
        ctx, conts = loglik_requests(q)
        lls = [r.logprob for r in model.loglikelihood([(ctx, c) for c in conts], share_prefix=False)]
        preds[q.id] = q.labels[max(range(len(lls)), key=lambda i: lls[i])]
    model.close()
    acc = sum(preds[q.id] == q.gold for q in qs) / len(qs)
    return {"acc": acc, "preds": preds, "n": len(qs)}, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default="gemma3-270m", help="packaged model name")
    ap.add_argument("--venv", type=Path, default=Path(os.environ.get(
        "LMEVAL_VENV", Path.home() / ".cache" / "medllm-bench" / "lmeval-venv")))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--lmeval-timeout", type=float, default=3600,
                    help="seconds before giving up on lm-eval and using the naive scorer")
    ap.add_argument("--work", type=Path, default=None,
                    help="keep runs here (default: a temporary directory); a rerun reuses them")
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "src"))
    from medllm.models.registry import resolve_gguf
    from medllm.session import Session

    models_dir = Session.configure().models_dir
    assert models_dir is not None
    gguf = resolve_gguf(args.model, models_dir)
    spec = f"llamacpp:{args.model}"
    with tempfile.TemporaryDirectory(prefix="parity-") as t:
        tmp = Path(t)
        if args.work:
            args.work.mkdir(parents=True, exist_ok=True)
        home = args.work or tmp
        ours, our_wall = run_medllm(spec, args.n, home, models_dir)
        m = ours["summary"]["metrics"]
        print(f"items: first {args.n} of MedMCQA dev_a ({DATA}/medmcqa/dev_a.jsonl), zero-shot, "
              f"model {args.model} ({gguf.name})")
        print(f"medllm   acc {m['accuracy']['value']:.4f}  acc_norm {m['acc_norm']['value']:.4f}"
              f"  wall {our_wall:.1f} s (process; scoring {ours['summary']['wall_seconds']:.1f} s)")
        try:
            py = make_venv(args.venv)
            ref, ref_wall = run_lmeval(py, gguf, args.n, tmp, args.threads, args.lmeval_timeout)
            name = f"lm-eval {ref.get('version', '')} (gguf model -> llama_cpp.server)"
            print(f"lm-eval  acc {ref['acc']:.4f}  acc_norm {ref['acc_norm']:.4f}  wall {ref_wall:.1f} s"
                  f" (process; server started beforehand)")
        except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
            why = getattr(e, "stderr", None) or str(e)
            print("lm-eval could not be run here:\n" + textwrap.indent(str(why)[-2000:], "  "))
            ref, ref_wall = run_naive(spec, args.n)
            name = "naive per-option scorer (no shared prefix)"
            print(f"naive    acc {ref['acc']:.4f}  wall {ref_wall:.1f} s")
        shared = [i for i in ours["preds"] if i in ref["preds"]]
        agree = sum(ours["preds"][i] == ref["preds"][i] for i in shared) / len(shared)
        print(f"reference: {name}")
        print(f"items compared: {len(shared)}")
        print(f"prediction agreement: {100 * agree:.1f}%  (goal >= 98%)")
        print(f"wall-time ratio medllm / reference: {our_wall / ref_wall:.2f}  (goal <= 0.5)")


if __name__ == "__main__":
    main()
