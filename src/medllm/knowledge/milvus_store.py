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
Building streams: a first pass over the corpus counts BM25's term statistics (document frequency
and mean length: the vocabulary is held, not the passages), a second embeds, weights and inserts
512 passages at a time; a runner (`medllm.runners.kb`) spreads the second pass over workers. A
build that stops is resumed by running it again (`open_build`): rows are numbered in corpus order
and the collection records the build's fingerprint, so the rerun deletes the batch it was cut in
and inserts from there.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medllm.knowledge.chunking import index_text, text_hash
from medllm.knowledge.retrievers import DEFAULT_RRF_K, Embedder, Hit, _check_query, candidates
from medllm.types import Passage

DEFAULT_COLLECTION = "passages"
BATCH = 512  # passages embedded and inserted at a time
MAX_TEXT = 65535  # Milvus VARCHAR limit (bytes)
BUILD_PROPERTY = "medllm.build"  # collection property: the build's fingerprint (a rerun resumes it)


def term_id(term: str) -> int:
    """A term's dimension in the sparse vectors: stable across builds and processes."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little") & 0x7FFFFFFF


def bm25_rows(texts: list[str], stem: bool = True) -> list[dict[int, float]]:
    """Each text's bm25s weights (the embedded index's scoring), keyed by `term_id`, with the
    term statistics of `texts` themselves (a whole corpus in memory: see `CorpusStats` to stream)."""
    stats = CorpusStats(stem=stem)
    toks = tokenize_terms(texts, stem)
    for t in toks:
        stats.add_doc(t)
    return stats.weights().rows_from_terms(toks)


def tokenize_terms(texts: Sequence[str], stem: bool = True) -> list[list[str]]:
    """Each text's terms as bm25s indexes them (its token pattern, English stop words, Snowball)."""
    import bm25s

    from medllm.knowledge.retrievers import _stemmer

    if not texts:
        return []
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer() if stem else None,
                          return_ids=False, show_progress=False)


@dataclass
class BM25Weights:
    """What a worker needs to weight a passage's terms as bm25s does over the whole corpus:
    each term's Lucene idf, log(1 + (N - df + 0.5) / (df + 0.5)), and the mean passage length;
    a passage's weight for term t is idf(t) * tf / (tf + k1 * (1 - b + b * len / avg_len))."""

    idf: dict[str, float]
    avg_len: float
    stem: bool = True
    k1: float = 1.5
    b: float = 0.75

    def rows_from_terms(self, docs: Sequence[Sequence[str]]) -> list[dict[int, float]]:
        out = []
        for terms in docs:
            tf: dict[str, int] = {}
            for t in terms:
                tf[t] = tf.get(t, 0) + 1
            norm = self.k1 * ((1 - self.b) + self.b * len(terms) / self.avg_len) if self.avg_len else self.k1
            row: dict[int, float] = {}
            for t, n in tf.items():
                w = float(np.float32(self.idf[t] * n / (norm + n)))  # bm25s stores float32
                if w > 0:
                    row[term_id(t)] = row.get(term_id(t), 0.0) + w
            out.append(row)
        return out

    def rows(self, texts: Sequence[str]) -> list[dict[int, float]]:
        return self.rows_from_terms(tokenize_terms(texts, self.stem))


@dataclass
class CorpusStats:
    """BM25's corpus statistics, gathered in one streaming pass: documents, their total length
    and each term's document frequency (memory: the vocabulary, not the corpus)."""

    stem: bool = True
    docs: int = 0
    total_len: int = 0
    df: dict[str, int] = field(default_factory=dict)

    def add_doc(self, terms: Sequence[str]) -> None:
        self.docs += 1
        self.total_len += len(terms)
        for t in set(terms):
            self.df[t] = self.df.get(t, 0) + 1

    def weights(self) -> BM25Weights:
        n = self.docs
        idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in self.df.items()}
        return BM25Weights(idf, self.total_len / n if n else 0.0, self.stem)


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


def _create(client: Any, name: str, dim: int, description: str, properties: dict[str, str] | None = None) -> None:
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
    client.create_collection(name, schema=schema, index_params=ip, properties=properties or {})


PassageSource = Callable[[], Iterable[Passage]]  # a fresh pass over the corpus each call


