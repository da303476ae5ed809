"""The `medllm eval` command line: a real subprocess killed with SIGKILL mid-run and restarted,
and list / show / compare / report on stored runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medllm.cli import app

REPO = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parent / "fixtures"


def _medllm(*args: str) -> list[str]:
    return [sys.executable, "-c", "from medllm.cli import main; main()", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"
    return env


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines() if p.exists() else []


def test_sigkill_mid_run_then_resume_finishes_the_rest(shared_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    n = 8  # PubMedQA question-only: short prompts keep this quick on a busy CPU
    args = _medllm("eval", "--dataset", f"pubmedqa:{shared_data}/pubmedqa/pqal_dev.json?context=0",
                   "--model", "llamacpp:gemma3-270m", "--limit", str(n), "--out", str(out))
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pred = out / "predictions.jsonl"
    deadline = time.monotonic() + 120
    while len(_lines(pred)) < 2:
        assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the run wrote no predictions in 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = pred.read_bytes()
    complete_before = [x for x in before.decode().split("\n")[:-1] if x]
    assert 2 <= len(complete_before) < n, "killed too late to test resuming"
    assert not (out / "summary.json").exists()

    done = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed" in done.stdout
    after = _lines(pred)
    ids = [json.loads(x)["id"] for x in after]
    assert len(ids) == n and len(set(ids)) == n  # nothing lost, nothing duplicated
    assert after[: len(complete_before)] == complete_before  # done items were kept, not redone
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == n and summary["resumed_items"] >= len(complete_before)
    assert summary["metrics"]["accuracy"]["k"] == sum(json.loads(x)["correct"] for x in after)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two real runs on the same fixture items: gemma zero-shot and gemma one-shot."""
    from medllm.eval.runner import EvalConfig, run_eval
    from medllm.models import load_model

    base = tmp_path_factory.mktemp("runs")
    model = load_model("llamacpp:gemma3-270m", cache=False)
    try:
        a = run_eval(EvalConfig(dataset=f"medqa:{FIX}/medqa.jsonl", model="llamacpp:gemma3-270m"),
                     model=model, out_dir=base / "a")
        b = run_eval(EvalConfig(dataset=f"medqa:{FIX}/medqa.jsonl", model="llamacpp:gemma3-270m",
                                shots=1, shots_from=f"mmlu:{FIX}/anatomy_test.csv"),
                     model=model, out_dir=base / "b")
    finally:
        model.close()
    return a.out_dir, b.out_dir


def test_show_compare_and_report(two_runs, tmp_path):
    a, b = two_runs
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "show", str(a)])
    assert r.exit_code == 0, r.output
    assert "accuracy (Wilson)" in r.output and "ECE" in r.output
    r = runner.invoke(app, ["eval", "compare", str(a), str(b)])
    assert r.exit_code == 0, r.output
    assert "exact McNemar p" in r.output and re.search(r"shared items\s+│?\s*2 ", r.output)
    html_path = tmp_path / "report.html"
    r = runner.invoke(app, ["eval", "report", str(a), str(b), "--out", str(html_path)])
    assert r.exit_code == 0, r.output
    page = html_path.read_text()
    assert page.count("<svg") >= 1 and "Paired comparison" in page and "McNemar" in page
    # self-contained: nothing is fetched from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page


def test_list_and_errors_without_traceback(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "list"])
    assert r.exit_code == 0 and "no runs yet" in r.output
    r = runner.invoke(app, ["eval", "show", "nosuchrun"])
    assert r.exit_code == 2 and "no run 'nosuchrun'" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["eval", "--dataset", "bogus:/x", "--model", "llamacpp:gemma3-270m"])
    assert r.exit_code == 2 and "unknown dataset kind" in r.output
    r = runner.invoke(app, ["eval", "--dataset", f"medmcqa:{FIX}/mcq_bad.jsonl",
                            "--model", "llamacpp:gemma3-270m"])
    assert r.exit_code == 2 and "line 2" in r.output and "'cop'" in r.output


def test_index_option_feeds_rag_and_a_missing_one_is_a_clear_error(tmp_path):
    from medllm.knowledge.index import build_index
    from medllm.types import Passage

    runner = CliRunner()
    r = runner.invoke(app, ["eval", "--dataset", f"medqa:{FIX}/medqa.jsonl", "--model", "llamacpp:gemma3-270m",
                            "--strategy", "rag(k=1)", "--index", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "no knowledge base there" in r.output and "Traceback" not in r.output

    ix = tmp_path / "ix"
    build_index([Passage(id="u", doc_id="u", title="Cystitis", source="t",
                         text="Escherichia coli causes most urinary infections with dysuria and fever."),
                 Passage(id="m", doc_id="m", title="Metformin", text="Metformin treats type 2 diabetes.", source="t")],
                ix, dense=False)
    out = tmp_path / "run"
    r = runner.invoke(app, ["eval", "--dataset", f"medqa:{FIX}/medqa.jsonl", "--model", "llamacpp:gemma3-270m",
                            "--strategy", "rag(k=1)", "--index", str(ix), "--limit", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    # the index is part of the run's identity, and rag put a passage into the prompt
    assert summary["extra"]["index"] == str(ix.resolve())
    pred = json.loads(_lines(out / "predictions.jsonl")[0])
    assert len(pred["evidence"]) == 1 and pred["evidence"][0]["passage_id"] == "u"


def test_compare_two_generation_runs_prints_score_differences(tmp_path):
    from medllm.eval.gen_tasks import rouge

    gold = "Mild asthma: start an inhaled steroid and review in four weeks."
    for name, pred in (("a", "Start a steroid."), ("b", "Mild asthma: start an inhaled steroid and review.")):
        d = tmp_path / name
        d.mkdir()
        (d / "summary.json").write_text(json.dumps({"run_id": f"meqsum-{name}", "task": ["summary"]}))
        (d / "predictions.jsonl").write_text("".join(
            json.dumps({"id": f"q{i}", "gold": gold, "pred": pred, "correct": None, "rouge": rouge(pred, gold)}) + "\n"
            for i in range(5)))
    r = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "ROUGE-1: A / B (n 5)" in r.output and "McNemar" not in r.output and "accuracy A" not in r.output
    diff = rouge("Mild asthma: start an inhaled steroid and review.", gold)["rouge1"] - rouge("Start a steroid.", gold)["rouge1"]
    assert f"+{diff:.1f} pts [+{diff:.1f}, +{diff:.1f}]" in r.output  # the same gain on every item
