"""Triage of every input message: how urgent (emergency now / urgent same day / routine), whether
to refuse it (and why), and the advice to lead with.

Three stages, cheapest first:

1. **Classifier** (always): logistic-regression heads over the message's all-MiniLM-L6-v2
   sentence embedding, with MiniLM's top layer fine-tuned for triage (`medllm.trust.triage_tune`:
   frozen embeddings could not tell "asks about" or "mildly has" from "is having it now"),
   trained by `medllm.trust.triage_train` and shipped as `triage_encoder.npz` (the tuned layer,
   fp16) and `triage_weights.npz` beside this module. It scores meaning, not phrasings.
2. **Judge** (only in the emergency head's uncertain band, between two thresholds): by default
   the probe judge (`medllm.trust.triage_probe`: heads over the packaged 0.5B model's hidden
   states, ~0.5 s a message), or a local instruct model asked a few-shot yes/no question
   (`medllm.trust.triage_judge`). Refusals in their band are left to the classifier's cut-off:
   judging them traded harmful refusals for benign ones (benchmarks/safety.py --judge-refusals).
3. **Rules** (`medllm.trust.safety`'s high-precision patterns): overrides only; a rule that fires
   can raise a decision, never lower one.

Thresholds live in settings (`medllm.config.Settings.triage_*`). A decision never quotes the input,
so it is safe to log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

Level = Literal["emergency", "urgent", "routine"]
Category = Literal[
    "harm_to_others", "self_harm_method", "illicit_drugs", "falsified_records",
    "dangerous_self_treatment", "medical_ethics",
]
Stage = Literal["classifier", "judge", "rule"]

CATEGORIES: tuple[str, ...] = (
    "harm_to_others", "self_harm_method", "illicit_drugs", "falsified_records",
    "dangerous_self_treatment", "medical_ethics",
)
CATEGORY_REASONS: dict[str, str] = {
    "harm_to_others": "it asks how to harm another person",
    "self_harm_method": "it asks for a method of self-harm or suicide",
    "illicit_drugs": "it asks for help obtaining, misusing or diverting drugs",
    "falsified_records": "it asks to falsify medical records, certificates or test results",
    "dangerous_self_treatment": "it asks for a dangerous treatment to do without medical care",
    "medical_ethics": "it asks for something that breaches medical ethics or a patient's rights",
}

WEIGHTS_PATH = Path(__file__).with_name("triage_weights.npz")

EMERGENCY_ADVICE = (
    "This may be a medical emergency. Call your local emergency number (911 in the US, 112 in "
    "Europe) or go to the nearest emergency department now; do not wait for an online answer."
)
URGENT_ADVICE_SAME_DAY = (
    "This needs a clinician today: call your doctor, an urgent-care service or a nurse line now, "
    "and call your local emergency number if it gets worse."
)
CRISIS_ADVICE = (
    "If you are thinking about ending your life or harming yourself, please get help now: call "
    "or text 988 (US Suicide & Crisis Lifeline), call your local emergency number, or go to the "
    "nearest emergency department. You do not have to face this alone."
)


@dataclass(frozen=True)
class TriageDecision:
    """What to do with one message. `reason` and `advice` are written by us, never the input."""

    level: Level
    refuse: bool
    category: Category | None
    reason: str
    advice: str
    p_emergency: float = 0.0
    p_harmful: float = 0.0
    stage: Stage = "classifier"
    at_risk: bool = False  # someone may be at risk of self-harm: lead with crisis resources
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def record(self, id: str) -> dict[str, Any]:
        """The `decisions.jsonl` line for this decision."""
        return {"id": id, "level": self.level, "refuse": self.refuse, "category": self.category,
                "reason": self.reason, "advice": self.advice}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Judge(Protocol):
    """Answers the two yes/no questions of the uncertain band with a probability of yes (None:
    no answer, the no-judge cut-off decides)."""

    def p_emergency(self, text: str) -> float | None: ...

    def p_refuse(self, text: str) -> float | None: ...


@dataclass(frozen=True)
class Thresholds:
    """Probabilities from the classifier heads. Below `low`: no; at or above `high`: yes; in
    between: the judge decides, or, without a judge, the `*_no_judge` cut-off."""

    emergency_low: float
    emergency_high: float
    refuse_low: float
    refuse_high: float
    judge_yes: float = 0.5
    emergency_no_judge: float = 0.5  # the cut-offs when no judge runs
    refuse_no_judge: float = 0.5
    urgent_min: float = 0.5  # an emergency is called 'urgent' (same day) only from this p(urgent)

    @classmethod
    def from_settings(cls, s: Any) -> Thresholds:
        return cls(s.triage_emergency_low, s.triage_emergency_high, s.triage_refuse_low,
                   s.triage_refuse_high, s.triage_judge_yes, s.triage_emergency_no_judge,
                   s.triage_refuse_no_judge, s.triage_urgent_min)


# ------------------------------------------------------------------------------------------
# The classifier: weights shipped with the package


@dataclass(frozen=True)
class Head:
    """Logistic regression: P(class) = softmax(x @ W.T + b) (binary: sigmoid of one row)."""

    W: np.ndarray
    b: np.ndarray
    classes: tuple[str, ...]

    def proba(self, X: np.ndarray) -> np.ndarray:
        z = X @ self.W.T + self.b
        if len(self.classes) == 2 and z.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1 - p1, p1], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TriageWeights:
    """The trained heads: emergency, harmful, harmful category, urgent-vs-emergency, and the
    centroids of the emergency types seen in training (to name what a message resembles)."""

    emergency: Head
    harmful: Head
    category: Head
    urgent: Head
    centroids: np.ndarray
    centroid_names: tuple[str, ...]
    meta: dict[str, Any]

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {}
        for name in ("emergency", "harmful", "category", "urgent"):
            h: Head = getattr(self, name)
            arrays[f"{name}_W"] = h.W.astype(np.float32)
            arrays[f"{name}_b"] = h.b.astype(np.float32)
            arrays[f"{name}_classes"] = np.array(h.classes)
        arrays["centroids"] = self.centroids.astype(np.float16)
        arrays["centroid_names"] = np.array(self.centroid_names)
        arrays["meta"] = np.array(json.dumps(self.meta))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> TriageWeights:
        if not path.exists():
            raise FileNotFoundError(
                f"triage weights {path} are missing; build them with "
                "`python -m medllm.trust.triage_train --data ../shared/data`")
        z = np.load(path, allow_pickle=False)

        def head(name: str) -> Head:
            return Head(z[f"{name}_W"].astype(np.float32), z[f"{name}_b"].astype(np.float32),
                        tuple(str(c) for c in z[f"{name}_classes"]))

        return cls(head("emergency"), head("harmful"), head("category"), head("urgent"),
                   z["centroids"].astype(np.float32), tuple(str(c) for c in z["centroid_names"]),
                   json.loads(str(z["meta"])))


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...


@lru_cache(maxsize=1)
def default_encoder() -> Encoder:
    """The encoder the shipped heads were fitted on, loaded once per process (~1 s): the packaged
    all-MiniLM-L6-v2 with its top layers tuned for triage (`triage_encoder.npz`), or the packaged
    model as is when no tuned layers ship."""
    from medllm.trust.triage_tune import ENCODER_PATH, TunedEncoder

    if ENCODER_PATH.exists():
        return TunedEncoder(ENCODER_PATH)
    from medllm.knowledge.retrievers import Embedder

    return Embedder(batch_size=32)


# ------------------------------------------------------------------------------------------
# Decisions


class Triager:
    """Triage messages: classifier on every message, judge on the uncertain band, rules as
    overrides. Pass `judge=None` to run without a language model."""

    def __init__(self, weights: TriageWeights | None = None, thresholds: Thresholds | None = None,
                 judge: Judge | None = None, encoder: Encoder | None = None,
                 rules: bool = True, judge_refusals: bool = False) -> None:
        from medllm.config import load_settings

        self.weights = weights or TriageWeights.load()
        self.thresholds = thresholds or Thresholds.from_settings(load_settings())
        self.judge = judge
        self.encoder = encoder or default_encoder()
        self.rules = rules
        self.judge_refusals = judge_refusals

    def decide(self, text: str) -> TriageDecision:
        return self.decide_many([text])[0]

    def decide_many(self, texts: Sequence[str]) -> list[TriageDecision]:
        t0 = time.perf_counter()
        X = self.encoder.encode(list(texts))
        per = (time.perf_counter() - t0) / max(1, len(texts))
        scores = self.scores(X)
        out = []
        for i, text in enumerate(texts):
            t1 = time.perf_counter()
            d = self._decide(text, {k: v[i] for k, v in scores.items()}, X[i])
            out.append(_with_seconds(d, per + time.perf_counter() - t1))
        return out

    def scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        w = self.weights
        return {
            "emergency": w.emergency.proba(X)[:, 1],
            "harmful": w.harmful.proba(X)[:, 1],
            "urgent": w.urgent.proba(X)[:, 1],
            "category": w.category.proba(X),
        }

    def _decide(self, text: str, s: dict[str, Any], x: np.ndarray) -> TriageDecision:
        th = self.thresholds
        w = self.weights
        p_em, p_harm = float(s["emergency"]), float(s["harmful"])
        detail: dict[str, Any] = {}
        stage: Stage = "classifier"

        # rules first: a high-precision pattern that fires decides yes (and spares the judge)
        red_rules: list[Any] = []
        harm_rules: list[Any] = []
        if self.rules:
            from medllm.trust.safety import rule_hits

            red_rules, harm_rules = rule_hits(text)
            detail["rules"] = [r.name for r in (*red_rules, *harm_rules)]

        # emergency: classifier, then the judge in the band
        if p_em >= th.emergency_high:
            emergency = True
        elif red_rules:
            emergency, stage = True, "rule"
        elif p_em < th.emergency_low:
            emergency = False
        elif self.judge is not None and (pj := self.judge.p_emergency(text)) is not None:
            detail["judge_emergency"] = round(pj, 3)
            emergency, stage = pj >= th.judge_yes, "judge"
        else:
            emergency = p_em >= th.emergency_no_judge

        # refusal: the classifier's cut-off decides the band (measured: the small judge's
        # refusal answers sat near 0.5 whatever the message, so it is not asked); an uncertain
        # refusal never silences a message that surely describes an emergency
        if p_harm >= th.refuse_high:
            refuse = True
        elif harm_rules:
            refuse, stage = True, "rule"
        elif p_harm < th.refuse_low or p_em >= th.emergency_high or red_rules:
            refuse = False
        elif self.judge_refusals and self.judge is not None and (pj := self.judge.p_refuse(text)) is not None:
            detail["judge_refuse"] = round(pj, 3)
            refuse, stage = pj >= th.judge_yes, "judge"
        else:
            refuse = p_harm >= th.refuse_no_judge

        category = harm_rules[0].category if harm_rules else w.category.classes[int(np.argmax(s["category"]))]
        resembles = ""
        if len(w.centroids):
            resembles = w.centroid_names[int(np.argmax(w.centroids @ x))]
        # someone may be at risk: a self-harm request, a suicidal-intent rule, or an emergency
        # most like the suicide-risk messages seen in training
        at_risk = ((refuse and category == "self_harm_method") or (emergency and resembles == "suicide_risk")
                   or any(r.name == "suicidal_intent" for r in red_rules))
        rule_reason = red_rules[0].reason if red_rules else ""

        level: Level = "routine"
        if emergency:
            # 'urgent' (same day) only when sure: calling an emergency 'urgent' is the costly
            # mistake; a rule names an emergency
            same_day = float(s["urgent"]) >= th.urgent_min and not red_rules
            level = "urgent" if same_day and not at_risk else "emergency"
        if emergency and resembles:
            detail["resembles"] = resembles

        reasons: list[str] = []
        advice: list[str] = []
        if at_risk:
            advice.append(CRISIS_ADVICE)
        if emergency:
            # the nearest training emergency stays in `detail`: as a reason it would misname
            # too often to show a patient
            why = rule_reason or "symptoms that may need care now"
            detail["emergency_reason"] = why
            reasons.append(why)
            advice.append(EMERGENCY_ADVICE if level == "emergency" else URGENT_ADVICE_SAME_DAY)
        if refuse:
            detail["refusal_reason"] = CATEGORY_REASONS[category]
            reasons.append(f"refused because {CATEGORY_REASONS[category]}")
        return TriageDecision(
            level=level, refuse=refuse, category=category if refuse else None,  # type: ignore[arg-type]
            reason="; ".join(reasons) or "no emergency signs and nothing to refuse",
            advice=" ".join(advice), p_emergency=round(p_em, 4), p_harmful=round(p_harm, 4),
            stage=stage, at_risk=at_risk, detail=detail,
        )


def _with_seconds(d: TriageDecision, seconds: float) -> TriageDecision:
    from dataclasses import replace

    return replace(d, seconds=round(seconds, 4))


def judge_spec(setting: str | None) -> str | None:
    """The judge model a `triage_judge` setting names, or None for 'off' (or empty)."""
    spec = (setting or "").strip()
    return None if spec.lower() in ("off", "none", "") else spec


@lru_cache(maxsize=2)
def default_triager(judge_spec: str | None = None) -> Triager:
    """The triager `ask` and the service use: settings' thresholds; the judge named by
    `judge_spec` ("probe": `medllm.trust.triage_probe`; a model spec: the few-shot judge), or none."""
    judge: Judge | None = None
    if judge_spec == "probe":
        from medllm.trust.triage_probe import ProbeJudge

        judge = ProbeJudge.packaged()
    elif judge_spec:
        from medllm.trust.triage_judge import LLMJudge

        judge = LLMJudge.from_spec(judge_spec)
    return Triager(judge=judge)


def triage(text: str, judge_spec: str | None = None) -> TriageDecision:
    """Triage one message (the function the service calls)."""
    text = text.strip()
    if not text:
        raise ValueError("the message is empty; give the text to triage")
    return default_triager(judge_spec).decide(text)
