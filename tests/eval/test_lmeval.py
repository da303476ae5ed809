"""lm-evaluation-harness through medllm's llama.cpp engine (real lm-eval, real Gemma 3 270M)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

pytest.importorskip("lm_eval", reason="lm-eval is an optional dependency (pip install 'medllm[bench]')")

from medllm.eval import lmeval  # noqa: E402
from medllm.eval.datasets import load_dataset  # noqa: E402
from medllm.eval.lmeval_tasks import loaders  # noqa: E402
from medllm.tasks.prompts import loglik_requests  # noqa: E402

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def tasks():
    """lm-eval's task index, built once (seconds) for the module."""
    from lm_eval.tasks import TaskManager

    return TaskManager()


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Any attempt to open a network connection fails the test (lm-eval's tasks name hub
    datasets; ours must read local files only). The HF variables are restored afterwards."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_adapter_answers_lmeval_requests_with_the_models_scores(base_model):
    from lm_eval.api.instance import Instance

    ctx = "Question: Which vitamin deficiency causes scurvy?\nAnswer:"
    conts = [" Vitamin C", " Vitamin D", " iron"]
    reqs = [Instance(request_type="loglikelihood", doc={}, arguments=(ctx, c), idx=i)
            for i, c in enumerate(conts)]
    reqs.append(Instance(request_type="loglikelihood", doc={}, arguments=("Answer: yes or", " no"), idx=0))
    seen = []
    lm = lmeval.lmeval_lm(base_model, progress=lambda done, total: seen.append((done, total)))
    got = lm.loglikelihood(reqs)
    want = base_model.loglikelihood([r.args for r in reqs])
    assert got == [(w.logprob, w.is_greedy) for w in want]
    assert all(lp < 0 for lp, _ in got) and len({lp for lp, _ in got}) == 4
    assert seen == [(3, 4), (4, 4)]  # one model call per run of requests on one context
    assert lm.model_seconds > 0
    with pytest.raises(NotImplementedError, match="multiple-choice"):
        lm.generate_until(reqs)


def test_lmeval_and_medllm_agree_on_medmcqa_and_pubmedqa(base_model, shared_data, tasks):
    for task, path, n in (("medmcqa", shared_data / "medmcqa" / "dev_a.jsonl", 3),
                          ("pubmedqa", shared_data / "pubmedqa" / "pqal_dev.json", 2)):
        p = lmeval.compare_with_medllm(task, path, base_model, limit=n, task_manager=tasks)
        assert p.n == n and p.lm_eval_version == "0.4.13"
        # same prompt string, same model: the scores are the same numbers, so are the choices
        assert p.same_prompt == p.same_gold == n and p.first_prompt_diff is None
        assert p.max_logprob_diff == 0.0
        assert p.agreement == p.agreement_norm == 1.0 and not p.disagreements
        assert (p.lmeval_acc, p.lmeval_acc_norm) == (p.medllm_acc, p.medllm_acc_norm)
        assert p.lmeval_seconds > p.lmeval_model_seconds > 0 and p.medllm_seconds > 0


def test_medqa_4options_runs_lmevals_layout_on_a_local_file(base_model, tasks):
    run = lmeval.run_lmeval_task("medqa_4options", FIX / "medqa_4options_written.jsonl", base_model, limit=2,
                                 task_manager=tasks)
    first = json.loads((FIX / "medqa_4options_written.jsonl").read_text().splitlines()[0])
    assert [it.id for it in run.items] == ["medqa-1", "medqa-2"] and run.labels == list("ABCD")
    assert [it.gold for it in run.items] == ["B", "C"]
    # lm-eval's medqa_4options layout: options straight after the question, no "Choices:" line
    opts = "".join(f"{k}. {v}\n" for k, v in first["options"].items())
    assert run.items[0].context == f"Question: {first['question']}\n{opts}Answer:"
    scores = base_model.loglikelihood([(run.items[0].context, f" {k}") for k in "ABCD"])
    assert run.items[0].logprobs == [r.logprob for r in scores]
    assert run.acc == sum(it.pred == it.gold for it in run.items) / 2


def test_local_task_config_keeps_lmevals_task_and_reads_the_local_file(shared_data, tasks):
    cfg = lmeval.task_config("medmcqa", shared_data / "medmcqa" / "dev_a.jsonl", tasks)
    assert cfg["task"] == "medmcqa_local" and cfg["doc_to_choice"] == list("ABCD")
    assert cfg["doc_to_text"].__module__.startswith("lm_eval.tasks.medmcqa")  # lm-eval's own code
    docs = cfg["custom_dataset"](**cfg["dataset_kwargs"])["validation"]
    q = load_dataset(f"medmcqa:{shared_data / 'medmcqa' / 'dev_a.jsonl'}").questions[0]
    assert docs[0]["id"] == q.id and "ABCD"[docs[0]["cop"]] == q.gold  # cop 1-4 -> 0-3
    assert cfg["doc_to_text"](docs[0]) == loglik_requests(q)[0]
    with pytest.raises(ValueError, match="unknown lm-eval task 'mmlu'"):
        lmeval.task_config("mmlu", "x.jsonl", tasks)


def test_loaders_name_the_file_and_field_of_bad_input(tmp_path):
    five = tmp_path / "medqa5.jsonl"
    five.write_text(json.dumps({"question": "q", "options": dict(zip("ABCDE", "vwxyz")), "answer_idx": "A"}) + "\n")
    with pytest.raises(loaders.LocalTaskDataError, match=r"medqa5.jsonl \(line 1\): options must .* keys A-D"):
        loaders.medqa_4options(str(five))
    bad = tmp_path / "mcq.jsonl"
    bad.write_text(json.dumps({"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 5}) + "\n")
    with pytest.raises(loaders.LocalTaskDataError, match=r"mcq.jsonl \(line 1\): cop 5 is not in 1-4"):
        loaders.medmcqa(str(bad))
    pm = tmp_path / "pq.json"
    pm.write_text(json.dumps({"1": {"QUESTION": "q", "CONTEXTS": ["c"]}}))
    with pytest.raises(loaders.LocalTaskDataError, match=r"key '1'.*final_decision"):
        loaders.pubmedqa(str(pm))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        loaders.pubmedqa(str(tmp_path / "missing.json"))


def test_missing_lm_eval_is_a_clear_error(monkeypatch, base_model):
    lmeval._lm_class.cache_clear()
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # import lm_eval -> ImportError
    try:
        with pytest.raises(lmeval.LmEvalMissing, match=r"pip install 'medllm\[bench\]'"):
            lmeval.lmeval_lm(base_model)
    finally:
        lmeval._lm_class.cache_clear()
