"""Answer modes compared, paired on the same items: direct / rag over the ontology index /
rag over the clinical index / evidence-first (the `evidence` strategy over the clinical index).

Sets (all dev data from ../shared/data, sliced in file order: --n items each from --offset):
- medqa: MedQA-US dev (4 options), medmcqa: MedMCQA dev_a, pubmedqa: PubMedQA PQA-L dev without
  its abstract (context=0). Multiple choice, scored by log-likelihood of the options (lm-eval
  `acc`); accuracy with a bootstrap 95% CI; each mode against direct: exact McNemar p and the
  paired bootstrap CI of the accuracy difference.
- kqa: K-QA dev open questions (free answers, generate): comprehensiveness = share of must-have
  statements the answer entails, and contradicted must-haves, both by the MiniLM entailment judge
  (`EmbeddingJudge`: cosine of the statement with its closest answer window, and polarity).
  That judge's limits: it scores similarity of wording, not medical truth, and misses paraphrase;
  read these as a coarse signal.
- medsafety: the 30 medication-safety dev questions (free answers through the answer part of
  `ask`: the medication check leads where it finds something). The verdict is read from the
  answer's words (avoid: avoid / should not / contraindicated / not recommended / do not;
  caution: caution / monitor / careful / separate / adjust; else ok); right verdicts, and
  dangerous answers (a question whose verdict is avoid answered with neither an avoid nor a
  caution verdict) counted apart.

--ask-latency N: the whole `ask` pipeline (triage, medication check, evidence strategy over the
default index, the knowledge graph for query expansion, streaming) on the first N K-QA dev
questions, one process: time to the first streamed piece that carries a citation [n] (or, when
the answer falls back, its first piece), whole answer time, and the process's peak RSS
(getrusage ru_maxrss, which includes loading the model, MiniLM, the graph and the triage judge).

--medsafety-checker: the medication check alone (no model) on the medication-safety dev
questions: its verdict (avoid / caution from what it finds; ok when it finds nothing) against
the gold verdict, and avoid questions it calls ok. Nothing in the check was written or tuned
from these questions; they were first run through it after it was written.

--judge-kqa: the entailment judges' agreement on pairs nobody on the team wrote: positives are each
K-QA dev question's must-have statements against its own physician answer (the statements were
written from that answer); negatives are the same statements against the physician answer of
another question (the next question in file order with a different ICD-10 chapter letter), so
a negative is topically unrelated, an easy negative: the figure bounds the false-support rate
from above only for off-topic text, not for near-miss claims.

Tokens and wall time per item are written with each result (--out JSONL; a rerun resumes).

    nice -n 10 python benchmarks/answers.py --model llamacpp:qwen2.5-coder-0.5b-instruct --n 40 \\
        --sets medqa,medmcqa,pubmedqa --clinical-index ~/.medllm/indexes/default \\
        --ontology-index ~/.medllm/indexes/ontology --out build/answers-0.5b.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPECS = {
    "medqa": "medqa:{d}/medqa/medqa_dev.jsonl",
    "medmcqa": "medmcqa:{d}/medmcqa/dev_a.jsonl",
    "pubmedqa": "pubmedqa:{d}/pubmedqa/pqal_dev.json?context=0",
    "kqa": "kqa:{d}/kqa/kqa_dev.jsonl",
}
MODES = ("direct", "rag-ontology", "rag-clinical", "evidence")

_AVOID = re.compile(r"\b(avoid|should not|shouldn't|must not|contraindicat\w*|not recommended|do not|don't|never)\b", re.I)
_CAUTION = re.compile(r"\b(caution|monitor\w*|careful\w*|separate|apart|adjust\w*|reduce the dose|risk)\b", re.I)


_FALLBACK_HEADS = ("The sources found do not answer this directly.", "I could not write an answer that the sources support.")


def verdict_of(text: str) -> str:
    """The verdict an answer gives: the medication check's lead line when it has one; otherwise
    the answer's own words, not counting the quoted source sentences of an extractive fallback
    (a passage's "do not" is not the answer's verdict) nor the fallback's fixed head line."""
    lead = text.lstrip().split("\n", 1)[0]
    if lead.startswith("Medication safety warning"):
        return "avoid"
    if lead.startswith("Medication safety: this needs caution"):
        return "caution"
    body = text.split("What the most relevant sources say:", 1)[0]
    for head in _FALLBACK_HEADS:
        body = body.replace(head, "")
    if _AVOID.search(body):
        return "avoid"
    if _CAUTION.search(body):
        return "caution"
    return "ok"


