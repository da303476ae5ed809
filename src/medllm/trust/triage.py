"""Triage of every input message: how urgent (emergency now / urgent same day / routine), whether
to refuse it (and why), whether to answer with a safe completion, and the advice to lead with.

Emergency comes from what the person has now, refusal from what they want:

1. **Findings** (`medllm.trust.triage_findings`): the message's findings with their assertion
   (present, negated, historical, hypothetical, or only asked about), severity and onset words,
   the person's age and pregnancy, matched against the reviewed red-flag table
   (`assets/triage/red_flags.toml`, every row citing public guidance). A row that fires sets the
   level and names itself as the decision's `rule`.
2. **Classifier** (always): logistic-regression heads over the packaged all-MiniLM-L6-v2
   sentence embedding (`triage_weights.npz`, `make triage-weights`). It adds evidence only where
   the person has something now: on a present *concerning* finding, urgent from its recall
   cut-off and emergency from its high one; on another present complaint, urgent from the recall
   cut-off; on a person described in words no concept knows, urgent from the high cut-off when
   the message says how bad or how fast. A question about a term, a past event, or a mild or
   long-standing complaint is never raised by it.
3. **Intent** (`medllm.trust.triage_intent`): explicit harm cues refuse (harm to someone,
   illegitimate drug or record access, falsification, covert administration, self-harm methods,
   dangerous self-treatment). The classifier's p(harmful) refuses a request to act ("how do I",
   "give me", an imperative) from its recall cut-off, anything from its high one, never a
   protective frame (dosing, storage, first aid, one's own records, quitting, seeing a clinician);
   the rest of its band gets a **safe completion**: general safety information and where to get
   help, never a method, not a refusal.
4. **Judge** (optional, `triage_judge` setting; off by default): the probe or a local model,
   asked only when a concerning finding is present and p(emergency) is in the uncertain band.

Thresholds live in settings (`medllm.config.Settings.triage_*`). Decisions are deterministic for
the same input and settings. `reason` and `advice` never quote the input; `findings` hold the
matched symptom words, for the person and the page, not for logs.
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

from medllm.trust.triage_findings import Assessment, Row, Table, assess, load_table
from medllm.trust.triage_intent import read_intent

Level = Literal["emergency", "urgent", "routine"]
Category = Literal[
    "harm_to_others", "self_harm_method", "illicit_drugs", "falsified_records",
    "dangerous_self_treatment", "medical_ethics",
]
Stage = Literal["classifier", "judge", "rule", "intent"]

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
SAFE_COMPLETION = (
    "I can give general safety information here, but not instructions that could cause harm. "
    "For advice about your own situation, a pharmacist, your doctor or a nurse line can help; "
    "if anyone is in danger now, call your local emergency number."
)
SAFETY_NET = (
    "Seek care sooner if it gets worse, new symptoms appear (such as a high fever, trouble "
    "breathing, severe pain, confusion or a rash that does not fade), or you are worried."
)
SAFETY_NOTE = (
    "Safety note: use a medicine only as its label or your prescriber says, keep medicines out of "
    "children's reach, and ask a pharmacist about doses and interactions; if someone may have taken "
    "too much, call your local emergency number or a poison centre now."
)
CRISIS_ADVICE = (
    "If you are thinking about ending your life or harming yourself, please get help now: call "
    "or text 988 (US Suicide & Crisis Lifeline), call your local emergency number, or go to the "
    "nearest emergency department. You do not have to face this alone."
)


@dataclass(frozen=True)
class FindingRecord:
    """A finding as the decision reports it: the matched words, the table concept, its assertion."""

    text: str
    concept: str
    assertion: str


@dataclass(frozen=True)
class TriageDecision:
    """What to do with one message. `reason` and `advice` are written by us, never the input.
    `rule` names the red-flag table row behind an emergency or urgent level (None when the
    classifier raised it on a concerning finding); `intent` is harmful / protective / none;
    `safe_completion` answers with general safety information only (not a refusal)."""

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
    findings: tuple[FindingRecord, ...] = ()
    rule: str | None = None
    intent: str = "none"
    safe_completion: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    def record(self, id: str) -> dict[str, Any]:
        """The `decisions.jsonl` line for this decision."""
        return {"id": id, "level": self.level, "refuse": self.refuse, "category": self.category,
                "safe_completion": self.safe_completion, "rule": self.rule, "intent": self.intent,
                "findings": [asdict(f) for f in self.findings], "reason": self.reason, "advice": self.advice}

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
    from medllm.knowledge.retrievers import shared_embedder

    return shared_embedder()  # the same model the knowledge base embeds queries with


# ------------------------------------------------------------------------------------------
# Decisions


class Triager:
    """Triage messages: findings and the red-flag table, the classifier where a concerning finding
    is present, intent cues for refusals. Pass `judge=None` to run without a language model;
    `table` to use a site's own red-flag table."""

    def __init__(self, weights: TriageWeights | None = None, thresholds: Thresholds | None = None,
                 judge: Judge | None = None, encoder: Encoder | None = None,
                 table: Table | None = None) -> None:
        from medllm.config import Settings

        self.weights = weights or TriageWeights.load()
        # default: the shipped cut-offs; a Session passes the ones its settings hold
        self.thresholds = thresholds or Thresholds.from_settings(Settings())
        self.judge = judge
        self.encoder = encoder or default_encoder()
        self.table = table or load_table()

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
            d = self._decide(text, {k: v[i] for k, v in scores.items()})
            out.append(_with_seconds(d, per + time.perf_counter() - t1))
        return out

    def scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        w = self.weights
        return {
            "emergency": w.emergency.proba(X)[:, 1],
            "harmful": w.harmful.proba(X)[:, 1],
            "category": w.category.proba(X),
        }

    def _level(self, text: str, a: Assessment, p_em: float, detail: dict[str, Any]) -> tuple[Level, Row | None, Stage]:
        """Emergency from the table; the classifier (or judge) only on what the person has now:
        from its recall cut-off (urgent) and high cut-off (emergency) on a concerning finding; to
        urgent from the recall cut-off on another complaint not called mild or long-standing; to
        urgent from the high cut-off on a person described in words no concept knows, and then
        only when the message says how bad or how fast (severe, sudden, within hours)."""
        th = self.thresholds
        # an urgent row yields when its own findings are told as mild or long-standing (not a mild
        # word elsewhere in the message), except a measured sign (an infant's temperature)
        rows = [r for r in a.rows if r.level == "emergency" or r.holds_when_mild or not a.row_mild(r)]
        row = rows[0] if rows else None
        concerning = a.concerning(self.table)
        if row is not None:
            # the classifier may raise an urgent row to emergency, never lower a row
            if row.level == "urgent" and p_em >= th.emergency_high:
                return "emergency", row, "classifier"
            return row.level, row, "rule"
        if concerning:
            if p_em >= th.emergency_high:
                return "emergency", None, "classifier"
            if p_em >= th.emergency_low and self.judge is not None and (pj := self.judge.p_emergency(text)) is not None:
                detail["judge_emergency"] = round(pj, 3)
                return ("urgent" if pj >= th.judge_yes else "routine"), None, "judge"
            if p_em >= th.emergency_no_judge:
                return "urgent", None, "classifier"
        elif (a.complaints(self.table) and not a.mild and not a.reassured
              and (a.acute or not a.advice_question) and p_em >= th.emergency_no_judge):
            # another complaint: not when the message reassures ("otherwise fine") or, unless it
            # says how bad or how fast, asks only what helps or whether a medicine is ok
            return "urgent", None, "classifier"
        elif (not a.findings and a.describes_someone and a.acute and not a.mild and not a.advice_question
              and p_em >= th.emergency_high):
            # a person described in words no concept knows: the classifier's high cut-off, urgent only
            return "urgent", None, "classifier"
        return "routine", None, "classifier"

    def _decide(self, text: str, s: dict[str, Any]) -> TriageDecision:
        th = self.thresholds
        w = self.weights
        p_em, p_harm = float(s["emergency"]), float(s["harmful"])
        detail: dict[str, Any] = {}
        a = assess(text, self.table)
        intent = read_intent(text)
        level, row, stage = self._level(text, a, p_em, detail)

        # refusal from intent: a harm cue refuses; the classifier alone only above its high
        # cut-off and never against a protective frame; its band gets a safe completion
        head_category = w.category.classes[int(np.argmax(s["category"]))]
        refuse, safe, category = False, False, None
        # the classifier alone refuses only a request that names what a refusal protects (a
        # person, a drug, a record, care): "kill time" or "crush a can" is never refused
        near_harm = intent.target and (p_harm >= th.refuse_high or (p_harm >= th.refuse_no_judge and intent.instrumental))
        if (intent.harmful and intent.category == "dangerous_self_treatment" and level != "routine"
                and not intent.instrumental):
            # someone who needs care today asking to treat it themselves: the emergency or urgent
            # advice answers that (care, not a method), so it is not refused
            detail["self_treatment"] = True
        elif intent.harmful:
            refuse, category, stage = True, intent.category, "intent"
        elif near_harm and intent.kind != "protective" and (level == "routine" or (level == "urgent" and row is None and intent.instrumental)):
            # not against a red-flag row, nor findings that need care today unless the message
            # asks how to do something
            refuse, category = True, head_category
        elif th.refuse_no_judge <= p_harm < th.refuse_high and level == "routine" and intent.kind == "protective":
            # a safety question (dosing, storage, first aid, one's records): answered, with a note;
            # above the high cut-off the frame may be a cover, so a safe completion (below)
            detail["safety_note"] = SAFETY_NOTE
        elif p_harm >= th.refuse_no_judge and level == "routine" and intent.target:
            # close to requests that seek harm, but not a request to act on it: general safety
            # information, never a method
            safe = True
            detail["safe_completion_reason"] = "close to requests that seek harm, without a request to act on it"

        present = a.present_concepts()
        at_risk = ("suicidal" in present or (refuse and category == "self_harm_method")
                   or (safe and head_category == "self_harm_method"))
        reasons: list[str] = []
        advice: list[str] = []
        if at_risk:
            advice.append(CRISIS_ADVICE)
        if level != "routine":
            named = sorted({f.concept.replace("_", " ") for f in a.complaints(self.table)})
            why = row.why if row is not None else (
                f"findings present now ({', '.join(named)}) in a message that resembles emergencies" if named
                else "a person described in words that resemble emergencies")
            detail["emergency_reason"] = why
            if row is not None:
                detail["rule_source"] = row.source
            reasons.append(why)
            advice.append(EMERGENCY_ADVICE if level == "emergency" else URGENT_ADVICE_SAME_DAY)
        elif a.complaints(self.table) and a.describes_someone and not refuse:
            detail["safety_net"] = SAFETY_NET  # goes into the answer as text, not as a banner
        if refuse:
            stage = stage if stage == "intent" else "classifier"
            cat = category or head_category
            detail["refusal_reason"] = CATEGORY_REASONS[cat]
            reasons.append(f"refused because {CATEGORY_REASONS[cat]}")
            category = cat
        if safe:
            reasons.append("answered with general safety information only")
        if "safety_note" in detail:
            reasons.append("a safety question close to harmful ones: answered, with a safety note")
        findings = tuple(FindingRecord(f.text, f.concept, f.assertion) for f in a.findings)
        return TriageDecision(
            level=level, refuse=refuse, category=category if refuse else None,  # type: ignore[arg-type]
            reason="; ".join(reasons) or _routine_reason(a, self.table),
            advice=" ".join(advice), p_emergency=round(p_em, 4), p_harmful=round(p_harm, 4),
            stage=stage, at_risk=at_risk, findings=findings, rule=row.id if row is not None else None,
            intent=intent.kind, safe_completion=safe, detail=detail,
        )


def _routine_reason(a: Assessment, table: Table) -> str:
    if not a.findings:
        return "no findings that need care now, and nothing to refuse"
    kinds = sorted({f.assertion for f in a.findings if not f.present})
    if a.mild and a.present:
        return "the findings described are mild, with no red flag"
    if kinds and not a.concerning(table):
        return "findings only " + ", ".join(kinds) + ", none present now"
    return "no red flag among the findings, and nothing to refuse"


def _with_seconds(d: TriageDecision, seconds: float) -> TriageDecision:
    from dataclasses import replace

    return replace(d, seconds=round(seconds, 4))


def judge_spec(setting: str | None) -> str | None:
    """The judge model a `triage_judge` setting names, or None for 'off' (or empty)."""
    spec = (setting or "").strip()
    return None if spec.lower() in ("off", "none", "") else spec
