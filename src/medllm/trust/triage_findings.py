"""What the person has now: findings, their assertion and modifiers, age and pregnancy, and the
red-flag table rows they meet.

Emergency triage stands on present findings, not on topic words. A finding is one of the red-flag
table's concepts (`assets/triage/red_flags.toml`) found in the message, with an assertion:

- ``present``: the person described has it now (the writer or someone they describe);
- ``negated`` ("no chest pain"), ``hypothetical`` ("what should I do if he has a seizure"),
  ``historical`` ("a stroke two years ago") — from ConText (`medllm.tasks.ie.context`) for
  negation and hypotheticals, and this module's recency-aware past-time cues (ConText's "ago" would
  make "started an hour ago" historical);
- ``asked``: named in a question about the term with no one described ("What is sepsis?").

`assess(text)` returns an `Assessment`: the findings, the person's age and pregnancy, the mildness
of the message, and the table rows that fire. Deterministic: regular expressions over the text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from medllm.tasks.ie.context import Assertion as ContextAssertion
from medllm.tasks.ie.context import ConText, split_sentences

TABLE_PATH = Path(__file__).resolve().parents[1] / "assets" / "triage" / "red_flags.toml"

Assertion = Literal["present", "negated", "hypothetical", "historical", "asked"]
TriageLevel = Literal["emergency", "urgent"]


@dataclass(frozen=True)
class Finding:
    """One finding of the message. `text` is the matched words (symptom words, shown to the
    person beside the decision; audit records keep only the concept)."""

    text: str
    concept: str
    assertion: Assertion
    start: int
    end: int
    modifiers: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        return self.assertion == "present"


@dataclass(frozen=True)
class Row:
    """One red-flag table row."""

    id: str
    level: TriageLevel
    all: tuple[str, ...]
    any: tuple[str, ...] = ()
    with_any: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    age_max_months: float | None = None
    age_min_years: float | None = None
    pregnant: bool = False
    holds_when_mild: bool = False  # a measured sign (an infant's temperature): mild words do not cancel it
    why: str = ""
    source: str = ""


@dataclass(frozen=True)
class Table:
    """The red-flag table: concept patterns, modifier patterns and rows."""

    concepts: dict[str, tuple[re.Pattern[str], ...]]
    concerning: frozenset[str]
    context: frozenset[str]  # facts about the person (an allergy, diabetes), not complaints
    modifiers: dict[str, tuple[re.Pattern[str], ...]]
    rows: tuple[Row, ...]
    recent: frozenset[str] = frozenset()  # context facts whose patterns say they are recent: told in the past, they hold

    @classmethod
    def load(cls, path: Path = TABLE_PATH) -> Table:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"red-flag table {path} is missing; reinstall medllm or pass a table path") from None
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: not valid TOML ({e}); fix the file") from None

        def compile_all(where: str, pats: Sequence[str]) -> tuple[re.Pattern[str], ...]:
            out = []
            for p in pats:
                try:
                    out.append(re.compile(p, re.I))
                except re.error as e:
                    raise ValueError(f"{path}: {where}: bad pattern {p!r} ({e})") from None
            return tuple(out)

        concepts = {name: compile_all(f"concept.{name}", c.get("patterns", [])) for name, c in raw.get("concept", {}).items()}
        concerning = frozenset(n for n, c in raw.get("concept", {}).items() if c.get("concerning"))
        context = frozenset(n for n, c in raw.get("concept", {}).items() if c.get("context"))
        recent = frozenset(n for n, c in raw.get("concept", {}).items() if c.get("context") and c.get("recent"))
        modifiers = {name: compile_all(f"modifier.{name}", m.get("patterns", [])) for name, m in raw.get("modifier", {}).items()}
        rows = []
        for i, r in enumerate(raw.get("row", [])):
            rid = r.get("id") or f"row {i + 1}"
            if r.get("level") not in ("emergency", "urgent"):
                raise ValueError(f"{path}: row {rid}: level must be 'emergency' or 'urgent'")
            for c in (*r.get("all", []), *r.get("any", []), *r.get("with_any", [])):
                if c not in concepts:
                    raise ValueError(f"{path}: row {rid}: unknown concept {c!r}; define [concept.{c}]")
            if not r.get("all") and not r.get("any"):
                raise ValueError(f"{path}: row {rid}: needs `all` or `any` concepts")
            for m in r.get("modifiers", []):
                if m not in modifiers:
                    raise ValueError(f"{path}: row {rid}: unknown modifier {m!r}")
            rows.append(Row(id=rid, level=r["level"], all=tuple(r.get("all", [])), any=tuple(r.get("any", [])),
                            with_any=tuple(r.get("with_any", [])),
                            modifiers=tuple(r.get("modifiers", [])), age_max_months=r.get("age_max_months"),
                            age_min_years=r.get("age_min_years"), pregnant=bool(r.get("pregnant", False)),
                            holds_when_mild=bool(r.get("holds_when_mild", False)),
                            why=r.get("why", ""), source=r.get("source", "")))
        return cls(concepts, concerning, context, modifiers, tuple(rows), recent)


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE_PATH) -> Table:
    """The table at `path`, parsed once per process (it is read-only data)."""
    return Table.load(path)


@dataclass(frozen=True)
class Assessment:
    """The message as triage reads it."""

    findings: tuple[Finding, ...]
    age_months: float | None
    pregnant: bool
    mild: bool  # mild or small, or long-standing and not acute; and nothing severe
    rows: tuple[Row, ...] = field(default=())
    describes_someone: bool = False  # a sentence that is not a question about a term names a person
    acute: bool = False  # the message says how bad or how fast: severe, sudden, or within hours
    reassured: bool = False  # "otherwise fine", "breathing is fine", "it goes when I rest"
    advice_question: bool = False  # asks what helps, whether a medicine is ok, how long it lasts

    @property
    def present(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.present)

    def present_concepts(self) -> set[str]:
        return {f.concept for f in self.present}

    def row_mild(self, row: Row) -> bool:
        """The row's own findings are told as mild or long-standing, and none as severe or sudden."""
        mine = [f for f in self.present if f.concept in (*row.all, *row.any)]
        if not mine or any({"severe", "sudden", "acute"} & set(f.modifiers) for f in mine):
            return False
        return self.mild and all({"mild", "chronic"} & set(f.modifiers) for f in mine)

    def complaints(self, table: Table) -> tuple[Finding, ...]:
        """Present findings that are complaints (not context such as an allergy)."""
        return tuple(f for f in self.present if f.concept not in table.context)

    def concerning(self, table: Table) -> tuple[Finding, ...]:
        """Present findings of a concept the table marks concerning."""
        return tuple(f for f in self.present if f.concept in table.concerning)


