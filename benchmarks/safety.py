"""Safety triage benchmark: does `medllm.trust.triage` generalise to messages it was not trained on?

    nice python benchmarks/safety.py                      # classifier + rules, probe judge on the band
    nice python benchmarks/safety.py --judge off          # classifier + rules only
    nice python benchmarks/safety.py --encoder frozen     # heads over the untuned MiniLM (~2 min)

What ships, and so what is measured by default, is MiniLM with its top layer fine-tuned for
triage (`medllm.trust.triage_tune`). Every fold tunes its own encoder on its training part only
(plus two half-size tunings to choose its thresholds): ~5 min a fold on one core, ~1 h for the
11 folds the first time; each fold's result is kept under --fold-cache, so a rerun (or a run
that was stopped) only does what is missing.

Every figure is on a fold the classifier, its encoder and its thresholds were not fitted on:

- leave-one-source-out: train on the other sources of `safety/safety_dev.jsonl` (plus the extra
  benign questions: MeQSum, K-QA, a MedQuAD sample, and the team-written training messages of
  `triage_team.jsonl` unless --team off), test on written / MedSafetyBench / XSTest /
  Do-Not-Answer in turn. Thresholds are chosen on cross-fitted scores of the training part only.
  The written vignettes hold nearly all red flags, so their strict row has almost no red flags
  to learn from; hence also
- written, by emergency: 5 folds of the written vignettes grouped by the emergency in each red
  flag's note (a test fold meets emergencies no training fold had), the other sources always in
  training. This is the estimate for new written messages about other emergencies.
- MedSafetyBench, by generator: train on the GPT-4-written half, test on the Llama-2 half and
  back (the other sources always in training): the estimate for its test split.

The judge runs only on the uncertain band; its share and latency are printed. By default it is
the probe judge that ships (`medllm.trust.triage_probe`: heads over the 0.5B model's hidden
states, fitted per fold on its training part; the states of every message are read once, ~35 min,
and kept); --judge MODEL_SPEC measures the few-shot yes/no judge instead. --calibration
per-source measures the other recall rule for the thresholds (`triage_train.recall_cut`). The embedding stage's latency is measured one message at a
time (1 torch thread by default; --latency-threads 2 on a quiet machine). The README's old
phrasing checks are unit tests now (tests/trust/test_safety_phrasings.py), not figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medllm.eval.metrics import wilson_ci
from medllm.trust.triage import Thresholds, Triager, TriageWeights
from medllm.trust.triage_train import (
    Calibration, Example, cached_embeddings, cached_probe_states, category_label, choose_thresholds, default_emb_cache,
    fit, fit_probe, fit_tuned, load_dev, load_extra_benign, load_team_written, thresholds_from_scores,
)
from medllm.trust.triage_probe import ProbeJudge, ProbeWeights
from medllm.trust.triage_tune import TuneOptions, cached_layer_inputs, embed_from_inputs

SOURCES = ("written", "medsafetybench", "xstest", "do-not-answer")


class ArrayEncoder:
    """Serves embeddings already computed (the benchmark embeds every message once)."""

    def __init__(self, texts: Sequence[str], X: np.ndarray) -> None:
        self.row = {t: i for i, t in enumerate(texts)}
        self.X = X

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self.X[[self.row[t] for t in texts]]


class ServedProbe(ProbeJudge):
    """The probe judge of one fold (heads fitted on its training part) reading the cached
    states instead of running the model."""

    def __init__(self, weights: ProbeWeights, table: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__(weights)
        self.table = table

    def pooled(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        return self.table[text]


class CachedJudge:
    """The judge, with its answers kept on disk by text hash (a text's answer does not depend
    on the fold), so reruns are cheap. Only dev-set texts pass through it."""

    def __init__(self, judge, path: Path) -> None:
        self.judge = judge
        self.path = path
        self.cache: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}
        self.latencies: list[float] = []

    max_calls: int = 10**9

    def _get(self, kind: str, text: str) -> float | None:
        key = f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:20]}"
        if key not in self.cache:
            if len(self.latencies) >= self.max_calls:
                return None  # over budget: the no-judge cut-off decides this one
            t0 = time.perf_counter()
            self.cache[key] = getattr(self.judge, f"p_{kind}")(text)
            self.latencies.append(time.perf_counter() - t0)
            if len(self.latencies) % 5 == 0:
                self.save()
                print(f"  judge: {len(self.latencies)} calls, last {self.latencies[-1]:.1f} s", file=sys.stderr)
        return self.cache[key]

    def p_emergency(self, text: str) -> float | None:
        return self._get("emergency", text)

    def p_refuse(self, text: str) -> float | None:
        return self._get("refuse", text)

    def save(self) -> None:
        from medllm.atomic import atomic_write_text

        atomic_write_text(self.path, json.dumps(self.cache))


@dataclass
class Tally:
    red: list[bool] = field(default_factory=list)  # red flag caught (level not routine)
    harm: list[bool] = field(default_factory=list)  # harmful refused
    ben_refused: list[bool] = field(default_factory=list)
    ben_alarmed: list[bool] = field(default_factory=list)
    judged: int = 0
    band: int = 0  # in the emergency head's uncertain band: what the judge would see
    n: int = 0
    by_type: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    # the judge's own answers in the band: (question, kind of message) -> said yes
    judge_said: dict[tuple[str, str], list[bool]] = field(default_factory=lambda: defaultdict(list))
    # the classifier's p(emergency) of each red flag and benign message (for the hindsight curve)
    p_red: list[float] = field(default_factory=list)
    p_benign: list[float] = field(default_factory=list)
    # the classifier's p(harmful) of each harmful and benign message (refusals in hindsight)
    h_harmful: list[float] = field(default_factory=list)
    h_benign: list[float] = field(default_factory=list)
    # (label read from the data's note, category given) of each refused harmful request
    categories: list[tuple[str, str]] = field(default_factory=list)

    def add(self, ex: Example, level: str, refuse: bool, judged: bool, detail: dict | None = None,
            judge_yes: float = 0.5) -> None:
        self.n += 1
        self.judged += judged
        for q in ("emergency", "refuse"):
            if detail and f"judge_{q}" in detail:
                self.judge_said[(q, ex.kind)].append(detail[f"judge_{q}"] >= judge_yes)
        if ex.kind == "red_flag":
            self.red.append(level != "routine")
            self.by_type[ex.group if not ex.group.startswith("w-") else "other"].append(level != "routine")
        elif ex.kind == "harmful":
            self.harm.append(refuse)
        else:
            self.ben_refused.append(refuse)
            self.ben_alarmed.append(level != "routine")


def without_judge(tallies: dict[str, Tally]) -> dict[str, Tally]:
    """Each family of folds' tally without a judge, by family name."""
    return {k.split("|")[0]: t for k, t in tallies.items() if k.endswith("|classifier+rules")}


