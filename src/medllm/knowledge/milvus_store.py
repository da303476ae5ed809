"""Retrieval on Milvus: the second store behind the index interface, for corpora past a laptop.

One collection holds each passage, its MiniLM vector (FLAT, inner product: exact, as the embedded
FAISS flat index) and its BM25 sparse vector: the bm25s weights of its title + text (Lucene BM25,
k1=1.5, b=0.75, English stop words, Snowball stemming, as the embedded index), each term at a
stable hash of the term, so a query is its own terms' hashes and the inner product in the engine
is the bm25s score. (Milvus's own BM25 function tokenizes differently: tried, its top 10 agreed
with bm25s on 61% of passages, so the two stores would not give the same answers.) Hybrid search
runs in the engine: both searches fetch max(2k, 100) candidates and Milvus fuses them with RRF
(k=60), as `HybridRetriever` does in process. Hits are the same `Hit` records with the same
citations; `sources` / `licenses` filters run in the engine.

Where: `milvus://HOST:19530/COLLECTION` (a Milvus server), or a path ending in `.db` (an embedded
milvus-lite file, for tests and small sites; collection `passages`, or `PATH.db#COLLECTION`).
Building embeds and inserts in batches; BM25's term statistics are computed over the whole corpus
first (as bm25s does), so the build holds the passages' term lists in memory, not their vectors.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medllm.knowledge.chunking import dedupe, index_text
from medllm.knowledge.retrievers import DEFAULT_RRF_K, Embedder, Hit, _check_query, candidates
from medllm.types import Passage

DEFAULT_COLLECTION = "passages"
BATCH = 512  # passages embedded and inserted at a time
MAX_TEXT = 65535  # Milvus VARCHAR limit (bytes)


def term_id(term: str) -> int:
    """A term's dimension in the sparse vectors: stable across builds and processes."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little") & 0x7FFFFFFF


def bm25_rows(texts: list[str], stem: bool = True) -> list[dict[int, float]]:
    """Each text's bm25s weights (the embedded index's scoring), keyed by `term_id`."""
    import bm25s
    import scipy.sparse as sp

    from medllm.knowledge.retrievers import bm25_tokenize

    tok = bm25_tokenize(texts, stem)
    model = bm25s.BM25()
    model.index(tok, show_progress=False)
    sc = model.scores
    n_terms = len(sc["indptr"]) - 1  # bm25s may keep one more vocabulary entry ("") with no column
    vocab = {i: t for t, i in model.vocab_dict.items()}
    ids = np.array([term_id(vocab[i]) for i in range(n_terms)], dtype=np.int64)
    m = sp.csc_matrix((sc["data"], sc["indices"], sc["indptr"]), shape=(sc["num_docs"], n_terms)).tocsr()
    return [{int(ids[j]): float(w) for j, w in zip(m.indices[m.indptr[r]:m.indptr[r + 1]],
                                                   m.data[m.indptr[r]:m.indptr[r + 1]], strict=True) if w > 0}
            for r in range(m.shape[0])]


def bm25_query(query: str, stem: bool = True) -> dict[int, float]:
    """The query's terms as bm25s sees them (a repeated term counts again, as in bm25s)."""
    import bm25s

    from medllm.knowledge.retrievers import _stemmer

    toks = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer() if stem else None,
                          return_ids=False, show_progress=False)[0]
    out: dict[int, float] = {}
    for t in toks:
        out[term_id(t)] = out.get(term_id(t), 0.0) + 1.0
    return out
_FIELDS = ["pid", "doc_id", "title", "text", "source", "url", "license"]


@dataclass(frozen=True)
class MilvusSpec:
    uri: str  # http://HOST:PORT or a milvus-lite file path
    collection: str

    @property
    def lite(self) -> bool:
        return not self.uri.startswith("http")


def is_milvus_spec(spec: str | Path) -> bool:
    s = str(spec)
    return s.startswith("milvus://") or s.split("#", 1)[0].endswith(".db")


