"""Split a clinical note into sections (HPI, past history, medications, allergies, family and
social history, exam, results, assessment, plan, ...), so assertion and coding know where a
mention sits: everything in a family-history section is about a relative; a past-history
section is historical.

A header is a known heading name followed by a colon, at the start of the text or a line, or
after a sentence or clause end (. ; ) since nursing notes run headers inline ("...; PMH: CAD,
S/P MI; HPI: ..."). Text before the first header is the "preamble" section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medllm.tasks.ie.context import Assertion

# canonical section -> heading names (lower case; matched case-insensitively, spaces flexible)
SECTION_NAMES: dict[str, tuple[str, ...]] = {
    "chief_complaint": ("chief complaint", "cc", "reason for admission", "reason for visit",
                        "reason for consultation", "reason for exam", "presenting complaint", "indication"),
    "hpi": ("history of present illness", "hpi", "history of the present illness", "present illness",
            "interval history", "subjective", "s", "clinical history", "history", "brief history", "moi",
            "mechanism of injury", "events", "hospital course", "brief hospital course", "ed course",
            "course", "patient history"),
    "past_history": ("past medical history", "pmh", "pmhx", "past history", "medical history",
                     "past surgical history", "psh", "surgical history", "past medical and surgical history",
                     "previous medical history", "problem list", "active problems", "prob", "problems"),
    "medications": ("medications", "meds", "current medications", "home medications",
                    "medications on admission", "admission medications", "discharge medications",
                    "outpatient medications", "drugs", "current meds", "home meds"),
    "allergies": ("allergies", "allergy", "drug allergies", "allergies and adverse reactions", "all",
                  "nkda"),
    "family_history": ("family history", "fh", "fhx", "family medical history", "family hx"),
    "social_history": ("social history", "sh", "social", "soc", "habits", "family", "social hx",
                       "his social history", "her social history", "substance use", "tobacco"),
    "ros": ("review of systems", "ros", "systems review", "system review", "reveiw of systems"),
    "exam": ("physical examination", "physical exam", "exam", "examination", "pe", "vital signs",
             "vitals", "general", "heent", "neck", "lungs", "chest", "heart", "cardiovascular", "cv", "cvs",
             "c/v", "cardiac", "abdomen", "abd", "extremities", "ext", "neuro", "neurologic", "neurological",
             "skin", "integ", "derm", "resp", "respiratory", "pulm", "gi", "gu", "gi/gu", "gu/gi",
             "gu/renal", "renal", "endo", "endocrine", "heme", "id", "psych", "musculoskeletal", "msk",
             "o", "objective", "mental status", "pain", "comfort", "activity", "lines", "access",
             "incisions", "f/e/n", "fen", "f/e", "status", "eyes", "ears", "pulses"),
    "results": ("results", "labs", "lab", "laboratory", "laboratory data", "laboratory results",
                "lab results", "data", "studies", "imaging", "radiology", "findings", "ekg", "ecg",
                "cxr", "ct", "mri", "pathology", "micro", "microbiology", "lytes", "diagnostics"),
    "assessment": ("assessment", "assess", "impression", "a", "diagnosis", "diagnoses",
                   "discharge diagnosis", "discharge diagnoses", "admission diagnosis", "final diagnosis",
                   "clinical impression", "conclusion", "conclusions", "summary", "postoperative diagnosis",
                   "postoperative diagnoses", "postoperative diagnosis(es)", "preoperative diagnosis",
                   "preoperative diagnoses", "preoperative diagnosis(es)", "complications"),
    "procedure": ("procedure", "procedures", "operation", "operations", "procedure performed",
                  "technique", "description of procedure", "indications", "indication for procedure"),
    "plan": ("plan", "p", "recommendations", "recommendation", "disposition", "dispo", "disp",
             "follow up", "follow-up", "discharge instructions", "instructions", "patient instructions",
             "discharge plan", "proph", "prophylaxis", "code status"),
    "assessment_plan": ("assessment and plan", "assessment/plan", "a/p", "a&p", "impression and plan",
                        "impression/plan"),
}

# what a section says about every mention in it (added to the sentence's own ConText result)
SECTION_DEFAULTS: dict[str, Assertion] = {
    "family_history": Assertion(other_experiencer=True, historical=True),
    "past_history": Assertion(historical=True),
    "social_history": Assertion(historical=True),
    "allergies": Assertion(historical=True),
}

_LOOKUP = {re.sub(r"\s+", " ", n): sec for sec, names in SECTION_NAMES.items() for n in names}
_ALT = "|".join(sorted((re.escape(n).replace(r"\ ", r"\s+") for n in _LOOKUP), key=len, reverse=True))
# a heading: a known name, or any name in capitals, then optional spaces and a colon (not a
# time like "12:30"), where a heading can start: the text or a line start, after . ; ) ], or
# after a run of spaces (reports flattened to one line)
_HEADER = re.compile(rf"(?:^|(?<=[\n.;)\]])|(?<=\s\s))[ \t]*(?P<name>{_ALT}|(?-i:[A-Z][A-Z/&()' -]{{2,40}}?))[ \t]*:(?!\d)",
                     re.I | re.M)


@dataclass(frozen=True)
class Section:
    name: str  # canonical: hpi, past_history, medications, ... or "preamble"
    heading: str  # the heading as written ("" for the preamble)
    start: int  # where the heading starts (the body for the preamble)
    body_start: int
    end: int


def split_sections(text: str) -> list[Section]:
    """The note's sections in order; they cover the text from the first character to the last."""
    heads: list[re.Match[str]] = []
    pos = 0
    while (m := _HEADER.search(text, pos)) is not None:
        if _is_heading(text, m):
            heads.append(m)
            pos = m.end()
        else:  # a rejected candidate must not hide a heading that starts inside it
            pos = m.start("name") + 1
    out: list[Section] = []
    first = heads[0].start("name") if heads else len(text)
    if text[:first].strip() or not heads:
        out.append(Section("preamble", "", 0, 0, first))
    for n, m in enumerate(heads):
        end = heads[n + 1].start("name") if n + 1 < len(heads) else len(text)
        heading = m.group("name")
        name = _LOOKUP.get(re.sub(r"\s+", " ", heading.lower()), "other")
        cut = _list_end(text, m.end(), end) if name in _ONE_LIST else None
        out.append(Section(name, heading, m.start("name"), m.end(), cut or end))
        if cut:  # what follows an allergy list without a heading of its own is not allergies
            out.append(Section("other", "", cut, cut, end))
    return out


