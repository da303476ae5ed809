"""Retrieval quality on MedQuAD: each question should retrieve its own answer.

Corpus: the answers of --docs MedQuAD rows sampled (seeded) from ../shared/data/medquad (dev),
chunked (200 word pieces, 32 overlap) with the focus as title. Queries: --queries questions
drawn (seeded) from those rows. A hit is any passage of the question's own answer document;
rankings are collapsed to documents before scoring. Reports recall@1, recall@10, MRR@10,
nDCG@10 for bm25, dense and hybrid (RRF, k=60, max(2k,100) candidates each), with build time,
size on disk and query latency p50/p95.

    nice -n 10 python benchmarks/retrieval.py --docs 1000 --queries 500

--answer-recall: answer-string recall@k as in DPR (Karpukhin et al. 2020) on MedQA-US dev (425)
and a MedMCQA dev slice (--mcqa-n, first N of dev_a): the share of items whose gold option text
occurs (case-folded, on word boundaries) in the top-k passages retrieved for the question alone
(options hidden). Indexes: --ontology-index (the concept index, `kb build-default --ontology`)
and --clinical-index (the shipped text, `kb build-default`). Every retriever is scored on the
items of fold A (even line) and fold B (odd line) apart; nothing here is tuned (the clinical
retriever's floor and BM25 share are priors), so both folds are held out.

    nice -n 10 python benchmarks/retrieval.py --answer-recall --clinical-index ~/.medllm/indexes/default \
        --ontology-index ~/.medllm/indexes/ontology --mcqa-n 300
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def doc_ranking(hits, k: int) -> list[str]:
    out: list[str] = []
    for h in hits:
        if h.passage.doc_id not in out:
            out.append(h.passage.doc_id)
        if len(out) == k:
            break
    return out


def norm(text: str) -> str:
    import re

    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def answer_items(data: Path, mcqa_n: int, medqa_n: int = 10_000) -> list[tuple[str, str, str, int]]:
    """(dataset, question, gold answer text, fold) for MedQA dev and the first `mcqa_n` MedMCQA
    dev rows; gold answers of fewer than 2 characters or pure numbers are left out (they match
    anywhere)."""
    import json

    out = []
    for i, line in enumerate((data / "medqa" / "medqa_dev.jsonl").read_text().splitlines()[:medqa_n]):
        r = json.loads(line)
        out.append(("medqa", r["question"], r["answer"], i % 2))
    for i, line in enumerate((data / "medmcqa" / "dev_a.jsonl").read_text().splitlines()[:mcqa_n]):
        r = json.loads(line)
        gold = r["op" + "abcd"[int(r["cop"]) - 1]]
        out.append(("medmcqa", r["question"], gold, i % 2))
    return [t for t in out if len(norm(t[2]).strip()) >= 2 and not norm(t[2]).strip().replace(" ", "").isdigit()]


def answer_recall(args) -> None:
    from medllm.knowledge.clinical import ClinicalRetriever
    from medllm.knowledge.index import load_index

    ks = (1, 3, 5, 10)
    items = answer_items(Path(args.data_root), args.mcqa_n, args.medqa_n)
    graph = None
    if args.graph:
        from medllm.knowledge.kg.graph import load_default_graph

        graph = load_default_graph()
    runs = []
    if args.ontology_index:
        o = load_index(args.ontology_index)
        runs.append(("ontology", "hybrid" if o.dense else "bm25", o.retriever("hybrid")))
    if args.clinical_index:
        c = load_index(args.clinical_index)
        runs += [("clinical", "bm25", c.bm25), ("clinical", "dense", c.dense), ("clinical", "hybrid", c)]
        # one rerank run scores both: the top 10 without a floor, and the top 10 of those above it
        runs.append(("clinical", "rerank" + (", expanded" if graph else ""), ClinicalRetriever(c, graph)))
    print(f"items: MedQA dev first {args.medqa_n} -> {sum(d == 'medqa' for d, *_ in items)}, MedMCQA dev_a first {args.mcqa_n} -> "
          f"{sum(d == 'medmcqa' for d, *_ in items)} (gold answers that are numbers or 1 character left out)")
    print(f"{'index':<9} {'retriever':<36} {'set':<8} {'fold':<4} " + " ".join(f"{'R@' + str(k):>6}" for k in ks)
          + f" {'passages':>8} {'ms/q':>6}")
    table = []
    for index_name, label, ret in runs:
        variants = [(label, None)] if not isinstance(ret, ClinicalRetriever) else \
            [(label + ", no floor", -1.0), (label + f", floor {ret.floor}", ret.floor)]
        found = {v: {k: {} for k in ks} for v, _ in variants}
        shown: dict = {v: {} for v, _ in variants}
        t = time.perf_counter()
        for j, (ds, q, gold, fold) in enumerate(items):
            g = norm(gold)
            if isinstance(ret, ClinicalRetriever):
                scored = ret.scored(q, 30, floor=-1.0)
                lists = {variants[0][0]: [h for h, _ in scored][:10],
                         variants[1][0]: [h for h, c in scored if c >= ret.floor][:10]}
            else:
                lists = {label: ret.search(q, max(ks))}
            for v, hits in lists.items():
                for k in ks:
                    found[v][k][j] = any(g in norm(h.passage.title + " " + h.passage.text) for h in hits[:k])
                shown[v][j] = len(hits)
        ms = (time.perf_counter() - t) * 1000 / max(len(items), 1)
        for v, _ in variants:
            table.append((index_name, v, found[v], shown[v], ms))
    for index_name, label, found, shown, ms in table:
        for ds in ("medqa", "medmcqa"):
            for fold in (0, 1):
                js = [j for j, it in enumerate(items) if it[0] == ds and it[3] == fold]
                if not js:
                    continue
                row = " ".join(f"{sum(found[k][j] for j in js) / len(js):>6.3f}" for k in ks)
                mean_p = sum(min(shown[j], 10) for j in js) / len(js)
                print(f"{index_name:<9} {label:<36} {ds:<8} {'AB'[fold]:<4} {row} {mean_p:>8.1f} {ms:>6.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--answer-recall", action="store_true", help="answer-string recall@k on MedQA / MedMCQA dev")
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--ontology-index", default=None)
    ap.add_argument("--clinical-index", default=None)
    ap.add_argument("--mcqa-n", type=int, default=300)
    ap.add_argument("--medqa-n", type=int, default=10_000, help="first N MedQA dev items (default all 425)")
    ap.add_argument("--graph", action="store_true", help="expand queries with the concepts the graph links")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "medquad" / "medquad.jsonl"))
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--faiss", default="flat")
    ap.add_argument("--keep", default=None, help="keep the index in this folder")
    args = ap.parse_args()
    if args.answer_recall:
        answer_recall(args)
        return

    from medllm.knowledge.chunking import Chunker
    from medllm.knowledge.corpora import load_medquad_jsonl
    from medllm.knowledge.index import build_index, dir_size, load_index

    everything = list(load_medquad_jsonl(args.data))
    docs = random.Random(args.seed).sample(everything, min(args.docs, len(everything)))
    chunker = Chunker()
    passages = [p for d in docs for p in chunker.chunk(d)]
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "mq"
    t = time.perf_counter()
    build_index(passages, out.with_name(out.name + "-bm25"), dense=False, overwrite=True)
    t_bm25 = time.perf_counter() - t
    t = time.perf_counter()
    m = build_index(passages, out, dense=True, faiss_kind=args.faiss, overwrite=True)
    t_all = time.perf_counter() - t
    size_bm25 = dir_size(out / "bm25")
    size_dense = (out / "dense.faiss").stat().st_size
    print(f"corpus: {len(docs):,} MedQuAD answers -> {m['counts']['passages']:,} passages "
          f"({m['counts']['duplicates_dropped']} duplicates dropped); queries: {args.queries} questions, seed {args.seed}")
    print(f"build: bm25 {t_bm25:.1f} s; bm25 + dense ({args.faiss}) {t_all:.1f} s "
          f"({m['counts']['passages'] / max(t_all - t_bm25, 1e-9):.1f} passages/s embedded)")
    print(f"size on disk: total {dir_size(out) / 1e6:.1f} MB (bm25 {size_bm25 / 1e6:.1f} MB, "
          f"faiss {size_dense / 1e6:.1f} MB, passages.sqlite {(out / 'passages.sqlite').stat().st_size / 1e6:.1f} MB)")

    r = load_index(out)
    rnd = random.Random(args.seed + 1)
    qs = rnd.sample(docs, min(args.queries, len(docs)))
    r.search("warm up the model", 3)
    print(f"{'method':<8} {'R@1':>6} {'R@10':>6} {'MRR@10':>7} {'nDCG@10':>8} {'p50 ms':>7} {'p95 ms':>7}")
    for method in ("bm25", "dense", "hybrid"):
        ret = r.retriever(method)
        r1 = r10 = mrr = ndcg = 0.0
        lat = []
        for d in qs:
            t = time.perf_counter()
            hits = ret.search(d.metadata["question"], 30)  # passages; several may share a document
            lat.append((time.perf_counter() - t) * 1000)
            ranking = doc_ranking(hits, 10)
            if d.id in ranking:
                pos = ranking.index(d.id) + 1
                r1 += pos == 1
                r10 += 1
                mrr += 1 / pos
                ndcg += 1 / math.log2(pos + 1)  # one relevant document: ideal DCG = 1
        n = len(qs)
        print(f"{method:<8} {r1 / n:>6.3f} {r10 / n:>6.3f} {mrr / n:>7.3f} {ndcg / n:>8.3f} "
              f"{np.percentile(lat, 50):>7.1f} {np.percentile(lat, 95):>7.1f}")
    if not args.keep:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
