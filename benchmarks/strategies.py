"""Every reasoning strategy against `direct`, on small dev samples, with both instruct models.

Cells are (model, dataset, strategy). Each answers the same first-n items of its dataset in
generate mode (direct included, so the paired comparison is like for like) and appends one line
per item to $MEDLLM_HOME/bench/strategies/<model>/<dataset>/<strategy>.jsonl; a killed run
resumes where it stopped, a finished cell is only re-read. Model calls go through the response
cache, so re-running a cell after a crash re-uses what was already generated.

Printed per cell: n, accuracy with a 95% Wilson CI, the paired difference vs direct (bootstrap
95% CI) with the exact McNemar p-value, the parse-failure rate, and cost per item (model calls,
prompt + completion tokens, seconds). For MedMCQA also the position-bias rate: the share of
items whose predicted *position* stays the same when every option moves one place (a cyclic
shift) — for direct (its answers under both orderings come from choice-shuffle's own calls)
and for the choice-shuffle ensemble (its answer on the shifted question; the calls are the same
prompts, answered from the cache). Plus the share of items where direct picks the same
position under all four orderings.

Data (../shared/data; dev splits, figures are "dev"):
- medmcqa: MedMCQA dev_a, first n items; exemplar pool for fewshot/knn: items 1000-1019 of
  the same file (never evaluated); medprompt prepares the first 8 of them;
- pubmedqa: PubMedQA PQA-L dev, question only (MIRAGE's PubMedQA*), yes/no/maybe;
- medhalt: Med-HALT fake questions (the right answer is "I do not know").
RAG searches a BM25 index over MedQuAD (chunked) + the default KB (HPO, ICD-10-CM, drugs), built
once under $MEDLLM_HOME/indexes/bench-medquad-kb (dense vectors are skipped: embedding ~190k
passages does not fit this machine's budget). kg-rag uses the default graph (load_default_graph).

    nice -n 10 python benchmarks/strategies.py --models qwen2.5-coder-0.5b-instruct --n 50
    nice -n 10 python benchmarks/strategies.py --models qwen2.5-coder-1.5b-instruct --n 20 --heavy-n 10
    python benchmarks/strategies.py --report          # print the table from what is on disk
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))

MODELS = ["qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]
DATASETS = {
    "medmcqa": f"medmcqa:{DATA}/medmcqa/dev_a.jsonl",
    "pubmedqa": f"pubmedqa:{DATA}/pubmedqa/pqal_dev.json?context=0",
    "medhalt": f"medhalt:{DATA}/medhalt/reasoning_fake_dev.csv",
}
POOL = (1000, 1020)  # MedMCQA dev_a rows used as the exemplar pool
MEDPROMPT_POOL = 8  # medprompt writes a chain of thought per pool item: its first 8 only, to fit the CPU
# strategy -> datasets it runs on. Heavy ones (many calls per item) use --heavy-n items.
STRATEGIES: dict[str, tuple[str, ...]] = {
    "direct": ("medmcqa", "pubmedqa", "medhalt"),
    "cot": ("medmcqa", "pubmedqa", "medhalt"),
    "fewshot(k=3)": ("medmcqa",),
    "knn-fewshot(k=3)": ("medmcqa",),
    "choice-shuffle": ("medmcqa",),
    "knn-fewshot(k=3)+choice-shuffle": ("medmcqa",),
    "rag(k=3)": ("medmcqa", "pubmedqa"),
    "rag(k=3)+cot": ("medmcqa", "pubmedqa"),
    "kg-rag": ("medmcqa",),
    "cot+self-consistency(n=5)": ("medmcqa", "pubmedqa"),
    "cot+verify": ("medmcqa", "medhalt"),
    "rag(k=3)+cot+verify": ("medhalt",),
    "medprompt(k=3)": ("medmcqa",),
    "agents(experts=3,rounds=2)": ("medmcqa",),
    "agents-adaptive": ("medmcqa",),
}
HEAVY = {"cot+self-consistency(n=5)", "medprompt(k=3)", "agents(experts=3,rounds=2)", "agents-adaptive",
         "cot+verify", "rag(k=3)+cot+verify"}
DIRECT_TOKENS = 16
COT_TOKENS = 192


def out_dir(home: Path, model: str, dataset: str) -> Path:
    return home / "bench" / "strategies" / model / dataset


def fname(strategy: str) -> str:
    return strategy.replace("(", "[").replace(")", "]").replace(",", "_") + ".jsonl"


def record(q: Any, a: Any, seconds: float) -> dict[str, Any]:
    return {
        "id": q.id, "gold": q.gold, "pred": a.choice, "correct": a.choice is not None and a.choice == q.gold,
        "parse_failed": any(f.kind == "parse_failure" for f in a.flags), "confidence": a.confidence,
        "calls": a.cost.calls, "prompt_tokens": a.cost.prompt_tokens, "completion_tokens": a.cost.completion_tokens,
        "seconds": round(seconds, 3), "cited": a.metadata.get("cited"), "n_evidence": len(a.evidence),
        "position_picks": a.metadata.get("position_picks"), "shifted_pick": a.metadata.get("shifted_pick"),
        "revised": (a.metadata.get("verify") or {}).get("revised"), "convened": a.metadata.get("convened"),
        "rounds": a.metadata.get("rounds_run"),
    }


def build_bench_index(home: Path) -> Path:
    """BM25 over MedQuAD chunks + default-KB passages, built once."""
    from medllm.knowledge.chunking import Chunker
    from medllm.knowledge.corpora import load_corpus
    from medllm.knowledge.default_kb import default_passages
    from medllm.knowledge.index import build_index
    from medllm.knowledge.kg import KnowledgeGraph

    out = home / "indexes" / "bench-medquad-kb"
    if (out / "manifest.json").exists():
        return out
    t = time.perf_counter()
    print(f"building the benchmark index at {out} (BM25 only) ...", flush=True)
    chunker = Chunker(size=200, overlap=32)
    passages = list(chunker.chunk_all(load_corpus(f"medquad:{DATA}/medquad/medquad.jsonl")))
    passages += list(default_passages(KnowledgeGraph.from_packages()))
    m = build_index(passages, out, dense=False, overwrite=True,
                    corpora=[{"spec": "medquad"}, {"spec": "default-kb"}], params={"bench": True})
    print(f"  {m['counts']['passages']:,} passages in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def run_cell(session: Any, model_name: str, ds_name: str, questions: list, strategy: str, home: Path,
             resources: dict[str, Any], pool: list) -> list[dict[str, Any]]:
    from medllm.eval.store import PredictionLog
    from medllm.models.base import GenParams
    from medllm.reasoning import get_solver
    from medllm.reasoning.util import permute_question

    path = out_dir(home, model_name, ds_name) / fname(strategy)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = PredictionLog(path)
    log.repair()
    done = {r["id"]: r for r in log.read()}
    todo = [q for q in questions if q.id not in done]
    if todo:
        solver = get_solver(strategy)
        needs = set(getattr(solver, "needs", ()))
        tokens = DIRECT_TOKENS if strategy in ("direct", "choice-shuffle", "fewshot(k=3)", "knn-fewshot(k=3)",
                                               "knn-fewshot(k=3)+choice-shuffle", "rag(k=3)", "kg-rag") else COT_TOKENS
        ctx = session.context("generate", params=GenParams(max_tokens=tokens, temperature=0.0, seed=0),
                              shots=(pool[:MEDPROMPT_POOL] if strategy.startswith("medprompt") else pool)
                              if "shots" in needs else [])
        ctx.retriever = resources.get("retriever") if "retriever" in needs else None
        ctx.graph = resources.get("graph") if "graph" in needs else None
        if "retriever" in needs and ctx.retriever is None:
            ctx.retriever = resources["load_retriever"]()
        if "graph" in needs and ctx.graph is None:
            ctx.graph = resources["load_graph"]()
        t_cell = time.perf_counter()
        for i, q in enumerate(todo, 1):
            t = time.perf_counter()
            a = solver(q, ctx)
            if strategy == "choice-shuffle" and q.task in ("mcq", "fake"):
                # the ensemble on the options shifted by one place: same prompts, from the cache
                shift = list(range(1, len(q.options))) + [0]
                a.metadata["shifted_pick"] = solver(permute_question(q, shift), ctx).choice
            rec = record(q, a, time.perf_counter() - t)
            log.append(rec)
            done[q.id] = rec
            if i % 10 == 0 or i == len(todo):
                el = time.perf_counter() - t_cell
                print(f"    {model_name} {ds_name} {strategy}: {i}/{len(todo)} ({el / i:.1f} s/item)", flush=True)
    return [done[q.id] for q in questions if q.id in done]


def summarize(recs: list[dict[str, Any]], base: list[dict[str, Any]] | None) -> dict[str, Any]:
    from medllm.eval import metrics as M

    n = len(recs)
    k = sum(r["correct"] for r in recs)
    lo, hi = M.wilson_ci(k, n)
    s: dict[str, Any] = {"n": n, "acc": k / n if n else float("nan"), "ci": (lo, hi),
                         "parse_fail": sum(r["parse_failed"] for r in recs) / n if n else float("nan")}
    for key in ("calls", "prompt_tokens", "completion_tokens", "seconds"):
        s[key] = sum(float(r[key]) for r in recs) / n if n else float("nan")
    if base is not None:
        bi = {r["id"]: r for r in base}
        shared = [r for r in recs if r["id"] in bi]
        if shared:
            a = [bool(bi[r["id"]]["correct"]) for r in shared]
            b = [bool(r["correct"]) for r in shared]
            mc = M.mcnemar_exact(a, b)
            d, dlo, dhi = M.paired_bootstrap_diff(a, b, seed=0)
            s.update(diff=d, diff_ci=(dlo, dhi), p=mc.p_value, n_paired=len(shared))
    return s


def position_bias(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """From choice-shuffle records: (direct shift-1 rate, direct all-orderings rate,
    ensemble shift-1 rate), over items with readable picks."""
    pair = [r for r in recs if r.get("position_picks") and None not in r["position_picks"][:2]]
    full = [r for r in recs if r.get("position_picks") and None not in r["position_picks"]]
    ens = [r for r in recs if r.get("pred") and r.get("shifted_pick")]
    out: dict[str, Any] = {}
    if pair:
        out["direct_shift1"] = (sum(r["position_picks"][0] == r["position_picks"][1] for r in pair), len(pair))
    if full:
        out["direct_all"] = (sum(len(set(r["position_picks"])) == 1 for r in full), len(full))
    if ens:
        out["shuffle_shift1"] = (sum(r["pred"] == r["shifted_pick"] for r in ens), len(ens))
    return out


def print_table(home: Path, models: list[str], datasets: list[str]) -> None:
    for model_name in models:
        for ds in datasets:
            d = out_dir(home, model_name, ds)
            if not d.exists():
                continue
            rows = {}
            for strat in STRATEGIES:
                p = d / fname(strat)
                if p.exists():
                    rows[strat] = [json.loads(x) for x in p.read_text().splitlines() if x.strip().endswith("}")]
            if not rows:
                continue
            base = rows.get("direct")
            print(f"\n{model_name} · {ds} (dev; generate mode; greedy, seed 0)")
            print(f"{'strategy':34} {'n':>3} {'accuracy [95% CI]':>20} {'Δ vs direct [95% CI]':>24} {'McNemar p':>9}"
                  f" {'parse':>6} {'calls':>6} {'tok in/out':>11} {'s/item':>7}")
            for strat, recs in rows.items():
                if not recs:
                    continue
                s = summarize(recs, base if strat != "direct" else None)
                diff = (f"{100 * s['diff']:+5.1f} [{100 * s['diff_ci'][0]:+5.1f},{100 * s['diff_ci'][1]:+5.1f}]"
                        + ("" if s["n_paired"] == s["n"] else f" n={s['n_paired']}")) if "diff" in s else "–"
                p = f"{s['p']:.3f}" if "p" in s else "–"
                print(f"{strat:34} {s['n']:>3} {100 * s['acc']:5.1f}% [{100 * s['ci'][0]:4.1f},{100 * s['ci'][1]:5.1f}]"
                      f" {diff:>24} {p:>9} {100 * s['parse_fail']:5.1f}% {s['calls']:6.1f}"
                      f" {s['prompt_tokens']:5.0f}/{s['completion_tokens']:<5.0f} {s['seconds']:7.1f}")
            if base:
                top, k = Counter(r["gold"] for r in base).most_common(1)[0]
                print(f"majority-class floor (always {top!r} on direct's {len(base)} items): {100 * k / len(base):.1f}%")
            if "choice-shuffle" in rows:
                pb = position_bias(rows["choice-shuffle"])
                parts = []
                if "direct_shift1" in pb:
                    k, n = pb["direct_shift1"]
                    parts.append(f"direct {100 * k / n:.1f}% ({k}/{n})")
                if "shuffle_shift1" in pb:
                    k, n = pb["shuffle_shift1"]
                    parts.append(f"choice-shuffle {100 * k / n:.1f}% ({k}/{n})")
                if "direct_all" in pb:
                    k, n = pb["direct_all"]
                    parts.append(f"direct same position under all 4 orderings {100 * k / n:.1f}% ({k}/{n})")
                print("position bias (prediction keeps its position when options shift by one): " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated; names as in STRATEGIES")
    ap.add_argument("--n", type=int, default=50, help="items per dataset")
    ap.add_argument("--heavy-n", type=int, default=None, help="items for the many-call strategies (default: --n)")
    ap.add_argument("--report", action="store_true", help="only print the table from stored results")
    args = ap.parse_args()

    from medllm.session import Session

    parts = Session.configure()  # the settings, the bench index and the graph
    settings = parts.settings
    home = settings.home
    models = [m for m in args.models.split(",") if m]
    datasets = [d for d in args.datasets.split(",") if d]
    strategies = [s.strip() for s in re.split(r",(?![^()]*\))", args.strategies) if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES] + [d for d in datasets if d not in DATASETS]
    if unknown:
        sys.exit(f"unknown strategy or dataset {unknown}; strategies: {', '.join(STRATEGIES)}; datasets: {', '.join(DATASETS)}")
    if args.report:
        print_table(home, models, datasets)
        return

    from medllm.eval.datasets import load_dataset

    data = {d: load_dataset(DATASETS[d]).questions for d in datasets}
    pool = load_dataset(DATASETS["medmcqa"]).questions[POOL[0]:POOL[1]]
    cache: dict[str, Any] = {}

    def load_retriever() -> Any:
        if "retriever" not in cache:
            cache["retriever"] = parts.index(build_bench_index(home), dense=False)
        return cache["retriever"]

    def load_graph() -> Any:
        if "graph" not in cache:
            cache["graph"] = parts.knowledge_graph()
        return cache["graph"]

    resources = {"load_retriever": load_retriever, "load_graph": load_graph}
    for model_name in models:
        session = Session.open(f"llamacpp:{model_name}", strategy="direct", settings=settings, cache=True, audit=False)
        try:
            for strat in strategies:
                for ds in STRATEGIES[strat]:
                    if ds not in datasets:
                        continue
                    n = args.heavy_n if (strat in HEAVY and args.heavy_n) else args.n
                    resources["retriever"], resources["graph"] = cache.get("retriever"), cache.get("graph")
                    t = time.perf_counter()
                    recs = run_cell(session, model_name, ds, data[ds][:n], strat, home, resources, pool)
                    print(f"  done {model_name} {ds} {strat}: n={len(recs)} in {time.perf_counter() - t:.0f} s", flush=True)
        finally:
            session.close()
    print_table(home, models, datasets)


if __name__ == "__main__":
    main()