_ONE_LIST = {"allergies"}
_GAP = re.compile(r"\n[ \t]*\n|[ \t]{3,}|\n(?=[ \t]*[A-Z][a-z]+ [a-z])")


def _list_end(text: str, body: int, end: int) -> int | None:
    """Where a one-list section (allergies) ends: the first blank line or wide gap, or a new
    line that reads as prose, after some content."""
    start = body + (len(text[body:end]) - len(text[body:end].lstrip()))
    m = _GAP.search(text, start, end)
    return m.start() if m and text[start:m.start()].strip() else None


def _is_heading(text: str, m: re.Match[str]) -> bool:
    name = m.group("name")
    known = re.sub(r"\s+", " ", name.lower()) in _LOOKUP
    before = text[:m.start("name")].rstrip(" \t")
    at_break = not before or before[-1] in "\n.;)]"
    if at_break and known:
        return True
    # mid-line, or a name we do not know: only a heading written in capitals (ABDOMEN:, PLAN:)
    return name.isupper() and len(name.strip()) >= 2 and (at_break or text[m.start("name") - 2:m.start("name")] == "  ")


def section_at(sections: list[Section], pos: int) -> Section | None:
    """The section holding character `pos` (sections in text order)."""
    found = None
    for s in sections:
        if s.start <= pos:
            found = s
        else:
            break
    return found
