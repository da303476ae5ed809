"""The NER taggers: IOB helpers, and the shipped MiniLM model on real and odd input."""

from __future__ import annotations

import numpy as np
import pytest

from medllm.tasks.ie.ner import (
    LABELS,
    MODEL_DIR,
    TAGS,
    WEIGHTS_FILE,
    EntityTagger,
    iob_to_spans,
    lexicon_tags,
    load_tagger,
    piece_features,
    viterbi,
    words,
)
from medllm.tasks.ie.ner_train import read_iob, strict_counts


def test_words_keep_offsets_and_cut_like_the_data():
    text = "Parkinson's  disease\u00a0after 5-FU (1.5 mg), na\u00efve\u2014ok"
    toks = words(text)
    assert all(text[s:e] == w for w, s, e in toks)
    assert [w for w, _, _ in toks][:6] == ["Parkinson", "'", "s", "disease", "after", "5"]
    assert "na\u00efve" in [w for w, _, _ in toks]


def test_iob_to_spans_closes_on_type_change_and_opens_on_stray_i():
    tags = ["B-Chemical", "I-Chemical", "I-Disease", "O", "I-Disease", "B-Disease", "I-Disease"]
    assert iob_to_spans(tags) == [(0, 2, "Chemical"), (2, 3, "Disease"), (4, 5, "Disease"), (5, 7, "Disease")]
    assert iob_to_spans([]) == []


def test_viterbi_never_puts_i_after_o_or_another_type():
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(len(TAGS)), size=200))
    logp[:, TAGS.index("I-Disease")] += 3  # push the illegal continuations hard
    path = [TAGS[k] for k in viterbi(logp)]
    for prev, cur in zip(["O"] + path, path):
        if cur.startswith("I-"):
            assert prev[2:] == cur[2:] and prev != "O"


def test_strict_counts_need_exact_boundaries_and_type():
    gold = [["B-Disease", "I-Disease", "O", "B-Chemical"]]
    pred = [["B-Disease", "O", "O", "B-Chemical"]]
    c = strict_counts(gold, pred, LABELS)
    assert c["Disease"].tolist() == [[0, 1, 1]] and c["Chemical"].tolist() == [[1, 1, 1]]


def test_read_iob_names_the_bad_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("aspirin\tB-Chemical\nno tag here\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2"):
        read_iob(p)


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    if not (MODEL_DIR / WEIGHTS_FILE).is_file():
        pytest.skip(f"NER weights absent ({MODEL_DIR / WEIGHTS_FILE}); build them with `make ner-model`")
    return load_tagger()


def test_default_tagger_follows_the_protocol(tagger):
    assert isinstance(tagger, EntityTagger)
    assert tagger.name.startswith("minilm")


def test_tag_tokens_aligns_and_finds_a_drug_and_its_adverse_effect(tagger):
    sents = [
        "Cisplatin - induced nephrotoxicity was reversed by magnesium supplementation .".split(),
        [],
        ["The"],
    ]
    out = tagger.tag_tokens(sents)
    assert [len(t) for t in out] == [len(s) for s in sents]
    assert all(t in TAGS for tags in out for t in tags)
    assert out[0][0] == "B-Chemical"
    assert out[0][3] == "B-Disease"


def test_tag_gives_char_spans_on_real_text(tagger):
    text = "Patients on haloperidol developed tardive dyskinesia; lithium toxicity was rare."
    spans = tagger.tag(text)
    assert all(text[s.start : s.end] == s.text and s.label in LABELS for s in spans)
    found = {(s.text, s.label) for s in spans}
    assert ("haloperidol", "Chemical") in found
    assert ("tardive dyskinesia", "Disease") in found


def test_tag_on_odd_input(tagger):
    assert tagger.tag("") == []
    assert tagger.tag(" \n\t ") == []
    assert tagger.tag("The meeting is on Tuesday at the main office.") == []
    text = "Naïve patiënt — “acetaminophen” overdose → acute liver failure 🙂. \u200b 肝炎"
    spans = tagger.tag(text)
    assert spans and all(text[s.start : s.end] == s.text for s in spans)
    # Long text: far past one window of word pieces, one unbroken 5,000-letter "word" inside.
    long = ("Aspirin caused gastric bleeding in the elderly patient " * 300) + "x" * 5000 + " end."
    spans = tagger.tag(long)
    assert all(0 <= s.start < s.end <= len(long) and long[s.start : s.end] == s.text for s in spans)
    assert sum(s.text == "Aspirin" for s in spans) > 250


def test_long_sentence_is_tagged_through_several_windows(tagger):
    sent = ("aspirin and ibuprofen , " * 60).split()  # 240 words, ~240+ pieces: at least two windows
    tags = tagger.tag_tokens([sent])[0]
    assert len(tags) == len(sent)
    assert tags[-4] == "B-Chemical"  # the last window is tagged too


def test_disease_only_tagger_drops_chemicals(tagger):
    from medllm.tasks.ie.ner import OnlyLabels

    only = OnlyLabels(tagger, ("Disease",))
    sent = "Cisplatin - induced nephrotoxicity".split()
    assert only.tag_tokens([sent])[0] == ["O", "O", "O", "B-Disease"]
    assert {s.label for s in only.tag("Cisplatin-induced nephrotoxicity")} == {"Disease"}


def test_piece_features_cover_every_piece_of_a_word_and_leave_specials_o():
    # [CLS] w0 w0' w1 w2 w2' w2'' [SEP]
    assert piece_features([3, 0, 1], [1, 3, 4], 8) == [0, 3, 3, 0, 1, 1, 1, 0]


def test_lexicon_feature_path_is_the_plain_model_at_zero_and_live_in_the_shipped_model(tagger):
    import dataclasses

    import torch

    sent = [["Naloxone", "reverses", "clonidine", "in", "diabetes", "mellitus", "."]]
    feats = lexicon_tags(sent)[0]
    assert feats[0] == TAGS.index("B-Chemical") and feats[4:6] == [TAGS.index("B-Disease"), TAGS.index("I-Disease")]
    plain = dataclasses.replace(tagger, lexicon=None).word_logprobs(sent)[0]
    zero = torch.nn.Embedding(len(TAGS), 384)
    torch.nn.init.zeros_(zero.weight)
    assert np.allclose(dataclasses.replace(tagger, lexicon=zero).word_logprobs(sent)[0], plain, atol=1e-5)
    assert tagger.lexicon is not None, "the shipped model is trained with lexicon features (make ner-model)"
    assert not np.allclose(tagger.word_logprobs(sent)[0], plain, atol=1e-3)