def parse_milvus_spec(spec: str | Path) -> MilvusSpec:
    """`milvus://HOST:PORT/COLLECTION` or `PATH.db[#COLLECTION]`."""
    s = str(spec)
    if s.startswith("milvus://"):
        rest = s[len("milvus://"):]
        host, _, coll = rest.partition("/")
        if not host or not coll or "/" in coll:
            raise ValueError(f"--index {s!r}: write milvus://HOST:19530/COLLECTION")
        if ":" not in host:
            host += ":19530"
        return MilvusSpec(f"http://{host}", coll)
    path, _, coll = s.partition("#")
    if not path.endswith(".db"):
        raise ValueError(f"--index {s!r}: a milvus-lite index is a file ending in .db, or use milvus://HOST:19530/COLLECTION")
    return MilvusSpec(str(Path(path).resolve()), coll or DEFAULT_COLLECTION)


def _client(spec: MilvusSpec) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise ValueError("a Milvus index needs pymilvus (and milvus-lite for a .db file): "
                         "`pip install 'medllm[milvus]'`") from None
    if spec.lite:
        Path(spec.uri).parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(spec.uri)


def _clip(s: str | None, n: int = MAX_TEXT) -> str:
    b = (s or "").encode("utf-8")
    return s or "" if len(b) <= n else b[:n].decode("utf-8", errors="ignore")


def _create(client: Any, name: str, dim: int, description: str) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, description=description)
    schema.add_field("row", DataType.INT64, is_primary=True)
    for f in _FIELDS:
        schema.add_field(f, DataType.VARCHAR, max_length=MAX_TEXT if f in ("text", "title") else 2048)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    ip = client.prepare_index_params()
    ip.add_index("dense", index_type="FLAT", metric_type="IP")
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=ip)