def hindsight_table(tallies: dict[str, Tally], title: str, columns: str,
                    pick: Callable[[Tally], tuple[list[float], list[float], Sequence[list[bool]]]],
                    recalls: Sequence[float]) -> None:
    """Not a result: per family of folds without a judge (at least 20 positives and negatives),
    the test fold's AUC, the shipped rates, and the share of negatives at or above the highest
    cut-off that would have kept each of `recalls` of the positives had it been placed on the test
    scores themselves: how much of an error rate is the cut-off's transfer, how much separation."""
    from sklearn.metrics import roc_auc_score

    rows = {name: pick(t) for name, t in without_judge(tallies).items()}
    rows = {name: r for name, r in rows.items() if min(len(r[0]), len(r[1])) >= 20}
    if not rows:
        return
    print(f"\n## In hindsight (not a result): {title}\n")
    print(f"| test fold | {columns} | at recall {recalls[0]:.2f} | " + " | ".join(f"{r:.2f}" for r in recalls[1:]) + " |")
    print("|---|---|---|---|" + "---|" * len(recalls))
    for name, (pos, neg, shipped) in rows.items():
        p = np.sort(np.array(pos))
        at = [float((np.array(neg) >= p[int(np.floor((1 - r) * len(p)))]).mean()) for r in recalls]
        auc = roc_auc_score([1] * len(pos) + [0] * len(neg), list(pos) + list(neg))
        print(f"| {name} | {auc:.3f} | " + " | ".join(f"{x:.3f}" for x in [*map(np.mean, shipped), *at]) + " |")


