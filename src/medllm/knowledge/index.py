"""An index on disk: a folder holding

  manifest.json     corpora (spec, sha256), models, parameters, counts, build seconds
  passages.sqlite   the passages; row n = BM25 doc n
  bm25/             the bm25s index (memory-mapped when loaded)
  dense.faiss       FAISS vectors (flat = exact, or HNSW), optional
  dense_rows.npy    FAISS id -> passage row (dense may cover a subset of the passages)

A build writes into `DIR.partial` and renames it to DIR at the end, so a crash never leaves a
half index under DIR. Embeddings are saved there in parts as they are computed, so re-running
the same build resumes where it stopped. `add_to_index` appends passages: the new ones are
embedded and added to FAISS, BM25 is re-indexed from the store (bm25s has no incremental add,
and re-indexing is seconds next to embedding).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from medllm.atomic import atomic_write_json
from medllm.knowledge.chunking import Chunker, dedupe, index_text
from medllm.knowledge.corpora import load_corpus, parse_spec
from medllm.knowledge.retrievers import (
    DEFAULT_RRF_K,
    BM25Retriever,
    DenseRetriever,
    Embedder,
    HybridRetriever,
    build_bm25,
    make_faiss_index,
)
from medllm.knowledge.store import PassageStore
from medllm.types import Document, Passage

FORMAT = 1
EMB_PART = 2048  # passages per saved embedding part (the resume unit)
STORE_BATCH = 10_000  # passages written to the store at a time

Progress = Callable[[str, int, int], None]  # (step, done, total)


def _noop(step: str, done: int, total: int) -> None:
    pass


def sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def read_manifest(index_dir: str | Path) -> dict:
    p = Path(index_dir) / "manifest.json"
    if not p.exists():
        raise FileNotFoundError(f"{index_dir}: no index here (manifest.json missing); build one with "
                                "`medllm kb build --corpus SPEC --out DIR` or `medllm kb build-default`")
    return json.loads(p.read_text())


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def embed_parts(texts: list[str], work: Path) -> list[tuple[int, Path]]:
    """The resume units of an embedding: (first text, the file its vectors are saved in) for
    each part of EMB_PART texts; a file's name holds a hash of its texts."""
    out = []
    for start in range(0, len(texts), EMB_PART):
        chunk = texts[start:start + EMB_PART]
        key = hashlib.blake2b("\x00".join(chunk).encode(), digest_size=8).hexdigest()
        out.append((start, work / f"part-{start // EMB_PART:05d}-{key}.npy"))
    return out


def save_part(f: Path, v: np.ndarray) -> None:
    tmp = f.with_suffix(".tmp.npy")
    np.save(tmp, v)
    os.replace(tmp, f)


# how an index build turns texts into vectors: (embedder, texts, work folder, progress) -> vectors;
# the default embeds here, `medllm.runners.kb.runner_vectors` on a runner's workers
Vectors = Callable[[Embedder, list[str], Path, Progress], np.ndarray]


def _embed_resumable(embedder: Embedder, texts: list[str], work: Path, progress: Progress) -> np.ndarray:
    """Embed in parts saved under `work`; parts already there (same texts) are reused."""
    work.mkdir(parents=True, exist_ok=True)
    out = np.empty((len(texts), embedder.dim), np.float32)  # filled in place: one copy of the vectors
    for start, f in embed_parts(texts, work):
        if f.exists():
            v = np.load(f)
        else:
            v = embedder.encode(texts[start:start + EMB_PART])
            save_part(f, v)
        out[start:start + len(v)] = v
        progress("embed", min(start + EMB_PART, len(texts)), len(texts))
    return out


