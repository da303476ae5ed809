"""The abbreviation step: a defined short form takes its long form's predicted type."""

from medllm.tasks.ie.abbreviations import long_form_words, looks_short, propagate


def test_schwartz_hearst_long_form():
    assert long_form_words("MCAO", "after middle cerebral artery occlusion".split()) == 4
    assert long_form_words("PD", "patients with Parkinson disease".split()) == 2
    assert long_form_words("XYZ", "patients with Parkinson disease".split()) == 0
    # the short form's first character must start a word of the long form
    assert long_form_words("AD", "with bad disease".split()) == 0  # the only "a" is inside "bad"
    assert long_form_words("AD", "with Alzheimer disease".split()) == 2
    assert looks_short("MCAO") and looks_short("GI") and not looks_short("a") and not looks_short("mg")


def test_short_form_takes_long_form_type_later_and_untagged_long_form_clears_it():
    s1 = "Rats with middle cerebral artery occlusion ( MCAO ) and a prolonged QT interval ( QTI ) .".split()
    t1 = ["O", "O", "B-Disease", "I-Disease", "I-Disease", "I-Disease", "O", "O", "O", "O", "O", "O", "O", "O", "O", "B-Disease", "O", "O"]
    s2 = "MCAO was induced ; QTI was measured .".split()
    t2 = ["O", "O", "O", "O", "B-Disease", "O", "O", "O"]
    out = propagate([s1, s2], [t1, t2])
    assert out[0][7] == "B-Disease"  # the definition itself
    assert out[1][0] == "B-Disease"  # a bare later use
    assert out[0][15] == "O" and out[1][4] == "O"  # "QT interval" was no entity, so neither is QTI


def test_definition_inside_an_entity_and_memory_limit():
    s = "von Hippel - Lindau ( VHL ) disease".split()
    t = ["B-Disease"] + ["I-Disease"] * 7
    later = ["VHL", "patients"]
    out = propagate([s, later], [t, ["B-Disease", "O"]])
    assert out == [t, ["B-Disease", "O"]]  # nothing defined, nothing changed

    s1 = "severe hepatic failure ( HF ) .".split()
    t1 = ["O", "B-Disease", "I-Disease", "O", "O", "O", "O"]
    filler = [["no", "entities"]] * 13
    out = propagate([s1, *filler, ["HF", "again"]], [t1, *[["O", "O"]] * 13, ["O", "O"]], memory=12)
    assert out[1 + 13] == ["O", "O"]  # beyond the memory: left as tagged