def category_table(tallies: dict[str, Tally]) -> None:
    """The category given to each refused harmful request against the label the training reads
    from the data's own note (`triage_train.category_label`: the written vignettes' notes name the
    harm, e.g. "Covert poisoning"; MedSafetyBench's requests default to medical ethics), and the
    written vignettes' disagreements by label."""
    rows = {name: t.categories for name, t in without_judge(tallies).items() if t.categories}
    if not rows:
        return
    print("\n## Harmful-request category of the refused requests, against the label read from each one's note\n")
    print("| test fold | category agrees |")
    print("|---|---|")
    for name, pairs in rows.items():
        print(f"| {name} | {fmt([a == b for a, b in pairs])} |")
    wrong = Counter(pair for pair in rows.get("written, by emergency (5 folds)", []) if pair[0] != pair[1])
    if wrong:
        print("\nwritten, by emergency, disagreements (label -> given: count): "
              + "; ".join(f"{a} -> {b}: {n}" for (a, b), n in wrong.most_common()))


def fmt(xs: list[bool]) -> str:
    if not xs:
        return "–"
    k, n = sum(xs), len(xs)
    lo, hi = wilson_ci(k, n)
    return f"{k}/{n} = {k / n:.3f} [{lo:.2f}, {hi:.2f}]"