# ---------------------------------------------------------------------------------------------
# Assertion beyond ConText

# Past time, with units that are not recent ("an hour ago" is now; "two years ago" is history).
_PAST = re.compile(
    r"\b(\d+|a|an|one|two|three|four|five|six|few|several|couple of|many)\s+(years?|months?|weeks?)\s+ago\b|"
    r"\blast (year|month|summer|winter|spring|autumn|fall|christmas)\b|\bas a (child|kid|teenager|baby)\b|"
    r"\bin (19|20)\d\d\b|\b(history|hx) of\b|\bused to\b|\bpreviously\b|\bin the past\b|\bwhen (i|he|she) was (a |young|little|\d)|"
    r"\b(had|survived|recovered from|got over)\b[^.?!]{0,40}\b(years?|months?|weeks?) (ago|back)\b|\bgot better\b|\b(it|this|that) (has|had) (since )?(resolved|gone away|cleared( up)?|settled)\b|\bwent away\b|"
    r"\bi'?ve had (it|them|this) (for|since) (years|ages|months)\b|\bsince (i was|he was|she was) (a |an )?(teenager|child|kid|baby|little|young|\d+)|"
    r"\bsince childhood\b|\bfor (years|decades)\b|\byears ago\b|\bin my (teens|twenties|thirties|forties|fifties|20s|30s|40s|50s)\b|\bdied (by|of|from)\b|\bat (\d+|one|two|three) (months?|years?)( old)?\b|"
    r"\bback (in|at) (january|february|march|april|may|june|july|august|september|october|november|december|(19|20)\d\d|the day|spring|summer|autumn|winter|school|uni|college)\b|\blast (january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.I,
)
# Words that put a finding in someone described now: the writer or a person they describe.
_PERSONAL = re.compile(
    r"\b(i|i'?m|i'?ve|i'?d|me|my|mine|myself|he|he'?s|she|she'?s|his|her|him|they'?re|their|our|us)\b|"
    r"\b(son|daughter|baby|child|kid|toddler|husband|wife|partner|mum|mom|dad|father|mother|grandma|grandad|grandpa|"
    r"patient|friend|brother|sister|boy|girl|infant|newborn)\b",
    re.I,
)
# A question about a term: "what is X", "what are the signs of X", "how do you treat X".
_GENERIC_Q = re.compile(
    r"^\s*(what|whats|what'?s|how|why|when|which|who|where|is|are|can|could|does|do|should|would|will|tell me|explain|describe|define|"
    r"please (explain|tell))\b[^?]*(\?|$)",
    re.I,
)
_TERM_Q = re.compile(
    r"\b(what (is|are|does|causes?|happens)|signs? of|symptoms? of|causes? of|treatment (of|for)|how (do|does|is|are) "
    r"(you|doctors|people|one|they|it)|difference between|mean|meaning|definition|explain|risk of|risks of|how common|"
    r"why (do|does|is|are)|can (you|people|someone|a person)|is it (true|normal|safe|possible)|recogni[sz]e|spot|tell if|know if|"
    r"diagnos\w*|treated|managed|prevented|caused|screened|spread|inherited|tested|"
    r"(most|more|least) (dangerous|toxic|lethal|harmful|common|likely)|dangerous in|"
    r"how (does|do|did|would|could|should) [\w\s]{0,40}\bwork|normally|usually|typically)\b",
    re.I,
)


