"""`medllm eval` through the runners: a real local Ray cluster (started once for the module), a
real packaged model on the workers, against the local runner on the same items."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medllm.eval.runner import EVAL_CHUNK, EvalConfig, plan_eval
from medllm.runners import get_runner
from medllm.runners.eval import EvalJob



def _metrics(summary: dict) -> dict:
    return {k: v for k, v in summary["metrics"].items() if k != "chars_per_s"}  # a speed, not a score


def _records(path: Path) -> list[dict]:
    recs = [json.loads(x) for x in path.read_text().splitlines()]
    for r in recs:
        r.pop("latency", None)  # wall time of one item: the one field that differs by runner
    return recs


def test_plan_eval_leaves_out_finished_items(tmp_path: Path, shared_data: Path) -> None:
    cfg = EvalConfig(dataset=f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}", model="context", limit=20)
    get_runner("local").run(EvalJob(cfg, out_dir=tmp_path / "run"))
    pred = tmp_path / "run" / "predictions.jsonl"
    lines = pred.read_text().splitlines()
    pred.write_text("\n".join(lines[:11]) + "\n" + lines[11][:7])  # killed mid-line
    plan = plan_eval(cfg, out_dir=tmp_path / "run")
    assert [q.id for q in plan.pending] == [json.loads(x)["id"] for x in lines[11:]]
    assert [len(c) for c in plan.chunks()] == [EVAL_CHUNK, 9 - EVAL_CHUNK]


def test_eval_on_ray_equals_local_and_resumes(tmp_path: Path, shared_data: Path, ray_cluster) -> None:
    """An item-task run (ConText on NegEx, one predictor per worker): the same records and
    summary metrics as the local runner; a run cut mid-line is finished on Ray, each item once."""
    cfg = EvalConfig(dataset=f"negex:{shared_data / 'negex' / 'negex_dev.jsonl'}", model="context", limit=40)
    a = get_runner("local").run(EvalJob(cfg, out_dir=tmp_path / "local"))
    ray_runner = get_runner("ray", workers=2)
    b = ray_runner.run(EvalJob(cfg, out_dir=tmp_path / "ray"))
    assert ray_runner.last is not None and ray_runner.last.units_sent == 40 // EVAL_CHUNK
    assert _records(tmp_path / "local" / "predictions.jsonl") == _records(tmp_path / "ray" / "predictions.jsonl")
    assert _metrics(a.summary) == _metrics(b.summary) and a.run_id == b.run_id
    pred = tmp_path / "ray" / "predictions.jsonl"
    lines = pred.read_text().splitlines()
    pred.write_text("\n".join(lines[:25]) + "\n" + lines[25][:10])  # a run killed mid-line
    c = ray_runner.run(EvalJob(cfg, out_dir=tmp_path / "ray"))
    assert c.resumed == 25 and c.answered == 15 and ray_runner.last.units_sent == 2
    assert _records(pred) == _records(tmp_path / "local" / "predictions.jsonl")
    assert _metrics(c.summary) == _metrics(a.summary)


def test_model_eval_cli_on_ray_workers_equals_local(tmp_path: Path, shared_data: Path, ray_cluster,
                                                     monkeypatch) -> None:
    """A model-answered run (gemma3-270m, log-likelihood; the worker loads its own model) through the CLI;
    no response cache, so the workers answer rather than read the local run's answers."""
    from typer.testing import CliRunner

    from medllm.cli import app

    monkeypatch.setenv("MEDLLM_CACHE", "false")

    args = ["eval", "--dataset", f"pubmedqa:{shared_data}/pubmedqa/pqal_dev.json?context=0",
            "--model", "llamacpp:gemma3-270m", "--limit", "5"]
    cli = CliRunner()
    a = cli.invoke(app, [*args, "--out", str(tmp_path / "local")])
    assert a.exit_code == 0, a.output
    b = cli.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--runner", "ray", "--workers", "1"])
    assert b.exit_code == 0, b.output
    assert "ray: 1 worker(s)" in b.output and "1 chunks of items on workers" in b.output
    assert not (Path(os.environ["MEDLLM_HOME"]) / "cache" / "responses.sqlite").exists()
    ra, rb = _records(tmp_path / "local" / "predictions.jsonl"), _records(tmp_path / "ray" / "predictions.jsonl")
    assert len(ra) == 5 and [r["id"] for r in ra] == [r["id"] for r in rb]
    assert [r["pred"] for r in ra] == [r["pred"] for r in rb]
    for x, y in zip(ra, rb, strict=True):
        assert x["option_probs"] == pytest.approx(y["option_probs"], abs=1e-4)
    bad = cli.invoke(app, [*args, "--out", str(tmp_path / "x"), "--workers", "2"])
    assert bad.exit_code != 0 and "--runner ray" in bad.output
