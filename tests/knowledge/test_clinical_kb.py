"""The shipped clinical corpora, their section-aware loading, the clinical index and its retriever."""

from __future__ import annotations

from pathlib import Path

import pytest

from medllm.assets import asset, corpus_specs, manifest, verify
from medllm.knowledge.corpora import load_corpus, openstax_sections


def test_shipped_corpora_match_their_manifest() -> None:
    assert verify() == []
    files = manifest()["files"]
    assert files["corpora/medquad.jsonl.gz"]["count"] == 16_407
    assert sum(f["count"] for n, f in files.items() if "openstax" in n) == 640
    for name, f in files.items():
        if f["license"] == "same as medllm":  # a table written for medllm: it says what it was made from
            assert f["made_from"] and not f["license_file"]
            continue
        assert f["license"] and f["url"].startswith("https://")
        assert (asset(name).path.parent / Path(f["license_file"]).name).exists()
    assert len(corpus_specs()) == 5


def test_openstax_sections_cut_at_headings_and_drop_exercises() -> None:
    text = "Intro line.\n## Learning Outcomes\n- list things\n## Heparin\nHeparin is given IV.\n## Review Questions\n1. Why?"
    assert openstax_sections(text) == [("", "Intro line."), ("Heparin", "Heparin is given IV.")]


def test_openstax_documents_are_titled_by_book_and_section() -> None:
    spec = next(s for s in corpus_specs() if "pharmacology" in s)
    docs = list(load_corpus(spec))
    assert len(docs) > 1000  # 202 sections (the preface left out) cut at their headings
    assert all(d.title.startswith("Pharmacology for Nurses › ") for d in docs)
    assert not any(d.title.endswith(("› Learning Outcomes", "› Multiple Choice", "› Review Questions")) for d in docs)
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.url and d.url.startswith("https://openstax.org/") for d in docs)


@pytest.fixture(scope="module")
def small_clinical(tmp_path_factory, embedder) -> Path:
    from medllm.knowledge.default_kb import build_clinical_kb

    out = tmp_path_factory.mktemp("clinical") / "default"
    m = build_clinical_kb(out, limit=40)  # the first 40 documents: pharmacology's opening sections
    assert m["counts"]["dense"] == m["counts"]["passages"] > 40
    assert m["params"]["default_kb"] == "clinical"
    assert {c["license"] for c in m["corpora"]} == {"CC BY 4.0"}
    return out


def test_clinical_retriever_keeps_few_relevant_cited_passages(small_clinical: Path, embedder) -> None:
    from medllm.knowledge.clinical import ClinicalRetriever
    from medllm.knowledge.index import load_index

    idx = load_index(small_clinical, embedder=embedder)
    r = ClinicalRetriever(idx)
    hits = r.search("What is the difference between a drug's generic name and its brand name?", 3)
    assert 1 <= len(hits) <= 3
    assert all(h.citation.startswith("Pharmacology for Nurses › ") for h in hits)
    assert any("name" in h.passage.text.lower() for h in hits)
    scored = r.scored("What is the difference between a drug's generic name and its brand name?", 3)
    assert all(c >= r.floor for _, c in scored)
    assert [h.passage.id for h, _ in scored] == [h.passage.id for h in hits]
    # a question the text cannot answer keeps nothing above the floor
    assert ClinicalRetriever(idx, floor=0.9).search("orbital mechanics of geostationary satellites", 3) == []


def test_kb_add_extends_the_clinical_index(small_clinical: Path, tmp_path: Path, embedder) -> None:
    import shutil

    from medllm.knowledge.index import add_to_index, load_index

    idx_dir = tmp_path / "idx"
    shutil.copytree(small_clinical, idx_dir)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ward.md").write_text("# Ward 7 protocol\nZebrafloxacin is given with food on ward seven.\n")
    m = add_to_index(idx_dir, [f"text:{notes}"], embedder=embedder)
    assert m["added"][-1]["passages"] == 1
    hit = load_index(idx_dir, embedder=embedder).search("zebrafloxacin ward seven", 1)[0]
    assert hit.passage.title == "Ward 7 protocol"
