"""The learned token model: the shipped weights are small numbers only, it only adds to the rules,
and training learns something that holds on patients it did not see."""

from __future__ import annotations

import re
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from medllm.trust.privacy import PhiDetector, SiteLexicon, load_lexicon, read_gold_notes
from medllm.trust.privacy.learned import (
    CLASSES, MODEL_FILE, Featurizer, TokenModel, fit, gold_classes, shipped_model, train_token_model,
)

GOLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "deid" / "physionet_dev.jsonl"


def test_shipped_weights_are_small_and_hold_numbers_only():
    f = resources.files("medllm.trust.privacy").joinpath(MODEL_FILE)
    data = f.read_bytes()
    assert len(data) < 5_000_000
    with zipfile.ZipFile(f.open("rb")) as z:
        assert set(z.namelist()) <= {"bias.npy", "threshold.npy", "weights.npy", "points.npy",
                                     "point_thresholds.npy"}
    m = shipped_model()
    assert m.weights.shape[0] == len(CLASSES) and m.weights.dtype.kind == "f"
    assert 0.0 < m.threshold < 1.0
    pts = m.operating_points()
    assert pts["recall"] == m.threshold  # the default point is the recall one
    assert all(pts["recall"] <= t for t in pts.values())  # no point masks more than it


def test_model_only_adds_to_the_rules():
    note = ("Pt transferred from Quartermain 7 on 11/30. Seen by Dr. Lally; son Hank Przybylo (son) "
            "called, updated by q. lander rrt.\nNEURO: AOX3. CV: SR 80s, BP 110/60. RESP: CPAP 5/5.\n")
    site = SiteLexicon()
    rules = PhiDetector(site=site, learned=False).analyze(note)
    both = PhiDetector(site=site).analyze(note)
    covered = [(s.start, s.end) for s in both]
    for s in rules:
        assert any(a <= s.start and s.end <= b for a, b in covered), s.text
    masked = " ".join(s.text for s in both)
    for word in ("NEURO", "AOX3", "CPAP", "110/60"):
        assert word not in masked  # clinical text survives the model too


def test_bad_weights_file_is_named(tmp_path):
    bad = tmp_path / "m.npz"
    bad.write_text("not a model")
    with pytest.raises(ValueError, match="m.npz"):
        TokenModel.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        TokenModel.load(tmp_path / "none.npz")


def test_features_hold_no_text_and_save_round_trips(tmp_path):
    text = "Seen by Zorblat on rounds. BP 110/60."
    feats = Featurizer(load_lexicon()).features(text, [(8, 15, "NAME")])
    assert [text[s:e] for s, e in feats.spans][:3] == ["Seen", "by", "Zorblat"]
    assert all(isinstance(j, int) for r in feats.rows for j in r)
    y = gold_classes(text, [(8, 15, "HCPName")], feats.spans)
    assert y[2] == CLASSES.index("NAME") and y.count(0) == len(y) - 1
    m = fit(feats.rows * 3, y * 3, threshold=0.3)
    m.save(tmp_path / "m.npz")
    back = TokenModel.load(tmp_path / "m.npz")
    assert back.threshold == pytest.approx(0.3)
    p, _ = back.proba_phi(feats)
    assert p[2] > p[0]  # the name is likelier PHI than "Seen"


@pytest.mark.slow
def test_training_generalises_to_other_patients():
    """Learned on some patients' notes, it finds more PHI on other patients' than the rules do,
    and keeps clinical tokens (>= 0.995)."""
    notes = read_gold_notes(GOLD)
    patients = sorted({p for p, _, _ in notes})
    test_p = set(patients[::4])
    train = [n for n in notes if n[0] not in test_p][:500]
    test = [n for n in notes if n[0] in test_p]
    model, site = train_token_model(train, load_lexicon(), folds=3)
    rules = PhiDetector(site=site, learned=False)
    both = PhiDetector(site=site, model=model)

    def score(det) -> tuple[int, int, int]:
        tp = fn = fp = 0
        for _, text, spans in test:
            pred = det.analyze(text)
            masked = np.zeros(len(text), bool)
            for s in pred:
                masked[s.start:s.end] = True
            gold = np.zeros(len(text), bool)
            for s, e, label in spans:
                if label != "DateYear":
                    gold[s:e] = True
            for m in re.finditer(r"[A-Za-z0-9]+", text):
                g, h = gold[m.start():m.end()].any(), masked[m.start():m.end()].any()
                tp += g and h
                fn += g and not h
                fp += h and not g
        return tp, fn, fp

    tp0, fn0, _ = score(rules)
    tp1, fn1, fp1 = score(both)
    assert tp1 / (tp1 + fn1) > tp0 / (tp0 + fn0)
    assert tp1 / (tp1 + fp1) >= 0.75


def test_fresh_names_rename_names_and_places_and_keep_the_rest():
    from medllm.trust.privacy.learned import FreshNames

    text = "Seen by Dr. Zorblat; son QUIMBY called. Transferred from Oakvale Memorial. BP 110/60 on 3/4."
    spans = [(12, 19, "HCPName"), (25, 31, "RelativeProxyName"), (57, 73, "Location"), (88, 91, "Date")]
    assert [text[s:e] for s, e, _ in spans] == ["Zorblat", "QUIMBY", "Oakvale Memorial", "3/4"]
    fr = FreshNames(seed=7)
    new, moved = fr.note("p1", text, spans)
    frags = [new[s:e] for s, e, _ in moved]
    assert [l for _, _, l in moved] == [l for _, _, l in spans]
    assert frags[0] != "Zorblat" and frags[0][0].isupper() and frags[0][1:].islower()
    assert frags[1] != "QUIMBY" and frags[1].isupper()  # the case of the original
    assert frags[2].endswith(" Memorial") and not frags[2].startswith("Oakvale")  # its kind word stays
    assert frags[3] == "3/4" and new.startswith("Seen by Dr. ") and "BP 110/60 on 3/4." in new
    # one patient's same word gets the same new one; the draw is the seed's
    again, _ = fr.note("p1", text, spans)
    assert again == new and FreshNames(seed=7).note("p1", text, spans)[0] == new
