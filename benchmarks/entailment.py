"""Agreement of the entailment judges with 50 hand-labelled pairs (our own labels).

The judges decide K-QA comprehensiveness (does the answer entail a must-have statement?),
K-QA hallucination (does it contradict one?) and the factuality of generated notes and summaries
(does the source conversation entail each statement?). The pairs are in
benchmarks/fixtures/entailment_pairs.jsonl (see its first line for what they are); dataset text is
read from ../shared/data by id.

- MiniLM + negation (`EmbeddingJudge`): its two thresholds are chosen on 5 folds of the pairs
  (grouped by item, so pairs of one answer or conversation stay together): each fold is judged
  with the thresholds that agree best on the other four; the printed agreement pools those
  held-out judgements. The same judge at the shipped defaults is printed too.
- A local model (`ModelJudge`: " yes" / " no" / " unclear" by log-likelihood): no tuning.

Printed: 3-way agreement and Cohen's kappa; agreement on entailed-vs-not (comprehensiveness,
factuality) and contradicted-vs-not (hallucination); 95% Wilson intervals. 50 pairs: wide.

    nice -n 10 python benchmarks/entailment.py [--models llamacpp:qwen2.5-coder-0.5b-instruct ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PAIRS = REPO / "benchmarks" / "fixtures" / "entailment_pairs.jsonl"
LABELS = ("entailed", "contradicted", "neutral")


def load_pairs() -> list[dict]:
    from medllm.trust.grounding import statements

    src = {"kqa": {r["id"]: r for r in map(json.loads, open(DATA / "kqa/kqa_dev.jsonl"))},
           "mtsdialog": {r["id"]: r for r in map(json.loads, open(DATA / "mts_dialog/mts_dialog_dev.jsonl"))}}
    out = []
    for line in PAIRS.read_text().splitlines()[1:]:
        p = json.loads(line)
        rec = src[p["source"]][p["item"]]
        pr, hy = p["premise"], p["hypothesis"]
        premise = pr.get("generated") or rec[pr["field"]]
        if "generated" in hy:
            hyp = hy["generated"]
        elif "index" in hy:
            hyp = rec[hy["field"]][hy["index"]].strip()
        else:
            hyp = statements(rec[hy["field"]])[hy["statement"]]
        out.append({**p, "premise_text": premise, "hypothesis_text": hyp})
    return out


def kappa(gold: list[str], pred: list[str]) -> float:
    n = len(gold)
    po = sum(g == p for g, p in zip(gold, pred)) / n
    pe = sum((gold.count(c) / n) * (pred.count(c) / n) for c in LABELS)
    return (po - pe) / (1 - pe) if pe < 1 else float("nan")


def report(name: str, gold: list[str], pred: list[str], secs: float) -> None:
    from medllm.eval.metrics import wilson_ci

    n = len(gold)

    def agree(f) -> str:  # noqa: ANN001
        k = sum(f(g) == f(p) for g, p in zip(gold, pred))
        lo, hi = wilson_ci(k, n)
        return f"{100 * k / n:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"

    print(f"{name}\n  3-way agreement {agree(lambda x: x)}  kappa {kappa(gold, pred):.2f}"
          f" | entailed-vs-not {agree(lambda x: x == 'entailed')}"
          f" | contradicted-vs-not {agree(lambda x: x == 'contradicted')} | {secs / n:.2f} s/pair")
    print("  confusion (rows gold, columns judge: E C N): " + "; ".join(
        f"{g[0].upper()}: " + " ".join(str(sum(1 for a, b in zip(gold, pred) if a == g and b == p)) for p in LABELS)
        for g in LABELS))


def judge_all(judge, pairs: list[dict]) -> list[str]:  # noqa: ANN001
    return [judge.judge(p["premise_text"], [p["hypothesis_text"]])[0].verdict for p in pairs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="*", default=["llamacpp:qwen2.5-coder-0.5b-instruct"])
    args = ap.parse_args()
    os.environ.setdefault("MEDLLM_N_THREADS", "1")
    from medllm.knowledge.retrievers import Embedder
    from medllm.trust.grounding import EmbeddingJudge, ModelJudge

    pairs = load_pairs()
    gold = [p["label"] for p in pairs]
    print(f"{len(pairs)} pairs: " + ", ".join(f"{c} {gold.count(c)}" for c in LABELS))
    emb = Embedder()

    # similarities once; verdicts for any thresholds from them
    base = EmbeddingJudge(emb)
    t = time.perf_counter()
    scored = []
    for p in pairs:
        j = base.judge(p["premise_text"], [p["hypothesis_text"]])[0]
        scored.append((j.score, j.verdict != "entailed" or True, j))
    secs = time.perf_counter() - t
    # polarity agreement is threshold-free: recompute it the judge's way
    from medllm.trust.grounding import content_words, negated

    same = []
    for p, (_, _, j) in zip(pairs, scored):
        shared = content_words(p["hypothesis_text"]) & content_words(j.evidence)
        same.append(negated(p["hypothesis_text"], shared) == negated(j.evidence, shared))

    def verdicts(idx: list[int], te: float, tc: float) -> list[str]:
        out = []
        for i in idx:
            s = scored[i][0]
            out.append("entailed" if s >= te and same[i] else "contradicted" if s >= tc and not same[i] else "neutral")
        return out

    report(f"MiniLM + negation at the shipped defaults (entail>={base.entail}, contradict>={base.contradict})",
           gold, verdicts(list(range(len(pairs))), base.entail, base.contradict), secs)
    items = sorted({p["item"] for p in pairs})
    fold_of = {it: k % 5 for k, it in enumerate(items)}
    grid = [x / 100 for x in range(30, 91, 5)]
    held = [""] * len(pairs)
    chosen = []
    for f in range(5):
        train = [i for i, p in enumerate(pairs) if fold_of[p["item"]] != f]
        test = [i for i, p in enumerate(pairs) if fold_of[p["item"]] == f]
        te, tc = max(itertools.product(grid, grid), key=lambda g: (
            sum(v == gold[i] for v, i in zip(verdicts(train, *g), train)), -abs(g[0] - 0.6) - abs(g[1] - 0.6)))
        chosen.append((te, tc))
        for v, i in zip(verdicts(test, te, tc), test):
            held[i] = v
    report(f"MiniLM + negation, thresholds chosen on the other folds (per fold: {chosen})", gold, held, secs)

    for spec in args.models:
        from medllm.session import Session

        m = Session.configure().load_model(spec, cache=False)
        try:
            for cal in (False, True):
                j = ModelJudge(m, emb, calibrate=cal)
                t = time.perf_counter()
                pred = judge_all(j, pairs)
                report(f"{j.name} (no tuning)", gold, pred, time.perf_counter() - t)
        finally:
            m.close()


if __name__ == "__main__":
    main()
