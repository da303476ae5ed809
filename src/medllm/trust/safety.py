"""Safety guardrails around generation.

- Input: `medllm.trust.triage` decides (findings and the red-flag table, the classifier where a
  concerning finding is present, intent cues for refusals); `decision_flags` turns its decision
  into flags. `check_input(text)` alone runs only the table and the intent cues (fast, no model).
- `check_output(text)`: dose statements checked against the drug lexicon of
  `drug-named-entity-recognition` and a small table of usual adult maxima; disclaimer policy.

Every signal is a `medllm.types.Flag`; its message is written by us and never quotes the input,
so flags are safe to log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from medllm.trust.triage import CRISIS_ADVICE, EMERGENCY_ADVICE, SAFE_COMPLETION, URGENT_ADVICE_SAME_DAY, TriageDecision
from medllm.trust.triage_findings import assess
from medllm.trust.triage_intent import REASONS, read_intent
from medllm.types import Flag

URGENT_ADVICE = EMERGENCY_ADVICE


def decision_flags(decision: TriageDecision) -> list[Flag]:
    """Flags for a triage decision: `red_flag:<level>` (its message is the advice to show first),
    `refusal:<category>` (its message gives the reason, and crisis resources when someone may be
    at risk) and `safe_completion` (general safety information instead of an answer). Messages
    are ours; they never quote the input."""
    flags: list[Flag] = []
    if decision.level != "routine":
        why = decision.detail.get("emergency_reason", decision.reason)
        flags.append(Flag(kind=f"red_flag:{decision.level}", severity="critical",
                          message=f"{decision.advice} (Detected: {why}.)"))
    if decision.refuse:
        msg = f"I can't help with this because {decision.detail.get('refusal_reason', decision.reason)}."
        if decision.at_risk:
            msg += " " + CRISIS_ADVICE
        flags.append(Flag(kind=f"refusal:{decision.category}", severity="critical", message=msg))
    elif decision.safe_completion:
        msg = SAFE_COMPLETION + (" " + CRISIS_ADVICE if decision.at_risk else "")
        flags.append(Flag(kind="safe_completion", severity="warning", message=msg))
    else:
        for kind in ("safety_net", "safety_note"):  # text at the end of the answer, not a banner
            if decision.detail.get(kind):
                flags.append(Flag(kind=kind, severity="info", message=decision.detail[kind]))
    return flags


def check_input(text: str) -> list[Flag]:
    """The red-flag table and the intent cues only (no model): red flags (kind
    `red_flag:<row>`, critical; the message is the advice to show first) and refusals (kind
    `refusal:<category>`, critical; the message gives the reason)."""
    flags: list[Flag] = []
    a = assess(text)
    for row in a.rows:
        advice = CRISIS_ADVICE if row.id == "suicidal" else EMERGENCY_ADVICE if row.level == "emergency" else URGENT_ADVICE_SAME_DAY
        flags.append(Flag(kind=f"red_flag:{row.id}", severity="critical", message=f"{advice} (Detected: {row.why}.)"))
    intent = read_intent(text)
    if intent.harmful and intent.category:
        msg = f"I can't help with this because {REASONS[intent.category]}."
        if intent.category == "self_harm_method":
            msg += " " + CRISIS_ADVICE
        flags.append(Flag(kind=f"refusal:{intent.category}", severity="critical", message=msg))
    return flags


def is_refusal(flags: Sequence[Flag]) -> bool:
    return any(f.kind.startswith("refusal:") for f in flags)


def is_safe_completion(flags: Sequence[Flag]) -> bool:
    return any(f.kind == "safe_completion" for f in flags)


def has_red_flag(flags: Sequence[Flag]) -> bool:
    return any(f.kind.startswith("red_flag:") for f in flags)


def urgent_preamble(flags: Sequence[Flag]) -> str:
    """The advice to put before any answer: each distinct advice once, in rule order."""
    seen: list[str] = []
    for f in flags:
        if f.kind.startswith("red_flag:"):
            advice = f.message.split(" (Detected:")[0]
            if advice not in seen:
                seen.append(advice)
    return "\n".join(seen)


# --------------------------------------------------------------------------------------------
# Output checks: doses and disclaimer

# Usual maximum single adult doses in mg (product labelling; a screen, not a prescribing aid).
MAX_SINGLE_DOSE_MG: dict[str, float] = {
    "acetaminophen": 1000, "paracetamol": 1000, "ibuprofen": 800, "aspirin": 1000,
    "naproxen": 1000, "diclofenac": 75, "metformin": 2550, "amoxicillin": 3000,
    "azithromycin": 2000, "ciprofloxacin": 750, "doxycycline": 200, "cephalexin": 1000,
    "lisinopril": 80, "amlodipine": 10, "atorvastatin": 80, "simvastatin": 80,
    "rosuvastatin": 40, "metoprolol": 400, "losartan": 100, "hydrochlorothiazide": 50,
    "furosemide": 600, "warfarin": 15, "apixaban": 10, "levothyroxine": 0.3,
    "sertraline": 200, "fluoxetine": 80, "citalopram": 40, "escitalopram": 20,
    "omeprazole": 120, "pantoprazole": 240, "prednisone": 250, "gabapentin": 1200,
    "tramadol": 100, "oxycodone": 80, "morphine": 200, "codeine": 60, "diazepam": 20,
    "alprazolam": 4, "lorazepam": 4, "zolpidem": 10, "digoxin": 0.5, "colchicine": 1.2,
    "allopurinol": 800, "clopidogrel": 600, "insulin": 100000,  # insulin is in units: skip
}
_UNIT_TO_MG = {"mg": 1.0, "milligram": 1.0, "milligrams": 1.0, "g": 1000.0, "gram": 1000.0,
               "grams": 1000.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001, "microgram": 0.001,
               "micrograms": 0.001}
_DOSE = re.compile(
    r"(?:(?P<drug1>[A-Za-z][A-Za-z\-]{3,})\s+(?:at\s+|of\s+|dose\s+of\s+)?)?"
    r"(?P<amount>\d+(?:[.,]\d+)?)\s*(?P<unit>mg|mcg|µg|ug|g|grams?|milligrams?|micrograms?)\b"
    r"(?:\s+(?:of\s+)?(?P<drug2>[A-Za-z][A-Za-z\-]{3,}))?",
)


@lru_cache(maxsize=1)
def _drug_lookup() -> Callable[[list[str]], list]:
    from drug_named_entity_recognition import find_drugs  # heavy: a large lexicon

    return find_drugs


def _canonical_drug(word: str) -> str | None:
    """The lexicon's generic name for `word`, or None if the lexicon does not know it."""
    hits = _drug_lookup()([word], is_ignore_case=True)
    if not hits:
        return None
    return str(hits[0][0].get("name", word)).lower()


