"""Kinds of PHI the rules find without any learned part (issue 29): each test names a kind with
made-up names and places, and the clinical words around it that must stay."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def rules():
    from medllm.trust.privacy import PhiDetector, SiteLexicon

    return PhiDetector(site=SiteLexicon(), learned=False)


def found(rules, text: str) -> dict[str, str]:
    return {s.text: s.label for s in rules.analyze(text)}


def test_everyday_words_are_those_both_dictionaries_hold():
    from medllm.trust.privacy import load_lexicon

    lex = load_lexicon()
    assert lex.is_everyday("heart") and lex.is_everyday("floors") and lex.is_everyday("upset")
    assert lex.is_common("kosong") and not lex.is_everyday("kosong")  # one dictionary's rarity


def test_relative_named_by_a_list_name_that_is_also_a_word(rules):
    f = found(rules, "SOCIAL: DAUGHTER BIRT VINCENT TOOK BELONGINGS HOME.")
    assert f.get("BIRT VINCENT") == "NAME"
    f = found(rules, "social: md will call son cabot tamez regarding the plan.")
    assert f.get("cabot tamez") == "NAME"
    # how a relative is, or what they do, is not a name
    for text in ("social: son upset, wife tearful.", "daughter visited today and son called.",
                 "husband present at bedside. wife anxious."):
        assert not found(rules, text), text


def test_places_after_a_move_in_capitals_and_in_lower_case_notes(rules):
    f = found(rules, "PT RECENTLY ADM TO THE LOBATSE FOR ULCERS. ADMITTED TO THE CCU FROM THE EW. "
                     "TRANSFERRED TO THE FLOOR.")
    assert f == {"LOBATSE": "LOCATION"}
    f = found(rules, "pt arrived via amb from kampen ew for eval. dr met at jonesboro today. "
                     "admitted to the micu. transferred to the floor.")
    assert f.get("kampen") == "LOCATION" and f.get("jonesboro") == "LOCATION"
    assert "micu" not in f and "floor" not in f


def test_where_a_relative_lives(rules):
    f = found(rules, "SOCIAL: PT LIVES WITH SON AND FAMILY IN CICERO. nephew neil meitz of towson visited.")
    assert f.get("CICERO") == "LOCATION" and f.get("towson") == "LOCATION"
    assert "pt" not in " ".join(found(rules, "son of pt visited. daughter of the patient called.")).lower()


def test_institution_named_with_dictionary_words(rules):
    f = found(rules, "Plan for pt to go to Sacred Heart Memorial at 4pm. later transferred to sacred heart hospital.")
    assert f.get("Sacred Heart Memorial") == "LOCATION" and f.get("sacred heart hospital") == "LOCATION"
    assert not found(rules, "came from outside hospital; seen at the medical center; went to cardiac rehab")


def test_institution_a_few_words_after_the_move_or_in_brackets(rules):
    f = found(rules, "plans for pt to go this afternoon 4pm, to holy cross hospital. awaiting ambulance.")
    assert f.get("holy cross hospital") == "LOCATION"
    f = found(rules, "Pt slated to go to rehab(greenbrook valley Memorial) today, a bed is available.")
    assert f.get("greenbrook valley Memorial") == "LOCATION"
    assert not found(rules, "pt to go to the floor this afternoon, to cardiac rehab (phase 2) later.")


def test_extensions_and_weekday_dates(rules):
    f = found(rules, "Please call daughter at x4-5678 or page 7-1234. Tues 2/3 extubated.")
    assert f.get("4-5678") == "PHONE" and f.get("7-1234") == "PHONE" and f.get("2/3") == "DATE"
    assert not found(rules, "heparin 2-4000 units; crackles 1/3-1/2 up; strength 4/5")


def test_names_where_a_sentence_starts_and_after_a_titled_name(rules):
    f = found(rules, "npn 11p-7a:\nYolanda Przybyszewski arrived in micu at 11pm. Mr. Raymonde tutt is a 70 y/o.\n"
                     "NEURO: alert. Heparin Drip at 900 units. Social Work to see.")
    assert f.get("Yolanda Przybyszewski") == "NAME"
    assert "tutt" in " ".join(f)
    assert not any(w in " ".join(f) for w in ("Heparin", "Social", "Work", "NEURO"))


def test_relative_named_by_a_medical_word_when_they_act(rules):
    # a surname that is also a medical word, after a kin word, when what follows is an act
    f = found(rules, "social: son gallop called twice for updates. his daughter, burrow, called again.")
    assert f.get("gallop") == "NAME" and f.get("burrow") == "NAME"
    f = found(rules, "social: burrow visited during the evening.")
    assert f.get("burrow") == "NAME"
    # time words that are surnames too, and relatives described, stay
    for text in ("social: wife daily visits. daughter first called at 4. son early in to visit.",
                 "social: family called. friends visited. wife in to visit, husband called.",
                 "social: son upset, wife tearful."):
        assert not found(rules, text), text


def test_names_after_speech_and_before_an_act_in_lower_case_notes(rules):
    f = found(rules, "spoke with palmiter about the plan. will consult with tressler spackman re skin.")
    assert f.get("palmiter") == "NAME" and f.get("tressler spackman") == "NAME"
    f = found(rules, "several family members in, and barriner called early this am for update.")
    assert f.get("barriner") == "NAME"
    # speech to teams, services and pages of the md are not names
    assert not found(rules, "spoke with team. paged md. called pharmacy. per protocol. seen by neuro.")


def test_named_proxy_apostrophe_surname_and_a_first_name_before_a_name(rules):
    f = found(rules, "Social - Family at bedside. Carpenter is family contact, numbers on board.")
    assert f.get("Carpenter") == "NAME"
    assert found(rules, "aline placed by dr. n'dour today.").get("n'dour") == "NAME"
    f = found(rules, "npn:\nRose Przybyszewski arrived in micu at 11pm. Pt is a 70 y/o.")
    assert f.get("Rose Przybyszewski") == "NAME"
    assert not found(rules, "Pt is alert. The patient can't stand; won't eat.")


def test_patient_introduced_by_title_and_age(rules):
    f = found(rules, "CCU transfer note:\nMr. Haverkamp de is a 70y/o male with CAD. MS is a 5 on exam.")
    assert f.get("Haverkamp de") == "NAME"
    assert not found(rules, "Pt is a 70 y/o male. MS: alert, is a 5 on exam.")


def test_roles_before_lists_backwards_function_word_surnames_and_reports(rules):
    f = found(rules, "SOCIAL: SISTER IN TO VISIT, MET W/ CASEWORKER BARRINER. CHAPLAIN PALMITER IN.")
    assert f.get("BARRINER") == "NAME" and f.get("PALMITER") == "NAME"
    f = found(rules, "KCL GIVEN. PALMITER TRESSLER AND DRS HAVERKAMP AND KOWALCZYK AWARE. NO ADDITIONAL RX.")
    assert f.get("PALMITER TRESSLER") == "NAME"
    f = found(rules, "neuro: no change. mr. to was having problems with sats. Mr. To has times when he is aroused.")
    assert f.get("to") == "NAME" and f.get("To") == "NAME"
    assert found(rules, "Her dtr died at the age of 22. Marlow reports that pt has a wheelchair.").get("Marlow") == "NAME"
    # services, studies and a title before a preposition are not names
    assert not found(rules, "Pharmacy called. Echo reports EF 40%. Rehab called. mr. in bed, ms to see.")


LOWER_NOTE = ("neuro: unchanged, following commands. resp: on ps 12/5 peep 5, sats 95%. cv: nsr 80s, bp "
              "stable, no ectopy. gi: tf at goal, abd soft. gu: foley draining well, clear yellow urine. "
              "skin: intact. plan: continue to monitor and support.")


def test_signed_with_a_comma_and_no_space_in_a_lower_case_note(rules):
    f = found(rules, LOWER_NOTE + " social: son called and was updated.  Tressler Younger,RN")
    assert f.get("Tressler Younger") == "NAME"
    f = found(rules, LOWER_NOTE + " resp- Spackman Rider,MD no vent changes made o/n. " + LOWER_NOTE)
    assert f.get("Spackman Rider") == "NAME"
    assert not found(rules, LOWER_NOTE + " pt is npo,MD aware. heparin,RN to check.")
