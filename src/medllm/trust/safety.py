"""Safety guardrails around generation.

- Input: `medllm.trust.triage` decides (a learned classifier, a judge for the uncertain band);
  `decision_flags` turns its decision into flags. The patterns here are its high-precision
  overrides (`rule_hits`); `check_input(text)` alone runs only those patterns (fast, no model).
  Negated findings ("denies chest pain") do not fire.
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

from medllm.trust.triage import CRISIS_ADVICE, EMERGENCY_ADVICE, TriageDecision
from medllm.types import Flag

# --------------------------------------------------------------------------------------------
# Red flags

URGENT_ADVICE = EMERGENCY_ADVICE


@dataclass(frozen=True)
class Rule:
    """Fires when, for any one alternative, every regex in it matches un-negated text."""

    name: str
    reason: str
    alternatives: tuple[tuple[str, ...], ...]
    advice: str = URGENT_ADVICE
    category: str = ""  # harm rules: the triage category they refuse under


def _r(*alts: str | tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple((a,) if isinstance(a, str) else a for a in alts)


CHEST = r"\bchest\b[\w\s,]{0,25}\b(pain|pressure|tight\w*|heav\w*|discomfort|ache|hurts?|squeez\w*)|(pain|pressure|tightness|heaviness|discomfort)\s+(in|on|across)\s+(my|his|her|the)\s+chest"
CARDIAC_COMPANION = (
    r"sweat\w*|diaphore\w*|clammy|radiat\w*|(left|his|her|my)\s+arm|\bjaw\b|short(ness)? of breath|"
    r"can'?t (catch|get) (my|his|her) breath|nause\w*|crushing|like an? (elephant|weight)|faint\w*|"
    r"\bgr[ae]y\b|vomit\w*"
)
FEVER = r"fever\w*|febrile|temp(erature)?\s*(of\s*)?(3[89]|39|40|10[1-5])|rigors|shaking chills|chills"
SEPSIS_COMPANION = (
    r"confus\w*|disorient\w*|drows\w*|hard to wake|not making sense|low blood pressure|hypotens\w*|"
    r"\bBP\s*(of\s*)?[5-8]\d\s*/|racing heart|heart rate (of )?1[2-9]\d|\bHR\s*1[2-9]\d|tachycard\w*|"
    r"mottled|not (passed|passing) urine|breathing (very )?fast|rapid breathing|lactate"
)

RED_FLAG_RULES: tuple[Rule, ...] = (
    Rule(
        "cardiac",
        "possible heart attack (chest pain with sweating, radiation or breathlessness)",
        _r(
            (CHEST, CARDIAC_COMPANION),
            r"crushing (chest )?pain",
            r"(having|had|think (i'?m|he'?s|she'?s|it'?s)( having)?) an? heart attack",
            r"\bSTEMI\b|ST[- ]elevation",
        ),
    ),
    Rule(
        "stroke",
        "possible stroke (face, arm or speech signs, or a sudden worst-ever headache)",
        _r(
            r"(face|facial|mouth|smile)\s*(is\s+|was\s+|started\s+)?(droop\w*|drop\w*|uneven|lopsided)",
            r"droop\w*\s+(on\s+)?(one|the left|the right|left|right)?\s*(side of )?(the |his |her |my )?(face|mouth)",
            r"slurr\w*\s+(his |her |my |their )?(speech|words)|speech (is |was )?slurred|"
            r"can'?t (get|find) (the |his |her |my )?words out|trouble speaking",
            r"(sudden\w*|suddenly)[\w\s,]{0,40}(weak\w*|numb\w*|paraly\w*)[\w\s,]{0,30}(one side|left|right|arm|leg|face)",
            r"(weak\w*|numb\w*)[\w\s]{0,20}\bone side\b",
            r"worst headache of (my|his|her|their) life|thunderclap headache",
            r"(sudden\w*)[\w\s,]{0,30}(los[st] (of )?(vision|sight)|can'?t see)",
            r"\bFAST\b.{0,20}positive|signs of (a )?stroke (right )?now",
        ),
    ),
    Rule(
        "anaphylaxis",
        "possible anaphylaxis (swelling of throat, tongue or lips, or breathing trouble after an allergen)",
        _r(
            r"(throat|tongue|lips?|face|airway)\s+(is\s+|are\s+|was\s+|feels?\s+|started\s+)?(swell\w*|swollen|closing|tight\w*)",
            r"swell\w*\s+(of|in)\s+(the |his |her |my )?(throat|tongue|lips?)",
            r"anaphyla\w*",
            (r"hives|rash|sting|peanut|allerg\w*|shellfish|penicillin",
             r"(can'?t|cannot|hard to|trouble|difficulty|struggling to) breath\w*|wheez\w*"),
        ),
    ),
    Rule(
        "suicidal_intent",
        "expressed intent to die or self-harm",
        _r(
            r"\b(kill|hurt|harm|cut)(ing)? (my ?self|himself|herself)\b",
            r"\bend(ing)? (my|his|her) (own )?life\b",
            r"\bsuicid\w*",
            r"(don'?t|do not|no longer) want to (live|be alive|wake up)|better off dead|"
            r"want to die|wish i (was|were) dead|take all (of )?my (pills|tablets|meds)",
        ),
        advice=CRISIS_ADVICE,
    ),
    Rule(
        "sepsis",
        "possible sepsis (fever or infection with confusion, low blood pressure or a racing heart)",
        _r((FEVER, SEPSIS_COMPANION), r"\bseptic\b|\bsepsis\b|neutropenic fever"),
    ),
    Rule(
        "breathing",
        "severe breathing difficulty",
        _r(
            r"(can'?t|cannot|unable to|struggling to|fighting to) breathe",
            r"(lips|face|fingers|skin) (are |is |turning |turned |going )+(blue|gr[ae]y)|cyano\w*",
            r"chok\w*[\w\s]{0,20}(can'?t|cannot|unable to) (speak|talk|breathe|cough)",
            r"gasping for (air|breath)",
        ),
    ),
    Rule(
        "bleeding",
        "severe bleeding",
        _r(
            r"bleed\w*[\w\s]{0,25}(won'?t|will not|doesn'?t|does not|not) stop",
            r"(vomit\w*|throw\w* up|cough\w* up)\s+(up\s+)?(blood|coffee[- ]grounds?)",
            r"(spurting|pouring|gushing) blood|soaked through",
            (r"pregnan\w*", r"heavy bleeding|bleeding heavily|gush\w*"),
        ),
    ),
    Rule(
        "overdose_poisoning",
        "possible overdose or poisoning",
        _r(
            r"(took|taken|swallowed|ate|drank)[\w\s,]{0,30}(whole|entire|all (of )?the|a handful of|too many|\d{2,} )[\w\s]{0,20}(pills|tablets|capsules|bottle|pack)",
            r"(swallowed|drank|ate)[\w\s]{0,25}(bleach|antifreeze|button batter\w*|drain cleaner|rat poison|pesticide)",
            r"\boverdosed?\b(?![\w\s]{0,15}\?)",
        ),
    ),
    Rule(
        "meningitis",
        "possible meningitis (fever with a stiff neck or a rash that does not fade)",
        _r(
            (r"stiff neck|neck stiffness|nuchal rigidity", FEVER),
            r"rash (that )?(doesn'?t|does not|won'?t) fade|non-?blanching rash|purpuric rash",
        ),
    ),
    Rule(
        "unresponsive_seizure",
        "unresponsive person or prolonged seizure",
        _r(
            r"unresponsive|(won'?t|will not|can'?t|cannot) (wake|be woken|be roused)|not waking up|passed out and",
            r"seiz\w*[\w\s]{0,30}(won'?t|will not|not) stop|seiz\w*[\w\s]{0,20}(more than|over|for) (5|five|ten|10) min",
            r"status epilepticus|fitting for",
        ),
    ),
    Rule(
        "head_injury",
        "head injury with danger signs",
        _r(
            (r"(hit|bang\w*|struck|injur\w*|fell)[\w\s]{0,25}head|head injury",
             r"vomit\w*|confus\w*|blood thinner|warfarin|apixaban|unequal pupils|passed out|seiz\w*|clear fluid"),
        ),
    ),
)

# Cues that negate a finding when they come shortly before it in the same sentence (NegEx idea).
_NEG = re.compile(
    r"\b(no|not|denies|denied|denying|without|negative for|never|free of|absence of|resolved)\b"
    r"[^.;:!?]{0,30}$",
    re.I,
)


@lru_cache(maxsize=512)
def _rx(p: str) -> re.Pattern[str]:
    return re.compile(p, re.I)


def _unnegated_match(pattern: str, text: str) -> bool:
    for m in _rx(pattern).finditer(text):
        before = text[max(0, m.start() - 40) : m.start()]
        if not _NEG.search(before):
            return True
    return False


def _fires(rule: Rule, text: str) -> bool:
    return any(all(_unnegated_match(p, text) for p in alt) for alt in rule.alternatives)


# --------------------------------------------------------------------------------------------
# Requests for harm

_CONTROLLED = (
    r"(oxy\w*|opioids?|opiates?|fentanyl|heroin|morphine|hydrocodone|vicodin|percocet|codeine|"
    r"tramadol|xanax|alprazolam|valium|diazepam|benzos?|benzodiazepines?|klonopin|clonazepam|"
    r"adderall|ritalin|amphetamines?|methamphetamine|meth|ketamine|dilaudid|methadone|suboxone|"
    r"lorazepam|ativan|ambien|zolpidem|painkillers?|pain pills|controlled (drugs|substances))"
)
_ILLICIT_WAY = (
    r"without (a |an |any )?(prescription|script|doctor|rx)|no (prescription|script|rx)|"
    r"illegal\w*|street|dark ?web|black market|from a dealer|off the books|under the table|"
    r"fake (prescription|script)|don'?t (need|have) (a )?prescription"
)
HARM_RULES: tuple[Rule, ...] = (
    Rule(
        "illicit_drugs",
        "it asks for help obtaining or making controlled drugs outside a prescription",
        _r(
            (r"\b(buy|get|obtain|order|score|purchase|source|acquire|find)\b", _CONTROLLED, _ILLICIT_WAY),
            r"\b(make|cook|synthesi[sz]e|brew|extract)\b[\w\s]{0,20}\b(meth|methamphetamine|fentanyl|heroin|crack|lsd|ghb|codeine from)",
            r"(trick|fool|convince|lie to|manipulate) (my |the |a )?(doctor|physician|pharmacist|gp)[\w\s]{0,40}(prescri\w*|give me|into)",
            r"doctor shopping|more (pills|opioids|oxy\w*|xanax|adderall) than (i'?m|i am|was) prescribed",
        ),
        advice="",
        category="illicit_drugs",
    ),
    Rule(
        "self_harm_method",
        "it asks for a method of self-harm or suicide",
        _r(
            (r"\b(how|ways?|best way|easiest way|painless\w*|quickest|method)\b",
             r"(kill|hurt|harm|cut) (my ?self|yourself)|end (my|one'?s) (own )?life|commit suicide|suicide method|to die\b"),
            r"how many[\w\s]{0,40}(would|will|to|does it take to) (kill|be (lethal|fatal)|die)",
            r"(lethal|fatal|deadly) (dose|amount)[\w\s]{0,40}(kill|die|myself|end it)",
            r"overdose (on purpose|intentionally|to die)",
        ),
        advice=CRISIS_ADVICE,
        category="self_harm_method",
    ),
    Rule(
        "harm_others",
        "it asks how to harm another person",
        _r(
            r"\bpoison (someone|somebody|my|him|her|them|a person|people)",
            r"(undetectable|untraceable) (poison|drug|way to kill)",
            r"(make|get) (someone|somebody|him|her|my \w+) (sick|ill|pass out|unconscious)[\w\s]{0,30}(without|so (they|he|she))",
            r"(spike|drug) (someone'?s|somebody'?s|her|his|a) drink",
            r"(kill|overdose) (my|a|the) (husband|wife|partner|patient|mother|father|child|baby|neighbou?r|boss)",
            r"(how|way) to kill (someone|somebody|a person|him|her)",
        ),
        advice="",
        category="harm_to_others",
    ),
    Rule(
        "falsify_records",
        "it asks to falsify medical records, prescriptions or test results",
        _r(
            (r"\b(fake|forge\w*|falsif\w*|alter\w*|doctor|backdat\w*|fabricat\w*|counterfeit|change|edit|make up|write (me )?a fake|tamper\w*)\b",
             r"(medical|patient|hospital) (record|chart|notes?)|\bchart\b|doctor'?s note|sick note|"
             r"prescription|lab (result|report|value)s?|test results?|vaccin\w* (card|record|certificate)|"
             r"death certificate|medical certificate|disability (form|claim)|insurance claim"),
            r"(pass|beat|cheat|fool)[\w\s]{0,10}(a |the |my )?(drug|urine|tox\w*) (test|screen)",
            r"synthetic urine|someone else'?s urine",
            r"(hide|cover up|cover-up) (a |the |my )?(medication error|mistake|overdose)[\w\s]{0,30}(chart|record|family|anyone)",
        ),
        advice="",
        category="falsified_records",
    ),
)


def rule_hits(text: str) -> tuple[list[Rule], list[Rule]]:
    """The red-flag rules and the harm rules that fire on `text` (the triage overrides)."""
    return ([r for r in RED_FLAG_RULES if _fires(r, text)], [r for r in HARM_RULES if _fires(r, text)])


def decision_flags(decision: TriageDecision) -> list[Flag]:
    """Flags for a triage decision: `red_flag:<level>` (its message is the advice to show first)
    and `refusal:<category>` (its message gives the reason, and crisis resources when someone
    may be at risk). Messages are ours; they never quote the input."""
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
    return flags


def check_input(text: str) -> list[Flag]:
    """Rules only (no model): red flags (kind `red_flag:<rule>`, critical; the message is the advice to show first) and
    refusals (kind `refusal:<rule>`, critical; the message gives the reason)."""
    flags: list[Flag] = []
    for rule in RED_FLAG_RULES:
        if _fires(rule, text):
            flags.append(
                Flag(kind=f"red_flag:{rule.name}", severity="critical",
                     message=f"{rule.advice} (Detected: {rule.reason}.)")
            )
    for rule in HARM_RULES:
        if _fires(rule, text):
            msg = f"I can't help with this because {rule.reason}."
            if rule.advice:
                msg += " " + rule.advice
            flags.append(Flag(kind=f"refusal:{rule.name}", severity="critical", message=msg))
    return flags


def is_refusal(flags: Sequence[Flag]) -> bool:
    return any(f.kind.startswith("refusal:") for f in flags)


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
    """The text to show: urgent advice first, a refusal instead of the answer, the disclaimer
    last."""
    for f in input_flags:
        if f.kind.startswith("refusal:"):
            pre = urgent_preamble(input_flags)
            if not pre or pre in f.message:
                return f.message
            return f"{pre}\n\n{f.message.replace(CRISIS_ADVICE, '').strip()}"
    parts = [urgent_preamble(input_flags), answer_text]
    parts += [f.message for f in output_flags if f.kind == "disclaimer"]
    return "\n\n".join(p for p in parts if p)
