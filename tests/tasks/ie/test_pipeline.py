"""extract(): sections -> tagger -> links -> assertion, on the real dictionary tagger; and the
ICD-10-CM coder on the real graph."""

from __future__ import annotations

import json

from medllm.tasks.ie.pipeline import extract, link_span
from medllm.types import Span

NOTE = """HPI: 70-year-old woman. She denies chest pain. Reports fever and cough. Possible pneumonia.
PAST MEDICAL HISTORY: Hypertension.
FAMILY HISTORY: Mother with breast cancer.
MEDICATIONS: warfarin.
PLAN: Return if shortness of breath.
"""


def test_extract_fills_type_concept_assertion_and_section(dict_tagger):
    spans = {s.text: s for s in extract(NOTE, dict_tagger)}
    assert "FAMILY HISTORY" not in spans and "PAST MEDICAL HISTORY" not in spans  # headings are no findings
    cp = spans["chest pain"]
    assert (cp.label, cp.concept_id, cp.assertion, cp.polarity, cp.section) == \
        ("Disease", "HP:0100749", "negated", "negated", "hpi")
    assert spans["fever"].assertion == "present" and spans["fever"].temporality == "recent"
    assert spans["pneumonia"].assertion == "possible"
    assert spans["Hypertension"].temporality == "historical" and spans["Hypertension"].section == "past_history"
    assert spans["breast cancer"].experiencer == "other"
    assert spans["warfarin"].label == "Chemical" and spans["warfarin"].concept_id.startswith("DRUGBANK:")
    assert spans["shortness of breath"].temporality == "hypothetical"
    for s in spans.values():
        assert NOTE[s.start:s.end] == s.text


def test_extract_on_a_real_note_keeps_offsets(dict_tagger, shared_data):
    line = (shared_data / "deid" / "physionet_dev.jsonl").open().readline()
    text = json.loads(line)["text"]
    spans = extract(text, dict_tagger)
    assert len(spans) > 10
    assert all(text[s.start:s.end] == s.text and s.section and s.assertion for s in spans)
    neg = [s for s in spans if s.text == "PE"]
    assert neg and neg[0].assertion == "negated"  # "VQ SCAN- NEG FOR PE"


def test_spans_stay_backward_compatible():
    s = Span(start=0, end=5, label="Disease", text="fever")
    assert s.assertion is None and s.section is None and s.polarity == "present"


def test_link_span_links_what_a_tagger_left_bare(ie_graph):
    s = link_span(Span(start=0, end=17, label="Disease", text="severe chest pain"), ie_graph)
    assert s.concept_id == "HP:0100749" and s.concept == "Chest pain" and 0.5 < s.score < 1


def test_extract_rejects_non_text(dict_tagger):
    import pytest

    with pytest.raises(ValueError, match="string"):
        extract(None, dict_tagger)  # type: ignore[arg-type]


def test_codes_come_from_codable_findings_only(dict_tagger, coder):
    spans = extract(NOTE, dict_tagger)
    got = {c.code: c for c in coder.suggest(spans, k=10)}
    assert "I10" in got and got["I10"].historical  # hypertension, from the past history
    assert "R50.9" in got  # fever
    assert [e.text for e in got["R50.9"].evidence] == ["fever"]
    texts = {e.text.lower() for c in got.values() for e in c.evidence}
    # negated, possible, hypothetical and family findings are never coded
    assert not texts & {"chest pain", "pneumonia", "shortness of breath", "breast cancer"}
    with_possible = {c.code for c in coder.suggest(spans, k=10, include_possible=True)}
    assert "J18.9" in with_possible


def test_coder_matches_titles_and_codes_in_text(coder, ie_graph, dict_tagger):
    assert coder.match("hypertension")[0][0] == "I10"
    assert coder.match("hyperkalemia")[0][0] == "E87.5"
    assert coder.match("type 2 diabetes mellitus")[0][0] == "E11.9"
    assert coder.match("zzzz qqqq") == []
    spans = extract("Diagnosis: J45.909 today.", dict_tagger)
    assert [c.code for c in coder.suggest(spans)] == ["J45.909"]


def test_a_modified_finding_codes_to_its_head(coder):
    from medllm.types import Span

    got = coder.code_span(Span(start=0, end=16, label="Disease", text="productive cough"))
    assert got and got[0][0] == "R05.9" and got[0][1] < 1.0


class _BareTagger:
    """Finds one mention and links nothing, as a trained tagger does: the pipeline links it."""

    name = "bare"

    def tag(self, text):
        a = text.index("chest pain")
        return [Span(start=a, end=a + 10, label="Disease", text="chest pain")]

    def tag_tokens(self, sentences):
        return [["O"] * len(s) for s in sentences]


def test_extract_links_what_the_tagger_did_not(ie_graph):
    [s] = extract("No chest pain.", _BareTagger(), graph=ie_graph)
    assert s.concept_id == "HP:0100749" and s.concept == "Chest pain" and s.score == 1.0
    assert s.assertion == "negated"
    [s] = extract("No chest pain.", _BareTagger())  # no graph: typed and asserted, not linked
    assert s.concept_id is None and s.assertion == "negated"