def build_milvus_index(passages: Iterable[Passage], spec: str | Path, *, embedder: Embedder | None = None,
                       overwrite: bool = False, batch: int = BATCH,
                       progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Write `passages` (chunked) into a Milvus collection, `batch` at a time: exact duplicates
    dropped as `build_index` drops them, rows numbered in order. Returns counts and seconds."""
    t0 = time.perf_counter()
    ms = parse_milvus_spec(spec)
    client = _client(ms)
    if client.has_collection(ms.collection):
        if not overwrite:
            raise FileExistsError(f"{spec}: collection {ms.collection!r} exists; pass --overwrite to replace it")
        client.drop_collection(ms.collection)
    embedder = embedder or Embedder()
    _create(client, ms.collection, embedder.dim,
            json.dumps({"dense": embedder.name, "rrf_k": DEFAULT_RRF_K, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    plist, dropped = dedupe(passages)
    if not plist:
        raise ValueError("no passages to index; check that the corpus holds documents with text")
    sparse = bm25_rows([index_text(p) for p in plist])
    sources: dict[str, int] = {}
    for start in range(0, len(plist), batch):
        part = plist[start:start + batch]
        vecs = embedder.encode([index_text(p) for p in part])
        data = [{"row": start + i, "pid": p.id, "doc_id": p.doc_id, "title": _clip(p.title), "text": _clip(p.text),
                 "source": p.source or "", "url": p.url or "", "license": p.license or "",
                 "dense": v.tolist(), "sparse": sparse[start + i] or {0: 0.0}}
                for i, (p, v) in enumerate(zip(part, vecs, strict=True))]
        client.insert(ms.collection, data)
        for p in part:
            sources[p.source] = sources.get(p.source, 0) + 1
        if progress:
            progress("milvus", start + len(part), len(plist))
    row = len(plist)
    client.flush(ms.collection)
    client.close()
    return {"store": str(spec), "counts": {"passages": row, "dense": row, "duplicates_dropped": dropped,
                                           "sources": sources},
            "build_seconds": round(time.perf_counter() - t0, 1)}


def _filter(sources: Sequence[str] | None, licenses: Sequence[str] | None) -> str:
    parts = []
    if sources:
        parts.append(f"source in {json.dumps(list(sources))}")
    if licenses:
        parts.append(f"license in {json.dumps(list(licenses))}")
    return " and ".join(parts)


class MilvusRetriever:
    """Search a Milvus collection: `search` is hybrid (RRF in the engine); `retriever("bm25")`
    and `retriever("dense")` search one side. The same `Hit`s as the embedded index."""

    method = "hybrid"

    def __init__(self, spec: str | Path, *, embedder: Embedder | None = None, rrf_k: int = DEFAULT_RRF_K,
                 dense: bool = True) -> None:
        self.spec = parse_milvus_spec(spec)
        self.client = _client(self.spec)
        if not self.client.has_collection(self.spec.collection):
            raise FileNotFoundError(f"{spec}: no collection {self.spec.collection!r}; build it with "
                                    f"`medllm kb build --corpus SPEC --store {spec}`")
        self.client.load_collection(self.spec.collection)
        self.rrf_k = rrf_k
        self.embedder = (embedder or Embedder()) if dense else None
        self.manifest: dict = {"store": str(spec)}

    has_dense = True
    note: str | None = None

    def __len__(self) -> int:
        return int(self.client.get_collection_stats(self.spec.collection)["row_count"])

    def retriever(self, method: str) -> Any:
        if method == "hybrid":
            return self
        if method in ("bm25", "dense"):
            return _OneSide(self, method)
        raise ValueError(f"method {method!r}: use bm25, dense or hybrid")

    def _request(self, method: str, query: str, n: int, expr: str) -> Any:
        from pymilvus import AnnSearchRequest

        if method == "dense":
            if self.embedder is None:
                raise ValueError("this retriever was opened without the embedding model; use --method bm25")
            return AnnSearchRequest(data=[self.embedder.encode([query])[0].tolist()], anns_field="dense",
                                    param={"metric_type": "IP"}, limit=n, expr=expr or None)
        return AnnSearchRequest(data=[bm25_query(query) or {0: 0.0}], anns_field="sparse", param={"metric_type": "IP"},
                                limit=n, expr=expr or None)

    def _hits(self, res: Any, method: str) -> list[Hit]:
        out = []
        for i, r in enumerate(res[0] if res else []):
            e = r["entity"]
            p = Passage(id=e["pid"], doc_id=e["doc_id"], title=e["title"], text=e["text"], source=e["source"],
                        url=e["url"] or None, license=e["license"] or None)
            if method == "bm25" and float(r["distance"]) <= 0:
                break  # no query term in it (bm25s leaves these out too)
            out.append(Hit(p, float(r["distance"]), i + 1, method))
        return out

    def search(self, query: str, k: int = 10, *, sources: Sequence[str] | None = None,
               licenses: Sequence[str] | None = None) -> list[Hit]:
        from pymilvus import RRFRanker

        _check_query(query, k)
        if self.embedder is None:
            return self.search_one("bm25", query, k, sources=sources, licenses=licenses)
        n = candidates(k)
        expr = _filter(sources, licenses)
        res = self.client.hybrid_search(self.spec.collection, [self._request("bm25", query, n, expr),
                                                               self._request("dense", query, n, expr)],
                                        RRFRanker(self.rrf_k), limit=k, output_fields=_FIELDS)
        return self._hits(res, "hybrid")

    def search_one(self, method: str, query: str, k: int, *, sources: Sequence[str] | None = None,
                   licenses: Sequence[str] | None = None) -> list[Hit]:
        _check_query(query, k)
        req = self._request(method, query, k, _filter(sources, licenses))
        res = self.client.search(self.spec.collection, data=req.data, anns_field=req.anns_field,
                                 search_params={"params": {}}, limit=k, filter=req.expr or "",
                                 output_fields=_FIELDS)
        return self._hits(res, method)

    def close(self) -> None:
        self.client.close()


@dataclass
class _OneSide:
    parent: MilvusRetriever
    method: str

    def search(self, query: str, k: int = 10) -> list[Hit]:
        return self.parent.search_one(self.method, query, k)


