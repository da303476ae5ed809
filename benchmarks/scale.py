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

Part `extract`: `medllm extract` (default tagger, 5 ICD-10-CM codes per note) over the same
notes, local runner then Ray with 1 and 2 workers: wall, start-up, chars/s, ratio, and whether
every output file is byte-identical to the local runner's.

    nice python benchmarks/scale.py extract --notes 2000

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
import re
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


def part_extract(args: argparse.Namespace) -> None:
    """`medllm extract` (the --tagger, ICD-10-CM codes) over the same notes: local, then Ray."""
    from medllm.runners import get_runner
    from medllm.runners.extract import ExtractJob
    from medllm.tasks.ie.batch import collect_inputs

    work = Path(tempfile.mkdtemp(prefix="scale-extract-"))
    try:
        real, rep = write_notes(work / "notes", args.notes)
        chars = sum(len(p.read_text()) for p in (work / "notes").glob("*.txt"))
        print(f"extract: {args.notes} notes ({real} PhysioNet dev notes, {rep} of them repeated under a rep1- "
              f"name), {chars:,} chars; tagger {args.tagger}, {args.codes} codes; {os.cpu_count()} cores shared "
              f"(load {os.getloadavg()[0]:.1f})")
        rows, ref = [], None
        for name, w in [("local", None)] + [("ray", w) for w in args.workers]:
            out = work / f"out-{name}-{w or 1}"
            runner = get_runner(name, workers=w)
            t0 = time.perf_counter()
            r = runner.run(ExtractJob(collect_inputs([work / "notes"]), out, tagger=args.tagger, codes=args.codes))
            wall = time.perf_counter() - t0
            d = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.jsonl"))}
            ref = ref or d
            start = runner.last.startup_seconds if runner.last else 0.0
            rows.append((name + (f" x{w}" if w else ""), wall, start, r.chars / wall, d == ref, len(d), len(r.failed)))
        print(f"\n{'runner':<10} {'wall s':>8} {'start s':>8} {'chars/s':>9} {'ratio':>6} {'identical':>9} {'files':>6} {'failed':>6}")
        for n, wall, start, cps, same, files, failed in rows:
            print(f"{n:<10} {wall:>8.1f} {start:>8.1f} {cps:>9,.0f} {rows[0][1] / wall:>6.2f} {str(same):>9} {files:>6} {failed:>6}")
        print("ratio: local wall / this wall; 'start': Ray cluster + worker models loaded (local: in the run)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------------- retrieval


REP = re.compile(r"(^|\n)\[rep \d+\] ")


class TableEmbedder:
    """An `Embedder` that answers from vectors computed before (the default KB's MiniLM vectors of
    its book passages, and the queries embedded once up front), so both stores get the very same
    vectors and the timings measure the stores, not the embedding model. A repeated passage
    (`[rep N]` before its text) gets its original's vector: it is looked up without the marker."""

    def __init__(self, table: dict[str, "np.ndarray"], name: str, dim: int) -> None:
        self.table, self.name, self.dim = table, name, dim

    def encode(self, texts, show_progress: bool = False):  # noqa: ANN001, ANN201
        import numpy as np

        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.table[t] if t in self.table else self.table[REP.sub(r"\1", t, count=1)]
                         for t in texts]).astype(np.float32)


def rss_mb(pid: int | None = None, children: bool = False) -> float:
    import psutil

    p = psutil.Process(pid)
    procs = [p] + (p.children(recursive=True) if children else [])
    total = 0
    for x in procs:
        try:
            total += x.memory_info().rss
        except psutil.Error:  # gone between the listing and the reading
            pass
    return total / 1e6


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


def corpus(ps: list, n: int):  # noqa: ANN201
    """A function giving a fresh pass over n passages: the real ones, then repeats marked `[rep N]`
    (id `ID#repN`), built one at a time (the Milvus build streams them; nothing holds all n)."""

    def passages():  # noqa: ANN202
        for i in range(n):
            rep, j = divmod(i, len(ps))
            yield ps[j] if not rep else ps[j].model_copy(update={"id": f"{ps[j].id}#rep{rep}",
                                                                  "text": f"[rep {rep}] {ps[j].text}"})

    return passages


