"""The harness on the generation kinds: loaders of the four dev files as they are, ROUGE,
K-QA scoring with the real judge, and `medllm eval` runs (predictions with id / pred, CIs,
resume, show and report) with the real 0.5B model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.eval.datasets import DatasetError, load_dataset
from medllm.eval.gen_tasks import rouge, score_kqa
from medllm.eval.runner import EvalConfig, run_eval


@pytest.mark.parametrize("spec,n,task", [
    ("aci:aci_bench/aci_bench_dev.jsonl", 87, "note"),
    ("aci:aci_bench/aci_bench_dev.jsonl#valid", 20, "note"),
    ("mtsdialog:mts_dialog/mts_dialog_dev.jsonl", 1301, "section"),
    ("mtsdialog:mts_dialog/mts_dialog_dev.jsonl#validation", 100, "section"),
    ("meqsum:meqsum/meqsum_dev.jsonl", 500, "summary"),
    ("kqa:kqa/kqa_dev.jsonl", 100, "kqa"),
])
def test_loaders_read_the_dev_files(shared_data, spec, n, task):
    kind, path = spec.split(":", 1)
    ds = load_dataset(f"{kind}:{shared_data / path}")
    assert len(ds.questions) == n and {q.task for q in ds.questions} == {task}
    q = ds.questions[0]
    assert q.question.strip() and q.gold
    if task == "kqa":
        assert q.metadata["must_have"] and isinstance(q.metadata["nice_to_have"], list)
        # the README counts 432 must-have statements; 3 of them are empty strings, dropped
        assert sum(len(x.metadata["must_have"]) for x in ds.questions) == 429
    if task == "section":
        assert q.metadata["header"] == q.subject


def test_bad_records_name_file_line_and_field(tmp_path):
    f = tmp_path / "k.jsonl"
    f.write_text(json.dumps({"id": "a", "Question": "q?", "Must_have": "not a list"}) + "\n")
    with pytest.raises(DatasetError, match=r"k.jsonl, line 1, field 'Must_have'"):
        load_dataset(f"kqa:{f}")
    g = tmp_path / "m.jsonl"
    g.write_text(json.dumps({"id": "x", "chq": "what is x?"}) + "\n" + json.dumps({"id": "y", "chq": "y?", "summary": "Y?"}) + "\n")
    with pytest.raises(DatasetError, match="field 'summary'"):
        load_dataset(f"meqsum:{g}")
    assert len(load_dataset(f"meqsum:{g}", skip_invalid=True).questions) == 1


def test_rouge_matches_the_package_definition():
    assert rouge("Who makes cetirizine?", "Who makes cetirizine?")["rouge1"] == 100.0
    r = rouge("Who manufactures cetirizine?", "Who makes cetirizine?")
    assert r["rouge1"] == pytest.approx(100 * 2 / 3, abs=0.01) and r["rouge2"] == 0.0


def test_kqa_scoring_with_the_minilm_judge():
    from medllm.trust.grounding import EmbeddingJudge

    answer = ("Escitalopram (Lexapro) is an antidepressant of the SSRI class. "
              "Common side effects include nausea and insomnia.")
    s = score_kqa(answer, ["Escitalopram is an antidepressant of the SSRI class",
                           "Lexapro is not approved for children under 12 years of age"],
                  ["Escitalopram does not cause insomnia"], EmbeddingJudge())
    assert s["must"] == 2 and s["must_entailed"] == 1
    assert s["contradicted"] == 1 and s["unsupported"][0]["claim"] == "Escitalopram does not cause insomnia"
    assert s["missed"] == ["Lexapro is not approved for children under 12 years of age"]


def test_meqsum_run_resumes_and_reports(shared_data, chat_model, tmp_path):
    spec = f"meqsum:{shared_data / 'meqsum/meqsum_dev.jsonl'}"
    cfg = EvalConfig(dataset=spec, model=chat_model.info.spec, mode="generate", limit=2)
    out = tmp_path / "run"
    first = run_eval(EvalConfig(**{**cfg.__dict__, "limit": 1}), model=chat_model, out_dir=tmp_path / "one")
    assert first.answered == 1
    res = run_eval(cfg, model=chat_model, out_dir=out)
    lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == ["1-131188152.xml.txt", "14348.txt"]
    assert all(x["pred"] and x["task"] == "summary" and "rouge1" in x["rouge"] for x in lines)
    m = res.summary["metrics"]
    assert 0 <= m["rouge1"]["bootstrap"][0] <= m["rouge1"]["value"] <= m["rouge1"]["bootstrap"][1] <= 1
    assert m["factuality"]["statements"] >= 2 and m["judge"]["name"].startswith("minilm")
    again = run_eval(cfg, model=chat_model, out_dir=out)
    assert again.answered == 0 and again.resumed == 2 and again.summary["metrics"]["rouge1"] == m["rouge1"]

    from medllm.eval.report import render_report
    from medllm.eval.store import resolve_run

    html = render_report([resolve_run(str(out), None)])
    assert "Generation: ROUGE, factuality, K-QA" in html and "ROUGE-1" in html


def test_strategy_and_shots_checks(shared_data, chat_model, tmp_path):
    meq = f"meqsum:{shared_data / 'meqsum/meqsum_dev.jsonl'}"
    with pytest.raises(ValueError, match="--strategy 'rag'"):
        run_eval(EvalConfig(dataset=meq, model=chat_model.info.spec, strategy="rag", limit=1), model=chat_model,
                 out_dir=tmp_path / "a")
    kqa = f"kqa:{shared_data / 'kqa/kqa_dev.jsonl'}"
    with pytest.raises(ValueError, match="must be a summary dataset"):
        run_eval(EvalConfig(dataset=meq, model=chat_model.info.spec, shots=1, shots_from=kqa, limit=1),
                 model=chat_model, out_dir=tmp_path / "b")


@pytest.mark.slow
def test_mtsdialog_few_shot_run(shared_data, chat_model, tmp_path):
    mts = shared_data / "mts_dialog/mts_dialog_dev.jsonl"
    res = run_eval(EvalConfig(dataset=f"mtsdialog:{mts}#validation", model=chat_model.info.spec, mode="generate",
                              shots=1, shots_from=f"mtsdialog:{mts}#train", limit=1), model=chat_model,
                   out_dir=tmp_path / "m")
    rec = json.loads((Path(res.out_dir) / "predictions.jsonl").read_text().splitlines()[0])
    assert rec["shot_ids"] and rec["shot_ids"][0].startswith("train-") and rec["pred"]


def test_rubric_scheme_clips_and_subtracts():
    from medllm.eval.gen_tasks import Criterion, score_rubric

    class Says:  # a grader that reads the reply literally: stands in for the model in this arithmetic test
        def meets(self, conversation, response, criterion):
            return criterion.split("'")[1] in response

    rubric = [Criterion("mentions 'ibuprofen'", 5), Criterion("mentions 'see a doctor'", 3),
              Criterion("mentions 'double the dose'", -4)]
    assert score_rubric("", "Take ibuprofen; see a doctor if it persists.", rubric, Says()).score == 1.0
    s = score_rubric("", "Take ibuprofen and double the dose.", rubric, Says())
    assert s.points_met == 1 and s.points_possible == 8 and s.score == pytest.approx(1 / 8)
    assert score_rubric("", "double the dose", rubric, Says()).score == 0.0  # clipped


def test_healthbench_loader_and_model_grader(tmp_path, chat_model):
    from medllm.eval.gen_tasks import ModelGrader, parse_rubric

    f = tmp_path / "hb.jsonl"
    rows = [{"prompt_id": "p1", "prompt": [{"role": "user", "content": "Can I take ibuprofen for a headache?"}],
             "rubrics": [{"criterion": "States that ibuprofen can relieve headaches", "points": 5},
                         {"criterion": "Recommends more than 3200 mg a day", "points": -8}]},
            {"prompt_id": "p2", "prompt": "hi", "rubrics": [{"criterion": "", "points": 1}]}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DatasetError, match="line 2, field 'rubrics'"):
        load_dataset(f"healthbench:{f}")
    q = load_dataset(f"healthbench:{f}", skip_invalid=True).questions[0]
    assert q.task == "rubric" and q.question.startswith("user: Can I take ibuprofen")
    g = ModelGrader(chat_model)
    rubric = parse_rubric(q.metadata["rubrics"])
    good = "Yes. Ibuprofen relieves most headaches; take 200-400 mg with food, at most 1200 mg a day without advice."
    # the 0.5B is a weak grader: it ranks a reply that meets the criterion above one that does not,
    # and above the content-free reply its verdicts are calibrated against
    assert g.margin(q.question, good, rubric[0].text) > g.margin(q.question, "I like trains.", rubric[0].text)
    assert g.meets(q.question, good, rubric[0].text)