def build_index(
    passages: Iterable[Passage],
    out: str | Path,
    *,
    dense: bool | Callable[[Passage], bool] = True,
    faiss_kind: str = "flat",
    stem: bool = True,
    corpora: list[dict] | None = None,
    params: dict | None = None,
    embedder: Embedder | None = None,
    embed_text: Callable[[Passage], str] = index_text,
    progress: Progress = _noop,
    overwrite: bool = False,
    vectors: Vectors | None = None,
) -> dict:
    """Write an index of `passages` (already chunked) to `out`; returns the manifest.

    `dense`: True embeds every passage, False none, a predicate embeds the passages it accepts.
    `embed_text`: what is embedded for a passage (default: title + text, as BM25 indexes it).
    `vectors`: how the texts are embedded (default: here, resumably; a runner's is
    `medllm.runners.kb.runner_vectors(runner)`).
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it or `medllm kb add` to append")
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    db = partial / "passages.sqlite"
    db.unlink(missing_ok=True)  # the store is cheap to rewrite; embeddings are what resume
    plist, dropped = dedupe(passages)
    if not plist:
        raise ValueError("no passages to index; check that the corpus holds documents with text")
    store = PassageStore(db)
    for start in range(0, len(plist), STORE_BATCH):  # rows made a batch at a time, not all at once
        store.add(plist[start:start + STORE_BATCH], commit=False)
    store.commit()
    store.close()
    n_passages, sources = len(plist), _count_sources(plist)
    texts = [index_text(p) for p in plist]
    if dense is False or (dense is True and embed_text is index_text):
        del passages, plist  # all that is left to do needs only the texts: let the passages go
        plist = []
    progress("bm25", 0, len(texts))
    bm_tmp = partial / "bm25.tmp"
    shutil.rmtree(bm_tmp, ignore_errors=True)
    build_bm25(texts, bm_tmp, stem=stem)
    shutil.rmtree(partial / "bm25", ignore_errors=True)
    os.replace(bm_tmp, partial / "bm25")
    progress("bm25", len(texts), len(texts))
    same_texts = texts if dense is True and embed_text is index_text else None  # embedded as indexed
    del texts
    n_dense = 0
    embed_name = None
    if dense:
        rows = np.arange(n_passages, dtype=np.int64) if dense is True else \
            np.array([i for i, p in enumerate(plist) if dense(p)], dtype=np.int64)  # type: ignore[operator]
        if len(rows):
            embedder = embedder or Embedder()
            embed_name = embedder.name
            etexts = same_texts if same_texts is not None else [embed_text(plist[i]) for i in rows]
            same_texts = None
            vecs = (vectors or _embed_resumable)(embedder, etexts, partial / "emb", progress)
            del etexts
            _write_faiss(vecs, rows, partial, faiss_kind)
            del vecs
            n_dense = len(rows)
    shutil.rmtree(partial / "emb", ignore_errors=True)
    manifest = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "corpora": corpora or [],
        "models": {"bm25": "bm25s==0.3.16 lucene k1=1.5 b=0.75, stopwords=en, stemmer="
                   + ("snowball-english" if stem else "none"), "dense": embed_name},
        "params": {"faiss": faiss_kind if n_dense else None, "stem": stem, "rrf_k": DEFAULT_RRF_K, **(params or {})},
        "counts": {"passages": n_passages, "dense": n_dense, "duplicates_dropped": dropped,
                   "sources": sources},
        "build_seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_json(partial / "manifest.json", manifest)
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(partial, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(partial, out)
    manifest["size_bytes"] = dir_size(out)
    atomic_write_json(out / "manifest.json", manifest)
    return manifest


def _count_sources(ps: Iterable[Passage]) -> dict[str, int]:
    c: dict[str, int] = {}
    for p in ps:
        c[p.source] = c.get(p.source, 0) + 1
    return c


def _write_faiss(vecs: np.ndarray, rows: np.ndarray, folder: Path, kind: str, base: Any = None) -> None:
    import faiss

    ix = base if base is not None else make_faiss_index(vecs.shape[1], kind)
    ix.add(vecs)
    tmp = folder / "dense.faiss.tmp"
    faiss.write_index(ix, str(tmp))
    os.replace(tmp, folder / "dense.faiss")
    tmp_rows = folder / "dense_rows.tmp.npy"
    np.save(tmp_rows, rows.astype(np.int64))
    os.replace(tmp_rows, folder / "dense_rows.npy")


def documents_from_specs(specs: list[str]) -> tuple[list[dict], Iterable[Document]]:
    """The corpus records for the manifest, and one stream of documents over all specs."""
    records = []
    for s in specs:
        kind, path = parse_spec(s)
        records.append({"spec": s, "kind": kind, "path": str(path.resolve()), "sha256": sha256_path(path)})

    def docs() -> Iterable[Document]:
        for s in specs:
            yield from load_corpus(s)

    return records, docs()


def build_from_specs(specs: list[str], out: str | Path, *, chunk_size: int = 200, overlap: int = 32,
                     dense: bool = True, faiss_kind: str = "flat", progress: Progress = _noop,
                     overwrite: bool = False, limit: int | None = None, vectors: Vectors | None = None) -> dict:
    records, docs = documents_from_specs(specs)
    chunker = Chunker(size=chunk_size, overlap=overlap)
    passages = []
    for i, d in enumerate(docs):
        if limit is not None and i >= limit:
            break
        passages.extend(chunker.chunk(d))
        if i % 500 == 0:
            progress("chunk", i, 0)
    return build_index(passages, out, dense=dense, faiss_kind=faiss_kind, corpora=records,
                       params={"chunk_size": chunk_size, "overlap": overlap,
                               "tokenizer": "all-MiniLM-L6-v2 WordPiece", "limit": limit},
                       progress=progress, overwrite=overwrite, vectors=vectors)


def add_to_index(index_dir: str | Path, specs: list[str], *, progress: Progress = _noop,
                 embedder: Embedder | None = None) -> dict:
    """Append the documents of `specs` to an existing index; returns the updated manifest."""
    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    p = manifest["params"]
    records, docs = documents_from_specs(specs)
    chunker = Chunker(size=p.get("chunk_size", 200), overlap=p.get("overlap", 32))
    store = PassageStore(index_dir / "passages.sqlite")
    new, dropped = dedupe(chunker.chunk_all(docs), seen=store.hashes())
    known = {q.id for q in new if store.by_id(q.id) is not None}
    new = [q for q in new if q.id not in known]
    dropped += len(known)
    start = len(store)
    if new:
        store.add(new, commit=False)
        try:
            texts = [index_text(q) for q in store.iter_all()]
            bm_tmp = index_dir / "bm25.tmp"
            shutil.rmtree(bm_tmp, ignore_errors=True)
            build_bm25(texts, bm_tmp, stem=p.get("stem", True))
            if manifest["counts"]["dense"]:
                embedder = embedder or Embedder()
                vecs = _embed_resumable(embedder, [index_text(q) for q in new], index_dir / "emb.partial", progress)
                base = faiss.read_index(str(index_dir / "dense.faiss"))
                old_rows = np.load(index_dir / "dense_rows.npy")
                rows = np.concatenate([old_rows, np.arange(start, start + len(new), dtype=np.int64)])
                _write_faiss(vecs, rows, index_dir, p.get("faiss") or "flat", base=base)
                shutil.rmtree(index_dir / "emb.partial", ignore_errors=True)
                manifest["counts"]["dense"] += len(new)
            shutil.rmtree(index_dir / "bm25", ignore_errors=True)
            os.replace(bm_tmp, index_dir / "bm25")
        except BaseException:
            store.rollback()
            raise
        store.commit()
    store.close()
    manifest["corpora"].extend(records)
    manifest["counts"]["passages"] = start + len(new)
    manifest["counts"]["duplicates_dropped"] += dropped
    for src, n in _count_sources(new).items():
        manifest["counts"]["sources"][src] = manifest["counts"]["sources"].get(src, 0) + n
    manifest["size_bytes"] = dir_size(index_dir)
    manifest.setdefault("added", []).append({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "passages": len(new),
                                            "specs": specs})
    atomic_write_json(index_dir / "manifest.json", manifest)
    return manifest


def load_index(index_dir: str | Path, *, rrf_k: int | None = None, embedder: Embedder | None = None,
               mmap: bool = True, dense: bool = True) -> HybridRetriever:
    """Open an index for search. `dense=False` skips loading the embedding model (BM25 only)."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{index_dir}: index format {manifest.get('format')} is not {FORMAT}; rebuild it")
    store = PassageStore(index_dir / "passages.sqlite", readonly=True)
    stem = manifest["params"].get("stem", True)
    bm = BM25Retriever(index_dir / "bm25", store, stem=stem, mmap=mmap)
    dn = None
    if dense and manifest["counts"].get("dense") and (index_dir / "dense.faiss").exists():
        dn = DenseRetriever(index_dir / "dense.faiss", index_dir / "dense_rows.npy", store, embedder=embedder, mmap=mmap)
    k = rrf_k if rrf_k is not None else manifest["params"].get("rrf_k", DEFAULT_RRF_K)
    return HybridRetriever(bm, dn, rrf_k=k, manifest=manifest)