class OverMemory(RuntimeError):
    pass


def measured_build(fn, cap_mb: float, budget_s: float | None = None):  # noqa: ANN001, ANN201
    """Run `fn(stop)` in a forked child; (seconds, peak MB of the child and its children above the
    child's start, its result or the reason it stopped). The child is killed past `cap_mb`;
    `stop()` (which the build's progress calls) raises once `budget_s` has passed."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()

    def child() -> None:
        t0 = time.perf_counter()

        def stop(what: str = "") -> None:
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                raise TimeoutError(f"stopped at the {budget_s:.0f} s budget{what}")

        try:
            res = fn(stop)
            q.put(("ok", time.perf_counter() - t0, res))
        except TimeoutError as e:
            q.put(("budget", time.perf_counter() - t0, str(e)))

    proc = ctx.Process(target=child)
    proc.start()
    base = rss_mb(proc.pid, children=True)
    peak = base
    while proc.is_alive() and q.empty():
        peak = max(peak, rss_mb(proc.pid, children=True))
        if peak - base > cap_mb:  # growth: the pages it shares with this process at the fork are not new
            proc.kill()
            proc.join()
            return None, peak - base, f"killed: over the {cap_mb:,.0f} MB memory cap"
        time.sleep(0.5)
    kind, secs, res = q.get()
    proc.join()
    if kind != "ok":
        return None, peak - base, f"{res}, after {secs:.0f} s"
    return secs, peak - base, res


def part_retrieval(args: argparse.Namespace) -> None:
    import numpy as np

    from medllm.knowledge.chunking import index_text
    from medllm.knowledge.index import build_index, dir_size, load_index
    from medllm.knowledge.milvus_store import MilvusRetriever
    from medllm.knowledge.retrievers import Embedder
    from medllm.runners import get_runner
    from medllm.runners.kb import MilvusBuildJob, runner_vectors

    kb = Path(args.kb).expanduser()
    ps, vecs = book_passages(kb)
    qrows = [json.loads(x) for x in (DATA / "medquad" / "medquad.jsonl").read_text().splitlines()[:20000]]
    qs = list(dict.fromkeys(r["question"] for r in qrows))
    qs = qs[:: max(1, len(qs) // args.queries)][: args.queries]
    real = Embedder(max_tokens=64)  # as the default KB embeds (embed_tokens 64)
    qv = real.encode(qs)
    table = {index_text(p): v for p, v in zip(ps, vecs, strict=True)}
    table.update(dict(zip(qs, qv, strict=True)))
    emb = TableEmbedder(table, real.name, real.dim)
    print(f"retrieval: {len(ps):,} real passages with vectors (the default KB's OpenStax book passages, its own "
          f"MiniLM vectors reused); {len(qs)} MedQuAD questions as queries (embedded once, up front); "
          f"{os.cpu_count()} cores shared (load {os.getloadavg()[0]:.1f})", flush=True)
    head = (f"{'passages':>9} {'store':<12} {'build s':>8} {'build MB':>8} {'MB disk':>8} {'MB RSS':>7} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'queries':>7}  same top-10 set, by id / by passage (bm25, dense, hybrid)")
    rows_out: list[str] = []
    summary: dict[tuple[int, str], dict] = {}
    for n in args.passages:
        source = corpus(ps, n)
        reps = max(0, n - len(ps))
        work = Path(tempfile.mkdtemp(prefix="scale-ret-", dir=args.tmp))
        try:
            def build_emb(stop):  # noqa: ANN001, ANN202
                build_index(list(source()), work / "emb", embedder=emb, vectors=runner_vectors(get_runner("local")))

            def build_mil(stop):  # noqa: ANN001, ANN202
                def progress(step: str, done: int, total: int) -> None:
                    stop(f" in step '{step}' with {done:,} of {total or n:,} passages done")

                job = MilvusBuildJob(source, work / "m.db", embedder=emb, progress=progress)
                return get_runner("local").run(job)["counts"]["passages"]

            want = args.stores.split(",")
            b_emb, mem_emb, r_emb = None, 0.0, "not asked for (--stores)"
            b_mil, mem_mil, r_mil = None, 0.0, "not asked for (--stores)"
            if "embedded" in want:
                b_emb, mem_emb, r_emb = measured_build(build_emb, args.cap_mb)
                print(f"  {n:,}: embedded built ({r_emb or 'ok'}) in {b_emb or 0:.1f} s, peak {mem_emb:,.0f} MB", flush=True)
            if "milvus-lite" in want:
                b_mil, mem_mil, r_mil = measured_build(build_mil, args.cap_mb, args.milvus_budget_s)
                print(f"  {n:,}: milvus-lite built ({r_mil}) in {b_mil or 0:.1f} s, peak {mem_mil:,.0f} MB", flush=True)
            stores = {}
            if b_emb is not None:
                base = rss_mb()
                a = load_index(work / "emb", embedder=emb)
                a.search(qs[0], 10)
                stores["embedded"] = (a, rss_mb() - base)
            partial = None
            if b_mil is None and (work / "m.db").exists() and "budget" in str(r_mil):
                partial = r_mil  # stopped at its time budget: what it inserted is queried, for latency only
            if b_mil is not None or partial:
                base_all = rss_mb(children=True)
                b = MilvusRetriever(work / "m.db", embedder=emb)
                b.search(qs[0], 10)
                stores["milvus-lite"] = (b, rss_mb(children=True) - base_all)
                if partial:
                    print(f"  {n:,}: milvus-lite partial collection holds {len(b):,} passages", flush=True)
                    partial = f"{partial}; queried as it was, {len(b):,} passages"
            res = {}
            for name, (r, _) in stores.items():
                lat, tops = [], {m: [] for m in ("bm25", "dense", "hybrid")}
                t_start = time.perf_counter()
                for q in qs:
                    if time.perf_counter() - t_start > args.query_budget_s:
                        break
                    for meth in ("bm25", "dense", "hybrid"):
                        t = time.perf_counter()
                        hits = r.retriever(meth).search(q, 10)
                        if meth == "hybrid":
                            lat.append((time.perf_counter() - t) * 1000)
                        tops[meth].append([h.passage.id for h in hits])
                res[name] = (np.percentile(lat, 50), np.percentile(lat, 95), tops, len(lat))
            same = ""
            if len(res) == 2 and not partial:
                m_q = min(res["embedded"][3], res["milvus-lite"][3])

                def agree(m: str, key) -> float:  # noqa: ANN001
                    pairs = list(zip(res["embedded"][2][m][:m_q], res["milvus-lite"][2][m][:m_q], strict=True))
                    return sum({key(i) for i in x} == {key(i) for i in y} for x, y in pairs) / len(pairs)

                by_id = [agree(m, lambda i: i) for m in ("bm25", "dense", "hybrid")]
                by_p = [agree(m, lambda i: i.split("#rep")[0]) for m in ("bm25", "dense", "hybrid")]
                same = "  " + " / ".join(f"{x:.2f}|{y:.2f}" for x, y in zip(by_id, by_p, strict=True)) + f" (on {m_q})"
            for name, build, mem, result in (("embedded", b_emb, mem_emb, r_emb), ("milvus-lite", b_mil, mem_mil, r_mil)):
                if name not in want:
                    continue
                path = work / ("emb" if name == "embedded" else "m.db")
                disk = (dir_size(path) if path.is_dir() else path.stat().st_size) if path.exists() else 0
                if name in res and build is None:  # the partial milvus-lite collection
                    p50, p95, _, nq = res[name]
                    line = (f"{n:>9,} {name:<12} {'>' + format(args.milvus_budget_s, '.0f'):>8} {mem:>8,.0f} "
                            f"{disk / 1e6:>8.1f} {stores[name][1]:>7.0f} {p50:>7.1f} {p95:>7.1f} {nq:>7}  "
                            f"PARTIAL: {result}")
                elif name in res:
                    p50, p95, _, nq = res[name]
                    line = (f"{n:>9,} {name:<12} {build:>8.1f} {mem:>8,.0f} {disk / 1e6:>8.1f} {stores[name][1]:>7.0f} "
                            f"{p50:>7.1f} {p95:>7.1f} {nq:>7}{same if name == 'milvus-lite' else ''}")
                    summary[(n, name)] = {"build": build, "mem": mem, "p50": p50, "p95": p95, "disk": disk}
                else:
                    line = f"{n:>9,} {name:<12} {'-':>8} {mem:>8,.0f} {disk / 1e6:>8.1f}  not measured: {result}"
                rows_out.append(line)
                print(line, flush=True)
            if reps:
                rows_out.append(f"          ({reps:,} of the {n:,} passages are repeats of real ones, text marked "
                                f"'[rep N]', vectors reused)")
            for r, _ in stores.values():
                if hasattr(r, "close"):
                    r.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + head)
    print("\n".join(rows_out))
    print("build: passages in, vectors given (no embedding time); build MB: peak RSS of the building process "
          "and its children (the milvus-lite server) above its start; MB RSS: growth of this process (embedded, "
          "memory-mapped) or of this process + the milvus-lite server, after opening and one query; latency: hybrid "
          "search, query vector given; 'by passage': ids with the '#repN' of a repeat removed (copies of one passage "
          "share its vector, so which copy wins a tie is arbitrary)")
    sizes = sorted({n for n, _ in summary})
    for name in ("embedded", "milvus-lite"):
        have = [n for n in sizes if (n, name) in summary]
        if len(have) >= 2:
            steps = ", ".join(
                f"{a:,}->{b:,} (x{b / a:.0f}): build x{summary[(b, name)]['build'] / summary[(a, name)]['build']:.1f}, "
                f"build MB x{summary[(b, name)]['mem'] / max(1.0, summary[(a, name)]['mem']):.1f}, "
                f"p50 x{summary[(b, name)]['p50'] / summary[(a, name)]['p50']:.1f}"
                for a, b in zip(have, have[1:], strict=False))
            print(f"growth, {name}: {steps}")
    big = max((n for n in sizes if (n, "embedded") in summary), default=None)
    if big:
        s_ = summary[(big, "embedded")]
        per = s_["mem"] / big
        print(f"embedded at {big:,}: build peak {s_['mem'] / 1e3:.1f} GB ({per * 1e3:.1f} kB per passage), index "
              f"{s_['disk'] / 1e9:.2f} GB on disk, hybrid p50 {s_['p50']:.0f} ms; extrapolated linearly, PubMed's ~36M "
              f"abstracts (at least one passage each) would need ~{per * 36e6 / 1e3:.0f} GB of RAM to build and "
              f"~{s_['disk'] / big * 36e6 / 1e9:.0f} GB of index on one machine")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="part", required=True)
    d = sub.add_parser("deid")
    d.add_argument("--notes", type=int, default=2000)
    d.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    e = sub.add_parser("extract")
    e.add_argument("--notes", type=int, default=2000)
    e.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    e.add_argument("--tagger", default="default")
    e.add_argument("--codes", type=int, default=5)
    r = sub.add_parser("retrieval")
    r.add_argument("--passages", type=int, nargs="+", default=[10000])
    r.add_argument("--queries", type=int, default=200)
    r.add_argument("--cap-mb", type=float, default=6500, help="kill a build whose processes grow past this RSS")
    r.add_argument("--stores", default="embedded,milvus-lite", help="which stores to build and query")
    r.add_argument("--milvus-budget-s", type=float, default=1500, help="stop a milvus-lite build after this long")
    r.add_argument("--query-budget-s", type=float, default=900, help="per store and size: stop querying after this long")
    r.add_argument("--tmp", default=None, help="where the indexes are built (default: the system temp dir)")
    r.add_argument("--kb", default="~/.medllm/indexes/default", help="the default KB (`medllm kb build-default`): its book vectors are reused")
    args = ap.parse_args()
    if args.part == "deid":
        part_deid(args)
    elif args.part == "extract":
        part_extract(args)
    else:
        part_retrieval(args)


if __name__ == "__main__":
    main()
