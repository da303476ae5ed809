"""Beyond one machine: the same jobs on the local runner and on Ray; retrieval embedded vs Milvus.

Part `deid`: de-identification of the same notes (PhysioNet deid dev notes, one .txt per note;
past the 1,450 real notes, notes are repeated under a `rep1-` file name, said in the output)
with the local runner, then Ray with 1 and 2 workers (a local Ray cluster started and stopped for
each job, as `medllm deid --runner ray` does). Surrogate mode, a fixed seed and session, no vault.
Reports wall time, start-up (cluster + detectors), chars/s, the ratio to local, and whether every
output file is byte-identical to the local runner's. Then a Ray run with 2 workers in which one
worker is SIGKILLed once 30% of the files are written, and a rerun: every note exactly once in
the ledger, and the output still byte-identical.

    nice python benchmarks/scale.py deid --notes 2000

Part `retrieval`: MedQuAD answers (../shared/data/medquad), chunked as `kb build` does, up to
--passages (repeated with a `[rep N]` marker past the corpus, said in the output) in the
embedded index (bm25s + FAISS flat) and a milvus-lite file (dense + BM25 sparse, RRF in the
engine): build time, memory, p50/p95 hybrid query latency and top-10 overlap on --queries
MedQuAD questions.

    nice python benchmarks/scale.py retrieval --passages 10000 --queries 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# ---------------------------------------------------------------------------------------- deid


def write_notes(folder: Path, n: int) -> tuple[int, int]:
    """n notes as .txt files; (real notes, repeated notes)."""
    rows = [json.loads(x) for x in (DATA / "deid" / "physionet_dev.jsonl").read_text().splitlines() if x.strip()]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rep, r = divmod(i, len(rows))
        name = f"{'rep%d-' % rep if rep else ''}{rows[r]['id']}.txt"
        (folder / name).write_text(rows[r]["text"], encoding="utf-8")
    return min(n, len(rows)), max(0, n - len(rows))


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.txt"))}


def run_deid(runner_name: str, workers: int | None, notes: Path, out: Path,
             kill_at: float | None = None) -> tuple[object, object, list[str]]:
    from medllm.runners import get_runner
    from medllm.runners.deid import DeidJob
    from medllm.trust.privacy.batch import collect_inputs

    tasks = collect_inputs([notes])
    runner = get_runner(runner_name, workers=workers)
    events: list[str] = []
    if kill_at is not None:
        def killer() -> None:
            want = int(kill_at * len(tasks))
            while True:
                time.sleep(0.2)
                pids = getattr(runner, "worker_pids", [])
                if pids and out.exists() and len(list(out.glob("*.txt"))) >= want:
                    os.kill(pids[0], signal.SIGKILL)
                    events.append(f"killed worker pid {pids[0]} after {len(list(out.glob('*.txt')))} files")
                    return
        threading.Thread(target=killer, daemon=True).start()
    job = DeidJob(tasks, out, mode="surrogate", seed=11, session_id="scale")
    try:
        rep = runner.run(job)
    except Exception as e:  # a run that gives up is resumed by the next one
        events.append(f"run stopped: {type(e).__name__}")
        rep = None
    return rep, runner.last, events


def part_deid(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="scale-deid-"))
    try:
        real, rep = write_notes(work / "notes", args.notes)
        chars = sum(len(p.read_text()) for p in (work / "notes").glob("*.txt"))
        print(f"deid: {args.notes} notes ({real} PhysioNet dev notes, {rep} of them repeated under "
              f"a rep1- name), {chars:,} chars; surrogate mode, seed 11, no vault; "
              f"{os.cpu_count()} cores shared (load {os.getloadavg()[0]:.1f})")
        rows = []
        ref = None
        for name, w in [("local", None)] + [("ray", w) for w in args.workers]:
            out = work / f"out-{name}-{w or 1}"
            t0 = time.perf_counter()
            r, stats, _ = run_deid(name, w, work / "notes", out)
            wall = time.perf_counter() - t0
            d = digest(out)
            ref = ref or d
            start = stats.startup_seconds if stats else 0.0
            rows.append((f"{name}" + (f" x{w}" if w else ""), wall, start, r.chars / wall,
                         r.chars / max(1e-9, wall - start), d == ref, r.done))
            differ = sorted(k for k in ref if ref[k] != d.get(k))
            if differ:  # names only (the notes' text stays out of the output)
                print(f"{rows[-1][0]}: {len(differ)} files differ from local, e.g. {', '.join(differ[:10])}", flush=True)
        print(f"\n{'runner':<10} {'wall s':>8} {'start s':>8} {'chars/s':>9} {'after start':>12} {'ratio':>6} {'identical':>9} {'files':>6}")
        base = rows[0][1]
        for n, wall, start, cps, cps2, same, done in rows:
            print(f"{n:<10} {wall:>8.1f} {start:>8.1f} {cps:>9,.0f} {cps2:>12,.0f} {base / wall:>6.2f} {str(same):>9} {done:>6}")
        print("ratio: local wall / this wall; 'start': Ray cluster + worker detectors loaded (local: "
              "its detector loads inside the run); 'after start': chars/s once workers are up")
        # a worker killed mid-run, then a rerun
        out = work / "out-kill"
        _, _, ev1 = run_deid("ray", 2, work / "notes", out, kill_at=0.3)
        _, _, ev2 = run_deid("ray", 2, work / "notes", out)
        ledger = [json.loads(x)["file"] for x in (out / ".deid-progress.jsonl").read_text().splitlines() if x.strip()]
        once = len(ledger) == len(set(ledger)) == args.notes
        print(f"\nkill: {'; '.join(ev1) or 'no kill happened'}; rerun: {'; '.join(ev2) or 'completed'}; "
              f"ledger {len(ledger)} lines, {len(set(ledger))} distinct files of {args.notes}: "
              f"every note exactly once = {once}; output byte-identical to local = {digest(out) == ref}")
        d = digest(out)
        differ = sorted(k for k in ref if ref[k] != d.get(k))
        if differ:
            print(f"kill: {len(differ)} files differ from local, e.g. {', '.join(differ[:10])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------------- retrieval


class TableEmbedder:
    """An `Embedder` that answers from vectors computed before (the default KB's MiniLM vectors of
    its book passages, and the queries embedded once up front), so both stores get the very same
    vectors and the timings measure the stores, not the embedding model."""

    def __init__(self, table: dict[str, "np.ndarray"], name: str, dim: int) -> None:
        self.table, self.name, self.dim = table, name, dim

    def encode(self, texts, show_progress: bool = False):  # noqa: ANN001, ANN201
        import numpy as np

        return np.stack([self.table[t] for t in texts]).astype(np.float32)


def rss_mb(pid: int | None = None, children: bool = False) -> float:
    import psutil

    p = psutil.Process(pid)
    procs = [p] + (p.children(recursive=True) if children else [])
    return sum(x.memory_info().rss for x in procs) / 1e6


def book_passages(index: Path) -> tuple[list, "np.ndarray"]:
    """The default KB's passages that have a vector, with their vectors (FAISS flat: exact copies)."""
    import faiss
    import numpy as np

    from medllm.knowledge.store import PassageStore

    rows = np.load(index / "dense_rows.npy")
    ix = faiss.read_index(str(index / "dense.faiss"))
    vecs = ix.reconstruct_n(0, ix.ntotal)
    store = PassageStore(index / "passages.sqlite", readonly=True)
    ps = store.get([int(r) for r in rows])
    store.close()
    return ps, vecs


