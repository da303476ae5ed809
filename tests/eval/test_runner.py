"""The runner, the direct solver and the summary on real packaged models (llama.cpp)."""

from __future__ import annotations

import json
import os
import math
from pathlib import Path

import pytest

from medllm.eval.runner import EvalConfig, run_eval
from medllm.eval.store import RunStore
from medllm.models import load_model
from medllm.reasoning.base import SolveContext, get_solver
from medllm.tasks.prompts import loglik_requests

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def gemma():
    m = load_model("llamacpp:gemma3-270m", cache=False)
    yield m
    m.close()


@pytest.fixture(scope="module")
def qwen():
    m = load_model("llamacpp:qwen2.5-coder-0.5b-instruct", cache=False)
    yield m
    m.close()


def _medmcqa(shared_data: Path) -> str:
    return f"medmcqa:{shared_data}/medmcqa/dev_a.jsonl"


def test_loglik_run_writes_consistent_records(gemma, shared_data, tmp_path):
    cfg = EvalConfig(dataset=_medmcqa(shared_data), model="llamacpp:gemma3-270m", limit=3)
    res = run_eval(cfg, model=gemma, out_dir=tmp_path / "run")
    lines = (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 3 and res.answered == 3 and res.resumed == 0
    for r in recs:
        lp = r["option_logprobs"]
        assert set(lp) == {"A", "B", "C", "D"} and all(v < 0 for v in lp.values())
        assert r["pred"] == max(lp, key=lp.get)
        assert math.isclose(sum(r["option_probs"].values()), 1.0, rel_tol=1e-9)
        assert r["confidence"] == max(r["option_probs"].values())
        assert r["correct"] == (r["pred"] == r["gold"])
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    acc = s["metrics"]["accuracy"]
    assert s["n"] == 3 and acc["k"] == sum(r["correct"] for r in recs)
    assert acc["wilson"][0] <= acc["value"] <= acc["wilson"][1]
    assert "ece" in s["metrics"] and "per_subject" in s["metrics"]
    rows = RunStore(Path(os.environ["MEDLLM_HOME"]) / "runs.sqlite").list()
    assert [r.run_id for r in rows] == [res.run_id] and rows[0].status == "done"


def test_shared_prefix_scores_match_separate_scoring(gemma):
    """Options scored on one shared prefix must equal scoring each (context, option) alone."""
    from medllm.eval.datasets import load_dataset

    q = load_dataset(f"medqa:{FIX}/medqa.jsonl").questions[1]  # short, five options
    ctx, conts = loglik_requests(q)
    # the naive path decodes each pair from scratch and leaves the KV cache empty, so the
    # solver's shared-prefix call below starts from the same state (llama.cpp's numerics vary
    # by a few hundredths of a nat with the decode batch split)
    alone = [r.logprob for r in gemma.loglikelihood([(ctx, c) for c in conts], share_prefix=False)]
    ans = get_solver("direct")(q, SolveContext(model=gemma))
    got = [ans.metadata["option_logprobs"][lbl] for lbl in q.labels]
    assert got == pytest.approx(alone, abs=1e-4)
    assert ans.choice == q.labels[alone.index(max(alone))]


def _pubmedqa_bare(shared_data: Path) -> str:
    return f"pubmedqa:{shared_data}/pubmedqa/pqal_dev.json?context=0"  # short prompts: quick


def test_resume_keeps_done_items_and_drops_torn_line(gemma, shared_data, tmp_path):
    cfg = EvalConfig(dataset=_pubmedqa_bare(shared_data), model="llamacpp:gemma3-270m", limit=3)
    out = tmp_path / "run"
    run_eval(cfg, model=gemma, out_dir=out)
    pred = out / "predictions.jsonl"
    first = pred.read_text().splitlines()
    # as if killed after one item, in the middle of writing the second
    pred.write_text(first[0] + "\n" + first[1][: len(first[1]) // 2])
    (out / "summary.json").unlink()
    res = run_eval(cfg, model=gemma, out_dir=out)
    again = pred.read_text().splitlines()
    assert res.resumed == 1 and res.answered == 2
    assert again[0] == first[0]
    assert [json.loads(x)["id"] for x in again] == [json.loads(x)["id"] for x in first]
    assert [json.loads(x)["pred"] for x in again] == [json.loads(x)["pred"] for x in first]


def test_other_arguments_into_same_directory_are_refused(gemma, shared_data, tmp_path):
    out = tmp_path / "run"
    run_eval(EvalConfig(dataset=_pubmedqa_bare(shared_data), model="llamacpp:gemma3-270m", limit=1),
             model=gemma, out_dir=out)
    with pytest.raises(ValueError, match="different run .limit"):
        run_eval(EvalConfig(dataset=_pubmedqa_bare(shared_data), model="llamacpp:gemma3-270m", limit=2),
                 model=gemma, out_dir=out)


def test_kshot_pubmedqa_question_only(gemma, shared_data, tmp_path):
    cfg = EvalConfig(
        dataset=f"pubmedqa:{shared_data}/pubmedqa/pqal_dev.json?context=0",
        model="llamacpp:gemma3-270m", limit=2, shots=2,
        shots_from=f"pubmedqa:{shared_data}/pubmedqa/pqal_dev.json?context=0", seed=3,
    )
    res = run_eval(cfg, model=gemma, out_dir=tmp_path / "run")
    s = res.summary
    assert len(s["shot_ids"]) == 2 and not set(s["shot_ids"]) & {"10808977"}
    assert "macro_f1" in s["metrics"] and "acc_norm" in s["metrics"]
    recs = [json.loads(x) for x in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert all(set(r["option_probs"]) == {"yes", "no", "maybe"} for r in recs)
    # acc_norm divides by the continuation's length, so it can pick another option than acc
    for r in recs:
        lp = r["option_logprobs"]
        assert r["pred_norm"] == max(lp, key=lambda k: lp[k] / len(k))


def test_shots_need_a_source():
    with pytest.raises(ValueError, match="--shots-from"):
        EvalConfig(dataset="medqa:x", model="m", shots=2).validate()


def test_generate_mode_with_chat_model(qwen, tmp_path):
    cfg = EvalConfig(dataset=f"medqa:{FIX}/medqa.jsonl", model="llamacpp:qwen2.5-coder-0.5b-instruct",
                     mode="generate", max_tokens=8, limit=1)
    res = run_eval(cfg, model=qwen, out_dir=tmp_path / "gen")
    recs = [json.loads(x) for x in (tmp_path / "gen" / "predictions.jsonl").read_text().splitlines()]
    assert all(r["raw"] for r in recs) and all(r["option_probs"] is None for r in recs)
    assert all((r["pred"] is None) == r["parse_failed"] for r in recs)
    assert all(r["completion_tokens"] > 0 for r in recs)
    m = res.summary["metrics"]
    assert m["parse_failure_rate"]["k"] == sum(r["parse_failed"] for r in recs)
    assert "ece" not in m


def test_generate_mode_with_base_model_uses_completion(gemma, tmp_path):
    cfg = EvalConfig(dataset=f"mirage:{FIX}/benchmark.json#bioasq", model="llamacpp:gemma3-270m",
                     mode="generate", max_tokens=8)
    res = run_eval(cfg, model=gemma, out_dir=tmp_path / "gen")
    assert res.summary["n"] == 2 and "parse_failure_rate" in res.summary["metrics"]


def _gen_records(preds: list[str], golds: list[str], supported: list[int]) -> list[dict]:
    """Records as the generation kinds write them: no right / wrong, per-item ROUGE and factuality."""
    from medllm.eval.gen_tasks import rouge

    return [{"id": f"n{i}", "task": "summary", "gold": g, "pred": p, "correct": None, "rouge": rouge(p, g),
             "statements": 4, "supported": s} for i, (p, g, s) in enumerate(zip(preds, golds, supported))]


GOLDS = [f"Patient {i} asks whether drug {chr(65 + i)} interacts with warfarin and what dose is safe." for i in range(12)]


def test_compare_generation_runs_pairs_their_per_item_scores():
    from medllm.eval.runner import compare_runs

    a = _gen_records([" ".join(g.split()[:5]) for g in GOLDS], GOLDS, [2] * 12)  # half the words
    b = _gen_records([g.replace(" safe", "") for g in GOLDS], GOLDS, [3] * 11 + [4])  # nearly all
    c = compare_runs(a, b[1:], seed=1)  # B lacks one item: pairs are matched by id
    assert c["kind"] == "scores" and c["n_shared"] == 11 and "accuracy_a" not in c
    r1 = c["scores"]["rouge1"]
    assert r1["n"] == 11 and 0.3 < r1["diff_b_minus_a"] < 0.6 and 0 < r1["diff_ci"][0] <= r1["diff_ci"][1]
    fa = c["scores"]["factuality"]
    assert (fa["mean_a"], round(fa["diff_b_minus_a"], 4)) == (0.5, round((10 * 0.25 + 0.5) / 11, 4))
    assert "hallucination" not in c["scores"]  # no K-QA statements in these records
    assert compare_runs(b, a, seed=1)["scores"]["rouge1"]["diff_b_minus_a"] < 0  # direction is B - A
    # runs whose items are right or wrong keep the accuracy comparison
    acc = compare_runs([{"id": "x", "pred": "A", "correct": True}], [{"id": "x", "pred": "B", "correct": False}])
    assert acc["kind"] == "accuracy" and acc["diff_b_minus_a"] == -1.0
    with pytest.raises(ValueError, match="per-item score"):
        compare_runs([{"id": "x", "pred": "", "correct": None}], [{"id": "x", "pred": "", "correct": None}])


def test_editing_the_context_rules_starts_a_new_run(tmp_path, shared_data):
    import shutil

    from medllm.tasks.ie.context import RULES_FILE

    rules = tmp_path / "rules.json"
    shutil.copy(RULES_FILE, rules)
    spec = f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}"
    cfg = EvalConfig(dataset=spec, model=f"context:{rules}", limit=3)
    first = run_eval(cfg)
    assert run_eval(cfg).resumed == 3  # the same rules: the same run
    rules.write_text(rules.read_text() + "\n")  # any edit
    assert cfg.run_id != first.run_id
    again = run_eval(cfg)
    assert again.out_dir != first.out_dir and again.resumed == 0
    with pytest.raises(ValueError, match="context_rules_sha256"):  # nor into the old directory
        run_eval(cfg, out_dir=first.out_dir)
    # the shipped rules count too; runs of other kinds carry no rules hash
    assert "context_rules_sha256" in EvalConfig(dataset=spec, model="context").identity()
    assert "context_rules_sha256" not in EvalConfig(dataset=spec, model="llamacpp:gemma3-270m").identity()
