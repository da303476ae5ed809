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
  site lexicon, then the learned token model (`privacy/learned.py`), at each operating point of
  --points ("recall", the default, and "balanced"). Nested folds by patient: for each outer fold
  the site lexicon, token model and thresholds are learned from the OTHER folds' gold only (the
  thresholds on out-of-fold predictions of inner folds by patient within them), so each note is
  scored by a detector that never saw its patient. The package ships the same thing learned on
  the whole dev file (`make deid-model`). Figures come with 95% intervals from resampling
  patients. The rules themselves are written by reading errors: --detail and --misses show only
  the errors of --read-folds, and the other folds (a lockbox) are reported apart;
- `medllm-shipped`: the shipped lexicon and token model, learned on ALL the dev notes: on dev
  notes this is what a leaky protocol reports (not a figure for new patients);
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
    misses: list = field(default_factory=list)  # (note id, label, start, end): for --misses
    # patient -> counts ("tp", "fn", "fp", "gold:LABEL", "found:LABEL"): the unit the CI resamples
    by_patient: dict = field(default_factory=dict)

    def add(self, note: GoldNote, pred: list[tuple[int, int]], seconds: float) -> None:
        text = note.text
        pc = self.by_patient.setdefault(note.patient, Counter())
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
                pc[f"gold:{label}"] += 1
                if hit:
                    self.tp += 1
                    pc["tp"] += 1
                    self.found_by_label[label] += 1
                    pc[f"found:{label}"] += 1
                else:
                    self.fn += 1
                    pc["fn"] += 1
                    self.fn_words[(label, m.group().lower())] += 1
                    self.misses.append((note.id, label, m.start(), m.end()))
            elif hit:
                self.fp += 1
                pc["fp"] += 1
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

    def ci(self, metric: str, labels: Sequence[str] = (), n_boot: int = 2000,
           seed: int = 0) -> tuple[float, float]:
        """95% percentile interval of `metric` ("recall", "precision" or, with `labels`, the
        recall of those labels) over bootstrap resamples of PATIENTS: notes of one patient share
        names, places and style, so they are not independent draws, and new patients are what
        the figure must predict."""
        import numpy as np

        pats = sorted(self.by_patient)
        if not pats:
            return float("nan"), float("nan")
        if metric == "recall" and labels:
            num = np.array([sum(self.by_patient[p][f"found:{l}"] for l in labels) for p in pats], float)
            den = np.array([sum(self.by_patient[p][f"gold:{l}"] for l in labels) for p in pats], float)
        elif metric == "recall":
            num = np.array([self.by_patient[p]["tp"] for p in pats], float)
            den = num + np.array([self.by_patient[p]["fn"] for p in pats], float)
        elif metric == "precision":
            num = np.array([self.by_patient[p]["tp"] for p in pats], float)
            den = num + np.array([self.by_patient[p]["fp"] for p in pats], float)
        else:
            raise ValueError(f"metric {metric!r}: use recall or precision")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(pats), size=(n_boot, len(pats)))
        d = den[idx].sum(axis=1)
        vals = num[idx].sum(axis=1)[d > 0] / d[d > 0]
        if not len(vals):
            return float("nan"), float("nan")
        return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def merge(into: Score, part: Score) -> None:
    """Add `part`'s counts to `into` (folds scored apart, reported together)."""
    for f in ("tp", "fn", "fp", "tn", "seconds", "chars", "notes"):
        setattr(into, f, getattr(into, f) + getattr(part, f))
    for f in ("by_label", "found_by_label", "fp_words", "fn_words"):
        getattr(into, f).update(getattr(part, f))
    into.misses += part.misses
    into.per10k.update(part.per10k)
    for p, c in part.by_patient.items():
        into.by_patient.setdefault(p, Counter()).update(c)


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


def learned_detector(train: Sequence[GoldNote], fresh_copies: int | None = None):
    """The default detector with its site lexicon, token model and thresholds learned on `train`
    only (the thresholds on folds by patient inside `train`: the nested part)."""
    from medllm.trust.privacy import PhiDetector, load_lexicon
    from medllm.trust.privacy.learned import train_token_model

    model, site = train_token_model(to_site_notes(train), load_lexicon(), fresh_copies=fresh_copies)
    print(f"    learned on {len(train)} notes of {len({n.patient for n in train})} patients: {model!r}",
          file=sys.stderr)
    return PhiDetector(site=site, model=model)


def at_point(det, point: str) -> Predict:
    """`det` (a learned PhiDetector) at one of its model's operating points."""
    from medllm.trust.privacy import PhiDetector

    d = PhiDetector(det.analyzer, site=det.site, model=det.model, operating_point=point)
    return lambda text: [(s.start, s.end) for s in d.analyze(text)]


