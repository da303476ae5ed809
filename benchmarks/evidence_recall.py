"""What the `evidence` strategy shows the model, measured without the model: for each K-QA dev
question (a slice in file order), the share of its physician must-have statements that the
shown evidence (the numbered passage sentences of the prompt) already supports. An answer
written only from the sources cannot be more comprehensive than its sources, so this bounds
what evidence-first can reach and is cheap enough to compare retrieval choices (~1 s/question).

Two readings of "supports":
- judge: the MiniLM entailment judge (`EmbeddingJudge`, the same judge the K-QA answer score
  uses) with the shown text as premise;
- lexical: at least half of the statement's content words occur in the shown text
  (`lexical_support` >= 0.5, the answer check's lexical floor).
Also: contradicted must-haves (judge), passages shown, prompt size of the sources in words,
and the share of MedQuAD passages.

    PYTHONPATH=src python benchmarks/evidence_recall.py --offset 0 --n 50 --graph
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(Path("~/.medllm/indexes/default").expanduser()))
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--sentences", type=int, default=3)
    ap.add_argument("--graph", action="store_true", help="expand queries with the knowledge graph (as ask does)")
    ap.add_argument("--show", action="store_true", help="print each question's evidence and verdicts (dev slice only)")
    ap.add_argument("--out", default=None, help="JSONL of per-question figures")
    args = ap.parse_args()

    from medllm.eval.datasets import load_dataset
    from medllm.knowledge.index import load_index
    from medllm.models.base import GenParams
    from medllm.reasoning.base import SolveContext
    from medllm.reasoning.evidence import EvidenceSolver
    from medllm.trust.grounding import EmbeddingJudge, lexical_support

    qs = load_dataset(f"kqa:{DATA}/kqa/kqa_dev.jsonl").questions[args.offset: args.offset + args.n]
    index = load_index(args.index)
    graph = None
    if args.graph:
        from medllm.knowledge.kg.graph import load_default_graph

        graph = load_default_graph()
    solver = EvidenceSolver(k=args.k, sentences=args.sentences)
    ctx = SolveContext(model=None, mode="generate", params=GenParams(max_tokens=160), retriever=index,  # type: ignore[arg-type]
                       graph=graph)
    judge = EmbeddingJudge(index.dense.embedder if index.dense is not None else None)
    rows = []
    t0 = time.perf_counter()
    for q in qs:
        must = [m for m in q.metadata["must_have"] if m.strip()]
        ev, _, _ = solver.evidence(q, ctx)
        shown = "\n".join(e.text for e in ev)
        js = judge.judge(shown, must) if shown.strip() and must else []
        ent = sum(j.verdict == "entailed" for j in js)
        con = sum(j.verdict == "contradicted" for j in js)
        lex = sum(lexical_support(m, [shown]) >= 0.5 for m in must) if shown.strip() else 0
        r = {"id": q.id, "must": len(must), "judge": ent, "contradicted": con, "lexical": lex, "passages": len(ev),
             "words": len(shown.split()), "medquad": sum(e.source == "medquad" for e in ev)}
        rows.append(r)
        if args.show:
            print(f"\n== {q.id}: {q.question[:300]}")
            for e in ev:
                print(f"  [{e.index}] ({e.score:.2f}) {e.citation[:80]}: {e.text[:300]}")
            for m, j in zip(must, js, strict=False):
                print(f"    {j.verdict[:4]} {j.score:.2f} | {m[:120]}")
    dt = time.perf_counter() - t0
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    n = len(rows)
    share = lambda key: statistics.mean(r[key] / r["must"] for r in rows if r["must"])  # noqa: E731
    print(f"K-QA dev items {args.offset}..{args.offset + n - 1} (n={n}), k={args.k}, sentences={args.sentences}, "
          f"graph {'on' if graph else 'off'}, {dt / max(n, 1):.2f} s/question")
    print(f"  must-haves supported by the shown evidence: judge {share('judge'):.3f}, lexical {share('lexical'):.3f}; "
          f"contradicted {sum(r['contradicted'] for r in rows)}")
    print(f"  passages/question {statistics.mean(r['passages'] for r in rows):.2f} "
          f"(MedQuAD {sum(r['medquad'] for r in rows) / max(1, sum(r['passages'] for r in rows)):.2f}); "
          f"source words/question median {statistics.median(r['words'] for r in rows):.0f}; "
          f"no evidence {sum(r['passages'] == 0 for r in rows)}")


if __name__ == "__main__":
    main()
