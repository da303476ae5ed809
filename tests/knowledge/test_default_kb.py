from __future__ import annotations

from pathlib import Path

import pytest

from medllm.knowledge.default_kb import default_passages, dense_filter, package_versions


def test_default_passages_cite_concept_ids(kg) -> None:
    counts: dict[str, int] = {}
    sample = {}
    for p in default_passages(kg):
        counts[p.source] = counts.get(p.source, 0) + 1
        sample.setdefault(p.source, p)
        assert p.id == p.doc_id and p.id in kg.concepts
    assert set(counts) == {"hpo", "hpo-annotations", "icd10cm", "drugs"}
    assert counts["hpo"] == sum(1 for c in kg.concepts.values() if c.type == "phenotype")
    assert counts["icd10cm"] > 90_000 and counts["drugs"] > 15_000
    assert sample["hpo"].citation().endswith(f"(hpo: {sample['hpo'].id})")
    marfan = next(p for p in default_passages(kg) if p.id == "OMIM:154700")
    assert "Arachnodactyly (HP:0001166)" in marfan.text
    icd = next(p for p in default_passages(kg) if p.id == "ICD10CM:J45.909")
    assert "Under J45.90" in icd.text


def test_dense_choice_is_checked() -> None:
    assert dense_filter("none") is False and dense_filter("all") is True
    with pytest.raises(ValueError, match="use one of"):
        dense_filter("some")
    assert set(package_versions()) == {"hpo3", "simple-icd-10-cm", "drug-named-entity-recognition"}


@pytest.mark.slow
def test_build_default_kb_bm25_only(kg, tmp_path: Path) -> None:
    from medllm.knowledge.default_kb import build_default_kb
    from medllm.knowledge.index import load_index

    m = build_default_kb(tmp_path / "default", graph=kg, dense="none")
    assert m["counts"]["passages"] > 140_000 and m["counts"]["dense"] == 0
    r = load_index(tmp_path / "default")
    assert r.note and "falls back" in r.note
    assert r.search("arachnodactyly", 1)[0].passage.id == "HP:0001166"
    assert "ICD10CM:Q87.40" in {h.passage.id for h in r.search("Marfan syndrome", 5)}
    assert r.store.by_id("OMIM:154700") is not None
    assert r.search("unspecified asthma uncomplicated", 3)[0].passage.id.startswith("ICD10CM:J45")


def test_icd_notes_given_as_one_string_are_not_spelt_out(kg) -> None:
    # simple-icd-10-cm returns some notes as a string, not a list; joining it letter by letter
    # wrote "c; o; d; e" into the passage
    from medllm.knowledge.default_kb import _icd_passage

    text = _icd_passage(kg, "ICD10CM:A15-A19").text
    assert "Use additional code: code, if applicable, for associated cachexia" in text
    assert "; o; " not in text
