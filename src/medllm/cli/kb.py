"""Knowledge bases: build, extend and search retrieval indexes (BM25 + dense + RRF)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from medllm.cli.common import console, user_errors

app = typer.Typer(no_args_is_help=True)


def _default_dir() -> Path:
    from medllm.session import Session

    return Session.configure().default_index_dir


def _progress():
    """A rich progress bar fed by the index builders' (step, done, total) callbacks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=False)
    tasks: dict[str, int] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total or None)
        bar.update(tasks[step], completed=done, total=total or None)

    return bar, update


def _summary(m: dict, out: Path) -> None:
    c = m["counts"]
    console.print(f"[bold]index[/] {out}: {c['passages']:,} passages ({', '.join(f'{k} {v:,}' for k, v in c['sources'].items())}), "
                  f"{c['dense']:,} with vectors, {c['duplicates_dropped']:,} duplicates dropped; "
                  f"{m.get('size_bytes', 0) / 1e6:.1f} MB, built in {m['build_seconds']:.1f} s")


@app.command()
@user_errors
def build(
    corpus: list[str] = typer.Option(..., "--corpus", "-c", help="KIND:PATH or PATH; KIND is medrag, medquad, pubmed or text. Repeatable."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Index folder to write."),
    store: Optional[str] = typer.Option(None, "--store", help="Write to Milvus instead: milvus://HOST:19530/COLLECTION or a milvus-lite .db file (`pip install 'medllm[milvus]'`)."),
    dense: bool = typer.Option(True, "--dense/--no-dense", help="Also embed passages (all-MiniLM-L6-v2) into FAISS."),
    faiss_kind: str = typer.Option("flat", "--faiss", help="flat (exact) or hnsw (approximate, faster on big corpora)."),
    chunk_size: int = typer.Option(200, help="Chunk size in word pieces, title included."),
    overlap: int = typer.Option(32, help="Tokens shared by consecutive chunks."),
    limit: Optional[int] = typer.Option(None, help="Index only the first N documents (for quick trials)."),
    overwrite: bool = typer.Option(False, help="Replace an existing index at --out."),
    runner: str = typer.Option("local", help="local (this process) or ray (embeddings on Ray workers, one "
                               "MiniLM each; same index): `pip install 'medllm[ray]'`"),
    ray_address: Optional[str] = typer.Option(None, help="ray: 'auto' or ray://HOST:10001; default: a local "
                                              "Ray cluster for this command"),
    workers: Optional[int] = typer.Option(None, help="ray: worker processes (one embedding model each)"),
) -> None:
    """Build a BM25 (+ dense) index from corpora. Re-running an interrupted build resumes its embeddings.
    With --store the corpus is streamed twice (BM25 statistics, then vectors) and never held in memory."""
    from medllm.knowledge.index import build_from_specs
    from medllm.runners import get_runner

    if (out is None) == (store is None):
        raise ValueError("give --out DIR (the embedded index) or --store milvus://HOST:19530/COLLECTION | FILE.db")
    run = get_runner(runner, address=ray_address, workers=workers)
    if store is not None:
        import itertools

        from medllm.knowledge.chunking import Chunker
        from medllm.knowledge.corpora import load_corpus, parse_spec
        from medllm.runners.kb import MilvusBuildJob

        for s in corpus:
            parse_spec(s)  # a missing corpus fails now, with its name
        chunker = Chunker(size=chunk_size, overlap=overlap)

        def passages():  # a fresh pass over the corpora each call
            docs = itertools.chain.from_iterable(load_corpus(s) for s in corpus)
            for d in itertools.islice(docs, limit):
                yield from chunker.chunk(d)

        bar, update = _progress()
        with bar:
            m = run.run(MilvusBuildJob(passages, store, overwrite=overwrite, progress=update))
        c = m["counts"]
        console.print(f"[bold]milvus[/] {store}: {c['passages']:,} passages with vectors and BM25 weights, "
                      f"{c['duplicates_dropped']:,} duplicates dropped; built in {m['build_seconds']:.1f} s"
                      + (f" (resumed after the {m['resumed_after']:,} passages an earlier run inserted)"
                         if m.get("resumed_after") else ""))
        _runner_note(run)
        return
    from medllm.runners.kb import runner_vectors

    bar, update = _progress()
    with bar:
        m = build_from_specs(corpus, out, chunk_size=chunk_size, overlap=overlap, dense=dense,
                             faiss_kind=faiss_kind, progress=update, overwrite=overwrite, limit=limit,
                             vectors=runner_vectors(run))
    _summary(m, out)
    _runner_note(run)


def _runner_note(run) -> None:  # noqa: ANN001
    stats = run.last
    if stats is not None and stats.runner == "ray":
        console.print(f"ray: {stats.workers} worker(s), {stats.wall_seconds:.1f} s wall "
                      f"({stats.startup_seconds:.1f} s starting), {stats.units_sent} batches on workers")


@app.command("build-default")
@user_errors
def build_default(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Index folder (default $MEDLLM_HOME/indexes/default, or indexes/ontology with --ontology)."),
    ontology: bool = typer.Option(False, "--ontology", help="Build the ontology index (HPO, ICD-10-CM, drug names: one passage per concept) instead of the clinical text index."),
    dense: Optional[str] = typer.Option(None, help="Clinical index: books (default: vectors for the 13,931 OpenStax passages; MedQuAD by BM25, reranked on the fly), core (also MedQuAD's general NIH sites), all or none. Ontology index: none (default, BM25 only, ~3 min), hpo (19,903 HPO term names, for the linker's dense fallback) or all (~150k, hours on CPU)."),
    faiss_kind: str = typer.Option("flat", "--faiss", help="flat or hnsw"),
    limit: Optional[int] = typer.Option(None, help="Clinical index: only the first N documents (quick trials)."),
    embed_tokens: int = typer.Option(64, help="Clinical index: word pieces of each passage that are embedded (fewer is faster)."),
) -> None:
    """Build the default knowledge base: the clinical text shipped with medllm (four OpenStax
    textbooks and MedQuAD, CC BY 4.0; section-aware, titled passages with BM25 and MiniLM vectors),
    or with --ontology the concept index from hpo3, simple-icd-10-cm and drug-named-entity-recognition."""
    from medllm.knowledge.default_kb import build_clinical_kb, build_default_kb

    t0 = time.perf_counter()
    bar, update = _progress()
    if ontology:
        from medllm.session import Session

        out = out or _default_dir().with_name("ontology")
        with console.status("building the knowledge graph from hpo3, simple-icd-10-cm, drug-named-entity-recognition"):
            g = Session.configure().knowledge_graph()
        with bar:
            m = build_default_kb(out, graph=g, dense=dense or "none", faiss_kind=faiss_kind, progress=update)
    else:
        out = out or _default_dir()
        with bar:
            m = build_clinical_kb(out, dense=dense or "books", faiss_kind=faiss_kind, limit=limit, progress=update,
                                  embed_tokens=embed_tokens)
    _summary(m, out)
    console.print(f"total {time.perf_counter() - t0:.1f} s")


@app.command()
@user_errors
def add(
    corpus: list[str] = typer.Option(..., "--corpus", "-c", help="KIND:PATH or PATH. Repeatable."),
    index: Optional[Path] = typer.Option(None, "--index", "-i", help="Index folder (default: the default KB)."),
) -> None:
    """Append corpora to an index without a full rebuild (new passages embedded; BM25 re-indexed)."""
    from medllm.knowledge.index import add_to_index

    index = index or _default_dir()
    bar, update = _progress()
    with bar:
        m = add_to_index(index, corpus, progress=update)
    console.print(f"added {m['added'][-1]['passages']:,} passages")
    _summary(m, index)


@app.command()
@user_errors
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(10, "-k", help="How many results."),
    method: str = typer.Option("hybrid", "--method", "-m", help="bm25, dense or hybrid (RRF)."),
    index: Optional[str] = typer.Option(None, "--index", "-i", help="Index folder (default: the default KB), milvus://HOST:19530/COLLECTION or a milvus-lite .db file."),
    rrf_k: Optional[int] = typer.Option(None, help="RRF constant (default from the index manifest, 60)."),
    width: int = typer.Option(160, help="Characters of passage text to show."),
) -> None:
    """Search an index; each result shows its rank, score, passage id, source and citation."""
    from medllm.knowledge.index import load_index

    from medllm.knowledge.milvus_store import MilvusRetriever, is_milvus_spec

    if method not in ("bm25", "dense", "hybrid"):
        raise ValueError(f"--method {method!r}: use bm25, dense or hybrid")
    if index and is_milvus_spec(index):
        r = MilvusRetriever(index, rrf_k=rrf_k or 60, dense=method != "bm25")
    else:
        r = load_index(Path(index) if index else _default_dir(), rrf_k=rrf_k, dense=method != "bm25")
    if method == "hybrid" and r.note:
        console.print(f"[yellow]note:[/] {r.note}")
    t = time.perf_counter()
    hits = r.retriever(method).search(query, k)
    ms = (time.perf_counter() - t) * 1000
    if not hits:
        console.print("no results")
    for h in hits:
        p = h.passage
        console.print(f"[bold]{h.rank:>2}.[/] {h.score:.4f}  [cyan]{p.id}[/]  [{p.source}]  {h.citation}", highlight=False, soft_wrap=True)
        text = " ".join(p.text.split())
        console.print(f"     {text[:width]}{'…' if len(text) > width else ''}", highlight=False, soft_wrap=True)
    console.print(f"[dim]{len(hits)} results, {method}, {ms:.0f} ms[/]")


@app.command()
@user_errors
def info(index: Optional[Path] = typer.Option(None, "--index", "-i", help="Index folder (default: the default KB).")) -> None:
    """Show an index's manifest: corpora, models, parameters, counts, size."""
    import json

    from medllm.knowledge.index import read_manifest

    console.print_json(json.dumps(read_manifest(index or _default_dir())))