def medsafety_items(n: int, offset: int = 0) -> list[dict]:
    rows = [json.loads(x) for x in (DATA / "medsafety" / "medsafety_dev.jsonl").read_text().splitlines() if x.strip()]
    return rows[offset: offset + n]


def ask_latency(model: str, n: int, index: str | None, graph: bool) -> None:
    import resource
    import statistics

    from medllm.session import Session

    rows = [json.loads(x) for x in (DATA / "kqa" / "kqa_dev.jsonl").read_text().splitlines() if x.strip()][:n]
    t = time.perf_counter()
    knowledge = ["retriever", "graph"] if graph else ["retriever"]
    with Session.open(model, strategy="evidence", knowledge=knowledge, index=index, audit=False) as s:
        t_open = time.perf_counter() - t
        firsts, totals, toks = [], [], []
        for r in rows:
            marks: list[float] = []
            t0 = time.perf_counter()

            def on(piece: str, t0: float = t0, marks: list[float] = marks) -> None:
                if not marks and (re.search(r"\[\d+\]", piece) or piece.startswith(("I could not", "No passage", "The sources"))):
                    marks.append(time.perf_counter() - t0)

            a = s.ask(r["Question"], k=3, on_token=on)
            totals.append(time.perf_counter() - t0)
            firsts.append(marks[0] if marks else totals[-1])
            toks.append(a.cost.prompt_tokens)
            print(f"  {r['id']}: first cited {firsts[-1]:.1f} s, whole {totals[-1]:.1f} s, prompt {a.cost.prompt_tokens} tok, "
                  f"confidence {a.confidence}, fallback {a.metadata.get('fallback')}", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ask latency, {model}, {n} K-QA dev questions, graph {'on' if graph else 'off'}: open {t_open:.1f} s; "
          f"first cited piece median {statistics.median(firsts):.1f} s (max {max(firsts):.1f}); whole answer median "
          f"{statistics.median(totals):.1f} s (max {max(totals):.1f}); prompt tokens median {statistics.median(toks):.0f}; "
          f"peak RSS {rss:.0f} MB")


def medsafety_checker() -> None:
    from collections import Counter

    from medllm.trust.medication import check_medication

    items = medsafety_items(1000)
    right = dangerous = 0
    confusion: Counter = Counter()
    for it in items:
        rep = check_medication(it["question"])
        v = rep.verdict or "ok"
        right += v == it["verdict"]
        dangerous += it["verdict"] == "avoid" and v == "ok"
        confusion[(it["verdict"], v)] += 1
    print(f"medication check alone on {len(items)} medsafety dev questions: right {right}/{len(items)}, "
          f"avoid called ok {dangerous}")
    print("  gold -> checker: " + ", ".join(f"{g}->{v} {n}" for (g, v), n in sorted(confusion.items())))


def judge_kqa() -> None:
    from medllm.knowledge.retrievers import Embedder
    from medllm.trust.grounding import EmbeddingJudge

    rows = [json.loads(x) for x in (DATA / "kqa" / "kqa_dev.jsonl").read_text().splitlines() if x.strip()]
    judge = EmbeddingJudge(Embedder())
    pos = neg = n_pos = n_neg = 0
    t = time.perf_counter()
    for i, r in enumerate(rows):
        must = [m for m in r["Must_have"] if m.strip()]
        if not must:
            continue
        chap = (r.get("ICD_10_diag") or " ")[:1]
        other = next((rows[(i + j) % len(rows)] for j in range(1, len(rows))
                      if (rows[(i + j) % len(rows)].get("ICD_10_diag") or " ")[:1] != chap), rows[(i + 1) % len(rows)])
        pos += sum(j.verdict == "entailed" for j in judge.judge(r["Free_form_answer"], must))
        neg += sum(j.verdict == "entailed" for j in judge.judge(other["Free_form_answer"], must))
        n_pos += len(must)
        n_neg += len(must)
    print(f"judge {judge.name} on K-QA dev ({len(rows)} questions, {time.perf_counter() - t:.0f} s)")
    print(f"  positives entailed {pos}/{n_pos} = {pos / n_pos:.3f} (recall); "
          f"negatives entailed {neg}/{n_neg} = {neg / n_neg:.3f} (false support)")
    print(f"  balanced agreement {(pos / n_pos + 1 - neg / n_neg) / 2:.3f}")


