"""Retrieval for a small model's context window: few strong passages, not many weak ones.

`ClinicalRetriever` wraps a text index (BM25 + MiniLM vectors, `medllm.knowledge.index`):

1. the lexical query is the question plus the names and synonyms of the concepts it mentions
   (present, not negated: HPO findings, ICD-10-CM conditions, drugs with their brand and generic
   names; at most three terms a concept, spelling variants such as Latin endings left out),
   linked by the knowledge graph when one is given; the dense query is the question plus only
   the concepts' preferred names (a brand name such as Lexapro is outside MiniLM's vocabulary,
   escitalopram is not; every synonym would pull the vector off the question);
2. BM25 and dense candidates are fused by reciprocal rank fusion (RRF, k=60); with `faq=True`,
   MedQuAD answers whose own question is close to the patient's
   (`medllm.knowledge.faq.QuestionMatcher`, cosine >= 0.6, the closest 3) join the candidates,
   scored by the better of their passage's cosine and their question's. Off by default: on K-QA
   dev items 0-49 it lowered the share of must-have statements the shown evidence supports
   (MiniLM judge 0.341 -> 0.324, contradicted 20 -> 21; `benchmarks/evidence_recall.py`): the
   matched answers are about the right condition but general ("What is Genital Herpes?"), and
   they push out the more specific textbook passages;
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medllm.knowledge.chunking import index_text
from medllm.knowledge.retrievers import Hit, HybridRetriever, rrf

DEFAULT_FLOOR = 0.35
BM25_SHARE = 0.1
FAQ_N = 3  # MedQuAD answers whose question is closest to the patient's ...
FAQ_FLOOR = 0.6  # ... when at least this close (the entailment judge's cosine; a prior, not tuned)
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])|\n+")


@dataclass(frozen=True)
class Expansion:
    """The query as searched: the words added to it, the concepts they came from, and those
    concepts' preferred names (what the dense query adds: a brand name alone is often unknown
    to MiniLM, the generic name is not)."""

    query: str
    added: list[str]
    concepts: list[str]
    names: list[str] = field(default_factory=list)


def _variant(name: str, kept: list[str]) -> bool:
    """Whether `name` is only a spelling variant of a kept term (Latin or Spanish endings such as
    escitalopramum, buspirona) or a fragment with a one-letter word ("lutein g"): BM25 gains
    nothing from either, and the odd word can pull in unrelated passages."""
    low = name.lower()
    if any(len(w) == 1 for w in low.split()):
        return True
    return any(len(k) >= 5 and low[:max(5, len(k) - 2)] == k.lower()[:max(5, len(k) - 2)] for k in kept)


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
    names: list[str] = []
    ids: list[str] = []
    seen = [w for w in re.findall(r"[a-z0-9]+", have) if len(w) >= 5]
    for s in spans:
        if not s.concept_id or s.polarity != "present" or s.concept_id in ids:
            continue
        ids.append(s.concept_id)
        c = graph.concepts.get(s.concept_id)
        if c is None:
            continue
        mine = 0  # terms this concept adds: its name and up to two synonyms, shortest first
        for i, name in enumerate([c.name, *sorted(c.synonyms, key=len)]):
            name = re.sub(r"\s*\[.*?\]|\s*\(.*?\)", "", name).strip()
            if not name or name.lower() in have or len(name) > 40 or name in added or _variant(name, [*added, *seen]):
                continue
            if i == 0:
                names.append(name)
            added.append(name)
            mine += 1
            if mine == 3:
                break
    added = added[:max_terms]
    return Expansion(" ".join([question, *added]), added, ids, names)


class ClinicalRetriever:
    """Hybrid search with query expansion, cosine rerank and a relevance floor (see module doc).
    Answers `search(query, k)` like every retriever; `Hit.score` is the rerank score and
    `Hit.method` "clinical"."""

    method = "clinical"

    def __init__(self, index: HybridRetriever, graph: Any = None, *, floor: float | None = DEFAULT_FLOOR,
                 n_candidates: int = 30, per_doc: int = 2, expand: bool = True, bm25_share: float = BM25_SHARE,
                 dense_names: bool = True, faq: bool = False) -> None:
        if index.dense is None:
            raise ValueError("the clinical retriever needs an index with dense vectors; rebuild it with "
                             "`medllm kb build-default` (vectors are on by default)")
        self.index, self.graph, self.floor = index, graph, floor
        self.n_candidates, self.per_doc, self.expand, self.bm25_share = n_candidates, per_doc, expand, bm25_share
        self.dense_names = dense_names
        self.faq = faq
        self._matcher: Any = None
        self.store = index.store
        self.manifest = index.manifest
        self._fly: dict[int, np.ndarray] = {}
        rows = np.asarray(index.dense.rows)
        self._rows = rows
        self._sorted = bool(np.all(rows[1:] >= rows[:-1])) if len(rows) > 1 else True

    @property
    def embedder(self) -> Any:
        return self.index.dense.embedder  # type: ignore[union-attr]

    def matcher(self) -> Any:
        """The MedQuAD question matcher, built on first use; None when the index holds no MedQuAD
        answers or `faq` is off."""
        if self._matcher is None and self.faq:
            from medllm.knowledge.faq import QuestionMatcher

            m = QuestionMatcher(self.store, self.embedder)
            self._matcher = m if m.docs else False
        return self._matcher or None

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
        return self.scored_expanded(query, k, floor)[0]

    def search_expanded(self, query: str, k: int = 3) -> tuple[list[Hit], Expansion]:
        """`search`, with the expansion it searched by (returned, not kept on the instance, so
        concurrent requests never read each other's)."""
        if k < 1:
            raise ValueError(f"k={k}: ask for at least one result")
        scored, exp = self.scored_expanded(query, k)
        return [h for h, _ in scored], exp

    def scored_expanded(self, query: str, k: int = 3, floor: float | None = None) -> tuple[list[tuple[Hit, float]], Expansion]:
        if not query.strip():
            raise ValueError("empty query; give some words to search for")
        floor = self.floor if floor is None else floor
        exp = expand_query(query, self.graph) if self.expand else Expansion(query, [], [])
        n = max(self.n_candidates * 2, 50)
        lex = self.index.bm25.search_rows(exp.query, n)
        qv = self.embedder.encode([self.dense_query(query, exp)])
        den = self.index.dense.search_vectors(qv, n)[0]  # type: ignore[union-attr]
        fused = rrf([[r for r, _ in lex], [r for r, _ in den]], self.n_candidates, self.index.rrf_k)
        by_question: dict[int, float] = {}  # row -> cosine of its MedQuAD question with the query
        if (m := self.matcher()) is not None:
            matches = m.match(qv[0], FAQ_N, FAQ_FLOOR)
            rows_of = self.store.rows_of([d for d, _ in matches])
            for doc, cq in matches:
                for row in rows_of[doc]:
                    by_question[row] = max(by_question.get(row, 0.0), cq)
            have = {r for r, _ in fused}
            fused = [*fused, *[(r, 0.0) for r in by_question if r not in have]]
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
            c = max(cos[row], by_question.get(row, -1.0))
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
        return [(Hit(passages[r], s, i + 1, self.method), c) for i, (r, c, s) in enumerate(keep)], exp

    def dense_query(self, query: str, exp: Expansion) -> str:
        """What MiniLM reads: the question, plus the preferred names of the concepts it links
        when `dense_names` (a brand or misspelt name alone is often out of MiniLM's vocabulary;
        only the preferred names, not every synonym, so the vector stays on the question)."""
        if not self.dense_names or not exp.names or not exp.query.startswith(query):
            return query
        return f"{query} ({', '.join(exp.names)})"

    def search(self, query: str, k: int = 3) -> list[Hit]:
        return self.search_expanded(query, k)[0]


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