class FoldModels:
    """Fits a fold's model: frozen MiniLM + heads, or the tuned encoder + heads (`fit_tuned`).
    A tuned fold takes minutes on one thread, so its result (test embeddings, heads and the
    cross-fitted training scores) is kept on disk by a hash of its training ids and options:
    reruns resume, and thresholds are recomputed from the kept scores under `calibration`."""

    def __init__(self, allx: list[Example], X: np.ndarray, H: list[np.ndarray] | None,
                 options: TuneOptions, cache_dir: Path, calibration: Calibration = "pooled") -> None:
        self.allx, self.X, self.H, self.options, self.cache_dir = allx, X, H, options, cache_dir
        self.calibration = calibration
        self.index = {e.id: i for i, e in enumerate(allx)}

    def __call__(self, train: list[Example], test: list[Example], name: str) -> tuple[TriageWeights, Thresholds, np.ndarray]:
        tr = [self.index[e.id] for e in train]
        te = [self.index[e.id] for e in test]
        if self.H is None:
            Xtr = self.X[tr]
            return fit(train, Xtr), choose_thresholds(train, Xtr, calibration=self.calibration), self.X[te]
        key = hashlib.sha256(json.dumps([sorted(e.id for e in train), sorted(e.id for e in test),
                                         self.options.__dict__]).encode()).hexdigest()[:24]
        wpath, fpath = self.cache_dir / f"{key}.weights.npz", self.cache_dir / f"{key}.fold.npz"
        z = np.load(fpath) if wpath.exists() and fpath.exists() else None
        if z is None or "p_em" not in z.files:  # absent, or kept before the scores were
            t0 = time.perf_counter()
            tuned = fit_tuned(train, [self.H[i] for i in tr], self.options,
                              log=lambda m: print(f"  {name}: {m}", file=sys.stderr, flush=True))
            Xte = embed_from_inputs([self.H[i] for i in te], tuned.state, tuned.layers)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tuned.weights.save(wpath)
            tmp = fpath.with_name(f".{fpath.name}.tmp.npz")
            np.savez(tmp, X=Xte, **tuned.oof)
            tmp.replace(fpath)
            print(f"  {name}: fold tuned in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            z = np.load(fpath)
        th = thresholds_from_scores(train, z["p_em"], z["p_harm"], z["p_urgent"], self.calibration)
        return TriageWeights.load(wpath), th, z["X"]


def run_fold(train: list[Example], test: list[Example], models: FoldModels, judge_for,
             tallies: dict[str, Tally], name: str, judge_on: Sequence[str] = (),
             judge_refusals: bool = False) -> Thresholds:
    """Tally one fold without a judge and, where `judge_on` names it, with `judge_for(train)`."""
    w, th, Xte = models(train, test, name)
    enc = ArrayEncoder([e.text for e in test], Xte)
    for mode in ("classifier+rules", "+judge"):
        j = None
        if mode == "+judge":
            if judge_for is None or not any(name.startswith(x) for x in judge_on):
                continue
            j = judge_for(train)
        tri = Triager(weights=w, thresholds=th, judge=j, encoder=enc, judge_refusals=judge_refusals)
        decisions = tri.decide_many([e.text for e in test])
        t = tallies.setdefault(f"{name}|{mode}", Tally())
        for e, d in zip(test, decisions, strict=True):
            t.band += th.emergency_low <= d.p_emergency < th.emergency_high
            t.add(e, d.level, d.refuse, judged=bool({"judge_emergency", "judge_refuse"} & set(d.detail)),
                  detail=d.detail, judge_yes=th.judge_yes)
            if e.kind == "harmful" and d.refuse:
                t.categories.append((category_label(e), d.category))
            if e.kind != "harmful":
                (t.p_red if e.kind == "red_flag" else t.p_benign).append(d.p_emergency)
            if e.kind != "red_flag":
                (t.h_harmful if e.kind == "harmful" else t.h_benign).append(d.p_harmful)
    return th


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--judge", default="probe",
                    help="probe (heads over the 0.5B's hidden states, fitted per fold; what ships), "
                         "a model spec for the few-shot judge, or off")
    ap.add_argument("--judge-on", nargs="*", default=None,
                    help="test folds (name prefixes) where the judge runs; default: every fold for the "
                         "probe, 'written, by emergency' for a few-shot judge (LLM calls are slow on 2 cores)")
    ap.add_argument("--probe-cache", type=Path, default=None,
                    help="the probe model's states of every message (default beside --emb-cache; "
                         "~35 min to fill the first time on 2 cores, resumable)")
    ap.add_argument("--judge-refusals", action="store_true",
                    help="let the judge decide refusals in the harmful head's uncertain band too (not what ships)")
    ap.add_argument("--judge-max-calls", type=int, default=30,
                    help="new judge calls at most; beyond, the no-judge cut-offs decide (reported)")
    ap.add_argument("--judge-cache", type=Path, default=Path.home() / ".medllm" / "cache" / "safety_judge.json")
    ap.add_argument("--emb-cache", type=Path, default=default_emb_cache())
    ap.add_argument("--encoder", choices=("tuned", "frozen"), default="tuned",
                    help="tuned: fine-tune MiniLM's top layers per fold (what ships); frozen: the packaged MiniLM as is")
    ap.add_argument("--fold-cache", type=Path, default=Path.home() / ".medllm" / "cache" / "safety_folds",
                    help="per-fold tuned models, so an interrupted run resumes")
    ap.add_argument("--folds", nargs="*", choices=("loso", "written", "generator"),
                    default=["loso", "written", "generator"], help="which families of folds to run")
    ap.add_argument("--team", choices=("on", "off"), default="on",
                    help="train every fold with the team-written messages too (triage_team.jsonl; never tested on)")
    ap.add_argument("--calibration", choices=("pooled", "per-source", "per-source-emergency"), default="pooled",
                    help="recall cut-offs over every training positive (what ships), or on each public "
                         "dev source's out-of-fold scores, the lowest winning (per-source-emergency: "
                         "for the emergency cut-offs only; both classifier and probe judge)")
    ap.add_argument("--tune-layers", type=int, default=TuneOptions().layers,
                    help="MiniLM top layers fine-tuned per fold (what ships: the TuneOptions default)")
    ap.add_argument("--tune-epochs", type=int, default=TuneOptions().epochs, help="epochs of that tuning")
    ap.add_argument("--latency-threads", type=int, default=1, help="torch threads for the latency check (at most 2)")
    ap.add_argument("--probe-latency-n", type=int, default=30, help="messages timed for the probe judge")
    ap.add_argument("--latency-n", type=int, default=200, help="messages timed for the embedding stage")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # training shares the machine; the latency check below uses 2
    dev = load_dev(args.data / "safety" / "safety_dev.jsonl")
    extra = load_extra_benign(args.data)
    team = load_team_written() if args.team == "on" else []
    allx = dev + extra + team
    texts = [e.text for e in allx]
    print(f"dev: {len(dev)} messages; extra benign: {len(extra)} (MeQSum, K-QA, MedQuAD sample); "
          f"team-written (training only): {len(team)}", file=sys.stderr)
    X = cached_embeddings(texts, args.emb_cache)
    options = TuneOptions(layers=args.tune_layers, epochs=args.tune_epochs)
    H = None
    if args.encoder == "tuned":
        H = cached_layer_inputs(texts, options.layers, args.emb_cache.with_name(f"safety_layer_inputs_{options.layers}.npz"))
    models = FoldModels(allx, X, H, options, args.fold_cache, args.calibration)

    judge = None
    judge_for = None
    if args.judge == "probe":
        from medllm.trust.triage_probe import PROBE_MODEL

        cache = args.probe_cache or args.emb_cache.with_name(f"safety_probe_{PROBE_MODEL}.npz")
        last, mean = cached_probe_states(texts, cache, log=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        table = {t: (last[i], mean[i]) for i, t in enumerate(texts)}
        index = {e.id: i for i, e in enumerate(allx)}

        def judge_for(train: list[Example]) -> ServedProbe:
            tr = [index[e.id] for e in train]
            return ServedProbe(fit_probe(train, last[tr], mean[tr], calibration=args.calibration), table)

        args.judge_on = args.judge_on if args.judge_on is not None else [""]
    elif args.judge != "off":
        from medllm.trust.triage_judge import LLMJudge

        args.judge_cache.parent.mkdir(parents=True, exist_ok=True)
        judge = CachedJudge(LLMJudge.from_spec(args.judge), args.judge_cache)
        judge.max_calls = args.judge_max_calls
        judge_for = lambda train: judge  # noqa: E731 - one judge for every fold
        args.judge_on = args.judge_on if args.judge_on is not None else ["written, by emergency"]

    tallies: dict[str, Tally] = {}
    # 1. leave one source out
    for src in SOURCES if "loso" in args.folds else ():
        train = [e for e in allx if e.source != src]
        test = [e for e in dev if e.source == src]
        th = run_fold(train, test, models, judge_for, tallies, f"LOSO {src}", args.judge_on, args.judge_refusals)
        print(f"  LOSO {src}: thresholds {th}", file=sys.stderr)
    # 2. written, grouped by emergency
    from sklearn.model_selection import GroupKFold

    written = [e for e in dev if e.source == "written"]
    others = [e for e in allx if e.source != "written"]
    for a, b in GroupKFold(5).split(written, groups=[e.group for e in written]) if "written" in args.folds else ():
        run_fold(others + [written[i] for i in a], [written[i] for i in b], models, judge_for,
                 tallies, "written, by emergency (5 folds)", args.judge_on, args.judge_refusals)
    # 3. MedSafetyBench by generator
    msb = [e for e in dev if e.source == "medsafetybench"]
    rest = [e for e in allx if e.source != "medsafetybench"]
    for gen, other in (("gpt4", "llama2"), ("llama2", "gpt4")) if "generator" in args.folds else ():
        run_fold(rest + [e for e in msb if f"/{other}" in e.note], [e for e in msb if f"/{gen}" in e.note],
                 models, judge_for, tallies, "MedSafetyBench, by generator", args.judge_on, args.judge_refusals)
    if judge is not None:
        judge.save()

    print("\n## Safety triage: folds not trained or tuned on (95% Wilson CIs)\n")
    print("| test fold | stages | red flags caught | harmful refused | benign refused | benign alarmed | uncertain band | judge share |")
    print("|---|---|---|---|---|---|---|---|")
    for key, t in tallies.items():
        name, mode = key.split("|")
        print(f"| {name} | {mode} | {fmt(t.red)} | {fmt(t.harm)} | {fmt(t.ben_refused)} | "
              f"{fmt(t.ben_alarmed)} | {t.band / max(1, t.n):.2f} | {t.judged}/{t.n} = {t.judged / max(1, t.n):.2f} |")
    hindsight_table(tallies, "benign alarmed had the classifier's cut-off been set on these test messages",
                    "AUC red flag vs benign | red flags caught (as shipped) | benign alarmed (as shipped, no judge)",
                    lambda t: (t.p_red, t.p_benign, (t.red, t.ben_alarmed)), (0.90, 0.95, 0.98))
    hindsight_table(tallies, "benign refused had the classifier's refusal cut-off been set on these test messages",
                    "AUC harmful vs benign | harmful refused (as shipped) | benign refused (as shipped)",
                    lambda t: (t.h_harmful, t.h_benign, (t.harm, t.ben_refused)), (0.80, 0.90, 0.95))
    category_table(tallies)
    key = "written, by emergency (5 folds)|" + ("+judge" if judge_for else "classifier+rules")
    if key in tallies:
        print(f"\n## Red-flag recall per emergency type ({key.replace('|', ', ')})\n")
        print("| emergency type | caught |")
        print("|---|---|")
        for g, xs in sorted(tallies[key].by_type.items()):
            print(f"| {g.replace('_', ' ')} | {sum(xs)}/{len(xs)} |")

    for key, t in tallies.items():
        if t.judge_said:
            print(f"\n## The judge's answers in the uncertain band ({key.replace('|', ', ')})\n")
            print("| question | message kind | judge said yes |")
            print("|---|---|---|")
            for (q, kind), xs in sorted(t.judge_said.items()):
                print(f"| {q} | {kind} | {fmt(xs)} |")

    # cost: the embedding stage, one message at a time, and the judge
    from medllm.trust.triage import default_encoder

    # within the 2 cores; 1 thread by default: on a machine shared with other jobs, two
    # threads contend and the figure measures the neighbours (measured: ~40 ms vs ~0.25-1 s)
    torch.set_num_threads(args.latency_threads)
    enc = default_encoder()
    w = TriageWeights.load()
    sample = [e.text for e in dev[:: max(1, len(dev) // args.latency_n)]][: args.latency_n]
    enc.encode(sample[:2])  # warm up
    lat = []
    for t in sample:
        t1 = time.perf_counter()
        x = enc.encode([t])
        w.emergency.proba(x), w.harmful.proba(x), w.category.proba(x)
        lat.append((time.perf_counter() - t1) * 1000)
    lat.sort()
    print(f"\nembedding stage ({type(enc).__name__} + heads), one message at a time, torch threads = {args.latency_threads}, "
          f"{len(lat)} dev messages: median {statistics.median(lat):.1f} ms, "
          f"p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms")
    if args.judge == "probe":
        from medllm.trust.triage_probe import PROBE_MODEL, probe_model_path

        probe = ProbeJudge(ProbeWeights.empty(), probe_model_path())
        t1 = time.perf_counter()
        probe.pooled(sample[0])
        load_s = time.perf_counter() - t1
        pl = []
        for t in sample[: args.probe_latency_n]:
            t1 = time.perf_counter()
            probe.pooled(t)
            pl.append(time.perf_counter() - t1)
        pl.sort()
        print(f"probe judge ({PROBE_MODEL} hidden states, llama.cpp, {os.cpu_count()} threads), {len(pl)} dev messages: "
              f"median {statistics.median(pl):.2f} s, p95 {pl[int(0.95 * (len(pl) - 1))]:.2f} s; first call with loading {load_s:.1f} s")
    if judge is not None and judge.latencies:
        jl = sorted(judge.latencies)
        print(f"judge ({args.judge}, one yes/no question): {len(jl)} calls timed this run, "
              f"median {statistics.median(jl):.2f} s, p95 {jl[int(0.95 * (len(jl) - 1))]:.2f} s")
    elif judge is not None:
        print("judge: every answer came from the cache; delete it to time the judge")
    print(f"(cpu count {os.cpu_count()}; machine shared with other jobs)")


if __name__ == "__main__":
    main()
