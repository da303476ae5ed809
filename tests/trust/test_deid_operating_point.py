"""The de-identifier's operating point: one setting (`deid_operating_point`, MEDLLM_DEID_OPERATING_POINT)
reaching the Python API, the session (the gate in front of remote models) and `medllm deid`."""

from __future__ import annotations

import pytest

from medllm.config import DEID_OPERATING_POINTS, ConfigError, load_settings

NOTE = ("Pt transferred from Laurel Regional on 3/14. Seen by Dr. Okafor; wife Maeve called "
        "at 617-555-0199. NEURO: AOX3. CV: SR 80s, BP 110/60. RESP: CPAP 5/5.\n"
        "all is well at this time. q. lander rrt\n")


def test_setting_defaults_to_recall_and_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDLLM_HOME", str(tmp_path))
    monkeypatch.delenv("MEDLLM_DEID_OPERATING_POINT", raising=False)
    assert load_settings().deid_operating_point == "recall"
    monkeypatch.setenv("MEDLLM_DEID_OPERATING_POINT", "balanced")
    assert load_settings().deid_operating_point == "balanced"
    (tmp_path / "config.toml").write_text('deid_operating_point = "recall"\n')
    assert load_settings().deid_operating_point == "balanced"  # the environment wins
    monkeypatch.setenv("MEDLLM_DEID_OPERATING_POINT", "precise")
    with pytest.raises(ConfigError, match="deid_operating_point='precise'.*recall or balanced"):
        load_settings()


def test_the_setting_names_the_shipped_models_points():
    from medllm.trust.privacy.learned import OPERATING_POINTS, shipped_model

    assert set(DEID_OPERATING_POINTS) == set(OPERATING_POINTS) == set(shipped_model().operating_points())
    m = shipped_model()
    assert m.threshold_for("recall") <= m.threshold_for("balanced")


def test_recall_point_masks_everything_balanced_masks(deidentifier):
    from medllm.trust.privacy import Deidentifier

    assert deidentifier.operating_point == "recall"  # the default
    balanced = Deidentifier(operating_point="balanced")
    assert balanced.operating_point == "balanced"
    assert balanced.detector._threshold == balanced.detector.model.threshold_for("balanced")

    def masked(d):
        out = set()
        for s in d.analyze(NOTE):
            out.update(range(s.start, s.end))
        return out

    assert masked(balanced) <= masked(deidentifier)
    with pytest.raises(ValueError, match="operating point 'nope'"):
        Deidentifier(detector=None, operating_point="nope")


def test_session_builds_its_gate_at_the_setting(tmp_path, monkeypatch):
    from medllm.session import Session

    monkeypatch.setenv("MEDLLM_HOME", str(tmp_path))
    s = Session(model=None, settings=load_settings(deid_operating_point="balanced"))  # type: ignore[arg-type]
    assert s.deidentifier().operating_point == "balanced"


def test_cli_operating_point(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setenv("MEDLLM_HOME", str(tmp_path / "home"))
    from support import deid_cli_app

    app = deid_cli_app()

    src = tmp_path / "notes"
    src.mkdir()
    (src / "a.txt").write_text(NOTE)
    runner = CliRunner()
    res = runner.invoke(app, ["deid", str(src), "--out", str(tmp_path / "b"), "--mode", "tag",
                              "--no-vault", "--operating-point", "balanced"])
    assert res.exit_code == 0, res.output
    assert "balanced operating point" in " ".join(res.output.split())
    monkeypatch.setenv("MEDLLM_DEID_OPERATING_POINT", "balanced")
    res = runner.invoke(app, ["deid", str(src), "--out", str(tmp_path / "c"), "--mode", "tag", "--no-vault"])
    assert res.exit_code == 0 and "balanced operating point" in " ".join(res.output.split())
    res = runner.invoke(app, ["deid", str(src), "--out", str(tmp_path / "r"), "--mode", "tag",
                              "--no-vault", "--operating-point", "recall"])
    assert res.exit_code == 0 and "recall operating point" in " ".join(res.output.split())
    assert "<NAME>" in (tmp_path / "r" / "a.txt").read_text()
    res = runner.invoke(app, ["deid", str(src), "--out", str(tmp_path / "d"), "--operating-point", "max"])
    assert res.exit_code == 2 and "--operating-point 'max'" in " ".join(res.output.split())