@dataclass
class BuildPlan:
    """What the first pass over a corpus found: BM25's statistics, how many passages are kept,
    the stream positions dropped as duplicates (same text after case and whitespace folding, or
    a repeated id, as `dedupe` drops them), passages per source, and the batch size."""

    stats: CorpusStats
    kept: int
    dropped: list[int]
    sources: dict[str, int]
    batch: int = BATCH

    @property
    def batches(self) -> int:
        return -(-self.kept // self.batch)


def _source(passages: Iterable[Passage] | PassageSource) -> PassageSource:
    if callable(passages):
        return passages
    if iter(passages) is passages:  # a generator or iterator can be read once only
        raise ValueError("a Milvus build reads the corpus twice (BM25 statistics, then vectors): give a list of "
                         "passages or a function that returns a fresh iterator over them")
    return lambda: passages


def plan_build(passages: Iterable[Passage] | PassageSource, *, batch: int = BATCH, stem: bool = True,
               progress: Callable[[str, int, int], None] | None = None) -> BuildPlan:
    """The first, streaming pass: drops duplicates and counts BM25's term statistics, `batch`
    passages tokenized at a time. Memory: the vocabulary, and one hash and id per passage."""
    if batch < 1:
        raise ValueError(f"batch={batch}: give at least 1")
    stats = CorpusStats(stem=stem)
    seen: set[str] = set()
    ids: set[str] = set()
    dropped: list[int] = []
    sources: dict[str, int] = {}
    buf: list[str] = []

    def flush() -> None:
        for terms in tokenize_terms(buf, stem):
            stats.add_doc(terms)
        buf.clear()
        if progress:
            progress("bm25 statistics", stats.docs, 0)

    for pos, p in enumerate(_source(passages)()):
        h = text_hash(p)
        if h in seen or p.id in ids:
            dropped.append(pos)
            continue
        seen.add(h)
        ids.add(p.id)
        sources[p.source] = sources.get(p.source, 0) + 1
        buf.append(index_text(p))
        if len(buf) >= batch:
            flush()
    flush()
    if not stats.docs:
        raise ValueError("no passages to index; check that the corpus holds documents with text")
    return BuildPlan(stats, stats.docs, dropped, sources, batch)


def plan_batches(passages: Iterable[Passage] | PassageSource, plan: BuildPlan) -> Iterator[tuple[int, list[Passage]]]:
    """The second pass: (first row, passages) for each batch of kept passages, in order."""
    dropped = set(plan.dropped)
    row, buf = 0, []
    for pos, p in enumerate(_source(passages)()):
        if pos in dropped:
            continue
        buf.append(p)
        if len(buf) == plan.batch:
            yield row, buf
            row, buf = row + len(buf), []
    if buf:
        yield row, buf
        row += len(buf)
    if row != plan.kept:
        raise ValueError(f"the corpus changed between the two passes ({plan.kept:,} passages, then {row:,}); "
                         "build again from a corpus nobody is writing to")


@dataclass
class MilvusBatch:
    """One batch ready to insert: rows from `start`, the passages' fields, vectors, BM25 weights."""

    start: int
    passages: list[Passage]
    dense: np.ndarray
    sparse: list[dict[int, float]]


@dataclass
class MilvusRowsSpec:
    """The pure step of a build, as a runner's worker builds it: embed a batch and weight its
    terms. `embedder`: None builds the packaged MiniLM (with `max_tokens`) in the worker."""

    weights: BM25Weights
    embedder: Any = None
    max_tokens: int | None = None

    def build(self) -> Callable[[tuple[int, list[Passage]]], MilvusBatch]:
        emb = self.embedder if self.embedder is not None else Embedder(max_tokens=self.max_tokens)

        def run(payload: tuple[int, list[Passage]]) -> MilvusBatch:
            start, part = payload
            texts = [index_text(p) for p in part]
            return MilvusBatch(start, part, np.asarray(emb.encode(texts), dtype=np.float32), self.weights.rows(texts))

        return run


def check_target(spec: str | Path, overwrite: bool) -> None:
    """Fail before a build reads its corpus when `spec` is malformed, or names a collection that
    exists and `overwrite` is off, unless it holds an unfinished build (which the build may resume
    once its first pass shows the corpus and settings are the same)."""
    ms = parse_milvus_spec(spec)
    if not overwrite and (not ms.lite or Path(ms.uri).exists()):
        client = _client(ms)
        try:
            if client.has_collection(ms.collection):
                build = _build_record(client, ms.collection)
                if build is None:
                    raise FileExistsError(f"{spec}: collection {ms.collection!r} exists; pass --overwrite to replace it")
                if _row_count(client, ms.collection) >= int(build.get("kept", 0)):
                    raise FileExistsError(f"{spec}: collection {ms.collection!r} exists (a finished build); pass "
                                          "--overwrite to replace it")
        finally:
            client.close()


def plan_fingerprint(plan: BuildPlan, embedder: Any) -> str:
    """What a resumed build must share with the one it continues: the corpus as the first pass saw
    it (kept passages, dropped positions, sources, BM25's statistics), the batch size and the
    embedder. Equal fingerprints: batch n holds the same rows with the same vectors and weights."""
    h = hashlib.blake2b(digest_size=16)
    head = {"kept": plan.kept, "batch": plan.batch, "dropped": plan.dropped, "sources": sorted(plan.sources.items()),
            "docs": plan.stats.docs, "total_len": plan.stats.total_len, "stem": plan.stats.stem,
            "embedder": [getattr(embedder, "name", type(embedder).__name__), int(embedder.dim)]}
    h.update(json.dumps(head, sort_keys=True).encode())
    for t in sorted(plan.stats.df):
        h.update(f"{t}\x00{plan.stats.df[t]}\x00".encode())
    return h.hexdigest()


def _build_record(client: Any, name: str) -> dict | None:
    """The build record a collection was created with, a collection property (milvus-lite keeps
    properties, not descriptions); None: not made by a resumable build."""
    try:
        build = json.loads((client.describe_collection(name).get("properties") or {}).get(BUILD_PROPERTY) or "null")
    except (ValueError, AttributeError):
        return None
    return build if isinstance(build, dict) else None


def _row_count(client: Any, name: str, expr: str = "") -> int:
    client.load_collection(name)
    res = client.query(name, filter=expr, output_fields=["count(*)"], consistency_level="Strong")
    return int(res[0]["count(*)"]) if res else 0


def resume_batch(spec: str | Path, plan: BuildPlan, embedder: Any, overwrite: bool = False) -> int:
    """The first batch a build of `plan` into `spec` has to insert: 0 for a new (or overwritten)
    collection; for an unfinished build of the same corpus and settings, the first batch not
    wholly inserted. Reads only (`open_build` makes it so). Raises FileExistsError for a
    collection it cannot continue."""
    ms = parse_milvus_spec(spec)
    if overwrite or (ms.lite and not Path(ms.uri).exists()):
        return 0
    client = _client(ms)
    try:
        return _resume_point(client, ms, spec, plan, embedder)
    finally:
        client.close()


def _resume_point(client: Any, ms: MilvusSpec, spec: str | Path, plan: BuildPlan, embedder: Any) -> int:
    if not client.has_collection(ms.collection):
        return 0
    build = _build_record(client, ms.collection)
    if build is None:
        raise FileExistsError(f"{spec}: collection {ms.collection!r} exists; pass --overwrite to replace it")
    done = _row_count(client, ms.collection)
    if build.get("plan") != plan_fingerprint(plan, embedder):
        raise FileExistsError(f"{spec}: collection {ms.collection!r} holds {'an unfinished' if done < plan.kept else 'a'} "
                              "build of another corpus or other settings (batch size, embedder); pass --overwrite "
                              "to replace it")
    if done >= plan.kept:
        raise FileExistsError(f"{spec}: collection {ms.collection!r} exists (a finished build); pass --overwrite "
                              "to replace it")
    return done // plan.batch


def build_milvus_index(passages: Iterable[Passage] | PassageSource, spec: str | Path, *,
                       embedder: Embedder | None = None, overwrite: bool = False, batch: int = BATCH,
                       progress: Callable[[str, int, int], None] | None = None, plan: BuildPlan | None = None,
                       results: Callable[[int], MilvusBatch | None] | None = None, start: int | None = None) -> dict:
    """Write `passages` (chunked: a list, or a function returning a fresh iterator) into a Milvus
    collection, streaming: a first pass counts BM25's statistics (`plan_build`, unless `plan` is
    given), a second embeds and inserts `batch` passages at a time, so the corpus is never held
    in memory. Exact duplicates are dropped as `build_index` drops them; rows are numbered in
    order. `results(batch number)`: that batch computed elsewhere (a runner's workers), None to
    compute it here. Returns counts and seconds.

    Resumable: the collection records the build's fingerprint (`plan_fingerprint`). Run again
    after an interruption (without `overwrite`), a build of the same corpus and settings deletes
    the rows of the batch it was inserting when it stopped and goes on from that batch, so every
    passage is there once; `start`: the batch the caller expects it to go on from (a runner's
    units), checked."""
    t0 = time.perf_counter()
    ms = parse_milvus_spec(spec)
    source = _source(passages)
    if plan is None:
        check_target(spec, overwrite)
        plan = plan_build(source, batch=batch, progress=progress)
    embedder = embedder or Embedder()
    client = _client(ms)
    try:
        first = open_build(client, ms, spec, plan, embedder, overwrite)
    except BaseException:
        client.close()
        raise
    if start is not None and start != first:
        client.close()
        raise RuntimeError(f"{spec}: the build was to go on from batch {start}, the collection says {first}; run it again")
    local: Callable[[tuple[int, list[Passage]]], MilvusBatch] | None = None
    reader: Iterator[tuple[int, list[Passage]]] | None = None
    at = 0  # the batch number `reader` yields next

    def read(n: int) -> tuple[int, list[Passage]]:
        nonlocal reader, at
        if reader is None or at > n:
            reader, at = plan_batches(source, plan), 0
        while True:
            payload = next(reader)
            at += 1
            if at - 1 == n:
                return payload

    try:  # an interrupted build leaves what it inserted flushed, and the connection closed
        for n in range(first, plan.batches):
            got = results(n) if results is not None else None
            if got is None:  # compute it here (the local runner; or a batch no worker computed)
                if local is None:
                    local = MilvusRowsSpec(plan.stats.weights(), embedder).build()
                got = local(read(n))
            if got.start != n * plan.batch:
                raise RuntimeError(f"batch {n} came back starting at row {got.start}, not {n * plan.batch}")
            data = [{"row": got.start + i, "pid": p.id, "doc_id": p.doc_id, "title": _clip(p.title),
                     "text": _clip(p.text), "source": p.source or "", "url": p.url or "", "license": p.license or "",
                     "dense": v.tolist(), "sparse": sp or {0: 0.0}}
                    for i, (p, v, sp) in enumerate(zip(got.passages, got.dense, got.sparse, strict=True))]
            client.insert(ms.collection, data)
            if progress:
                progress("milvus", got.start + len(data), plan.kept)
    finally:
        client.flush(ms.collection)
        client.close()
    return {"store": str(spec), "counts": {"passages": plan.kept, "dense": plan.kept,
                                           "duplicates_dropped": len(plan.dropped), "sources": plan.sources},
            "resumed_after": first * plan.batch, "build_seconds": round(time.perf_counter() - t0, 1)}


def open_build(client: Any, ms: MilvusSpec, spec: str | Path, plan: BuildPlan, embedder: Any, overwrite: bool) -> int:
    """Make the collection ready for a build of `plan` and return the first batch to insert: a new
    collection (an existing one dropped with `overwrite`) from batch 0, or an unfinished build of
    the same fingerprint from its first batch not wholly inserted, whose rows are deleted first
    (an insert cut mid-batch)."""
    if overwrite and client.has_collection(ms.collection):
        client.drop_collection(ms.collection)
    first = _resume_point(client, ms, spec, plan, embedder)
    if not client.has_collection(ms.collection):
        record = {"kept": plan.kept, "batch": plan.batch, "plan": plan_fingerprint(plan, embedder)}
        _create(client, ms.collection, embedder.dim,
                json.dumps({"dense": embedder.name, "rrf_k": DEFAULT_RRF_K, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}),
                {BUILD_PROPERTY: json.dumps(record)})
        return 0
    keep = first * plan.batch
    client.delete(ms.collection, filter=f"row >= {keep}")
    client.flush(ms.collection)
    if _row_count(client, ms.collection) != keep or _row_count(client, ms.collection, f"row < {keep}") != keep:
        raise RuntimeError(f"{spec}: collection {ms.collection!r} does not hold rows 0..{keep - 1} once each; "
                           "pass --overwrite to build it again")
    return first


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