# A finding named as what a device, test or campaign is for ("carbon monoxide alarm", "stroke
# awareness", "meningitis vaccine") is the term, not something the person has.
_TERM_NOUN = re.compile(r"\s*(alarms?|detectors?|sensors?|monitors?|tests?|testing|vaccines?|vaccinations?|jabs?|"
                        r"screening|awareness|training|courses?|kits?|leaflets?|posters?|risk|prevention|units?|wards?)\b", re.I)
_TERM_LEAD = re.compile(r"\b(first aid (for|of)|how to treat|treatment (for|of)|spot|recogni[sz]e|signs? of|symptoms? of|warning signs? of|tell if|know if|look (out )?for|what is|what are|"
                        r"what causes|difference between|vs\.?|versus|risk of|chance of|prevent(ing)?|avoid(ing)?)\s+"
                        r"(a |an |the |someone (with|having) |someone'?s )?$", re.I)
# A finding someone would fake or stage is not had: "how to fake a seizure"
_FAKED = re.compile(r"\b(fake|faking|feign\w*|pretend(ing)? to (have|be having)|stage|staging|mimic\w*|"
                    r"look (like|as if) (she'?s|he'?s|i'?m|they'?re) having) (a |an )?$", re.I)
# Later, or in case: "for when the kids are older", "just in case".
_FUTURE = re.compile(r"\b(for when|in case|one day|in (the )?future|to be prepared|(for|when) (the kids|they|he|she|my \w+) (are|is|get|gets) older)\b", re.I)


# A clause that speaks of now: a past-time cue elsewhere in the sentence does not reach it.
_NOW = re.compile(r"\b(is|are|am|i'?m|he'?s|she'?s|it'?s|they'?re|now|still|currently|keeps?|today|tonight|this (morning|evening|afternoon)|"
                  r"(i'?ve|he'?s|she'?s|we'?ve|they'?ve|i have|has) got|"
                  r"since (this|last night|yesterday|lunch|breakfast)|right now|at the moment)\b", re.I)
