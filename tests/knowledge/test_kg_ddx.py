"""Differential diagnosis: likelihood-ratio ranking with excluded terms, a user phenotype.hpoa,
phenopackets in, batches of cases out (resumable), and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

HPOA_HEADER = ("#description: a small annotation file written by this test\n"
               "database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\t"
               "modifier\taspect\tbiocuration\n")


def _row(did: str, name: str, hp: str, freq: str = "", qualifier: str = "", aspect: str = "P") -> str:
    return f"{did}\t{name}\t{qualifier}\t{hp}\tPMID:1\tPCS\t\t{freq}\t\t\t{aspect}\tHPO:test[2025-01-01]\n"


@pytest.fixture(scope="module")
def hpoa_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("hpoa") / "phenotype.hpoa"
    p.write_text(HPOA_HEADER
                 # a Marfan-like test disease: arachnodactyly 7/8, ectopia lentis very frequent, no seizures
                 + _row("OMIM:990001", "Test syndrome A", "HP:0001166", "7/8")
                 + _row("OMIM:990001", "Test syndrome A", "HP:0001083", "HP:0040281")
                 + _row("OMIM:990001", "Test syndrome A", "HP:0000098", "50%")
                 + _row("OMIM:990001", "Test syndrome A", "HP:0001250", qualifier="NOT")
                 + _row("OMIM:990001", "Test syndrome A", "HP:0000006", aspect="I")
                 # same skeletal findings, but seizures in every patient
                 + _row("OMIM:990002", "Test syndrome B", "HP:0001166", "HP:0040280")
                 + _row("OMIM:990002", "Test syndrome B", "HP:0000098", "1/1")
                 + _row("OMIM:990002", "Test syndrome B", "HP:0001250", "HP:0040280")
                 # unrelated
                 + _row("ORPHA:990003", "Test kidney disease", "HP:0000083", "")
                 + _row("ORPHA:990003", "Test kidney disease", "HP:0000093", "HP:0040283"))
    return p


@pytest.fixture(scope="module")
def hpoa_graph(hpoa_file: Path):
    from medllm.knowledge.kg.graph import KnowledgeGraph

    return KnowledgeGraph.from_packages(icd=False, drugs=False, hpoa=hpoa_file)


def test_read_hpoa_keeps_frequencies_and_not_rows(hpoa_file: Path) -> None:
    from medllm.knowledge.kg.graph import read_hpoa

    ann = read_hpoa(hpoa_file)
    assert set(ann) == {"OMIM:990001", "OMIM:990002", "ORPHA:990003"}
    a = ann["OMIM:990001"]
    assert a.terms == ["HP:0001166", "HP:0001083", "HP:0000098"]  # the inheritance row (aspect I) is left out
    assert a.frequency == {"HP:0001166": 0.875, "HP:0001083": 0.895, "HP:0000098": 0.5}
    assert a.excluded == {"HP:0001250"}
    assert "HP:0000083" not in ann["ORPHA:990003"].frequency  # no frequency given: unknown, not 0


def test_read_hpoa_errors_name_line_and_column(tmp_path: Path) -> None:
    from medllm.knowledge.kg.graph import read_hpoa

    bad = tmp_path / "bad.hpoa"
    bad.write_text("database_id\tdisease_name\thpo_id\n")
    with pytest.raises(ValueError, match=r"bad.hpoa:1: header lacks column\(s\) qualifier, frequency, aspect"):
        read_hpoa(bad)
    bad.write_text(HPOA_HEADER + _row("OMIM:1", "X", "HP:0001166", "often"))
    with pytest.raises(ValueError, match=r"bad.hpoa:3: column frequency: frequency 'often'"):
        read_hpoa(bad)
    with pytest.raises(ValueError, match="no such phenotype.hpoa"):
        read_hpoa(tmp_path / "missing.hpoa")


def test_user_hpoa_replaces_the_bundled_diseases(hpoa_graph) -> None:
    diseases = [c.id for c in hpoa_graph.concepts.values() if c.type == "disease"]
    assert sorted(diseases) == ["OMIM:990001", "OMIM:990002", "ORPHA:990003"]
    assert "phenotype.hpoa" in hpoa_graph.annotation_source
    assert hpoa_graph.get("OMIM:990001").meta["frequency"]["HP:0001166"] == 0.875


def test_excluded_terms_and_frequencies_move_the_ranking(hpoa_graph) -> None:
    from medllm.knowledge.kg.ddx import LIRICAL_WEIGHTS, DdxParams, Differential

    dx = Differential(hpoa_graph, params=DdxParams(weights=LIRICAL_WEIGHTS))
    skeletal = ["HP:0001166", "HP:0000098"]  # arachnodactyly, tall stature: both test diseases have them
    with_seizures = dx.rank(skeletal + ["HP:0001250"], k=3)
    assert with_seizures[0].disease_id == "OMIM:990002"  # A's annotations say NOT seizure
    no_seizures = dx.rank(skeletal, excluded=["HP:0001250"], k=3)
    assert no_seizures[0].disease_id == "OMIM:990001"  # seizures ruled out: B (always seizures) drops
    b = next(d for d in no_seizures if d.disease_id == "OMIM:990002")
    assert [(m.patient, m.excluded) for m in b.excluded] == [("HP:0001250", True)]
    assert b.excluded[0].log_lr < -3  # LIRICAL: max(0.01, 1 - 1.0) / (1 - bg)
    assert "excluded Seizure" in b.excluded[0].describe({"HP:0001250": "Seizure", **{t: t for t in skeletal}})
    scores = [d.score for d in no_seizures]
    assert all(0 <= s <= 1 for s in scores) and sum(scores) == pytest.approx(1.0, abs=1e-3)
    assert scores == sorted(scores, reverse=True)
    # frequency: a finding in 7/8 of A's patients and in all of B's gives B the higher likelihood
    lr_a, _ = dx.observed_lr("HP:0001166")
    assert lr_a[dx.dix["OMIM:990002"]] > lr_a[dx.dix["OMIM:990001"]]


def test_shipped_ddx_on_a_phenopacket_style_case(kg) -> None:
    dx = kg.differential()
    case = dx.case(["HP:0001166", "HP:0001083", "HP:0000098", "HP:0002616"], ["HP:0001250"])
    top = dx.rank(case, k=5, sources=("OMIM",))
    assert "OMIM:154700" in [d.disease_id for d in top[:3]]  # Marfan syndrome, beside familial ectopia lentis
    named = {m.patient for m in top[0].matches}
    assert named == set(case.observed)  # every observed term is accounted for
    assert all(m.disease_term and m.log_lr > 0 for m in top[0].matches)
    assert top[0].score > top[1].score > 0 and top[0].log_lr > top[1].log_lr


def test_excluded_feature_of_unknown_frequency_gives_no_evidence(kg, hpoa_graph) -> None:
    """The bundled annotations carry no frequencies: ruling a feature out cannot say how much
    that counts against a disease, so it moves nothing (with a phenotype.hpoa it does, above)."""
    from medllm.knowledge.kg.ddx import Differential

    dx = kg.differential()
    obs = ["HP:0001166", "HP:0001083", "HP:0000098"]
    plain = dx.lr_scores(dx.case(obs), ("OMIM",))
    ruled_out = dx.lr_scores(dx.case(obs, ["HP:0001250", "HP:0002616"]), ("OMIM",))
    fin = np.isfinite(plain)
    assert np.allclose((ruled_out - plain)[fin], (ruled_out - plain)[fin][0])  # a constant shift only
    assert dx.explain_excluded(["HP:0002616"], "OMIM:154700") == []  # Marfan lists it, frequency unknown
    hp = Differential(hpoa_graph)
    assert hp.explain_excluded(["HP:0001166"], "OMIM:990002")  # a known frequency (1/1) does count


def test_free_text_negations_become_excluded_terms(kg) -> None:
    case = kg.differential().case("tall stature, arachnodactyly, no seizures")
    assert "HP:0001250" in case.excluded and "HP:0001250" not in case.observed
    assert {"HP:0000098", "HP:0001166"} <= set(case.observed)


def _phenopacket(features: list) -> dict:
    return {"id": "case-1", "subject": {"id": "P1"}, "phenotypicFeatures": features}


def test_read_phenopacket_and_its_errors(tmp_path: Path) -> None:
    from medllm.knowledge.kg.cases import read_phenopacket

    p = tmp_path / "pp.json"
    p.write_text(json.dumps(_phenopacket([{"type": {"id": "HP:0001166", "label": "Arachnodactyly"}},
                                          {"type": {"id": "HP:0001250", "label": "Seizure"}, "excluded": True}])))
    c = read_phenopacket(p)
    assert (c.id, c.observed, c.excluded) == ("case-1", ["HP:0001166"], ["HP:0001250"])
    p.write_text(json.dumps(_phenopacket([{"type": {"id": "HP:0001166"}}, {"type": {"label": "Seizure"}}])))
    with pytest.raises(ValueError, match=r"phenotypicFeatures\[1\]\.type\.id is None"):
        read_phenopacket(p)
    p.write_text(json.dumps({"id": "x", "subject": {}}))
    with pytest.raises(ValueError, match="field phenotypicFeatures is missing"):
        read_phenopacket(p)
    p.write_text("{not json")
    with pytest.raises(ValueError, match="pp.json: not JSON"):
        read_phenopacket(p)


def test_batch_ranks_reports_bad_lines_and_resumes(kg, tmp_path: Path) -> None:
    from medllm.knowledge.kg.cases import rank_batch

    dx = kg.differential()
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join([
        json.dumps({"id": "a", "observed": ["HP:0001166", "HP:0001083", "HP:0000098"], "excluded": ["HP:0001250"]}),
        "{broken",
        json.dumps({"id": "b", "observed": "HP:0001166"}),
        json.dumps({"id": "c", "observed": ["HP:0000083", "HP:0000093", "HP:9999999"]}),
    ]) + "\n")
    out = tmp_path / "ranked.jsonl"
    rep = rank_batch(dx, cases, out, k=3, sources=("OMIM",))
    assert rep.ranked == 2 and [ln for ln, _ in rep.bad] == [2, 3]
    assert "not JSON" in rep.bad[0][1] and "field observed" in rep.bad[1][1]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "c"]
    first = lines[0]["diagnoses"]
    assert [d["rank"] for d in first] == [1, 2, 3] and "OMIM:154700" in [d["disease_id"] for d in first]
    assert set(first[0]) == {"disease_id", "name", "score", "rank"}
    assert lines[1]["ignored"] == ["HP:9999999"]  # an id outside this HPO release is set aside, said so
    assert not list(tmp_path.glob(".*partial"))  # the partial file became the output
    # a second run finds everything done; a crash mid-run leaves a partial file that is resumed
    assert rank_batch(dx, cases, out, k=3, sources=("OMIM",)).resumed == 2
    out.unlink()
    (tmp_path / ".ranked.jsonl.partial").write_text(json.dumps({"id": "a", "diagnoses": []}) + "\n{\"id\": \"c\", \"diag")
    rep = rank_batch(dx, cases, out, k=3, sources=("OMIM",))
    assert (rep.resumed, rep.ranked) == (1, 1)  # a kept, the torn line for c redone
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a", "c"]


def test_cli_ddx_json_phenopacket_batch_and_hpoa(kg_home: Path, hpoa_file: Path, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from medllm.cli import app

    monkeypatch.setenv("MEDLLM_HOME", str(kg_home))
    r = CliRunner().invoke(app, ["kg", "ddx", "HP:0001166,HP:0001083,HP:0000098", "--exclude", "HP:0001250",
                                 "--json", "-k", "3"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["excluded"] == ["HP:0001250"] and len(rec["diagnoses"]) == 3
    assert "OMIM:154700" in [d["disease_id"] for d in rec["diagnoses"]]
    assert {e["term"] for e in rec["diagnoses"][0]["evidence"]} >= {"HP:0001166", "HP:0001083"}

    pp = tmp_path / "pp.json"
    pp.write_text(json.dumps(_phenopacket([{"type": {"id": "HP:0001166"}}, {"type": {"id": "HP:0001083"}},
                                           {"type": {"id": "HP:0001250"}, "excluded": "yes"}])))
    r = CliRunner().invoke(app, ["kg", "ddx", "--phenopacket", str(pp)])
    assert r.exit_code == 2 and "phenotypicFeatures[2].excluded" in r.output

    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "x", "observed": ["HP:0001166", "HP:0000098"]}) + "\nnot json\n")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(app, ["kg", "ddx", "--batch", str(cases), "--out", str(out), "-k", "2"])
    assert r.exit_code == 0, r.output
    assert "cases.jsonl:2:" in r.output and "ranked 1 cases" in r.output
    assert len(json.loads(out.read_text())["diagnoses"]) == 2

    r = CliRunner().invoke(app, ["kg", "ddx", "HP:0001166,HP:0000098", "--exclude", "HP:0001250",
                                 "--hpoa", str(hpoa_file), "--json"])
    assert r.exit_code == 0, r.output
    got = [d["disease_id"] for d in json.loads(r.output)["diagnoses"]]
    assert got[0] == "OMIM:990001" and set(got) <= {"OMIM:990001", "OMIM:990002", "ORPHA:990003"}
