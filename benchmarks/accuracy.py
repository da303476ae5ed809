"""Accuracy levers for MCQ in loglik mode, each paired against zero-shot on the same items:
k-shot with the prefix cache, debiased option scoring (PriDe, contextual calibration, cyclic
permutation averaging = choice-shuffle), kNN few-shot and its combinations.

Data: MedMCQA dev_a (../shared/data/medmcqa/dev_a.jsonl, 2000 items) in two slices that do not
overlap: `tune` (items 0..) on which methods were chosen, `report` (items 1000..) on which they
were not. Exemplars come from the rest of dev_a (the runner's --shots-from excludes the items
under evaluation); static shots are 3 picked by the seed, kNN picks 3 per item out of a pool of
POOL. No MedQA-US dev file exists in ../shared/data, so MedQA-US is not measured here.

Columns: accuracy with 95% Wilson CI; paired difference to zero-shot (bootstrap 95% CI) and
exact McNemar p; position bias as the share of predictions per option position next to the gold
share, and their total-variation distance (0 = predictions spread like the gold answers); cost
as model seconds per item (sum of item latencies, so resumes count what was done) and its
ratio to zero-shot. Every cell is a resumable `medllm eval` run under
$MEDLLM_HOME/runs/accuracy/, the response cache off, llama.cpp on --threads threads.

    nice python benchmarks/accuracy.py --models qwen2.5-coder-0.5b-instruct --slice tune -n 100
    nice python benchmarks/accuracy.py --models qwen2.5-coder-0.5b-instruct --cost 20   # k-shot cost
    nice python benchmarks/accuracy.py --models qwen2.5-coder-1.5b-instruct --slice report -n 200 \\
        --methods zero-shot,3-shot,3-shot+pride
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))

MEDMCQA = f"medmcqa:{DATA}/medmcqa/dev_a.jsonl"
SLICES = {"tune": 0, "report": 1000}  # first item of each slice in dev_a
POOL = 800  # kNN candidate exemplars
METHODS: dict[str, tuple[str, int]] = {  # name -> (strategy, --shots)
    "zero-shot": ("direct", 0),
    "pride": ("pride", 0),
    "calibrate": ("calibrate", 0),
    "cyclic": ("choice-shuffle", 0),
    "3-shot": ("direct", 3),
    "3-shot+pride": ("pride", 3),
    "3-shot+calibrate": ("calibrate", 3),
    "3-shot+cyclic": ("choice-shuffle", 3),
    "10-shot": ("direct", 10),
    "10-shot+pride": ("pride", 10),
    "knn-3": ("knn-fewshot(k=3)", POOL),
    "knn-3+pride": ("knn-fewshot(k=3)+pride", POOL),
    "knn-3+calibrate": ("knn-fewshot(k=3)+calibrate", POOL),
}


def position_shares(labels: list[str], picks: list[str | None]) -> list[float]:
    c = Counter(picks)
    return [c[lbl] / len(picks) for lbl in labels]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--slice", choices=list(SLICES), default="tune")
    ap.add_argument("-n", type=int, default=100, help="items of the slice")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cost", type=int, default=0, metavar="N",
                    help="instead: time zero-shot vs 3- and 10-shot (cached, from scratch) on N items")
    args = ap.parse_args()
    if args.cost:
        for name in args.models.split(","):
            for k in (3, 10):
                cost_interleaved(name, args.cost, k, args.threads)
        return

    import torch

    torch.set_num_threads(args.threads)  # MiniLM for kNN

    from medllm.eval import metrics as M
    from medllm.eval.datasets import LoadedDataset, load_dataset
    from medllm.eval.runner import EvalConfig, run_eval
    from medllm.session import Session

    session = Session.configure(cache=False, n_threads=args.threads)
    settings = session.settings
    full = load_dataset(MEDMCQA)
    start = SLICES[args.slice]
    items = full.questions[start : start + args.n]
    ds = LoadedDataset(spec=full.spec, questions=items)
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    if "zero-shot" not in methods:
        methods.insert(0, "zero-shot")
    labels = items[0].labels
    gold_share = position_shares(labels, [q.gold for q in items])
    print(f"MedMCQA dev_a slice {args.slice} (items {start}..{start + len(items) - 1}), n={len(items)}; "
          f"gold per position {' '.join(f'{lbl}{100 * s:.0f}' for lbl, s in zip(labels, gold_share))}")

    for name in args.models.split(","):
        spec = f"llamacpp:{name}"
        model = session.load_model(spec, cache=False)
        base: list[bool] | None = None
        base_cost = 0.0
        header = (f"{'method':<18} {'acc':>6} {'95% CI':>14} {'Δ vs zero [95% CI]':>22} {'McNemar p':>9}"
                  f"  {'picks per position (gold above)':<22} {'TVD':>5} {'s/item':>6} {'×zero':>5}")
        print(f"\n{name}\n{header}\n{'-' * len(header)}", flush=True)
        try:
            for meth in methods:
                strategy, shots = METHODS[meth]
                config = EvalConfig(dataset=MEDMCQA, model=spec, strategy=strategy, shots=shots,
                                    shots_from=MEDMCQA if shots else None,
                                    extra={"slice": f"{args.slice}:{start}+{len(items)}"})
                out = settings.home / "runs" / "accuracy" / name / f"{args.slice}-{len(items)}" / meth
                res = run_eval(config, model=model, out_dir=out, settings=settings, dataset=ds)
                recs = [r for r in _read(out)]
                by_id = {r["id"]: r for r in recs}
                recs = [by_id[q.id] for q in items]
                ok = [bool(r["correct"]) for r in recs]
                cost = sum(float(r["latency"]) for r in recs) / len(recs)
                acc = sum(ok) / len(ok)
                lo, hi = M.wilson_ci(sum(ok), len(ok))
                shares = position_shares(labels, [r["pred"] for r in recs])
                tvd = 0.5 * sum(abs(a - b) for a, b in zip(shares, gold_share))
                if base is None:
                    base, base_cost = ok, cost
                    delta, p = "", ""
                else:
                    d, dlo, dhi = M.paired_bootstrap_diff(base, ok, seed=0)
                    delta = f"{100 * d:+.1f} [{100 * dlo:+.1f}, {100 * dhi:+.1f}]"
                    p = f"{M.mcnemar_exact(base, ok).p_value:.3g}"
                picks = " ".join(f"{lbl}{100 * s:.0f}" for lbl, s in zip(labels, shares))
                print(f"{meth:<18} {100 * acc:>5.1f}% [{100 * lo:>4.1f}, {100 * hi:>4.1f}] {delta:>22} {p:>9}"
                      f"  {picks:<22} {tvd:>5.2f} {cost:>6.2f} {cost / base_cost:>5.2f}", flush=True)
                del res
        finally:
            model.close()


def cost_interleaved(model_name: str, n: int, shots: int, threads: int) -> None:
    """What k-shot costs next to zero-shot under the same load: for each item, zero-shot,
    k-shot on the prefix cache, and k-shot decoded from scratch (what each item paid before the
    cache) are timed back to back, so other jobs on the machine slow all three alike. The
    cached k-shot runs on its own model instance: the cache holds the previous context only,
    so in one run (one model, one prefix) it is never evicted, as here."""
    import time

    from medllm.eval.datasets import load_dataset
    from medllm.session import Session
    from medllm.tasks.prompts import loglik_requests

    qs = load_dataset(MEDMCQA).questions
    items, shots_qs = qs[SLICES["report"] : SLICES["report"] + n], qs[1500 : 1500 + shots]
    session = Session.configure(cache=False, n_threads=threads)
    model = session.load_model(f"llamacpp:{model_name}", cache=False)
    kshot = session.load_model(f"llamacpp:{model_name}", cache=False)
    names = ("zero-shot", f"{shots}-shot, prefix cache", f"{shots}-shot, from scratch")
    secs = dict.fromkeys(names, 0.0)
    identical = True
    try:
        for q in items:
            zctx, conts = loglik_requests(q)
            kctx, _ = loglik_requests(q, shots_qs)
            t0 = time.perf_counter()
            model.loglikelihood([(zctx, c) for c in conts])
            t1 = time.perf_counter()
            cached = kshot.loglikelihood([(kctx, c) for c in conts])
            t2 = time.perf_counter()
            # the old per-item cost: the whole context decoded once (" A".." D" are one token each)
            scratch = model.loglikelihood([(kctx, conts[0])], share_prefix=False)
            t3 = time.perf_counter()
            identical = identical and cached[0].logprob == scratch[0].logprob
            for name, dt in zip(names, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                secs[name] += dt
    finally:
        model.close()
        kshot.close()
    print(f"\ncost, interleaved: {model_name}, MedMCQA dev_a items {SLICES['report']}.., n={n}, "
          f"{threads} thread(s); cached and from-scratch scores bit-identical: {identical}")
    for name, sec in secs.items():
        print(f"  {name:<24} {sec / n:6.2f} s/item  {sec / secs['zero-shot']:5.2f}x zero-shot")


def _read(out: Path) -> list[dict]:
    from medllm.eval.store import PREDICTIONS, PredictionLog

    return list(PredictionLog(out / PREDICTIONS).read())


if __name__ == "__main__":
    main()
