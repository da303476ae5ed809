"""Retrieval for a small model's context window: few strong passages, not many weak ones.

`ClinicalRetriever` wraps a text index (BM25 + MiniLM vectors, `medllm.knowledge.index`):

1. the lexical query is the question plus the names and synonyms of the concepts it mentions
   (present, not negated: HPO findings, ICD-10-CM conditions, drugs with their brand and generic
   names), linked by the knowledge graph when one is given; the dense query is the question
   itself (MiniLM reads meaning, and extra names would pull its vector off the question);
2. BM25 and dense candidates are fused by reciprocal rank fusion (RRF, k=60);
3. the fused candidates are reranked by the cosine of the question with each passage's own
   vector (read back from FAISS, no re-embedding) plus a small share of the passage's BM25 score
   relative to the best candidate's, so an exact term match still counts;
4. a relevance floor on that cosine drops weak passages, and at most `per_doc` passages of one
   document are kept, so what reaches the model is a few distinct, relevant texts.

The floor (0.35) and the BM25 share (0.1) are priors set before any measurement, not tuned;
`benchmarks/retrieval.py --answer-recall` measures recall@k with and without them.
`answer_sentences` picks, inside a passage, the sentences closest to the question: what the
prompt shows and what the extractive fallback quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from medllm.knowledge.chunking import index_text
from medllm.knowledge.retrievers import Hit, HybridRetriever, rrf

DEFAULT_FLOOR = 0.35
BM25_SHARE = 0.1
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])|\n+")


@dataclass(frozen=True)
class Expansion:
    """The query as searched: the words added to it and the concepts they came from."""

    query: str
    added: list[str]
    concepts: list[str]


def expand_query(question: str, graph: Any = None, max_terms: int = 12) -> Expansion:
    """The question plus the names of the concepts `graph` links in it (present ones only)."""
    if graph is None:
        return Expansion(question, [], [])
    try:
        spans = graph.link(question)
    except Exception:  # a linker failure must not stop retrieval; the bare question still searches
        return Expansion(question, [], [])
    have = question.lower()
    added: list[str] = []
    ids: list[str] = []
    for s in spans:
        if not s.concept_id or s.polarity != "present" or s.concept_id in ids:
            continue
        ids.append(s.concept_id)
        c = graph.concepts.get(s.concept_id)
        if c is None:
            continue
        for name in [c.name, *sorted(c.synonyms, key=len)[:3]]:
            name = re.sub(r"\s*\[.*?\]|\s*\(.*?\)", "", name).strip()
            if name and name.lower() not in have and len(name) <= 40 and name not in added:
                added.append(name)
    added = added[:max_terms]
    return Expansion(" ".join([question, *added]), added, ids)


class ClinicalRetriever:
    """Hybrid search with query expansion, cosine rerank and a relevance floor (see module doc).
    Answers `search(query, k)` like every retriever; `Hit.score` is the rerank score and
    `Hit.method` "clinical"."""

    method = "clinical"

    def __init__(self, index: HybridRetriever, graph: Any = None, *, floor: float | None = DEFAULT_FLOOR,
                 n_candidates: int = 30, per_doc: int = 2, expand: bool = True, bm25_share: float = BM25_SHARE) -> None:
        if index.dense is None:
            raise ValueError("the clinical retriever needs an index with dense vectors; rebuild it with "
                             "`medllm kb build-default` (vectors are on by default)")
        self.index, self.graph, self.floor = index, graph, floor
        self.n_candidates, self.per_doc, self.expand, self.bm25_share = n_candidates, per_doc, expand, bm25_share
        self.store = index.store
        self.manifest = index.manifest
        self.last: Expansion | None = None
        self._fly: dict[int, np.ndarray] = {}
        rows = np.asarray(index.dense.rows)
        self._rows = rows
        self._sorted = bool(np.all(rows[1:] >= rows[:-1])) if len(rows) > 1 else True

    @property
    def embedder(self) -> Any:
        return self.index.dense.embedder  # type: ignore[union-attr]

    def _vector(self, row: int) -> np.ndarray | None:
        rows = self._rows
        if self._sorted:
            i = int(np.searchsorted(rows, row))
            if i >= len(rows) or rows[i] != row:
                return None
        else:
            hit = np.nonzero(rows == row)[0]
            if not len(hit):
                return None
            i = int(hit[0])
        return self.index.dense.index.reconstruct(i)  # type: ignore[union-attr]

    def scored(self, query: str, k: int = 3, floor: float | None = None) -> list[tuple[Hit, float]]:
        """(hit, cosine with the question) best first, after the floor (the instance's unless given;
        pass a negative floor for none)."""
        if not query.strip():
            raise ValueError("empty query; give some words to search for")
        floor = self.floor if floor is None else floor
        exp = expand_query(query, self.graph) if self.expand else Expansion(query, [], [])
        self.last = exp
        n = max(self.n_candidates * 2, 50)
        lex = self.index.bm25.search_rows(exp.query, n)
        qv = self.embedder.encode([query])
        den = self.index.dense.search_vectors(qv, n)[0]  # type: ignore[union-attr]
        fused = rrf([[r for r, _ in lex], [r for r, _ in den]], self.n_candidates, self.index.rrf_k)
        bm = dict(lex)
        top_bm = max(bm.values(), default=0.0) or 1.0
        cos = dict(den)
        for row, _ in fused:
            if row not in cos and (v := self._vector(row)) is not None:
                cos[row] = float(v @ qv[0])
        missing = [row for row, _ in fused if row not in cos and row not in self._fly]
        if missing:  # passages the index holds without a vector (BM25 only): embedded now, their
            # first ~400 characters (the title and opening), and kept for later queries
            vecs = self.embedder.encode([index_text(p)[:400] for p in self.store.get(missing)])
            if len(self._fly) > 50_000:
                self._fly.clear()
            self._fly.update(zip(missing, vecs, strict=True))
        for row, _ in fused:
            if row not in cos:
                cos[row] = float(self._fly[row] @ qv[0])
        scored = []
        for row, _ in fused:
            c = cos[row]
            scored.append((row, c, c + self.bm25_share * bm.get(row, 0.0) / top_bm))
        scored.sort(key=lambda t: (-t[2], t[0]))
        keep: list[tuple[int, float, float]] = []
        per: dict[str, int] = {}
        passages = dict(zip([r for r, _, _ in scored], self.store.get([r for r, _, _ in scored]), strict=True))
        for row, c, s in scored:
            if floor is not None and floor >= 0 and c < floor:
                continue
            doc = passages[row].doc_id
            if per.get(doc, 0) >= self.per_doc:
                continue
            per[doc] = per.get(doc, 0) + 1
            keep.append((row, c, s))
            if len(keep) == k:
                break
        return [(Hit(passages[r], s, i + 1, self.method), c) for i, (r, c, s) in enumerate(keep)]

    def search(self, query: str, k: int = 3) -> list[Hit]:
        if k < 1:
            raise ValueError(f"k={k}: ask for at least one result")
        return [h for h, _ in self.scored(query, k)]


def split_sentences(text: str) -> list[str]:
    out = []
    for s in _SENT.split(text):
        s = " ".join(s.split()).lstrip("-•* ").strip()
        if len(s) > 2 and not s.startswith("(Figure"):
            out.append(s)
    return out


def answer_sentences(question: str, texts: list[str], embedder: Any, n: int = 3,
                     qv: np.ndarray | None = None) -> list[list[tuple[str, float]]]:
    """For each text, its `n` sentences closest to `question` (MiniLM cosine), in text order,
    with their cosine. One encode call for all texts."""
    sents = [split_sentences(t) for t in texts]
    flat = [s for ss in sents for s in ss]
    if not flat:
        return [[] for _ in texts]
    qv = embedder.encode([question])[0] if qv is None else qv
    v = embedder.encode(flat) @ qv
    out, i = [], 0
    for ss in sents:
        sims = v[i:i + len(ss)]
        i += len(ss)
        top = sorted(np.argsort(-sims)[:n].tolist())
        out.append([(ss[j], float(sims[j])) for j in top])
    return out
