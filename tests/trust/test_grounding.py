from __future__ import annotations

from medllm.trust.grounding import check_grounding, lexical_support, split_claims
from medllm.types import Answer, Evidence

EV = [
    Evidence(index=1, passage_id="p1", citation="c1",
             text="Metformin is the first-line drug treatment for type 2 diabetes in most adults."),
    Evidence(index=2, passage_id="p2", citation="c2",
             text="Insulin lowers blood glucose by promoting uptake into muscle and fat cells."),
]


def test_split_claims_keeps_citations():
    claims = split_claims("Metformin is first-line for type 2 diabetes [1]. Insulin lowers glucose [2].")
    assert claims == [("Metformin is first-line for type 2 diabetes.", [1]), ("Insulin lowers glucose.", [2])]


def test_lexical_floor_without_model():
    ans = Answer(text="Metformin is the first-line treatment for type 2 diabetes [1]. "
                      "Aspirin cures migraine in children [2].", evidence=EV)
    rep = check_grounding(ans)
    assert [c.supported for c in rep.claims] == [True, False]
    assert rep.unsupported_rate == 0.5 and rep.flags()[0].kind == "ungrounded"
    assert lexical_support("unrelated words entirely", [EV[0].text]) == 0.0


def test_model_judge_with_real_model(chat_model):
    """The 0.5B instruct model as a strict judge: a claim the passage states vs one it contradicts
    (both pass the lexical floor, so only the judge separates them)."""
    good = Answer(text="Metformin is the first-line drug treatment for type 2 diabetes [1].", evidence=EV)
    bad = Answer(text="Metformin is never a drug treatment for type 2 diabetes in adults [1].", evidence=EV)
    g = check_grounding(good, chat_model).claims[0]
    b = check_grounding(bad, chat_model).claims[0]
    assert g.judge_margin is not None and b.judge_margin is not None
    assert g.judge_margin > b.judge_margin


# ------------------------------------------------------------------ against a source

import pytest  # noqa: E402

from medllm.trust.grounding import (  # noqa: E402
    EmbeddingJudge,
    check_against_source,
    negated,
    source_windows,
    statements,
)

VISIT = ("[doctor] any chest pain ?\n[patient] no , no chest pain at all .\n"
         "[doctor] and your blood pressure medicine ?\n[patient] i take lisinopril 10 mg every morning .\n"
         "[doctor] okay , we will order an echocardiogram .")


def test_statements_skip_headings_and_bullets():
    note = "HISTORY OF PRESENT ILLNESS\n\nShe is 50 years old. She denies chest pain.\n\n• Cardiovascular: Regular rhythm.\nOK."
    assert statements(note) == ["She is 50 years old.", "She denies chest pain.", "Cardiovascular: Regular rhythm."]


def test_windows_follow_turns_then_sentences():
    assert source_windows("[doctor] a b\n[patient] c d\n[doctor] e f", 2) == ["[doctor] a b [patient] c d",
                                                                           "[patient] c d [doctor] e f"]
    assert source_windows("One thing. Two things. Three.", 1) == ["One thing.", "Two things.", "Three."]


def test_negation_counts_only_near_the_shared_words():
    about = {"cetirizine"}
    assert not negated("who makes cetirizine? the store is not getting the supply", about)
    assert negated("she does not take cetirizine", about)


@pytest.fixture(scope="module")
def judge():
    return EmbeddingJudge()


def test_embedding_judge_on_a_conversation(judge):
    v = [j.verdict for j in judge.judge(VISIT, [
        "The patient denies chest pain.",
        "The patient reports chest pain.",
        "She takes lisinopril 10 mg daily.",
        "She has a family history of colon cancer.",
    ])]
    assert v == ["entailed", "contradicted", "entailed", "neutral"]


def test_check_against_source_reports_the_share_and_the_closest_turns(judge):
    rep = check_against_source("The patient denies chest pain. She has a family history of colon cancer.", VISIT, judge)
    assert [c.supported for c in rep.claims] == [True, False]
    assert rep.supported_share == 0.5
    assert "chest pain" in (rep.claims[0].evidence or "")
