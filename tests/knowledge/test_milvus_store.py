"""The Milvus store (a real milvus-lite file) against the embedded index on the same passages."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from medllm.knowledge.chunking import Chunker, index_text  # noqa: E402
from medllm.knowledge.corpora import load_corpus  # noqa: E402
from medllm.knowledge.index import build_index, load_index  # noqa: E402
from medllm.knowledge.milvus_store import (  # noqa: E402
    MilvusRetriever,
    build_milvus_index,
    is_milvus_spec,
    parse_milvus_spec,
)


class _Memo:
    """The real MiniLM embedder, each text embedded once for both stores."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.name, self.dim, self.seen = inner, inner.name, inner.dim, {}

    def encode(self, texts, show_progress: bool = False) -> np.ndarray:  # noqa: ANN001
        new = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if new:
            self.seen.update(zip(new, self.inner.encode(new), strict=True))
        return np.stack([self.seen[t] for t in texts])


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, embedder):
    folder = tmp_path_factory.mktemp("milvus")
    docs = list(itertools.islice(load_corpus(f"medquad:{shared_data / 'medquad' / 'medquad.jsonl'}"), 25))
    passages = [p for d in docs for p in Chunker(size=200, overlap=32).chunk(d)]
    emb = _Memo(embedder)
    build_index(passages, folder / "emb", embedder=emb)
    m = build_milvus_index(passages, folder / "kb.db", embedder=emb)
    rows = [json.loads(x) for x in itertools.islice((shared_data / "medquad" / "medquad.jsonl").open(), 60)]
    qs = list(dict.fromkeys(r["question"] for r in rows))[:20]
    emb.encode(qs)
    return load_index(folder / "emb", embedder=emb), MilvusRetriever(folder / "kb.db", embedder=emb), qs, m, folder


def test_spec_parsing_and_errors(tmp_path: Path) -> None:
    assert parse_milvus_spec("milvus://db.local:19530/pubmed").uri == "http://db.local:19530"
    assert parse_milvus_spec("milvus://db.local/pubmed").collection == "pubmed"
    assert parse_milvus_spec(tmp_path / "a.db").collection == "passages"
    assert is_milvus_spec("x.db#c") and not is_milvus_spec(tmp_path)
    with pytest.raises(ValueError, match="milvus://HOST:19530/COLLECTION"):
        parse_milvus_spec("milvus://db.local:19530")
    with pytest.raises(FileNotFoundError, match="kb build"):
        MilvusRetriever(tmp_path / "none.db", dense=False)


def test_same_top10_and_citations_as_the_embedded_index(stores) -> None:
    emb, mil, qs, m, _ = stores
    assert m["counts"]["passages"] == len(emb.store)
    for method in ("bm25", "dense", "hybrid"):
        same = 0
        for q in qs:
            a, b = emb.retriever(method).search(q, 10), mil.retriever(method).search(q, 10)
            same += {h.passage.id for h in a} == {h.passage.id for h in b}
            if method == "hybrid" and a and b and a[0].passage.id == b[0].passage.id:
                assert a[0].citation == b[0].citation and a[0].passage.text == b[0].passage.text
        assert same >= 0.9 * len(qs), (method, same)


def test_filters_run_in_the_engine(stores) -> None:
    _, mil, qs, _, _ = stores
    hits = mil.search(qs[0], 5, sources=["medquad"])
    assert hits and all(h.passage.source == "medquad" for h in hits)
    assert mil.search(qs[0], 5, sources=["pubmed"]) == []
    assert mil.search(qs[0], 5, licenses=["no such licence"]) == []


def test_kb_search_cli_on_a_milvus_lite_file(stores) -> None:
    from typer.testing import CliRunner

    from medllm.cli import app

    _, _, qs, _, folder = stores
    res = CliRunner().invoke(app, ["kb", "search", qs[0], "--index", str(folder / "kb.db"), "-k", "3", "-m", "bm25"])
    assert res.exit_code == 0, res.output
    assert "medquad" in res.output and "3 results, bm25" in res.output
