"""Runners on a real local Ray cluster: order, retries after a killed worker, and de-identified
output byte-identical to the local runner's."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medllm.runners import get_runner

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "deid" / "physionet_dev.jsonl"


@dataclass
class _Square:
    def build(self) -> Callable[[int], tuple[int, int]]:
        return lambda x: (x * x, os.getpid())


@dataclass
class _SquareJob:
    """A tiny job: square each number on a worker; the commit step records them in order and,
    on the third, kills the worker that is about to run the next ones."""

    n: int
    on_commit: Callable[[int], None] = lambda _i: None
    seen: list[int] = field(default_factory=list)

    def units(self) -> list[int]:
        return list(range(self.n))

    def key(self, unit: int) -> str:
        return str(unit)

    def payload(self, unit: int) -> int:
        return unit

    def worker_spec(self) -> _Square:
        return _Square()

    def commit(self, results):  # type: ignore[no-untyped-def]
        for u in self.units():
            got = results(u) if results else None
            self.seen.append(got[0] if got else u * u)
            self.on_commit(u)
        return self.seen


def test_unknown_runner_and_local_options_are_refused():
    with pytest.raises(ValueError, match="--runner 'spark'"):
        get_runner("spark")
    with pytest.raises(ValueError, match="for --runner ray"):
        get_runner("local", workers=2)


def test_ray_runner_keeps_order_and_survives_a_killed_worker():
    pytest.importorskip("ray")
    runner = get_runner("ray", workers=2)
    killed: list[int] = []

    def kill_one(i: int) -> None:
        if i == 2 and not killed:  # a worker dies with units queued on it
            killed.append(runner.worker_pids[0])
            os.kill(runner.worker_pids[0], signal.SIGKILL)

    job = _SquareJob(40, on_commit=kill_one)
    out = runner.run(job)
    assert killed, "the worker was not killed"
    assert out == [i * i for i in range(40)]  # every unit exactly once, in order
    assert runner.last is not None and runner.last.workers == 2 and runner.last.units_sent == 40


def _notes(folder: Path, n: int) -> None:
    folder.mkdir()
    with SHARED.open() as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            (folder / f"n{i:02d}.txt").write_text(json.loads(line)["text"])
    (folder / "bad.txt").write_bytes(b"\xff\xfe not utf-8")  # one bad file must not sink the batch


@pytest.mark.slow  # loads the PHI detector three times (~2 min on 2 busy cores)
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data/deid")
def test_deid_ray_output_is_byte_identical_to_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from medllm.cli import app

    monkeypatch.setenv("MEDLLM_HOME", str(tmp_path / "home"))
    _notes(tmp_path / "notes", 5)
    cli = CliRunner()
    args = ["deid", str(tmp_path / "notes"), "--seed", "3", "--session", "s", "--no-vault"]
    a = cli.invoke(app, [*args, "--out", str(tmp_path / "local")])
    b = cli.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--runner", "ray", "--workers", "2"])
    assert a.exit_code == 1 and b.exit_code == 1, (a.output, b.output)  # the bad file is reported
    assert "bad.txt" in b.output and "ray: 2 worker(s)" in b.output
    for f in sorted((tmp_path / "local").glob("*.txt")):
        assert f.read_bytes() == (tmp_path / "ray" / f.name).read_bytes(), f.name
    assert len(list((tmp_path / "ray").glob("*.txt"))) == 5
    # a rerun has nothing left to do and writes no line twice
    c = cli.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--runner", "ray", "--workers", "1"])
    assert "5 skipped" in c.output
    files = [json.loads(x)["file"] for x in (tmp_path / "ray" / ".deid-progress.jsonl").read_text().splitlines()]
    assert sorted(files) == [f"n{i:02d}.txt" for i in range(5)]


def test_deid_cli_refuses_ray_options_without_ray_runner(tmp_path):
    from typer.testing import CliRunner

    from medllm.cli import app

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Seen by Dr. Hulse on 3/14.")
    res = CliRunner().invoke(app, ["deid", str(tmp_path / "notes"), "--out", str(tmp_path / "out"), "--workers", "2"])
    assert res.exit_code != 0 and "--runner ray" in res.output
    res = CliRunner().invoke(app, ["deid", str(tmp_path / "notes"), "--out", str(tmp_path / "out"), "--runner", "spark"])
    assert res.exit_code != 0 and "use one of local, ray" in res.output


@pytest.mark.slow  # loads the triage classifier three times (~1.5 min on 2 busy cores)
def test_triage_ray_decisions_equal_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from medllm.cli import app

    monkeypatch.chdir(tmp_path)
    msgs = ["What is a pulmonary embolism and how is it usually treated?",
            "My dad is 70, his speech went slurred an hour ago and he can't lift his right arm",
            "How can I get tramadol without a prescription?"] * 30
    lines = [json.dumps({"id": f"m{i}", "text": t}) for i, t in enumerate(msgs)]
    (tmp_path / "msgs.jsonl").write_text("\n".join(lines[:40] + ["not json"] + lines[40:]) + "\n")
    cli = CliRunner()
    a = cli.invoke(app, ["triage", "msgs.jsonl", "--out", "local"])
    b = cli.invoke(app, ["triage", "msgs.jsonl", "--out", "ray", "--runner", "ray", "--workers", "2"])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    assert "ray: 2 worker(s)" in b.output and "1 bad line" in b.output
    assert (tmp_path / "local" / "decisions.jsonl").read_bytes() == (tmp_path / "ray" / "decisions.jsonl").read_bytes()
    c = cli.invoke(app, ["triage", "msgs.jsonl", "--out", "ray", "--runner", "ray", "--workers", "1"])
    assert "91 already there" in c.output
    assert len((tmp_path / "ray" / "decisions.jsonl").read_text().splitlines()) == 91


@pytest.mark.slow  # starts a Ray cluster and loads the graph in a worker (~1 min on 2 busy cores)
def test_extract_ray_output_equals_local(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from medllm.cli import app

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("HPI: Denies chest pain. Reports fever.\nPMH: Hypertension.\n")
    (notes / "b.jsonl").write_text(json.dumps({"id": "n1", "text": "No cough. Hyperkalemia."}) + "\n{broken\n"
                                   + json.dumps({"id": "n2", "text": "FAMILY HISTORY: mother with asthma."}) + "\n")
    cli = CliRunner()
    args = ["extract", str(notes), "--tagger", "dictionary", "--codes", "3"]
    a = cli.invoke(app, [*args, "--out", str(tmp_path / "local")])
    b = cli.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--runner", "ray", "--workers", "1"])
    assert a.exit_code == 1 and b.exit_code == 1, (a.output, b.output)  # the broken line is reported
    assert "ray: 1 worker(s)" in b.output and "line 2" in b.output
    for name in ("a.txt.jsonl", "b.jsonl"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    c = cli.invoke(app, [*args, "--out", str(tmp_path / "ray"), "--runner", "ray", "--workers", "1"])
    assert "2 file(s) done by an earlier run" in c.output, c.output
