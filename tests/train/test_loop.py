"""The whole loop on a real packaged model: LoRA SFT (two steps), export to a llama.cpp adapter,
parity, the before/after check through llama.cpp, and resuming a finished run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.config import load_settings
from medllm.models import load_model, parse_spec
from medllm.models.base import ModelNotFound
from medllm.train.recipe import load_recipe
from medllm.train.run import RunFolderError, train_run

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MEDMCQA = f"medmcqa:{SHARED / 'medmcqa' / 'dev_a.jsonl'}"


def test_adapter_spec_parses_and_checks_the_file(tmp_path: Path) -> None:
    ms = parse_spec("llamacpp:qwen2.5-coder-0.5b-instruct+/runs/a/adapter.gguf")
    assert (ms.target, ms.adapter) == ("qwen2.5-coder-0.5b-instruct", "/runs/a/adapter.gguf")
    assert str(ms) == "llamacpp:qwen2.5-coder-0.5b-instruct+/runs/a/adapter.gguf"
    with pytest.raises(ModelNotFound, match="adapter"):
        parse_spec("llamacpp:qwen2.5-coder-0.5b-instruct+")
    with pytest.raises(ModelNotFound, match="adapter file not found"):
        load_model(f"llamacpp:gemma3-270m+{tmp_path / 'none.gguf'}")


def test_sft_export_check_and_resume(tmp_path: Path) -> None:
    settings = load_settings()
    recipe = load_recipe(None, {
        "kind": "sft", "base": "qwen2.5-coder-0.5b-instruct", "data": MEDMCQA, "data_limit": 8,
        "eval": MEDMCQA, "eval_limit": 6, "seed": 1, "lora.top_layers": 1,
        "train.max_steps": 2, "train.batch_size": 2, "train.grad_accum": 1, "train.max_length": 96,
        "train.lr": 5e-3,
    })
    said: list[str] = []
    run = train_run(recipe, settings, out_dir=tmp_path / "run", say=said.append)

    data = json.loads((tmp_path / "run" / "data.json").read_text())
    assert len(data["train_ids"]) == 8 and len(data["held_out_ids"]) == 6
    assert not set(data["train_ids"]) & set(data["held_out_ids"])
    assert run.stats["steps"] == 2 and run.stats["tokens_per_s"] > 0
    assert run.adapter_gguf is not None and run.adapter_gguf.stat().st_size > 10_000
    assert run.parity is not None and run.parity.passed, run.parity
    assert run.parity.tuned_shift_max > 0  # training moved the scores, so parity compared something
    assert run.comparison is not None and run.comparison.n == 6
    assert not (tmp_path / "run" / "checkpoints").exists()

    # the runtime serves base + adapter, and it scores differently from the base alone
    spec = json.loads((tmp_path / "run" / "metrics.json").read_text())["runtime_spec"]
    ctx = "Question: Which organ produces insulin?\nChoices:\nA. Liver\nB. Pancreas\nAnswer:"
    scores = []
    for s in (spec.split("+")[0], spec):
        m = load_model(s, settings, cache=False)
        scores.append(m.loglikelihood([(ctx, " B")])[0].logprob)
        m.close()
    assert abs(scores[0] - scores[1]) > 1e-3

    # a rerun of the same recipe resumes the finished run instead of training again
    said.clear()
    train_run(recipe, settings, out_dir=tmp_path / "run", say=said.append)
    assert any("already finished" in m for m in said)
    # another recipe may not take over the folder
    other = recipe.model_copy(update={"seed": 2})
    with pytest.raises(RunFolderError, match="another recipe"):
        train_run(other, settings, out_dir=tmp_path / "run", say=said.append)


def test_dpo_on_safety_pairs_with_the_reply_check(tmp_path: Path) -> None:
    settings = load_settings()
    safety = f"safety:{SHARED / 'safety' / 'safety_dev.jsonl'}"
    recipe = load_recipe(None, {
        "kind": "dpo", "base": "qwen2.5-coder-0.5b-instruct", "data": safety, "data_limit": 4,
        "eval": safety, "eval_limit": 12, "seed": 3, "lora.top_layers": 1,
        "train.max_steps": 1, "train.batch_size": 2, "train.grad_accum": 1, "train.max_length": 64,
    })
    said: list[str] = []
    run = train_run(recipe, settings, out_dir=tmp_path / "dpo", say=said.append, reply_check_n=3)
    assert run.stats["steps"] == 1
    assert run.parity is not None and run.parity.passed, run.parity
    assert run.comparison is not None and run.comparison.n == 12
    assert run.replies is not None and 1 <= run.replies.n <= 3
    saved = json.loads((tmp_path / "dpo" / "replies_after.json").read_text())
    assert all(r["behaviour"] in ("refuse", "urgent", "answer") and r["reply"] for r in saved["replies"])
    # a rerun reuses the replies instead of generating them again
    said.clear()
    again = train_run(recipe, settings, out_dir=tmp_path / "dpo", say=said.append, reply_check_n=3)
    assert not any(m.startswith("replies of") for m in said)
    assert again.replies == run.replies
