"""Composed strategies run through the evaluation harness, with the resources they need."""

from __future__ import annotations

import pytest

from medllm.eval.datasets import DatasetSpec, LoadedDataset
from medllm.eval.runner import EvalConfig, run_eval
from medllm.knowledge.index import build_index
from medllm.types import Passage


def test_runner_passes_the_index_to_rag(base_model, question, tmp_path):
    # without the runner handing the index over, rag would raise "rag needs a retriever"
    ix = tmp_path / "ix"
    build_index([Passage(id="w", doc_id="w", title="Warfarin", text="Warfarin is an oral anticoagulant.", source="t"),
                 Passage(id="m", doc_id="m", title="Metformin", text="Metformin treats type 2 diabetes.", source="t")],
                ix, dense=False)
    ds = LoadedDataset(spec=DatasetSpec("jsonl", tmp_path / "none.jsonl"), questions=[question])
    cfg = EvalConfig(dataset="jsonl:inline", model=base_model.info.spec, mode="loglik",
                     strategy="rag(k=1)+choice-shuffle(n=2)", extra={"index": str(ix)})
    res = run_eval(cfg, model=base_model, out_dir=tmp_path / "run", dataset=ds)
    assert res.summary["n"] == 1 and res.summary["strategy"] == cfg.strategy
    assert res.summary["prompt_tokens"] > 0


def test_missing_index_is_a_clear_error(tmp_path):
    from medllm.session import Session

    session = Session.configure()
    with pytest.raises(FileNotFoundError, match="medllm kb build-default"):
        session.index(tmp_path / "nothing")
    assert session.index(tmp_path / "nothing", optional=True) is None and session.notes
