"""Note sections and section-aware assertion."""

from __future__ import annotations

from medllm.tasks.ie.pipeline import assert_mentions
from medllm.tasks.ie.sections import section_at, split_sections

NOTE = """CHIEF COMPLAINT: Cough.
HISTORY OF PRESENT ILLNESS: 64-year-old man with three days of fever.
Past Medical History: Hypertension. Gout.
Medications: lisinopril 10 mg daily.
Allergies: penicillin.
FAMILY HISTORY: Colon cancer.
Social History: Quit smoking in 2001.
PHYSICAL EXAM: Lungs with crackles at 12:30 today.
ASSESSMENT AND PLAN: Community-acquired pneumonia.
"""


def test_headings_become_canonical_sections_covering_the_note():
    secs = split_sections(NOTE)
    assert [s.name for s in secs] == ["chief_complaint", "hpi", "past_history", "medications", "allergies",
                                      "family_history", "social_history", "exam", "assessment_plan"]
    assert secs[0].start == 0 and secs[-1].end == len(NOTE)
    assert all(a.end == b.start for a, b in zip(secs, secs[1:]))
    # "12:30" is a time, not a heading
    assert section_at(secs, NOTE.index("today")).name == "exam"


def test_inline_headings_of_nursing_notes():
    text = "O: 58 YEAR OLD FEMALE; PMH: CAD, S/P MI 1992; HPI: 2 WEEK HISTORY LEG WEAKNESS; A: STABLE; P: TREND BP."
    names = [s.name for s in split_sections(text)]
    assert names == ["exam", "past_history", "hpi", "assessment", "plan"]


def test_capitalised_unknown_headings_end_a_section():
    text = "COMPLICATIONS:  None    POSTOPERATIVE DIAGNOSIS:  1) Hemorrhoids    WEIRD HEADING:  x"
    secs = split_sections(text)
    assert [s.name for s in secs] == ["assessment", "assessment", "other"]


def test_section_defaults_reach_the_assertion():
    def at(word: str):
        a = NOTE.index(word)
        [(res, sec)] = assert_mentions(NOTE, [(a, a + len(word))])
        return res, sec.name

    res, sec = at("Colon cancer")
    assert sec == "family_history" and res.experiencer == "other" and not res.codable
    res, sec = at("Gout")
    assert sec == "past_history" and res.temporality == "historical" and res.codable
    res, sec = at("fever")
    assert sec == "hpi" and res.temporality == "recent" and res.experiencer == "patient"


def test_text_without_headings_is_one_preamble():
    secs = split_sections("No acute distress.")
    assert [(s.name, s.start, s.end) for s in secs] == [("preamble", 0, 18)]
    assert split_sections("") == [split_sections("")[0]] and split_sections("")[0].name == "preamble"


def test_an_allergy_list_ends_at_the_gap_after_it():
    text = "ALLERGIES: Ativan Codeine    Lethargic and not oriented on arrival. Lasix gtt at 12 mg/hr."
    secs = split_sections(text)
    assert [s.name for s in secs] == ["allergies", "other"]
    a = text.index("Lasix")
    [(res, sec)] = assert_mentions(text, [(a, a + 5)])
    assert sec.name == "other" and res.temporality == "recent"
