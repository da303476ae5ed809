"""`medllm extract`: files and folders in, JSON lines out, resumable, one bad file or line does not
sink the batch; the table format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medllm.cli import app

@pytest.fixture(autouse=True)
def _graph_loaded_once(ie_graph, monkeypatch):
    """The command loads the cached graph itself; here it gets the session's copy (same data)."""
    monkeypatch.setattr("medllm.knowledge.kg.graph.load_default_graph", lambda *a, **k: ie_graph)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    d = tmp_path / "notes"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("HPI: Denies chest pain. Reports fever.\nPMH: Hypertension.\n")
    (d / "sub" / "b.jsonl").write_text(
        json.dumps({"id": "n1", "text": "No cough. Hyperkalemia."}) + "\n"
        + "{broken json\n"
        + json.dumps({"id": "n2", "text": "FAMILY HISTORY: mother with asthma."}) + "\n")
    (d / "skip.csv").write_text("ignored")
    return d


def run(*args: str):
    return CliRunner().invoke(app, ["extract", *args, "--tagger", "dictionary"], env={"COLUMNS": "400"})


def test_extract_writes_one_line_per_note_and_reports_the_bad_line(notes, tmp_path, ie_graph):
    out = tmp_path / "out"
    r = run(str(notes), "--out", str(out))
    assert r.exit_code == 1, r.output  # the broken line is reported ...
    assert "b.jsonl: line 2: not valid JSON" in r.output
    assert "3 note(s)" in r.output  # ... and the other notes are done
    a = [json.loads(x) for x in (out / "a.txt.jsonl").read_text().splitlines()]
    assert len(a) == 1 and a[0]["id"] == "a"
    spans = {s["text"]: s for s in a[0]["spans"]}
    assert spans["chest pain"]["assertion"] == "negated" and spans["chest pain"]["section"] == "hpi"
    assert spans["Hypertension"]["temporality"] == "historical"
    codes = {c["code"] for c in a[0]["codes"]}
    assert {"I10", "R50.9"} <= codes and not any(c["code"].startswith("R07") for c in a[0]["codes"])
    b = [json.loads(x) for x in (out / "sub" / "b.jsonl").read_text().splitlines()]
    assert [x["id"] for x in b] == ["n1", "n2"]
    assert {s["text"]: s["experiencer"] for s in b[1]["spans"]}["asthma"] == "other"
    assert not list(out.rglob("*.part"))


def test_extract_resumes_a_killed_run(notes, tmp_path, ie_graph):
    out = tmp_path / "out"
    src = notes / "sub" / "b.jsonl"
    src.write_text("".join(json.dumps({"id": f"n{i}", "text": f"Fever {i}."}) + "\n" for i in range(4)))
    (notes / "a.txt").unlink()
    part = out / "sub" / "b.jsonl.part"
    part.parent.mkdir(parents=True)
    # what a killed run leaves: two finished notes and a torn third line
    done = [{"id": "n0", "source": "x", "chars": 8, "spans": [], "codes": []},
            {"id": "n1", "source": "x", "chars": 8, "spans": [], "codes": []}]
    part.write_text("".join(json.dumps(d) + "\n" for d in done) + '{"id": "n2", "sp')
    r = run(str(notes), "--out", str(out), "--codes", "0")
    assert r.exit_code == 0, r.output
    assert "2 note(s)" in r.output and "2 note(s) and 0 file(s) done by an earlier run" in r.output
    ids = [json.loads(x)["id"] for x in (out / "sub" / "b.jsonl").read_text().splitlines()]
    assert ids == ["n0", "n1", "n2", "n3"]
    r = run(str(notes), "--out", str(out), "--codes", "0")  # finished: nothing to redo
    assert "0 note(s)" in r.output and "1 file(s) done by an earlier run" in r.output


def test_table_format_prints_spans_and_codes(notes, tmp_path, ie_graph):
    (notes / "sub" / "b.jsonl").unlink()
    r = CliRunner().invoke(app, ["extract", str(notes / "a.txt"), "--out", str(tmp_path / "o"),
                                 "--tagger", "dictionary", "--format", "table"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "chest pain" in r.output and "negated" in r.output and "ICD-10-CM I10" in r.output


def test_extract_errors_are_clear(tmp_path):
    r = run(str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "does not exist" in r.output
    (tmp_path / "x.pdf").write_text("x")
    r = run(str(tmp_path / "x.pdf"), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and ".txt files" in r.output
    (tmp_path / "n.txt").write_text("fever")
    r = CliRunner().invoke(app, ["extract", str(tmp_path / "n.txt"), "--out", str(tmp_path / "o"), "--format", "xml"])
    assert r.exit_code == 2 and "--format" in r.output


class _RemoteTagger:
    """Stands in for a tagger that would call a model behind an OpenAI-compatible endpoint."""

    name = "remote"
    model_spec = "openai:http://10.0.0.9/v1#some-model"

    def tag(self, text):
        raise AssertionError("the note must not reach a remote tagger")

    def tag_tokens(self, sentences):
        raise AssertionError("the note must not reach a remote tagger")


def test_a_remote_tagger_is_refused_unless_the_gate_is_off(notes, tmp_path, monkeypatch):
    monkeypatch.setattr("medllm.tasks.ie.pipeline.load_tagger", lambda name, graph=None: _RemoteTagger())
    r = CliRunner().invoke(app, ["extract", str(notes / "a.txt"), "--out", str(tmp_path / "o"), "--tagger", "remote"],
                           env={"COLUMNS": "400"})
    assert r.exit_code == 2 and "privacy gate" in r.output
    assert not (tmp_path / "o").exists()
