"""ConText assertion on the NegEx test kit sentences, and extraction speed on real notes.

Data: ../shared/data/negex/negex_dev.jsonl (1,188 sentences from clinical reports, a target
condition each, gold negation / temporality / experiencer), in the kit's order (upstream line
numbers follow the reports), cut into 5 contiguous folds, so a fold is mostly reports of its own.

Tuning: the rules in src/medllm/tasks/ie/context_rules.json were written from clinical usage and
adjusted while looking ONLY at folds 1-2 (the first 40% of the kit's lines). Folds 3-5 were not
looked at while writing them; the headline figures are those folds pooled, with 95% intervals
(Wilson for accuracies, bootstrap over sentences for F1). Per-fold rows are printed for all five,
the tuned ones marked.

Scoring is the harness's own (`medllm.eval.tasks.AssertionTask`, as `medllm eval --dataset
negex:...` runs it): negation F1 with "Negated" as the positive class; temporality Recent /
Historical / Not particular (hypothetical); experiencer patient vs someone else.

Speed: assertion chars/s over the sentences; `extract()` (sections + tagger + linking in the
knowledge graph + ConText, no coding) chars/s on the PhysioNet nursing notes
(../shared/data/deid/physionet_dev.jsonl), one thread.

    nice -n 10 python benchmarks/assertion.py                 # figures + speed (dictionary tagger)
    nice -n 10 python benchmarks/assertion.py --tagger default  # speed with the trained NER model
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from medllm.eval.datasets import load_dataset
from medllm.eval.tasks import AssertionTask

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TUNED_FOLDS = (1, 2)


def pct(m: dict, ci: str) -> str:
    lo, hi = m[ci]
    return f"{100 * m['value']:5.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--negex", default=str(DATA / "negex" / "negex_dev.jsonl"))
    ap.add_argument("--notes", default=str(DATA / "deid" / "physionet_dev.jsonl"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--speed-notes", type=int, default=300, help="notes timed for extract() (0: skip)")
    ap.add_argument("--tagger", default="dictionary", help="tagger for the extract() speed: dictionary | default")
    args = ap.parse_args()

    qs = sorted(load_dataset(f"negex:{args.negex}").questions, key=lambda q: int(q.id))
    n = len(qs)
    fold_of = {q.id: i * args.folds // n + 1 for i, q in enumerate(qs)}
    task = AssertionTask()
    ctx = task.load("context")
    records = task.predict(ctx, qs)

    print(f"NegEx kit: {n} sentences, {args.folds} contiguous folds; rules tuned on folds "
          f"{', '.join(map(str, TUNED_FOLDS))} only\n")
    head = f"{'fold':<14}{'n':>5}  {'neg F1':>7} {'neg P':>6} {'neg R':>6}  {'neg acc':>7}  {'temp acc':>8}  {'exp acc':>7}"
    print(head)
    print("-" * len(head))
    for f in range(1, args.folds + 1):
        rs = [r for r in records if fold_of[r["id"]] == f]
        m = task.summarize(rs)
        tag = " (tuned)" if f in TUNED_FOLDS else ""
        print(f"{str(f) + tag:<14}{len(rs):>5}  {m['negation_f1']['value']:7.3f} {m['negation_f1']['precision']:6.3f} "
              f"{m['negation_f1']['recall']:6.3f}  {m['accuracy']['value']:7.3f}  "
              f"{m['temporality_accuracy']['value']:8.3f}  {m['experiencer_accuracy']['value']:7.3f}")

    held = [r for r in records if fold_of[r["id"]] not in TUNED_FOLDS]
    m = task.summarize(held)
    neg = m["negation_f1"]
    print(f"\nHeld-out folds pooled (not tuned on): {len(held)} sentences "
          f"({sum(r['gold'] == 'Negated' for r in held)} negated, "
          f"{sum(r['gold_temporality'] == 'Historical' for r in held)} historical, "
          f"{sum(r['gold_temporality'] == 'Not particular' for r in held)} hypothetical, "
          f"{sum(r['gold_experiencer'] != 'Patient' for r in held)} not the patient)")
    rows = [
        ("negation F1 (Negated)", pct(neg, "bootstrap"), f"P {neg['precision']:.3f} R {neg['recall']:.3f}"),
        ("negation accuracy", pct(m["accuracy"], "wilson"), ""),
        ("temporality accuracy", pct(m["temporality_accuracy"], "wilson"),
         f"macro-F1 {m['temporality_macro_f1']['value']:.3f}"),
        ("historical F1", pct(m["historical_f1"], "bootstrap"),
         f"P {m['historical_f1']['precision']:.3f} R {m['historical_f1']['recall']:.3f}"),
        ("hypothetical F1", pct(m["hypothetical_f1"], "bootstrap"),
         f"P {m['hypothetical_f1']['precision']:.3f} R {m['hypothetical_f1']['recall']:.3f}"),
        ("experiencer accuracy", pct(m["experiencer_accuracy"], "wilson"), ""),
        ("experiencer F1 (other)", pct(m["experiencer_f1"], "bootstrap"),
         f"tp {m['experiencer_f1']['tp']} fp {m['experiencer_f1']['fp']} fn {m['experiencer_f1']['fn']}"),
    ]
    print(f"{'metric':<26}{'% [95% CI]':>22}  note")
    for a, b, c in rows:
        print(f"{a:<26}{b:>22}  {c}")

    # speed: assertion alone, best of 3 passes over all sentences, one thread
    from medllm.tasks.ie.pipeline import assert_mentions

    chars = sum(len(q.question) for q in qs)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for q in qs:
            assert_mentions(q.question, [(q.metadata["start"], q.metadata["end"])], ctx)
        best = min(best, time.perf_counter() - t)
    print(f"\nassertion speed: {chars:,} chars in {best:.2f} s = {chars / best:,.0f} chars/s (one thread)")

    if args.speed_notes:
        from medllm.tasks.ie.pipeline import extract, load_tagger

        notes = [json.loads(x)["text"] for x in Path(args.notes).read_text(encoding="utf-8").splitlines() if x.strip()]
        notes = notes[: args.speed_notes]
        from medllm.knowledge.kg.graph import load_default_graph

        graph = load_default_graph()  # mentions the tagger leaves unlinked are linked here, as the CLI does
        tagger = load_tagger(args.tagger)
        extract(notes[0], tagger, graph=graph)  # warm-up (lazy tables)
        t, cpu = time.perf_counter(), time.process_time()
        n_spans = sum(len(extract(x, tagger, graph=graph)) for x in notes)
        dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
        c = sum(len(x) for x in notes)
        # CPU seconds too: on a shared machine the wall clock also counts other people's jobs
        print(f"extract() with tagger {tagger.name!r}: {len(notes)} PhysioNet notes, {c:,} chars, {n_spans:,} spans "
              f"in {dt:.2f} s wall / {dcpu:.2f} s CPU = {c / dt:,.0f} chars/s wall, {c / dcpu:,.0f} chars per "
              "CPU-second (one thread)")


if __name__ == "__main__":
    import torch  # noqa: F401 - only to pin threads when a trained tagger uses it

    torch.set_num_threads(1)
    main()