def dose_statements(text: str) -> list[tuple[str, float]]:
    """(generic drug name, dose in mg) for each dose statement naming a drug the lexicon knows."""
    found: list[tuple[str, float]] = []
    for m in _DOSE.finditer(text):
        unit = m.group("unit").lower()
        mg = float(m.group("amount").replace(",", ".")) * _UNIT_TO_MG[unit]
        for cand in (m.group("drug1"), m.group("drug2")):
            if cand:
                name = _canonical_drug(cand)
                if name:
                    found.append((name, mg))
                    break
    return found


@dataclass(frozen=True)
class DisclaimerPolicy:
    """When answers carry a disclaimer: always, only when they give clinical advice, or never."""

    mode: Literal["always", "clinical", "never"] = "clinical"
    text: str = (
        "This information is not a substitute for professional medical advice; consult a "
        "qualified clinician about your situation."
    )
    clinical_terms: tuple[str, ...] = field(
        default=("dose", "mg", "take ", "treat", "diagnos", "prescri", "should ", "medication")
    )

    def required(self, answer_text: str) -> bool:
        if self.mode == "always":
            return True
        if self.mode == "never":
            return False
        low = answer_text.lower()
        return any(t in low for t in self.clinical_terms)


def check_output(text: str, policy: DisclaimerPolicy | None = None) -> list[Flag]:
    """Dose statements above the usual adult maximum (warning); doses of a drug the lexicon knows
    but the dose table does not (info: unverified); a missing disclaimer under `policy`."""
    flags: list[Flag] = []
    for drug, mg in dose_statements(text):
        limit = MAX_SINGLE_DOSE_MG.get(drug)
        if limit is None:
            flags.append(Flag(kind="dose_unverified", severity="info",
                              message=f"dose of {drug} could not be checked against a dose table"))
        elif drug != "insulin" and mg > limit * 1.0001:
            flags.append(Flag(
                kind="dose_exceeds_max", severity="warning",
                message=f"{drug}: {mg:g} mg is above the usual maximum single adult dose "
                        f"({limit:g} mg); verify before use"))
    pol = policy or DisclaimerPolicy()
    if pol.required(text) and pol.text.lower() not in text.lower():
        flags.append(Flag(kind="disclaimer", severity="info", message=pol.text))
    return flags


def apply_guardrails(answer_text: str, input_flags: Sequence[Flag],
                     output_flags: Sequence[Flag]) -> str:
    """The text to show: urgent advice first, a refusal or a safe completion instead of the
    answer, safety-netting and the disclaimer last."""
    for f in input_flags:
        if f.kind.startswith("refusal:") or f.kind == "safe_completion":
            pre = urgent_preamble(input_flags)
            if not pre or pre in f.message:
                return f.message
            return f"{pre}\n\n{f.message.replace(CRISIS_ADVICE, '').strip()}"
    parts = [urgent_preamble(input_flags), answer_text]
    parts += [f.message for f in input_flags if f.kind in ("safety_net", "safety_note")]  # text, not a banner
    parts += [f.message for f in output_flags if f.kind == "disclaimer"]
    return "\n\n".join(p for p in parts if p)
