"""Generation baselines: visit notes (ACI-Bench), note sections (MTS-Dialog), question summaries
(MeQSum) and open answers (K-QA), scored as `medllm eval` scores them (`medllm.eval.gen_tasks`).

Data: the dev files in ../shared/data, read as they are. Slices are small because generation
on 2 shared CPU cores is slow (the 0.5B writes ~5-10 tokens/s on one thread): the intervals are
95% percentile bootstrap CIs over items and are wide. Nothing here was tuned on the items scored:
the prompts were written from the task descriptions and a look at two MeQSum and two MTS-Dialog
train items; few-shot exemplars come from the dev pool outside the scored slice (MTS-Dialog and
ACI-Bench: the train split; MeQSum: items after the scored ones), chosen by the seed.

Strategies: zero-shot (`direct`), few-shot (`direct` with 2 exemplars), rag for K-QA (3 passages
from the default knowledge base). Factuality: share of the output's statements the source
entails, by the MiniLM + negation judge (its agreement: benchmarks/entailment.py).

Every run is an eval run in $MEDLLM_HOME/runs (resumable: start the script again after a crash).

    flock /tmp/medllm-model.lock nice -n 10 python benchmarks/generation.py
    python benchmarks/generation.py --only meqsum --model llamacpp:qwen2.5-coder-1.5b-instruct

Published anchors (test splits, other models): ACI-Bench test1 GPT-4 ROUGE-1/2/L 51.8/22.6/46.0
(Yim et al. 2023, rougeLsum); MeQSum ROUGE-1 about 44 (fine-tuned summarisers, Abacha & Demner-Fushman 2019).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SMALL = "llamacpp:qwen2.5-coder-0.5b-instruct"


@dataclass(frozen=True)
class Run:
    name: str
    dataset: str
    limit: int
    strategy: str = "direct"
    shots: int = 0
    shots_from: str | None = None


def runs() -> list[Run]:
    mts = f"mtsdialog:{DATA}/mts_dialog/mts_dialog_dev.jsonl"
    aci = f"aci:{DATA}/aci_bench/aci_bench_dev.jsonl"
    meq = f"meqsum:{DATA}/meqsum/meqsum_dev.jsonl"
    kqa = f"kqa:{DATA}/kqa/kqa_dev.jsonl"
    return [
        Run("meqsum", meq, 40),
        Run("meqsum", meq, 40, shots=2, shots_from=meq),
        Run("aci", f"{aci}#valid", 5),
        Run("kqa", kqa, 8),
        Run("kqa", kqa, 8, strategy="rag"),
        Run("mtsdialog", f"{mts}#validation", 12),
        Run("mtsdialog", f"{mts}#validation", 12, shots=2, shots_from=f"{mts}#train"),
    ]


def pct(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "–"
    ci = m.get("bootstrap")
    return f"{100 * m['value']:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else f"{100 * m['value']:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=SMALL)
    ap.add_argument("--only", nargs="*", help="dataset names to run (meqsum kqa mtsdialog aci)")
    ap.add_argument("--limit", type=int, help="override every slice's size")
    args = ap.parse_args()
    os.environ.setdefault("MEDLLM_N_THREADS", "1")  # others share the cores

    from medllm.eval.runner import EvalConfig
    from medllm.jobs import EvalRequest, evaluate
    from medllm.session import Session

    session = Session.configure()
    settings = session.settings
    rows = []
    for r in runs():
        if args.only and r.name not in args.only:
            continue
        cfg = EvalConfig(dataset=r.dataset, model=args.model, mode="generate", strategy=r.strategy,
                         shots=r.shots, shots_from=r.shots_from, limit=args.limit or r.limit, seed=0)
        extra = {"index": str(settings.indexes_dir / "default")} if r.strategy == "rag" else {}
        cfg.extra.update(extra)
        res = evaluate(session, EvalRequest(cfg),
                       progress=lambda d, t, n=r.name: print(f"  {n} {d}/{t}", end="\r", flush=True))
        m = res.summary["metrics"]
        rl = m["rougeLsum"] if r.name == "aci" else m["rougeL"]
        strat = f"{r.strategy}{f' {r.shots}-shot' if r.shots else ' 0-shot' if r.strategy == 'direct' else ''}"
        row = [r.name, args.model.split(":")[-1], strat, str(res.summary["n"]), pct(m["rouge1"]), pct(m["rouge2"]),
               pct(rl), pct(m.get("factuality")),
               pct(m.get("comprehensiveness")),
               f"{m['hallucination']['value']:.2f}" if "hallucination" in m else "–",
               f"{res.summary['item_seconds'] / max(1, res.summary['n']):.1f}"]
        rows.append(row)
        print(" | ".join(row), flush=True)
    head = ["dataset", "model", "strategy", "n", "ROUGE-1", "ROUGE-2", "ROUGE-L(sum for aci)", "factuality",
            "K-QA comprehensiveness", "K-QA contradicted/answer", "s/item"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nvalues x100 with 95% bootstrap CIs over items; small slices, wide intervals.")


if __name__ == "__main__":
    main()
