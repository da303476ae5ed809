"""Batch de-identification: resumable after a kill, one bad file does not sink the batch."""

from __future__ import annotations

import json
import re

import pytest

from medllm.trust.privacy import PrivacyGate
from medllm.trust.privacy.batch import LEDGER, collect_inputs, deidentify_files, ledger_session
from medllm.trust.vault import Vault

NOTE = "Seen by Dr. Vasquez on 7/{d}. Son David called from Baltimore, beeper 54321. NEURO: AOX3.\n"


class Killed(Exception):
    pass


def make_folder(root, n=30):
    root.mkdir()
    for i in range(n):
        (root / f"note{i:03d}.txt").write_text(NOTE.format(d=1 + i % 28))
    return root


def test_batch_resumes_after_a_kill_with_the_same_session(deidentifier, tmp_path):
    src = make_folder(tmp_path / "notes")
    out = tmp_path / "clean"
    tasks = collect_inputs([src])
    vault = Vault(tmp_path / "vault.sqlite")
    gate = PrivacyGate(deidentifier, vault=vault, seed=1)

    def kill_after_ten(handled, total):
        if handled == 10:
            raise Killed  # the process dies between two files

    with pytest.raises(Killed):
        deidentify_files(tasks, out, gate, progress=kill_after_ten)
    assert len(list(out.glob("*.txt"))) == 10
    # a new process: continues the vault session the ledger names, skips what is done
    sid = ledger_session(out)
    assert sid == gate.session.id
    gate2 = PrivacyGate(deidentifier, vault=vault, session_id=sid)
    rep = deidentify_files(tasks, out, gate2)
    assert (rep.skipped, rep.done, rep.failed) == (10, 20, [])
    assert sum(rep.counts.values()) >= 30 * 4 and rep.counts["NAME"] >= 60
    outs = [p.read_text() for p in sorted(out.glob("*.txt"))]
    # whole words: a surrogate town may be "West Davidmouth"
    assert len(outs) == 30 and not any(re.search(r"\b(?:Vasquez|David)\b", t) for t in outs)
    # the same surrogate for Vasquez before and after the kill
    fake = outs[0].split("Dr. ")[1].split()[0]
    assert all(f"Dr. {fake} " in t for t in outs)
    assert rep.chars > 0 and rep.chars_per_s > 0
    lines = (out / LEDGER).read_text().splitlines()
    assert len(lines) == 30 and "Vasquez" not in "".join(lines)


def test_one_bad_file_does_not_sink_the_batch(deidentifier, tmp_path):
    src = make_folder(tmp_path / "notes", n=3)
    (src / "bad.txt").write_bytes(b"\xff\xfe not utf-8 \x81")
    (src / "bad.jsonl").write_text('{"text": "ok"}\n{broken\n')
    rep = deidentify_files(collect_inputs([src]), tmp_path / "clean", PrivacyGate(deidentifier, seed=3))
    assert rep.done == 3
    assert sorted(f.rsplit("/", 1)[-1] for f, _ in rep.failed) == ["bad.jsonl", "bad.txt"]
    assert any("line 2" in why for _, why in rep.failed)


def test_cli_deid_folder_prints_throughput_and_resumes(tmp_path):
    import typer
    from typer.testing import CliRunner

    from medllm.cli import deid as deid_cli

    app = typer.Typer()
    deid_cli.register(app)

    @app.command("noop")
    def _noop() -> None:
        pass

    src = make_folder(tmp_path / "notes", n=5)
    out = tmp_path / "clean"
    runner = CliRunner()
    res = runner.invoke(app, ["deid", str(src), "--out", str(out), "--vault", str(tmp_path / "v.sqlite")])
    assert res.exit_code == 0, res.output
    assert "5 file(s) written" in res.output and "chars/s" in res.output
    res = runner.invoke(app, ["deid", str(src), "--out", str(out), "--vault", str(tmp_path / "v.sqlite")])
    assert res.exit_code == 0 and "5 skipped" in res.output
    assert "NAME" in res.output  # totals include the files finished earlier
    led = [json.loads(x) for x in (out / LEDGER).read_text().splitlines()]
    assert len(led) == 5


def test_a_torn_ledger_line_and_a_deleted_output_are_redone(deidentifier, tmp_path):
    src = make_folder(tmp_path / "notes", n=3)
    out = tmp_path / "clean"
    tasks = collect_inputs([src])
    gate = PrivacyGate(deidentifier, seed=2)
    assert deidentify_files(tasks, out, gate).done == 3
    (out / "note001.txt").unlink()  # its ledger line no longer stands
    with open(out / LEDGER, "a") as f:
        f.write('{"file": "note0')  # what a kill in the middle of a ledger write leaves
    rep = deidentify_files(tasks, out, gate)
    assert (rep.done, rep.skipped) == (1, 2) and (out / "note001.txt").exists()
    led = [json.loads(x) for x in (out / LEDGER).read_text().splitlines()]  # every line whole again
    assert sorted(r["file"] for r in led) == ["note000.txt", "note001.txt", "note002.txt"]
