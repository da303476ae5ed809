"""First baseline figures: zero-shot log-likelihood accuracy (lm-eval style option scoring) with
95% Wilson intervals for the packaged models on the development data:

- PubMedQA dev (500 expert-labelled items outside the official test set), with the abstract
  (lm-eval's pubmedqa prompt) and question-only (MIRAGE's PubMedQA*);
- MedMCQA dev_a, first 500 items.

Each cell is an ordinary resumable `medllm eval` run (stored under $MEDLLM_HOME/runs), so a
killed benchmark picks up where it stopped when started again. Cells run cheapest first and the
table is printed as cells finish; `--limit MODEL/DATASET=N` caps a costly cell (the 1.5B model
reads ~77 tokens/s here, so PubMedQA with abstracts, ~350 tokens an item, is ~40 min for 500).
Every line states its n.

    nice python benchmarks/baselines.py [--models a,b,c] [--limit qwen2.5-coder-1.5b-instruct/pubmedqa-ctx=100]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))

MODELS = ["gemma3-270m", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"]
DATASETS = {
    "pubmedqa-noctx": (f"pubmedqa:{DATA}/pubmedqa/pqal_dev.json?context=0", 500),
    "medmcqa-dev_a": (f"medmcqa:{DATA}/medmcqa/dev_a.jsonl", 500),
    "pubmedqa-ctx": (f"pubmedqa:{DATA}/pubmedqa/pqal_dev.json", 500),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--limit", action="append", default=[], metavar="MODEL/DATASET=N")
    args = ap.parse_args()

    from medllm.eval.datasets import load_dataset
    from medllm.eval.runner import EvalConfig, run_eval
    from medllm.session import Session

    session = Session.configure()

    def majority(spec: str, n: int) -> float:
        """Accuracy of always answering the most frequent gold label of these n items: the floor
        a model has to beat before its accuracy means anything."""
        golds = [q.gold for q in load_dataset(spec).questions[:n]]
        return Counter(golds).most_common(1)[0][1] / len(golds)

    limits: dict[str, int] = {}
    for item in args.limit:
        key, _, n = item.partition("=")
        limits[key] = int(n)
    header = (f"{'model':<30} {'dataset':<16} {'n':>4}  {'acc':>6}  {'95% Wilson CI':<16} {'acc_norm':>8}"
              f"  {'majority':>8}  {'wall s':>7}")
    rows = [header, "-" * len(header)]
    print(header, flush=True)
    for name in args.models.split(","):
        model = None
        try:
            for ds in args.datasets.split(","):
                spec, n = DATASETS[ds]
                n = limits.get(f"{name}/{ds}", n)
                if model is None:
                    model = session.load_model(f"llamacpp:{name}", cache=False)
                t0 = time.perf_counter()
                res = run_eval(EvalConfig(dataset=spec, model=f"llamacpp:{name}", limit=n), model=model)
                m = res.summary["metrics"]
                acc, lo_hi = m["accuracy"]["value"], m["accuracy"]["wilson"]
                line = (f"{name:<30} {ds:<16} {res.summary['n']:>4}  {acc:>6.3f}  "
                        f"[{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]   {m['acc_norm']['value']:>8.3f}  "
                        f"{majority(spec, res.summary['n']):>8.3f}  "
                        f"{time.perf_counter() - t0:>7.1f}")
                rows.append(line)
                print(line, flush=True)
        finally:
            if model is not None:
                model.close()
    print("\nzero-shot, loglik (lm-eval acc; acc_norm divides by option length), greedy-free;"
          " dev data, not test sets; majority = always the most frequent gold label of the same items")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