def part_retrieval(args: argparse.Namespace) -> None:
    import numpy as np

    from medllm.knowledge.chunking import index_text
    from medllm.knowledge.index import build_index, load_index
    from medllm.knowledge.milvus_store import MilvusRetriever, build_milvus_index
    from medllm.knowledge.retrievers import Embedder

    kb = Path(args.kb).expanduser()
    ps, vecs = book_passages(kb)
    qrows = [json.loads(x) for x in (DATA / "medquad" / "medquad.jsonl").read_text().splitlines()[:20000]]
    qs = [r["question"] for r in qrows][:: max(1, len(qrows) // args.queries)][: args.queries]
    real = Embedder(max_tokens=64)  # as the default KB embeds (embed_tokens 64)
    qv = real.encode(qs)
    print(f"retrieval: {len(ps):,} real passages with vectors (the default KB's OpenStax book passages, its own "
          f"MiniLM vectors reused); {len(qs)} MedQuAD questions as queries (embedded once, up front); "
          f"{os.cpu_count()} cores shared (load {os.getloadavg()[0]:.1f})")
    print(f"{'passages':>9} {'store':<12} {'build s':>8} {'MB disk':>8} {'MB RSS':>7} {'p50 ms':>7} {'p95 ms':>7}  top-10 same set / mean overlap (bm25, dense, hybrid)")
    for n in args.passages:
        chosen, table = [], {}
        for i in range(n):
            rep, j = divmod(i, len(ps))
            p = ps[j] if not rep else ps[j].model_copy(update={"id": f"{ps[j].id}#rep{rep}",
                                                                 "text": f"[rep {rep}] {ps[j].text}"})
            chosen.append(p)
            table[index_text(p)] = vecs[j]  # a repeat keeps its original's vector
        table.update(dict(zip(qs, qv, strict=True)))
        emb = TableEmbedder(table, real.name, real.dim)
        reps = max(0, n - len(ps))
        work = Path(tempfile.mkdtemp(prefix="scale-ret-"))
        try:
            t0 = time.perf_counter()
            build_index(chosen, work / "emb", embedder=emb)
            b_emb = time.perf_counter() - t0
            t0 = time.perf_counter()
            build_milvus_index(chosen, work / "m.db", embedder=emb)
            b_mil = time.perf_counter() - t0
            base = rss_mb()
            a = load_index(work / "emb", embedder=emb)
            a.search(qs[0], 10)
            m_emb = rss_mb() - base
            base_all = rss_mb(children=True)
            b = MilvusRetriever(work / "m.db", embedder=emb)
            b.search(qs[0], 10)
            m_mil = rss_mb(children=True) - base_all
            res = {}
            for name, r in (("embedded", a), ("milvus-lite", b)):
                lat, tops = [], {}
                for meth in ("bm25", "dense", "hybrid"):
                    ret = r.retriever(meth)
                    tops[meth] = []
                    for q in qs:
                        t = time.perf_counter()
                        hits = ret.search(q, 10)
                        if meth == "hybrid":
                            lat.append((time.perf_counter() - t) * 1000)
                        tops[meth].append([h.passage.id for h in hits])
                res[name] = (np.percentile(lat, 50), np.percentile(lat, 95), tops)
            same = {m: sum(set(x) == set(y) for x, y in zip(res["embedded"][2][m], res["milvus-lite"][2][m], strict=True)) / len(qs)
                    for m in ("bm25", "dense", "hybrid")}
            ovl = {m: float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(res["embedded"][2][m], res["milvus-lite"][2][m], strict=True)]))
                   for m in ("bm25", "dense", "hybrid")}
            from medllm.knowledge.index import dir_size

            for name, build, mb, disk in (("embedded", b_emb, m_emb, dir_size(work / "emb")),
                                          ("milvus-lite", b_mil, m_mil, (work / "m.db").stat().st_size if (work / "m.db").is_file() else dir_size(work / "m.db"))):
                p50, p95, _ = res[name]
                tail = ("  " + ", ".join(f"{same[m]:.2f}/{ovl[m]:.2f}" for m in ("bm25", "dense", "hybrid"))) if name == "milvus-lite" else ""
                print(f"{n:>9,} {name:<12} {build:>8.1f} {disk / 1e6:>8.1f} {mb:>7.0f} {p50:>7.1f} {p95:>7.1f}{tail}")
            if reps:
                print(f"          ({reps:,} of the {n:,} passages are repeats of real ones, text marked '[rep N]', vectors reused)")
            b.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("build: passages in, vectors given (no embedding time); MB RSS: growth of this process (embedded, "
          "memory-mapped) or of this process + the milvus-lite server it starts, after opening and one query; "
          "latency: hybrid search, query vector given")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="part", required=True)
    d = sub.add_parser("deid")
    d.add_argument("--notes", type=int, default=2000)
    d.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    r = sub.add_parser("retrieval")
    r.add_argument("--passages", type=int, nargs="+", default=[10000])
    r.add_argument("--queries", type=int, default=100)
    r.add_argument("--kb", default="~/.medllm/indexes/default", help="the default KB (`medllm kb build-default`): its book vectors are reused")
    args = ap.parse_args()
    if args.part == "deid":
        part_deid(args)
    else:
        part_retrieval(args)


if __name__ == "__main__":
    main()
