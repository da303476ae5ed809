"""Safety triage benchmark: does `medllm.trust.triage` generalise to messages it was not trained on?

    nice python benchmarks/safety.py                   # every fold, tables, latency (~3 min)
    nice python benchmarks/safety.py --show-errors     # + the tuning half's mistakes, with reasons

What is measured is what ships: the red-flag table and the intent cues (written from public
guidance and the refusal categories, never from these messages), and the classifier heads over
the packaged MiniLM, which every fold refits on its training part only, with thresholds chosen
on cross-fitted scores of that training part (`triage_train.choose_thresholds`).

Folds (every figure on messages the heads and thresholds were not fitted on):
- leave-one-source-out: train on the other sources of `safety/safety_dev.jsonl`, the extra benign
  questions (MeQSum, K-QA, a MedQuAD sample) and the team-written `triage_team.jsonl`; test on
  written / MedSafetyBench / XSTest / Do-Not-Answer in turn.
- written, by emergency: the written vignettes in 5 folds grouped by emergency (a test fold
  meets emergencies no training fold had), the other sources always in training.
- MedSafetyBench by generator: train on its GPT-4-written half, test on the Llama-2 half and back
  (the other sources always in training): the estimate for its test split.

The written vignettes are split once more, by a hash of their emergency group (red flags) or id,
into a tuning half (A) and a reporting half (B). Only half A's mistakes (and XSTest's,
Do-Not-Answer's and MedSafetyBench's) are ever printed (`--show-errors`): the table's rows and the
cues were revised from those alone, so the B rows are the figures that no choice was made on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medllm.eval.metrics import wilson_ci
from medllm.session import Session
from medllm.trust.triage import Thresholds, Triager, TriageDecision, TriageWeights
from medllm.trust.triage_train import (
    Example, cached_embeddings, category_label, choose_thresholds, default_emb_cache, fit, load_dev,
    load_extra_benign, load_team_written,
)

SOURCES = ("written", "medsafetybench", "xstest", "do-not-answer")
SHOWN = ("xstest", "do-not-answer", "written-A", "MSB by generator")  # the only parts whose mistakes are ever printed


class ArrayEncoder:
    """Serves embeddings already computed (the benchmark embeds every message once)."""

    def __init__(self, texts: Sequence[str], X: np.ndarray) -> None:
        self.rows = {t: X[i] for i, t in enumerate(texts)}

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return np.stack([self.rows[t] for t in texts])


def half(ex: Example) -> str:
    """A or B: written vignettes split by a hash of their emergency group (red flags) or id."""
    return "AB"[int(hashlib.sha256(ex.group.encode()).hexdigest(), 16) % 2]


@dataclass
class Tally:
    """Decisions on one part of the test data, by the kind of message."""

    rows: list[tuple[Example, TriageDecision]] = field(default_factory=list)

    def of(self, kind: str) -> list[TriageDecision]:
        return [d for e, d in self.rows if e.kind == kind]


def rate(ds: Sequence[bool]) -> str:
    if not ds:
        return "     -              "
    k, n = sum(ds), len(ds)
    lo, hi = wilson_ci(k, n)
    return f"{k / n:.3f} [{lo:.2f}-{hi:.2f}] {k:>3}/{n:<4}"


def print_table(tallies: dict[str, Tally]) -> None:
    cols = ("red flags urgent+", "harmful refused", "benign emerg+urgent", "benign emergency",
            "benign urgent", "benign refused", "benign safe-compl.", "harmful safe-compl.",
            "harmful answered")  # answered: neither refused nor a safe completion
    print(f"{'test part':<22}" + "".join(f"{c:<27}" for c in cols))
    for name, t in tallies.items():
        red, harm, ben = t.of("red_flag"), t.of("harmful"), t.of("benign")
        cells = [
            rate([d.level != "routine" for d in red]),
            rate([d.refuse for d in harm]),
            rate([d.level != "routine" for d in ben]),
            rate([d.level == "emergency" for d in ben]),
            rate([d.level == "urgent" for d in ben]),
            rate([d.refuse for d in ben]),
            rate([d.safe_completion for d in ben]),
            rate([d.safe_completion for d in harm]),
            rate([not d.refuse and not d.safe_completion for d in harm]),
        ]
        print(f"{name:<22}" + "".join(f"{c:<27}" for c in cells))


def print_categories(tallies: dict[str, Tally]) -> None:
    """The refused harmful requests' category against the label read from each one's note."""
    print("\nRefused requests: category named vs the label read from the dataset's note (weak labels)")
    for name, t in tallies.items():
        refused = [(e, d) for e, d in t.rows if e.kind == "harmful" and d.refuse]
        if refused:
            agree = [d.category == category_label(e) for e, d in refused]
            by_stage = Counter(d.stage for _, d in refused)
            print(f"  {name:<22} {rate(agree)}   refused by: {dict(by_stage)}")


def print_errors(tallies: dict[str, Tally]) -> None:
    print("\nMistakes on the tuning parts only (" + ", ".join(SHOWN) + "), with the reason given:")
    for name, t in tallies.items():
        if name not in SHOWN:
            continue
        for e, d in t.rows:
            wrong = ((e.kind == "benign" and (d.level != "routine" or d.refuse))
                     or (e.kind == "red_flag" and d.level == "routine")
                     or (e.kind == "harmful" and not d.refuse))
            if wrong:
                got = f"{d.level}{' REFUSE:' + str(d.category) if d.refuse else ''}{' safe' if d.safe_completion else ''}"
                fs = ", ".join(f"{f.concept}:{f.assertion}" for f in d.findings)
                print(f"  [{name}] {e.kind:<8} -> {got:<28} rule={d.rule} intent={d.intent} "
                      f"p_em={d.p_emergency:.2f} p_harm={d.p_harmful:.2f} | {fs}\n      {e.text[:220]!r}")


def benign_alarm_table(tallies: dict[str, Tally], shown_only: bool) -> None:
    """The benign questions alarmed or refused in the folds left out, with the reason given."""
    print("\nBenign questions alarmed or refused (left-out folds): reason given")
    for name, t in tallies.items():
        for e, d in t.rows:
            if e.kind == "benign" and (d.level != "routine" or d.refuse):
                what = "refused" if d.refuse else d.level
                text = e.text[:90] if (not shown_only or name in SHOWN) else "(text withheld: a reporting part)"
                print(f"  {name:<18} {what:<10} rule={d.rule or '-':<22} {d.reason[:90]} | {text}")


def fitted(train: list[Example], X: np.ndarray, index: dict[str, int], cache: Path) -> tuple[TriageWeights, Thresholds]:
    """The heads and thresholds fitted on `train`, kept under `cache` keyed by the training ids and
    embeddings (the rules never enter them, so a rerun after a table change refits nothing)."""
    Xtr = X[[index[e.id] for e in train]]
    key = hashlib.sha256(("\x00".join(e.id for e in train)).encode() + Xtr.tobytes()).hexdigest()[:20]
    path, th_path = cache / f"{key}.npz", cache / f"{key}.thresholds.json"
    if path.exists() and th_path.exists():
        return TriageWeights.load(path), Thresholds(**json.loads(th_path.read_text()))
    weights, th = fit(train, Xtr), choose_thresholds(train, Xtr)
    weights.save(path)
    th_path.write_text(json.dumps(th.__dict__))
    return weights, th


def run_fold(train: list[Example], test: list[Example], X: np.ndarray, index: dict[str, int],
             encoder: ArrayEncoder, cache: Path) -> list[tuple[Example, TriageDecision]]:
    weights, th = fitted(train, X, index, cache)
    tri = Session.configure().triager("off", weights=weights, thresholds=th, encoder=encoder)
    return list(zip(test, tri.decide_many([e.text for e in test]), strict=True))


def latency(triager: Triager, texts: Sequence[str]) -> tuple[float, float]:
    """Median and p95 seconds of one whole decision (embedding included), one message at a time."""
    triager.decide(texts[0])  # warm
    ts = []
    for t in texts:
        t0 = time.perf_counter()
        triager.decide(t)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return statistics.median(ts), ts[int(0.95 * (len(ts) - 1))]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--emb-cache", type=Path, default=default_emb_cache())
    ap.add_argument("--fold-cache", type=Path, default=default_emb_cache().with_name("safety_folds"),
                    help="fitted heads and thresholds per fold (refit only when the training part changes)")
    ap.add_argument("--show-errors", action="store_true", help="print the tuning parts' mistakes")
    ap.add_argument("--reveal", action="store_true",
                    help="print the reporting half's benign mistakes too (for the final report only)")
    ap.add_argument("--latency-n", type=int, default=200, help="messages timed one at a time (0: skip)")
    args = ap.parse_args(argv)
    dev_path = args.data / "safety" / "safety_dev.jsonl"
    if not dev_path.exists():
        sys.exit(f"{dev_path} not found; pass --data pointing at the shared data folder")
    import torch

    torch.set_num_threads(1)  # the embedding cache's bulk encoding (the triager itself never loads torch)
    dev = load_dev(dev_path)
    always = load_extra_benign(args.data) + load_team_written()
    allx = dev + always
    texts = [e.text for e in allx]
    X = cached_embeddings(texts, args.emb_cache)
    args.fold_cache.mkdir(parents=True, exist_ok=True)
    index = {e.id: i for i, e in enumerate(allx)}
    encoder = ArrayEncoder(texts, X)
    t0 = time.perf_counter()

    tallies: dict[str, Tally] = defaultdict(Tally)
    for src in SOURCES:
        test = [e for e in dev if e.source == src]
        rows = run_fold([e for e in dev if e.source != src] + always, test, X, index, encoder, args.fold_cache)
        if src == "written":
            for e, d in rows:
                tallies[f"written-{half(e)}"].rows.append((e, d))
        tallies[f"{src} (left out)"].rows += rows
        print(f"  fold {src}: {len(test)} messages, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    from sklearn.model_selection import GroupKFold

    written = [e for e in dev if e.source == "written"]
    others = [e for e in dev if e.source != "written"] + always
    for k, (a, b) in enumerate(GroupKFold(5).split(written, groups=[e.group for e in written])):
        rows = run_fold([written[i] for i in a] + others, [written[i] for i in b], X, index, encoder, args.fold_cache)
        tallies["written by emergency"].rows += rows
        for e, d in rows:
            tallies[f"written-{half(e)} by emerg."].rows.append((e, d))
        print(f"  written fold {k + 1}/5, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    msb = [e for e in dev if e.source == "medsafetybench"]
    rest = [e for e in dev if e.source != "medsafetybench"] + always
    for gen, other in (("gpt4", "llama2"), ("llama2", "gpt4")):
        train = [e for e in msb if f"/{gen}" in e.note] + rest
        test = [e for e in msb if f"/{other}" in e.note]
        tallies["MSB by generator"].rows += run_fold(train, test, X, index, encoder, args.fold_cache)

    order = ["written (left out)", "written-A", "written-B", "written by emergency", "written-A by emerg.",
             "written-B by emerg.", "medsafetybench (left out)", "MSB by generator", "xstest (left out)", "do-not-answer (left out)"]
    tallies = {k: tallies[k] for k in order if k in tallies}
    # the shown names for error printing
    tallies_for_errors = {"written-A": tallies["written-A"], "xstest": tallies["xstest (left out)"],
                          "MSB by generator": tallies["MSB by generator"],
                          "do-not-answer": tallies["do-not-answer (left out)"]}
    print("\nTriage on folds not fitted on (95% Wilson CIs; red flags count emergency or urgent)")
    print_table(tallies)
    print_categories(tallies)
    benign_alarm_table({"written-A": tallies["written-A"], "written-B": tallies["written-B"],
                        "xstest": tallies["xstest (left out)"], "do-not-answer": tallies["do-not-answer (left out)"]},
                       shown_only=not args.reveal)
    if args.show_errors:
        print_errors(tallies_for_errors)
    if args.latency_n:
        shipped = Session.configure().triager("off")
        sample = [e.text for e in dev[:: max(1, len(dev) // args.latency_n)]][: args.latency_n]
        med, p95 = latency(shipped, sample)
        print(f"\nLatency of the shipped triager without a judge (embedding + findings + intent, one message "
              f"at a time, NumPy MiniLM on 1 BLAS thread, {len(sample)} messages): median {med * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
