"""The gate in `medllm eval`: a remote model sees scrubbed questions, and predictions.jsonl holds
no re-identified remote output unless asked (--reidentify)."""

from __future__ import annotations

import json

import pytest

from medllm.eval.runner import EvalConfig, run_eval
from support import FakeRemoteBackend

QUESTION = ("Mr. John Vasquez, seen on 03/14/2023 at Calvert Hospital, has fever and dysuria. "
            "Which organism is most likely?")


@pytest.mark.parametrize("reidentify", [False, True])
def test_eval_predictions_hold_no_reidentified_remote_output(tmp_path, reidentify):
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({
        "question": QUESTION, "answer": "Escherichia coli", "answer_idx": "B", "meta_info": "x",
        "options": {"A": "Staphylococcus aureus", "B": "Escherichia coli", "C": "Candida albicans"},
    }) + "\n")
    model = FakeRemoteBackend(prefix="B. About ", limit=200)
    cfg = EvalConfig(dataset=f"medqa:{data}", model="openai:fake", mode="generate")
    run_eval(cfg, model=model, out_dir=tmp_path / "run", reidentify=reidentify)
    sent = "\n".join(model.received)
    assert "Vasquez" not in sent and "03/14/2023" not in sent
    rec = json.loads((tmp_path / "run" / "predictions.jsonl").read_text().splitlines()[0])
    assert rec["pred"] == "B"
    assert ("Vasquez" in rec["raw"]) == reidentify
