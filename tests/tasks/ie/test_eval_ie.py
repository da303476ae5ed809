"""The harness on the extraction task kinds: conll: (NER) and negex: (assertion) datasets,
predictions.jsonl with id / gold / pred, entity-level strict F1 (checked against seqeval)."""

from __future__ import annotations

import json

import pytest

from medllm.eval.datasets import DatasetError, find_mention, load_dataset
from medllm.eval.runner import EvalConfig, run_eval
from medllm.eval.tasks import NerTask, iob_entities

CONLL = """Aspirin\tB-Chemical
causes\tO
gastric\tB-Disease
bleeding\tI-Disease
.\tO

No\tO
fever\tB-Disease
or\tO
chest\tB-Disease
pain\tI-Disease
.\tO
"""


def test_iob_entities_are_strict():
    assert iob_entities(["B-Disease", "I-Disease", "O", "B-Chemical"]) == {("Disease", 0, 2), ("Chemical", 3, 4)}
    assert iob_entities(["O", "I-Disease", "I-Disease"]) == set()  # no B-: no entity in strict mode
    assert iob_entities(["B-Disease", "I-Chemical"]) == {("Disease", 0, 1)}


def test_our_counts_agree_with_seqeval(shared_data):
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    rng = __import__("random").Random(0)
    ds = load_dataset(f"conll:{shared_data / 'ner' / 'BC5CDR-IOB' / 'devel.tsv'}")
    gold = [q.metadata["tags"] for q in ds.questions[:300]]
    # corrupt predictions: shifted boundaries, swapped types, stray I- tags
    pred = []
    for tags in gold:
        p = list(tags)
        for i in range(len(p)):
            r = rng.random()
            if r < 0.05:
                p[i] = "O"
            elif r < 0.08:
                p[i] = "I-Disease"
            elif r < 0.1:
                p[i] = "B-Chemical"
        pred.append(p)
    tp = sum(len(iob_entities(g) & iob_entities(p)) for g, p in zip(gold, pred))
    fp = sum(len(iob_entities(p) - iob_entities(g)) for g, p in zip(gold, pred))
    fn = sum(len(iob_entities(g) - iob_entities(p)) for g, p in zip(gold, pred))
    assert 2 * tp / (2 * tp + fp + fn) == pytest.approx(f1_score(gold, pred, mode="strict", scheme=IOB2))


def test_conll_loader_reads_the_files_as_they_are(tmp_path, shared_data):
    p = tmp_path / "x.tsv"
    p.write_text(CONLL)
    qs = load_dataset(f"conll:{p}").questions
    assert [q.id for q in qs] == ["1", "2"] and qs[1].metadata["tokens"][1] == "fever"
    assert qs[0].task == "ner" and qs[0].metadata["tags"] == ["B-Chemical", "O", "B-Disease", "I-Disease", "O"]
    p.write_text("Aspirin\tB-Chemical\nfoo\tX-Disease\n")
    with pytest.raises(DatasetError, match="'X-Disease' is not an IOB tag"):
        load_dataset(f"conll:{p}")
    ncbi = load_dataset(f"conll:{shared_data / 'ner' / 'NCBI-disease-IOB' / 'devel.tsv'}")
    assert len(ncbi.questions) == 923


def test_negex_loader_finds_the_upper_cased_target():
    assert find_mention("Fever at home; no FEVER now.", "fever") == (18, 23)
    assert find_mention("No   PERICARDIAL\n EFFUSION is seen.", "pericardial effusion") == (5, 26)
    # a condition the kit's splitter cut: its longest part that is in the sentence
    assert find_mention("No adenopathy present.", "neck is supple.  No adenopathy present") == (0, 21)


class _Tagger:
    """A stand-in tagger that knows two words: the harness, not a model, is under test."""

    name = "two-words"

    def tag_tokens(self, sentences):
        return [["B-Disease" if t == "fever" else "B-Chemical" if t == "Aspirin" else "O" for t in s]
                for s in sentences]


def test_ner_run_writes_tag_sequences_and_strict_f1(tmp_path, monkeypatch):
    p = tmp_path / "x.tsv"
    p.write_text(CONLL)
    monkeypatch.setattr(NerTask, "load", lambda self, spec: _Tagger())
    res = run_eval(EvalConfig(dataset=f"conll:{p}", model="ner:two-words"), out_dir=tmp_path / "run")
    recs = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert recs[0]["gold"] == ["B-Chemical", "O", "B-Disease", "I-Disease", "O"]
    assert recs[0]["pred"] == ["B-Chemical", "O", "O", "O", "O"]
    m = res.summary["metrics"]
    # gold: Aspirin, gastric bleeding, fever, chest pain; found: Aspirin, fever
    assert (m["f1"]["tp"], m["f1"]["fp"], m["f1"]["fn"]) == (2, 0, 2)
    assert m["f1"]["value"] == pytest.approx(2 / 3) and m["seqeval"]["f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["Chemical"]["value"] == 1.0 and m["per_type"]["Disease"]["recall"] == pytest.approx(1 / 3)
    assert res.summary["task"] == ["ner"]


def test_ner_run_needs_a_tagger_spec(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text(CONLL)
    with pytest.raises(ValueError, match="ner:default"):
        run_eval(EvalConfig(dataset=f"conll:{p}", model="llamacpp:gemma3-270m"), out_dir=tmp_path / "run")


def test_negex_run_with_context_resumes(tmp_path, shared_data):
    spec = f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}"
    cfg = EvalConfig(dataset=spec, model="context", limit=40)
    run_eval(cfg, out_dir=tmp_path / "run")
    pred = tmp_path / "run" / "predictions.jsonl"
    lines = pred.read_text().splitlines()
    pred.write_text("\n".join(lines[:25]) + "\n" + lines[25][:10])  # killed mid-line
    res = run_eval(cfg, out_dir=tmp_path / "run")
    assert res.resumed == 25 and res.answered == 15
    recs = [json.loads(x) for x in pred.read_text().splitlines()]
    assert recs[0]["id"] == "1" and recs[0]["gold"] == "Negated" and recs[0]["pred"] == "Negated"
    assert {"gold_temporality", "pred_temporality", "gold_experiencer", "pred_experiencer"} <= set(recs[0])
    m = res.summary["metrics"]
    assert m["negation_f1"]["value"] > 0.8 and 0 <= m["negation_f1"]["bootstrap"][0] <= m["negation_f1"]["value"]
    assert m["accuracy"]["n"] == 40 and "temporality_accuracy" in m and "experiencer_f1" in m


def test_negex_run_rejects_a_language_model(tmp_path, shared_data):
    spec = f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}"
    with pytest.raises(ValueError, match="--model context"):
        run_eval(EvalConfig(dataset=spec, model="llamacpp:gemma3-270m", limit=2), out_dir=tmp_path / "r")


def test_cli_eval_shows_the_f1_rows(tmp_path, shared_data):
    from typer.testing import CliRunner

    from medllm.cli import app

    spec = f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}"
    r = CliRunner().invoke(app, ["eval", "--dataset", spec, "--model", "context", "--limit", "30",
                                 "--out", str(tmp_path / "r")], env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    assert "negation F1" in r.output and "temporality accuracy" in r.output


def test_strategies_do_not_apply_to_extraction_items(tmp_path):
    p = tmp_path / "x.tsv"
    p.write_text(CONLL)
    with pytest.raises(ValueError, match="--strategy and --shots do not apply"):
        run_eval(EvalConfig(dataset=f"conll:{p}", model="ner:dictionary", strategy="cot", mode="generate"),
                 out_dir=tmp_path / "r")
