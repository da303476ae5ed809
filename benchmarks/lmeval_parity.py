"""Parity with lm-evaluation-harness, in process: lm-eval's own tasks scored through medllm's
llama.cpp engine (`medllm.eval.lmeval`), against `medllm eval run --mode loglik` on the same
items with the same model instance. The model is the same object on both sides, so what can
differ is the harness: prompt layout, whitespace, the continuation, the normalisation of acc_norm.

For each task: items, the share of items where the two predict the same option (acc, and
acc_norm), how many prompts are the same string, the largest difference of an option's
log-probability, both accuracies, and wall time of each (whole call with the model loaded; in
brackets the part spent scoring). Goal: agreement >= 98% per task.

Tasks: lm-eval's `medmcqa` on MedMCQA dev (dev_a.jsonl) and `pubmedqa` on PubMedQA PQA-L
(pqal_dev.json), the first N items of each file. `medqa_4options` runs only with --medqa FILE (a
local MedQA-USMLE 4-option JSON lines file; none ships in ../shared/data).

    nice flock /tmp/medllm-model.lock env MEDLLM_N_THREADS=1 \
        python benchmarks/lmeval_parity.py [--n 200] [--model qwen2.5-coder-0.5b-instruct] [--medqa FILE]

Measured here (lm-eval 0.4.13, qwen2.5-coder-0.5b-instruct, 1 thread, 200 items each): the same
prompt string on every item, identical log-probabilities, 100% agreement on acc and acc_norm for
medmcqa (acc 0.330) and pubmedqa (acc 0.525, acc_norm 0.575); wall time medmcqa 153 s lm-eval vs
144 s medllm, pubmedqa 816 s vs 801 s: scoring dominates, lm-eval adds ~8 s a task (indexing its
task files, building requests, metrics).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from medllm.eval.lmeval import compare_with_medllm
from medllm.session import Session

DATA = Path(os.environ.get("MEDLLM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="items per task (the first N of each file)")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="a packaged model or GGUF path")
    ap.add_argument("--medqa", type=Path, help="a local MedQA-USMLE 4-option JSON lines file")
    ap.add_argument("--tasks", default="medmcqa,pubmedqa", help="comma-separated lm-eval tasks")
    args = ap.parse_args()

    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # its per-task notices
    os.environ.setdefault("TQDM_DISABLE", "1")
    files = {"medmcqa": DATA / "medmcqa" / "dev_a.jsonl", "pubmedqa": DATA / "pubmedqa" / "pqal_dev.json"}
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.medqa:
        files["medqa_4options"] = args.medqa
        tasks.append("medqa_4options")
    console = Console(width=180)
    session = Session.configure()
    settings = session.settings
    console.print(f"model {args.model}, n_threads={settings.n_threads or os.cpu_count()}, "
                  f"n_ctx={settings.n_ctx}, zero-shot, first {args.n} items per task")
    t0 = time.perf_counter()
    model = session.load_model(f"llamacpp:{args.model}", cache=False)  # no response cache
    console.print(f"model loaded in {time.perf_counter() - t0:.1f} s (not counted below)")

    rows = []
    try:
        for task in tasks:
            if task not in files:
                console.print(f"[red]{task}: no local file (medqa_4options needs --medqa FILE)[/]")
                continue
            with Progress(console=console, transient=True) as bar:
                job = bar.add_task(f"{task}: lm-eval", total=None)
                p = compare_with_medllm(task, files[task], model, limit=args.n, settings=settings,
                                        progress=lambda done, total: bar.update(job, completed=done, total=total))
            rows.append(p)
            if p.first_prompt_diff:
                console.print(f"{task}: first prompt that differs\n  lm-eval: {p.first_prompt_diff[0]!r}"
                              f"\n  medllm:  {p.first_prompt_diff[1]!r}")
            if p.same_gold != p.n:
                console.print(f"[red]{task}: the two read a different gold answer on {p.n - p.same_gold} items[/]")
            if p.disagreements:
                console.print(f"{task}: items predicted differently: {', '.join(p.disagreements[:10])}")
    finally:
        model.close()

    table = Table(title=f"lm-eval {rows[0].lm_eval_version if rows else '?'} vs medllm, "
                        f"llamacpp:{args.model}, same model instance")
    for col in ("task", "items", "agree acc", "agree acc_norm", "same prompt", "max |dlogp|",
                "lm-eval acc / norm", "medllm acc / norm", "lm-eval wall (scoring)",
                "medllm wall (scoring)"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for p in rows:
        table.add_row(
            p.task, str(p.n), f"{p.agreement:.1%}", f"{p.agreement_norm:.1%}",
            f"{p.same_prompt}/{p.n}", f"{p.max_logprob_diff:.2g}",
            f"{p.lmeval_acc:.3f} / {p.lmeval_acc_norm:.3f}", f"{p.medllm_acc:.3f} / {p.medllm_acc_norm:.3f}",
            f"{p.lmeval_seconds:.1f} s ({p.lmeval_model_seconds:.1f})",
            f"{p.medllm_seconds:.1f} s ({p.medllm_model_seconds:.1f})",
        )
    console.print(table)
    if "medqa_4options" not in [p.task for p in rows]:
        console.print("medqa_4options: not measured (no MedQA-USMLE file in ../shared/data; pass --medqa FILE)")
    low = [p.task for p in rows if min(p.agreement, p.agreement_norm) < 0.98]
    console.print("goal agreement >= 98% per task: " + (f"NOT met for {', '.join(low)}" if low else "met"))
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
