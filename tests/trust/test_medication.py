"""The medication-safety check against the shipped ANSM thesaurus and pharmacology book.
The combinations here are not the dev set's questions nor the issue's quoted cases."""

from __future__ import annotations

from medllm.trust.medication import check_medication, contradicts, gloss, link_drugs, thesaurus


def test_english_names_map_onto_the_thesaurus() -> None:
    t = thesaurus()
    assert t.substance("simvastatin") == "simvastatine"
    assert t.substance("amiodarone") == "amiodarone"
    assert t.substance("Acetaminophen") == "paracetamol"
    assert t.substance("notadrugatall") is None
    names = {d.name: d.ansm for d in link_drugs("He takes Amiodarone and naproxen daily.")}
    assert names == {"amiodarone": "amiodarone", "naproxen": "naproxene"}


def test_class_level_interaction_is_found_with_its_reason() -> None:
    rep = check_medication("Could a patient on methotrexate take naproxen for a sore shoulder?")
    assert rep.verdict == "caution"  # ANSM "association déconseillée": only if needed, monitored
    (hit,) = rep.interactions
    assert "anti-inflammatoires non steroidiens" in hit.via
    assert "toxicity" in hit.reason
    assert rep.preamble().startswith("Medication safety: this needs caution")
    rep = check_medication("Is it safe to give clarithromycin to someone on ergotamine?")
    assert rep.verdict == "avoid" and rep.preamble().startswith("Medication safety warning")


def test_english_class_names_and_combinations_link() -> None:
    rep = check_medication("Can I take an SSRI together with an MAOI?")
    assert {d.ansm for d in rep.drugs} >= {"imao irreversibles", "inhibiteurs selectifs de la recapture de la serotonine"}
    assert rep.verdict == "avoid" and "serotonin syndrome" in rep.interactions[0].reason
    # a fixed combination interacts as each of its parts
    rep = check_medication("Is co-trimoxazole a problem for someone on warfarin?")
    assert rep.interactions and rep.verdict in ("avoid", "caution")


def test_every_english_name_targets_a_thesaurus_entry() -> None:
    from medllm.trust.medication import english_names

    t = thesaurus()
    missing = sorted(en for en, target in english_names().items() if not t.known(target))
    assert missing == []


def test_a_class_level_book_warning_reaches_its_member_drug() -> None:
    rep = check_medication("Is nadolol all right for a man with asthma?")
    assert rep.warnings and rep.warnings[0].verdict == "avoid"
    assert "asthma" in rep.warnings[0].sentence_text.lower()


def test_precaution_is_caution_and_unrelated_drugs_are_not_flagged() -> None:
    assert check_medication("Is amiodarone with simvastatin a problem?").verdict == "caution"
    rep = check_medication("Can I use paracetamol with amlodipine?")
    assert rep.interactions == [] and rep.verdict in ("ok", None)


def test_condition_contraindication_cites_the_book() -> None:
    rep = check_medication("Can a man with kidney failure keep using metformin?")
    assert rep.conditions == ["kidney disease"]
    (w,) = rep.warnings
    assert w.verdict == "avoid" and w.citation.startswith("Pharmacology for Nurses › ")


def test_reassurance_detection_and_gloss() -> None:
    assert contradicts("Yes, you can take them together.")
    assert not contradicts("You should not take them together.")
    assert gloss("Augmentation du risque hémorragique.") == "bleeding risk"
