"""ConText assertion: triggers, scope, terminations, pseudo-triggers, on the shipped rules."""

from __future__ import annotations

import json

import pytest

from medllm.tasks.ie.context import ConText, split_sentences, tokenize


@pytest.fixture(scope="module")
def ctx() -> ConText:
    return ConText.from_file()


def one(ctx: ConText, text: str, target: str):
    a = text.index(target)
    [res] = ctx.assert_spans(text, [(a, a + len(target))])
    return res


def test_forward_negation_runs_over_a_list(ctx):
    text = "No wheezes, rales, or rhonchi."
    for t in ("wheezes", "rales", "rhonchi"):
        assert one(ctx, text, t).negated


def test_termination_ends_the_scope(ctx):
    text = "She denies chest pain but reports a productive cough."
    assert one(ctx, text, "chest pain").negated
    assert not one(ctx, text, "productive cough").negated


def test_semicolon_ends_the_scope(ctx):
    text = "IN NO MAJOR DISTRESS; DOPAMINE TAPER, THEN DC"
    assert not one(ctx, text, "DOPAMINE").negated


def test_pseudo_trigger_does_not_negate(ctx):
    assert not one(ctx, "No change in the size of the nodule.", "nodule").negated
    assert not one(ctx, "Blood culture grew gram negative rods.", "rods").negated


def test_backward_trigger(ctx):
    res = one(ctx, "Pulmonary embolism was ruled out.", "Pulmonary embolism")
    assert res.negated and res.cues[0].text == "was ruled out"


def test_possible_is_not_negated(ctx):
    res = one(ctx, "Findings are concerning for pneumonia.", "pneumonia")
    assert res.possible and not res.negated and res.existence == "possible"


def test_historical_and_hypothetical_and_family(ctx):
    assert one(ctx, "She has a history of gout.", "gout").temporality == "historical"
    assert one(ctx, "Return to the ED if he develops vomiting.", "vomiting").temporality == "hypothetical"
    res = one(ctx, "His mother had breast cancer.", "breast cancer")
    assert res.experiencer == "other" and not res.codable
    # the patient again after the relative: the family scope ends
    assert one(ctx, "Mother has diabetes and the patient has asthma.", "asthma").experiencer == "patient"


def test_a_recent_duration_is_not_history(ctx):
    assert one(ctx, "2 WEEK HISTORY LEG WEAKNESS", "LEG WEAKNESS").temporality == "recent"


def test_trigger_words_inside_the_target_do_not_fire(ctx):
    # the mention itself holds "no"; masked, so it cannot negate itself
    assert not one(ctx, "Patient has no-reflow phenomenon.", "no-reflow phenomenon").negated


def test_each_sentence_has_its_own_scope(ctx):
    text = "No fever. Cough since Monday."
    a = text.index("Cough")
    [res] = ctx.assert_spans(text, [(a, a + 5)])
    assert not res.negated
    assert split_sentences(text) == [(0, 9), (10, len(text))]


def test_tokens_keep_offsets():
    toks = tokenize("S/P CABG, r/o MI")
    assert [t for t, _, _ in toks] == ["s/p", "cabg", ",", "r/o", "mi"]
    assert all("S/P CABG, r/o MI"[a:b].lower() == t for t, a, b in toks)


def test_bad_rules_file_names_the_group(tmp_path):
    p = tmp_path / "rules.json"
    p.write_text(json.dumps({"groups": [{"category": "negated", "literals": ["no"]},
                                        {"category": "sometimes", "literals": ["x"]}]}))
    with pytest.raises(ValueError, match="group 1: category 'sometimes'"):
        ConText.from_file(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read ConText rules"):
        ConText.from_file(p)


def test_a_site_rules_file_replaces_the_shipped_one(tmp_path):
    p = tmp_path / "rules.json"
    p.write_text(json.dumps({"groups": [{"category": "negated", "direction": "backward", "literals": ["nicht"]}]}))
    site = ConText.from_file(p)
    assert one(site, "Fieber nicht", "Fieber").negated
    assert not one(site, "no fever", "fever").negated


def test_negex_kit_negation_f1_stays_high(shared_data):
    """All 1,188 NegEx sentences (tuned and held-out folds together): a regression guard; the
    figure that counts is benchmarks/assertion.py on the folds not tuned on."""
    from medllm.eval.datasets import load_dataset
    from medllm.eval.tasks import AssertionTask

    task = AssertionTask()
    qs = load_dataset(f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}").questions
    m = task.summarize(task.predict(task.load("context"), qs))
    assert m["negation_f1"]["value"] >= 0.95
    assert m["temporality_accuracy"]["value"] >= 0.9


def test_nursing_note_sentences():
    text = "NO DISTANT METS.) SHE UNDERWENT SURGERY. Dr. Lee noted p.o. intake. afebrile...HR 60s. no stool. also lactulose."
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["NO DISTANT METS.", "SHE UNDERWENT SURGERY.", "Dr. Lee noted p.o. intake.", "afebrile...",
                   "HR 60s.", "no stool.", "also lactulose."]


def test_forward_negation_has_a_reach(ctx):
    text = "CXR NOT IMPROVED , RESP APPEAR LABORED , PT TURNED AND REPOSITIONED Q2H , FAMILY AT BEDSIDE AND UPDATED , SKIN INTACT , LASIX 120 MG GIVEN"
    assert not one(ctx, text, "LASIX").negated


def test_other_people_and_their_reach(ctx):
    assert one(ctx, "social: pt's wife has a form of dementia.", "dementia").experiencer == "other"
    # MOM is milk of magnesia in nursing notes, not a mother
    assert one(ctx, "SMALL HARD STOOL. GIVEN MOM AND COLACE.", "COLACE").experiencer == "patient"
    # a relative's reach is short; the note moves on to the patient
    text = "Daughter at bedside and updated on the plan of care, patient resting, remains febrile overnight."
    assert one(ctx, text, "febrile").experiencer == "patient"


def test_care_actions_end_a_negation(ctx):
    assert not one(ctx, "TOL PO'S, NO STOOL, REC'D COLACE/MOM", "COLACE").negated
    assert one(ctx, "Tylenol prn for fever.", "fever").hypothetical
    assert not one(ctx, "medicated with prn dilaudid.", "dilaudid").hypothetical
