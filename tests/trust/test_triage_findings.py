"""The findings reader and the red-flag table: assertion (present / negated / historical /
hypothetical / asked), modifiers, age and pregnancy, and rows firing only on present findings.
Messages written here; none comes from the safety dev set."""

from __future__ import annotations

import pytest

from medllm.trust.triage_findings import Table, age_in_months, assess, is_pregnant, load_table


def concepts(text: str) -> dict[str, str]:
    return {f.concept: f.assertion for f in assess(text).findings}


def rows(text: str) -> list[str]:
    return [r.id for r in assess(text).rows]


def test_the_shipped_table_parses_and_every_row_cites_a_source():
    t = load_table()
    assert len(t.rows) >= 50 and len(t.concepts) >= 50
    assert all(r.source and r.why for r in t.rows)
    assert {r.level for r in t.rows} == {"emergency", "urgent"}


@pytest.mark.parametrize("text,concept,assertion", [
    ("He denies any chest pain today.", "chest_pain", "negated"),
    ("My aunt had a stroke with slurred speech three years ago.", "speech_trouble", "historical"),
    ("What should we do if the toddler has a seizure at nursery?", "seizure", "hypothetical"),
    ("What are the signs of a non-blanching rash?", "rash_nonblanching", "asked"),
    ("Grandad's speech went slurred at lunch and he can't lift his right arm.", "speech_trouble", "present"),
    ("Which carbon monoxide alarm brand lasts longest on one battery?", "carbon_monoxide", "asked"),
    ("Can you explain the difference between heatstroke and heat exhaustion?", "heat_stroke", "asked"),
    ("Back in March I thought I was having a heart attack; it was reflux.", "named_emergency", "historical"),
    ("She told me she isn't thinking about hurting herself.", "suicidal", "negated"),
    ("Asking for when the kids are older: what does a meningitis rash look like under a glass test?", "rash_nonblanching", "hypothetical"),
    ("I was chopping wood without gloves and something flew into my eye", "eye_emergency", "present"),
])
def test_assertion_of_a_finding(text, concept, assertion):
    assert concepts(text)[concept] == assertion


def test_recent_ago_is_present_not_history():
    # ConText alone would make "an hour ago" historical
    assert concepts("The crushing pain in my chest started an hour ago.")["chest_pain"] == "present"


@pytest.mark.parametrize("text,row", [
    ("my husband is sweating buckets and has a heavy pressure across his chest", "heart_attack"),
    ("her face droops on the left and she's slurring", "stroke_fast"),
    ("I'm 12 weeks pregnant and bleeding with cramping belly pain", "pregnancy_bleeding"),
    ("my 5 week old has a temperature of 38.4", "infant_fever_under_3m"),
    ("my son has a rash that doesn't fade when I press a glass on it", "meningitis_signs"),
    ("Three days after my chemo session I'm shivering with a temperature of 38.3", "neutropenic_sepsis"),
    ("a sudden ripping pain went through my chest into my back", "aortic_dissection"),
    ("my 3 week old has been bringing up green vomit since lunch", "green_vomit"),
    ("Mum tripped on the stairs and now she can't put any weight on her left leg", "fall_cannot_stand"),
    ("he hasn't been able to pee since this morning and his lower belly is agony", "urinary_retention"),
    ("ten puffs of my blue inhaler and it's still not helping, I'm so tight", "asthma_not_helping"),
    ("I had my baby a week ago and now I'm soaking a pad every hour", "postpartum_danger"),
    ("my son has sickle cell and has a temperature of 38.5 tonight", "sickle_cell_crisis"),
    ("on warfarin and my pee has gone pink, plus bruises I can't explain", "anticoagulant_bleeding"),
    ("woke up to find a bat flying around our bedroom", "rabies_exposure"),
    ("my 2 year old got into the dishwasher pods and swallowed one", "child_swallowed"),
    ("I'm 10 weeks pregnant and can't keep any fluids down", "pregnancy_fluids"),
    ("Dad's 82 and since this morning he's muddled and not making sense", "confusion_older"),
    ("there's a bead stuck up my son's nose", "object_in_nose_ear"),
    ("the home machine says 196/122 twice", "bp_very_high"),
    ("my cast is on and the pain keeps getting worse, my fingers are tingling", "cast_problem"),
    ("the pain began around my belly button and has now moved to the lower right", "appendicitis_pattern"),
])
def test_rows_fire_on_present_findings(text, row):
    assert row in rows(text)


@pytest.mark.parametrize("text", [
    "What is a heart attack and how is it treated?",
    "My mother had a stroke in 2015; is it hereditary?",
    "No fever, no rash, just a sore knee after football.",
    "How can you tell if someone is having a stroke?",
    "My 4 year old has a temperature of 38.1 but she's playing normally.",
    "What is sickle cell disease and how is it inherited?",
    "How common is aortic dissection in people with Marfan syndrome?",
    "I fell off my bike last month; the knee is fine now and I can walk normally.",
    "I had chemo ten years ago and now I have a fever of 38.5",  # an old context fact does not hold
    "How do I get a fit note from my GP after a week off?",  # a UK sick note, not a seizure
    "Hay fever is awful this week, my eyes are streaming",
    "Woke up with a stiff neck after a night on the sofa, no temperature",
    "I nearly had a heart attack when I opened the gas bill",
    "Our shop is bleeding money this year and I can't sleep",
])
def test_no_row_without_a_present_red_flag(text):
    assert rows(text) == []


def test_age_band_needs_the_age():
    assert "infant_fever_under_3m" not in rows("my daughter has a temperature of 38.4")
    assert "infant_fever_under_3m" not in rows("my 8 month old has a temperature of 38.4")


@pytest.mark.parametrize("text,months", [
    ("my 6-week-old son", 6 * 12 / 52), ("I'm 47 and diabetic", 47 * 12), ("a 3 month old baby", 3.0),
    ("our newborn", 0.5), ("no age here", None),
    ("Mum's 86 and confused", 86 * 12), ("my son (24) hasn't slept", 24 * 12),
])
def test_age_in_months(text, months):
    got = age_in_months(text)
    assert (got is None and months is None) or got == pytest.approx(months)


def test_pregnancy():
    assert is_pregnant("I'm 30 weeks pregnant") and not is_pregnant("I'm not pregnant")


def test_mild_keeps_a_finding_from_counting_as_severe():
    a = assess("a mild headache since yesterday")
    assert a.mild and [f.concept for f in a.present] == ["headache"]
    assert not assess("the worst, severe headache, mild nausea").mild


def test_a_bad_table_names_the_file_and_the_row(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[concept.a]\npatterns = ["x"]\n[[row]]\nid = "r1"\nlevel = "soon"\nall = ["a"]\n')
    with pytest.raises(ValueError, match=r"t\.toml: row r1: level"):
        Table.load(p)
    p.write_text('[concept.a]\npatterns = ["x"]\n[[row]]\nid = "r2"\nlevel = "urgent"\nall = ["b"]\n')
    with pytest.raises(ValueError, match=r"unknown concept 'b'"):
        Table.load(p)