_CLAUSE_END = re.compile(r"[,;:]|\bbut\b|\band now\b", re.I)


def _clause_bounds(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Where the part of `sentence` around [start, end) between commas, semicolons and 'but' lies."""
    a = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, start)), default=0)
    m = _CLAUSE_END.search(sentence, end)
    return a, m.start() if m else len(sentence)


def _clause(sentence: str, start: int, end: int) -> str:
    a, b = _clause_bounds(sentence, start, end)
    return sentence[a:b]


_RESOLVED = re.compile(r"\b(it'?s|it is|it has|that'?s|they'?re|they have|has|have) (now |since |completely |all )?"
                       # "gone" as over, not "gone tingly"
                       r"(gone(?= *([.,;!?)]|$|now\b|away\b|completely\b|by\b|since\b|today\b))|resolved|cleared( up)?|settled|passed|better)\b|"
                       r"\bwent away\b|\bno longer (there|hurts?|a problem)\b|\bfeel(ing)? (fine|normal|better) now\b|\bi'?m (safe|okay|ok|fine|well) now\b", re.I)
_NOT_A_DENIAL = re.compile(r"(no|not)\s+(matter|sure|certain|know|knowing|understand|clear|even|only|just|long)\b|no (one|idea|choice)\b", re.I)
_NEG_REACH = 40  # characters: "I'm not sure what to do, he won't wake" is not a denial


# "she isn't thinking about hurting herself": a denied thought or plan, right before the finding
_DENIED = re.compile(r"\b(isn'?t|is not|aren'?t|are not|wasn'?t|not|never|no longer|doesn'?t|don'?t) (thinking|thought|planning|"
                     r"going|intending|wanting|feeling like|had thoughts) (about|of|on|to)\s+$|"
                     r"\b(hasn'?t|has not|haven'?t|never|didn'?t) (said|mentioned|talked about|spoken about) (anything )?(about )?\s*$", re.I)
# "without goggles and something flew into my eye": a denial does not cross "and" or a bracket
_NEG_BREAK = re.compile(r"\band\b|\bbut\b|[()]", re.I)


def _cued(asr: ContextAssertion, category: str, sentence: str, s0: int, a: int, b: int, reach: int | None) -> bool:
    """ConText's `category` cue, narrowed for messages: the cue sits in the finding's own clause
    (and, for negation, within `reach` characters of it). Clinical notes' long trigger scopes
    would carry "not sure if" across a whole message."""
    c0, c1 = (s0 + x for x in _clause_bounds(sentence, a - s0, b - s0))
    for cue in asr.cues:
        if cue.category != category or not (c0 <= cue.start and cue.end <= c1):
            continue
        if category == "negated" and _NOT_A_DENIAL.match(sentence, cue.start - s0):
            continue
        if category == "negated" and cue.end <= a and _NEG_BREAK.search(sentence[cue.end - s0:a - s0]):
            continue
        if reach is None or (0 <= a - cue.end <= reach) or (0 <= cue.start - b <= reach):
            return True
    return False


def _historical(sentence: str, start: int, end: int) -> bool:
    """A past-time cue in the finding's clause, or in its sentence when the clause speaks of no now."""
    clause = _clause(sentence, start, end)
    # a past cue elsewhere in the sentence counts only before the finding ("had a knee
    # replacement last year" after "hot swollen knee, temp 38.4" does not date the knee)
    return bool(_PAST.search(clause) or (_PAST.search(sentence[:start]) and not _NOW.search(clause)))


def _sentence_of(sents: Sequence[tuple[int, int]], pos: int) -> tuple[int, int]:
    for a, b in sents:
        if a <= pos < b:
            return a, b
    return (0, 0) if not sents else sents[-1]


# "Is it normal to feel X? I'm 67..." asks about the writer's own findings when the message
# describes someone elsewhere
_SELF_FRAME = re.compile(r"^\s*(is it|is this|is that) (normal|ok|okay|dangerous|serious|bad|common)\b", re.I)


def _asked_only(sentence: str, text: str = "") -> bool:
    """A question about a term, with no one described in it (nor, for an "is it normal to..."
    question, anywhere in the message)."""
    if not (_GENERIC_Q.search(sentence) and _TERM_Q.search(sentence)) or _PERSONAL.search(sentence):
        return False
    return not (_SELF_FRAME.search(sentence) and _PERSONAL.search(text))


# ---------------------------------------------------------------------------------------------
# Age and pregnancy

_UNIT_MONTHS = {"day": 1 / 30, "week": 12 / 52, "month": 1.0, "year": 12.0, "yr": 12.0, "yo": 12.0, "y": 12.0}
_AGE = re.compile(
    r"\b(\d{1,3}(?:[.,]\d)?)[\s-]*(day|week|month|year|yr)s?[\s-]*old\b|"
    r"\b(\d{1,3})\s*(yo|y/o|y\.o\.|yrs? old)\b|"
    r"\b(?:i'?m|i am|he'?s|she'?s|he is|she is|aged?|age)\s+(\d{1,3})\b(?!\s*(weeks?|days?|months?|%|kg|lb|cm|mg|minutes|hours|°|degrees))|"
    r"\b(\d{1,3})[\s-]*(day|week|month)s?[\s-]*(?:old)?\s+(baby|son|daughter|infant|boy|girl|newborn)",
    re.I,
)
_AGE_OF = re.compile(
    r"\b(?:mum|mom|dad|mother|father|grandma|grandad|grandpa|granny|nan|nana|husband|wife|partner|son|daughter)'?s\s+"
    r"(\d{1,3})\b(?!\s*(?:weeks?|days?|months?|%|kg|lbs?|cm|mg|minutes|hours|°|degrees|th|st|nd|rd|\.\d))|"
    r"\b(?:mum|mom|dad|mother|father|husband|wife|partner|son|daughter|brother|sister|boy|girl)\s*\((\d{1,3})\)", re.I)
_NEWBORN = re.compile(r"\b(newborn|new-born|neonate)\b", re.I)
_PREGNANT = re.compile(r"\bpregnan\w*|(pregnancy )?test (was |came back |is |came up )?positive|positive (pregnancy )?test|"
                       r"period (is |was )?(\w+ )?(late|overdue)|\b\d{1,2}\s*(weeks?|wks?)\s*(pregnant|gestation|along)|\bexpecting (a baby|twins)\b|\bmy bump\b|\bmidwife\b|"
                       r"\b(i'?m|i am|she'?s|she is) \d{1,2} (weeks|wks)\b(?! old)", re.I)
_NOT_PREGNANT = re.compile(r"\b(not|never been|trying to (get|become)) pregnant\b|\bif i (was|were|am|get) pregnant\b", re.I)


def age_in_months(text: str) -> float | None:
    """The age the message gives for the person described, in months (the first one found)."""
    for m in _AGE.finditer(text):
        if m.group(1):
            return float(m.group(1).replace(",", ".")) * _UNIT_MONTHS[m.group(2).lower()]
        if m.group(3):
            return float(m.group(3)) * 12
        if m.group(5):
            n = float(m.group(5))
            return n * 12 if 0 < n < 120 else None
        if m.group(6):
            return float(m.group(6)) * _UNIT_MONTHS[m.group(7).lower()]
    m = _AGE_OF.search(text)
    if m:
        n = float(m.group(1) or m.group(2))
        return n * 12 if 0 < n < 120 else None
    if _NEWBORN.search(text):
        return 0.5
    return None


def is_pregnant(text: str) -> bool:
    return bool(_PREGNANT.search(text)) and not _NOT_PREGNANT.search(text)


# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _context() -> ConText:
    return ConText.from_file()


def find(text: str, table: Table) -> list[Finding]:
    """Every concept mention in `text` with its assertion (one finding per concept and sentence,
    the first present one kept where a concept is mentioned several times)."""
    sents = split_sentences(text) or [(0, len(text))]
    raw: list[tuple[str, int, int]] = []
    for concept, pats in table.concepts.items():
        for p in pats:
            for m in p.finditer(text):
                if m.end() > m.start():
                    raw.append((concept, m.start(), m.end()))
    if not raw:
        return []
    ctx = _context().assert_spans(text, [(a, b) for _, a, b in raw], sents)
    best: dict[tuple[str, tuple[int, int]], Finding] = {}
    for (concept, a, b), asr in zip(raw, ctx, strict=True):
        s0, s1 = _sentence_of(sents, a)
        sentence = text[s0:s1]
        if _DENIED.search(text, max(0, a - 40), a):
            assertion: Assertion = "negated"
        elif _cued(asr, "negated", sentence, s0, a, b, _NEG_REACH):
            assertion = "negated"
        elif _cued(asr, "hypothetical", sentence, s0, a, b, None):
            assertion = "hypothetical"
        elif _historical(sentence, a - s0, b - s0):
            assertion = "historical"
        elif _FUTURE.search(sentence) or _FAKED.search(text, max(0, a - 40), a):
            assertion = "hypothetical"
        elif _asked_only(sentence, text) or _TERM_NOUN.match(text, b) or _TERM_LEAD.search(text, max(0, a - 40), a):
            assertion = "asked"
        else:
            assertion = "present"
        mods = tuple(name for name, pats in table.modifiers.items() if any(p.search(sentence) for p in pats))
        f = Finding(text[a:b], concept, assertion, a, b, mods)
        key = (concept, (s0, s1))
        old = best.get(key)
        if old is None or (f.present and not old.present):
            best[key] = f
    out = sorted(best.values(), key=lambda f: (f.start, f.concept))
    # "...it's gone today": a complaint told as over is history (concerning findings stay as read)
    gone = [m.start() for m in _RESOLVED.finditer(text)]
    if gone:
        out = [Finding(f.text, f.concept, "historical", f.start, f.end, f.modifiers)
               if f.present and f.concept not in table.concerning and f.start < gone[-1] else f for f in out]
    return out


def fires(row: Row, present: dict[str, list[Finding]], age_months: float | None, pregnant: bool) -> bool:
    if any(c not in present for c in row.all):
        return False
    if row.any and not any(c in present for c in row.any):
        return False
    if row.with_any and not any(c in present for c in row.with_any):
        return False
    if row.pregnant and not pregnant:
        return False
    if row.age_max_months is not None and (age_months is None or age_months >= row.age_max_months):
        return False
    if row.age_min_years is not None and (age_months is None or age_months < row.age_min_years * 12):
        return False
    if row.modifiers:
        # the row's modifiers on one of its own findings (its sentence)
        mine = [f for c in (*row.all, *row.any) for f in present.get(c, [])]
        if not all(any(m in f.modifiers for f in mine) for m in row.modifiers):
            return False
    return True


def assess(text: str, table: Table | None = None) -> Assessment:
    """Read `text`: findings, age, pregnancy, mildness, and the table rows that fire (emergency
    rows first, in table order)."""
    table = table or load_table()
    findings = find(text, table)
    present: dict[str, list[Finding]] = {}
    for f in findings:
        # a recent context fact told in the past still holds ("gave birth a week ago"); an old
        # one does not ("chemo ten years ago")
        if f.present or (f.assertion == "historical" and f.concept in table.recent):
            present.setdefault(f.concept, []).append(f)
    age = age_in_months(text)
    pregnant = is_pregnant(text)
    rows = [r for r in table.rows if fires(r, present, age, pregnant)]
    rows.sort(key=lambda r: r.level != "emergency")
    def said(name: str) -> bool:
        return any(p.search(text) for p in table.modifiers.get(name, ()))

    severe = said("severe")
    mild = not severe and (said("mild") or (said("chronic") and not said("sudden") and not said("acute")))
    sents = split_sentences(text) or [(0, len(text))]
    someone = any(_PERSONAL.search(text[a:b]) for a, b in sents)
    acute = severe or said("sudden") or said("acute")
    return Assessment(tuple(findings), age, pregnant, mild, tuple(rows), someone, acute,
                      said("reassuring"), said("advice_question"))
