"""Model-layer speed, measured in one run (ratios, because this machine is shared and noisy).

1. Prompt processing and generation tokens/s through medllm's llamacpp backend and through raw
   llama-cpp-python on the same GGUF, and medllm's overhead ratio (goal <= 1.05).
2. Log-likelihood scoring of 4-option MedMCQA dev items: items/s on the shared-prefix path vs the
   naive per-option path (goal >= 2x), and the largest difference between their scores
   (goal <= 1e-4).

    python benchmarks/model_speed.py [--model qwen2.5-coder-1.5b-instruct] [--items 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from medllm.models.base import GenParams
from medllm.models.llamacpp import LlamaCppModel
from medllm.models.registry import resolve_gguf
from medllm.session import Session

DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def medmcqa_items(n: int, offset: int = 0) -> list[dict]:
    rows = []
    with open(DATA / "medmcqa" / "dev_a.jsonl") as f:
        for i, line in enumerate(f):
            if i >= offset:
                rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


def mcq_prompt(r: dict) -> str:
    # lm-evaluation-harness's MedMCQA layout; the continuations are " A" .. " D".
    opts = "\n".join(f"{k}. {r[o]}" for k, o in zip("ABCD", ("opa", "opb", "opc", "opd")))
    return f"Question: {r['question']}\nChoices:\n{opts}\nAnswer:"


def bench_tokens(path: Path, threads: int, rounds: int, n_gen: int) -> None:
    from llama_cpp import Llama

    ours = LlamaCppModel(path, f"llamacpp:{path}", n_ctx=4096, n_threads=threads)
    raw = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads,
                n_batch=512, logits_all=False, verbose=False)
    items = medmcqa_items(rounds * 2, offset=100)
    res: dict[str, dict[str, list[float]]] = {"medllm": {"pp": [], "tg": []}, "raw": {"pp": [], "tg": []}}
    gen_prompt = "Write a long numbered list of medical specialties, one per line:\n1."
    for i in range(rounds):
        # Alternate who goes first; each side gets a prompt it has never seen (no prefix cache).
        order = [("medllm", items[2 * i]), ("raw", items[2 * i + 1])] if i % 2 == 0 else \
                [("raw", items[2 * i]), ("medllm", items[2 * i + 1])]
        for who, item in order:
            prompt = mcq_prompt(item) + "\n\n" + "\n".join(mcq_prompt(x) for x in medmcqa_items(3, 200 + 3 * i))
            t0 = time.perf_counter()
            if who == "medllm":
                c = ours.complete(prompt, GenParams(max_tokens=1, temperature=0.0))
                n_prompt = c.prompt_tokens
            else:
                out = raw.create_completion(prompt, max_tokens=1, temperature=0.0)
                n_prompt = out["usage"]["prompt_tokens"]
            res[who]["pp"].append(n_prompt / (time.perf_counter() - t0))
            # Generation: the prompt was just evaluated, so (prefix cache) this times decoding.
            t0 = time.perf_counter()
            if who == "medllm":
                c = ours.complete(gen_prompt, GenParams(max_tokens=n_gen, temperature=0.0))
                n_out = c.completion_tokens
            else:
                out = raw.create_completion(gen_prompt, max_tokens=n_gen, temperature=0.0)
                n_out = out["usage"]["completion_tokens"]
            res[who]["tg"].append(n_out / (time.perf_counter() - t0))
    print(f"tokens/s, median of {rounds} rounds (threads={threads}):")
    print(f"  {'path':8} {'prompt':>10} {'generation':>12}")
    for who in ("medllm", "raw"):
        print(f"  {who:8} {statistics.median(res[who]['pp']):10.1f} {statistics.median(res[who]['tg']):12.1f}")
    pp_ratio = statistics.median(res["raw"]["pp"]) / statistics.median(res["medllm"]["pp"])
    tg_ratio = statistics.median(res["raw"]["tg"]) / statistics.median(res["medllm"]["tg"])
    print(f"  overhead ratio (raw rate / medllm rate): prompt {pp_ratio:.3f}, generation {tg_ratio:.3f}"
          "  (goal <= 1.05)")
    ours.close()
    raw.close()


def bench_loglik(path: Path, threads: int, n_items: int) -> None:
    m = LlamaCppModel(path, f"llamacpp:{path}", n_ctx=4096, n_threads=threads)
    items = medmcqa_items(n_items)
    reqs = [(mcq_prompt(r), f" {k}") for r in items for k in "ABCD"]
    m.loglikelihood(reqs[:4])  # warm-up
    t0 = time.perf_counter()
    shared = m.loglikelihood(reqs, share_prefix=True)
    t_shared = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = m.loglikelihood(reqs, share_prefix=False)
    t_naive = time.perf_counter() - t0
    diff = max(abs(a.logprob - b.logprob) for a, b in zip(shared, naive))
    same_pred = sum(
        max(range(4), key=lambda j: shared[4 * i + j].logprob) == max(range(4), key=lambda j: naive[4 * i + j].logprob)
        for i in range(n_items)
    )
    print(f"log-likelihood, {n_items} MedMCQA dev_a items x 4 options:")
    print(f"  shared prefix: {n_items / t_shared:6.2f} items/s ({t_shared:.1f} s)")
    print(f"  naive:         {n_items / t_naive:6.2f} items/s ({t_naive:.1f} s)")
    print(f"  speed-up: {t_naive / t_shared:.2f}x (goal >= 2)")
    print(f"  max |shared - naive| logprob: {diff:.2e} (goal <= 1e-4); same prediction on {same_pred}/{n_items}")
    m.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct", help="packaged name or .gguf path")
    ap.add_argument("--items", type=int, default=20, help="MedMCQA items for the loglik part")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    path = resolve_gguf(a.model, Session.configure().models_dir)
    print(f"model: {a.model} ({path.stat().st_size / 1e6:.0f} MB)")
    bench_tokens(path, a.threads, a.rounds, a.gen_tokens)
    bench_loglik(path, a.threads, a.items)


if __name__ == "__main__":
    main()