def solver_for(mode: str, mcq: bool):
    from medllm.reasoning.compose import compose

    if mode == "direct":
        return compose("direct")
    if mode in ("rag-ontology", "rag-clinical"):
        return compose("rag+direct", {"rag": {"k": 3}})
    return compose("evidence+direct", {"evidence": {"k": 3}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="llamacpp:qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--sets", default="medqa,medmcqa,pubmedqa,kqa,medsafety")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--offset", type=int, default=0,
                    help="skip this many items of each set first (file order): held-out slices, e.g. K-QA dev 50-99")
    ap.add_argument("--clinical-index", default=None)
    ap.add_argument("--ontology-index", default=None)
    ap.add_argument("--graph", action="store_true", help="expand evidence queries with the knowledge graph")
    ap.add_argument("--out", default="build/answers.jsonl")
    ap.add_argument("--judge-kqa", action="store_true", help="entailment judge agreement on K-QA pairs, then stop")
    ap.add_argument("--ask-latency", type=int, default=0, help="time ask on the first N K-QA questions, then stop")
    ap.add_argument("--no-graph-in-ask", action="store_true", help="--ask-latency without the knowledge graph")
    ap.add_argument("--medsafety-checker", action="store_true", help="score the medication check alone, then stop")
    args = ap.parse_args()
    if args.medsafety_checker:
        medsafety_checker()
        return
    if args.judge_kqa:
        judge_kqa()
        return
    if args.ask_latency:
        ask_latency(args.model, args.ask_latency, args.clinical_index, not args.no_graph_in_ask)
        return

    from medllm.eval.datasets import load_dataset
    from medllm.eval.metrics import bootstrap_ci, mcnemar_exact, paired_bootstrap_diff
    from medllm.knowledge.index import load_index
    from medllm.models.base import GenParams
    from medllm.reasoning.base import SolveContext
    from medllm.session import Session

    session = Session.configure()
    settings = session.settings
    model = session.load_model(args.model, cache=False)
    modes = [m for m in args.modes.split(",") if m]
    retr = {}
    if any(m in ("rag-clinical", "evidence") for m in modes):
        retr["clinical"] = load_index(args.clinical_index)
    if "rag-ontology" in modes:
        retr["ontology"] = load_index(args.ontology_index, dense=False)
    graph = None
    if args.graph:
        from medllm.knowledge.kg.graph import load_default_graph

        graph = load_default_graph()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done: dict[tuple, dict] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done[(r["set"], r["mode"], r["id"])] = r
    fh = out.open("a")

    def record(r: dict) -> None:
        done[(r["set"], r["mode"], r["id"])] = r
        fh.write(json.dumps(r) + "\n")
        fh.flush()

    def ctx_for(mode: str, gen: bool, tokens: int = 200) -> SolveContext:
        r = None if mode == "direct" else retr["ontology" if mode == "rag-ontology" else "clinical"]
        return SolveContext(model=model, mode="generate" if gen else "loglik",
                            params=GenParams(max_tokens=tokens, temperature=0.0, seed=0), retriever=r,
                            graph=graph if mode == "evidence" else None)

    sets = [s for s in args.sets.split(",") if s]
    print(f"model {args.model}; n={args.n} per set (items {args.offset}..{args.offset + args.n - 1} in file order); "
          f"modes {', '.join(modes)}")
    for s in sets:
        if s in ("medqa", "medmcqa", "pubmedqa"):
            qs = load_dataset(SPECS[s].format(d=DATA)).questions[args.offset: args.offset + args.n]
            for mode in modes:
                for q in qs:
                    if (s, mode, q.id) in done:
                        continue
                    t = time.perf_counter()
                    a = solver_for(mode, True)(q, ctx_for(mode, False))
                    record({"set": s, "mode": mode, "id": q.id, "correct": a.choice == q.gold, "choice": a.choice,
                            "gold": q.gold, "prompt_tokens": a.cost.prompt_tokens, "seconds": round(time.perf_counter() - t, 2),
                            "n_evidence": len(a.evidence)})
            print(f"\n{s} (loglik acc, n={len(qs)})")
            base = [done[(s, "direct", q.id)]["correct"] for q in qs] if "direct" in modes else None
            for mode in modes:
                rows = [done[(s, mode, q.id)] for q in qs]
                c = [r["correct"] for r in rows]
                lo, hi = bootstrap_ci(c)
                line = (f"  {mode:<13} acc {sum(c) / len(c):.3f} [{lo:.3f}, {hi:.3f}]  "
                        f"tokens/item {sum(r['prompt_tokens'] for r in rows) / len(rows):.0f}  "
                        f"s/item {sum(r['seconds'] for r in rows) / len(rows):.1f}")
                if base is not None and mode != "direct":
                    m = mcnemar_exact(base, c)
                    d, dlo, dhi = paired_bootstrap_diff(base, c)
                    line += f"  vs direct {d:+.3f} [{dlo:+.3f}, {dhi:+.3f}] McNemar {m.a_only}/{m.b_only} p={m.p_value:.3f}"
                print(line)
        elif s == "kqa":
            from medllm.knowledge.retrievers import Embedder
            from medllm.trust.grounding import EmbeddingJudge

            judge = EmbeddingJudge(Embedder())
            qs = load_dataset(SPECS[s].format(d=DATA)).questions[args.offset: args.offset + args.n]
            kq_modes = [m for m in modes if m in ("direct", "evidence")]
            for mode in kq_modes:
                for q in qs:
                    if (s, mode, q.id) in done:
                        continue
                    t = time.perf_counter()
                    a = solver_for(mode, False)(q, ctx_for(mode, True))
                    js = judge.judge(a.text, q.metadata["must_have"]) if a.text.strip() else []
                    record({"set": s, "mode": mode, "id": q.id, "entailed": sum(j.verdict == "entailed" for j in js),
                            "contradicted": sum(j.verdict == "contradicted" for j in js), "must": len(q.metadata["must_have"]),
                            "prompt_tokens": a.cost.prompt_tokens, "answer_tokens": a.cost.completion_tokens,
                            "seconds": round(time.perf_counter() - t, 2), "text": a.text})
            print(f"\nkqa (open answers, MiniLM judge, n={len(qs)})")
            for mode in kq_modes:
                rows = [done[(s, mode, q.id)] for q in qs]
                comp = [r["entailed"] / r["must"] for r in rows]
                lo, hi = bootstrap_ci(comp)
                print(f"  {mode:<13} comprehensiveness {sum(comp) / len(comp):.3f} [{lo:.3f}, {hi:.3f}]  "
                      f"contradicted must-haves {sum(r['contradicted'] for r in rows)}  "
                      f"extractive fallback {sum(r['text'].startswith((*_FALLBACK_HEADS, 'No passage')) for r in rows)}  "
                      f"s/item {sum(r['seconds'] for r in rows) / len(rows):.1f}")
        elif s == "medsafety":
            from medllm.assistant import answer_open, apply_medication
            from medllm.trust.medication import check_medication

            items = medsafety_items(args.n, args.offset)
            ms_modes = [m for m in modes if m in ("direct", "evidence")]
            for mode in ms_modes:
                for it in items:
                    if (s, mode, it["id"]) in done:
                        continue
                    t = time.perf_counter()
                    if mode == "direct":
                        a = answer_open(it["question"], model, strategy="direct",
                                        params=GenParams(max_tokens=160, temperature=0.0, seed=0))
                    else:
                        a = answer_open(it["question"], model, retr["clinical"], graph, strategy="evidence", k=3,
                                        params=GenParams(max_tokens=160, temperature=0.0, seed=0))
                        a = apply_medication(a, check_medication(it["question"]))
                    v = verdict_of(a.text)
                    record({"set": s, "mode": mode, "id": it["id"], "gold": it["verdict"], "verdict": v,
                            "right": v == it["verdict"], "dangerous": it["verdict"] == "avoid" and v == "ok",
                            "seconds": round(time.perf_counter() - t, 2), "text": a.text})
            print(f"\nmedsafety (free answers, verdict read from the words, n={len(items)})")
            for mode in ms_modes:  # verdicts re-read from the stored texts (the reader may have changed)
                rows = [done[(s, mode, it["id"])] for it in items]
                got = [(r["gold"], verdict_of(r["text"])) for r in rows]
                print(f"  {mode:<13} right {sum(g == v for g, v in got)}/{len(rows)}  "
                      f"dangerous (avoid answered ok) {sum(g == 'avoid' and v == 'ok' for g, v in got)}  "
                      f"s/item {sum(r['seconds'] for r in rows) / len(rows):.1f}")
    fh.close()


if __name__ == "__main__":
    main()