def to_site_notes(notes: Sequence[GoldNote]):
    """Gold notes in the form `learn_site_lexicon` takes (our labels)."""
    conv = {**{l: "NAME" for l in NAME_LABELS}, "Location": "LOCATION"}
    return [(n.patient, n.text, [(s, e, conv.get(l, l)) for s, e, l in n.spans]) for n in notes]


class FreshSurrogates:
    """Replaces the gold names and places of notes by fresh ones of the same shape (census names,
    gazetteer towns, the case of the original; one patient's same string always gets the same
    fresh one), shifting the spans: `medllm.trust.privacy.learned.FreshNames`, whose seeds
    (1000 and up) the token model's training copies use; the benchmark's draws are 0 and up.
    Scored this way, no name or place in a note was seen by a learned part or by whoever wrote
    the rules: a stress test of kinds over strings. It is pessimistic for a site whose staff and
    wards recur in its new patients' notes."""

    def __init__(self, seed: int = 0):
        from medllm.trust.privacy.learned import FreshNames

        self.names = FreshNames(seed)

    def note(self, n: GoldNote) -> GoldNote:
        text, spans = self.names.note(n.patient, n.text, n.spans)
        return GoldNote(n.id, n.patient, text, spans)


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


def report(results: dict[str, Score], detail: str | None, readable: dict[str, Score] | None = None) -> None:
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
        if readable is not None and detail.startswith("medllm (") and "fold" in detail:
            point = detail.rsplit(", ", 1)[-1].rstrip(")")
            s = readable.get(point, Score())  # only the read folds' errors
            detail += " (read folds only)"
        elif readable is not None:
            print(f"\n--detail {detail}: errors are shown for the k-fold medllm rows only (their read "
                  "folds), so that the lockbox folds stay unread")
            return
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
    ap.add_argument("--detail", default="", help="print frequent errors of this system (k-fold "
                    "medllm: only those of --read-folds)")
    ap.add_argument("--points", default="recall,balanced", help="the token model's operating points to score")
    ap.add_argument("--read-folds", default="0,1,2", help="folds whose errors --detail may show; the "
                    "others are a lockbox, reported apart, so rules written from reading errors are "
                    "also checked on patients nobody read")
    ap.add_argument("--misses", type=Path, help="write the read folds' missed PHI tokens with 60 "
                    "characters of context to this file (it holds note text: keep it local)")
    ap.add_argument("--score-folds", default="", help="outer folds to score (default: all); a quick "
                    "development loop scores the read folds only, e.g. 0,1,2")
    ap.add_argument("--fresh", action="store_true", help="also score each fold with its gold names and "
                    "places replaced by fresh ones (FreshSurrogates): strings no part has seen")
    ap.add_argument("--fresh-seed", type=int, default=0, help="the draw of fresh names for --fresh: a new "
                    "seed is a draw nobody has read")
    ap.add_argument("--fresh-copies", type=int, default=None, help="renamed copies of each training note "
                    "the token model also learns from (default: the package's FRESH_COPIES)")
    args = ap.parse_args()
    read_folds = {int(x) for x in args.read_folds.split(",") if x.strip()}
    score_folds = {int(x) for x in args.score_folds.split(",") if x.strip()} or set(range(args.folds))
    fresh_read: dict[str, Score] = {}
    fresh_notes: dict[str, GoldNote] = {}
    unread: dict[str, Score] = {}
    readable: dict[str, Score] = {}
    fresh = FreshSurrogates(args.fresh_seed) if args.fresh else None
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
            points = [p.strip() for p in args.points.split(",") if p.strip()]
            if args.test:
                det = learned_detector(train, args.fresh_copies)
                for point in points:
                    pred = at_point(det, point)
                    pred(test[0].text)
                    results[f"medllm ({point})"] = run(test, pred)
            else:
                folds = folds_by_patient(test, args.folds)
                for point in points:
                    results[f"medllm ({args.folds}-fold, {point})"] = Score()
                    unread[point] = Score()
                for i, fold in enumerate(folds):
                    if i not in score_folds:
                        continue
                    det = learned_detector([n for j, f in enumerate(folds) if j != i for n in f], args.fresh_copies)
                    for point in points:
                        pred = at_point(det, point)
                        pred(fold[0].text)
                        fs = run(fold, pred)
                        if fresh is not None:
                            results.setdefault(f"medllm ({args.folds}-fold, {point}, fresh names)", Score())
                            fresh_fold = [fresh.note(n) for n in fold]
                            ff = run(fresh_fold, pred)
                            merge(results[f"medllm ({args.folds}-fold, {point}, fresh names)"], ff)
                            if i in read_folds:
                                merge(fresh_read.setdefault(point, Score()), ff)
                                fresh_notes.update((n.id, n) for n in fresh_fold)
                        print(f"    fold {i} ({point}): recall {fs.recall:.3f} precision {fs.precision:.3f}",
                              file=sys.stderr)
                        for target in [results[f"medllm ({args.folds}-fold, {point})"]] + (
                                [unread[point]] if i not in read_folds else []):
                            merge(target, fs)
                        if i in read_folds:
                            readable.setdefault(point, Score())
                            merge(readable[point], fs)
        elif name == "medllm-shipped":
            # the shipped lexicon and token model were learned on ALL the dev notes: scoring them
            # here shows what a leaky protocol reports, never a figure for new patients
            from medllm.trust.privacy import PhiDetector

            det = PhiDetector()
            pred = lambda text: [(s.start, s.end) for s in det.analyze(text)]  # noqa: E731
            pred(test[0].text)
            results["medllm-shipped (LEAKY: learned on these notes)"] = run(test, pred)
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
            sys.exit(f"unknown system {name!r}; use medllm, medllm-shipped, medllm-rules, medllm+site, medllm+ner, "
                     "presidio-default, philter-lite")
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.misses and readable:
        point = next(iter(readable))
        by_id = {n.id: n for n in test}
        for path, score, notes_by_id in ((args.misses, readable[point], by_id),
                                         (args.misses.with_suffix(".fresh" + args.misses.suffix),
                                          fresh_read.get(point), fresh_notes)):
            if score is None:
                continue
            with path.open("w", encoding="utf-8") as f:
                for nid, label, a, b in sorted(score.misses, key=lambda m: (m[1], m[0], m[2])):
                    t = notes_by_id[nid].text
                    f.write(f"{label}\t{nid}\t{t[a:b]}\t{t[max(0, a - 60):a]!r} [[{t[a:b]}]] {t[b:b + 60]!r}\n")
            print(f"{len(score.misses)} misses of the read folds ({point}) written to {path}")
    detail = next((k for k in results if k.startswith(args.detail)), None) if args.detail else None
    report(results, detail, readable if not args.test else None)
    if unread and score_folds - read_folds:
        lock = sorted(score_folds - read_folds)
        print(f"\nlockbox folds {lock} (errors never shown by --detail):")
        for point, s in unread.items():
            lo, hi = s.ci("recall")
            print(f"  medllm ({point}): recall {s.recall:.3f} [{lo:.3f}, {hi:.3f}] precision {s.precision:.3f}"
                  f" on {len(s.by_patient)} patients")
            for cat, labels in CATEGORIES:
                r, k = s.label_recall(labels)
                if k:
                    clo, chi = s.ci("recall", labels)
                    print(f"    {cat.strip():<10} {r:.3f} [{clo:.3f}, {chi:.3f}] n={k}")
    mains = [k for k in results if k.startswith("medllm (") or k == "medllm"]
    if mains:
        if args.test:
            print("\nlearned where: site lexicon, token model and thresholds on --train only "
                  "(thresholds on 4 folds by patient inside it); scored on --test")
        else:
            print(f"\nlearned where: for each of {args.folds} outer folds by patient, the site lexicon, token "
                  "model and thresholds are learned on the other folds only (thresholds on out-of-fold "
                  "predictions of 4 inner folds by patient, each inner fold's rules run with a lexicon "
                  "learned without it); the scored fold's patients are in none of it. Not learned: the "
                  "rules and generic word lists (written by reading dev notes: see the lockbox line). "
                  "CIs: 2,000 bootstrap resamples of patients.")
    for key in mains:
        s = results[key]
        names_r = s.label_recall(sorted(NAME_LABELS))[0]
        lo, hi = s.ci("recall")
        plo, phi = s.ci("precision")
        print(f"targets for {key}: recall {s.recall:.3f} [{lo:.3f}, {hi:.3f}] (>= 0.95), names {names_r:.3f} "
              f"(>= 0.97; each kind below), precision {s.precision:.3f} [{plo:.3f}, {phi:.3f}] (>= 0.75), "
              f"clinical kept {s.kept:.4f} (>= 0.995), {s.chars / max(s.seconds, 1e-9):.0f} chars/s "
              f"(>= 15000), worst {s.worst:.2f} s/10kB (<= 1)")
        for cat, labels in CATEGORIES:
            r, k = s.label_recall(labels)
            if k:
                clo, chi = s.ci("recall", labels)
                print(f"    {cat.strip():<10} {r:.3f} [{clo:.3f}, {chi:.3f}] n={k}")


if __name__ == "__main__":
    main()
