"""Generation task kinds for the harness: notes (`aci:`), note sections (`mtsdialog:`),
question summaries (`meqsum:`) and open answers (`kqa:`), registered in `medllm.eval.tasks`.

Each run opens a `Session` on the run's model (so the privacy gate applies to remote backends),
generates through `medllm.tasks.gen`, and writes one record per item with `id`, the generated
text as `pred` and the reference as `gold`. Strategies: `direct` (zero-shot, or few-shot with
`--shots K --shots-from SPEC`: exemplars from the dev pool, never the evaluated items) and, for
K-QA, `rag` (passages from the knowledge base above the question). Token budgets are the
task's own (a note section up to 300 tokens, a summary 48, an answer 192); `--max-tokens` does
not apply.

Scores, each with a 95% percentile bootstrap CI over items:
- ROUGE-1 / ROUGE-2 / ROUGE-L F1 (google-research `rouge-score`, Porter stemming; ROUGE-Lsum
  with newline-split sentences for notes, as ACI-Bench reports it);
- factuality: the share of the output's statements the source entails (the conversation for
  notes and sections, the consumer question for summaries), by an `EntailmentJudge`
  (`medllm.trust.grounding`); unsupported statements are kept per record for the report;
- K-QA: comprehensiveness = share of must-have statements the answer entails, hallucination =
  the must-have and nice-to-have statements the answer contradicts (per answer, and the share of
  answers with at least one), as in Manes et al. 2024.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from medllm.eval import metrics as M
from medllm.types import Question

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
MAX_UNSUPPORTED = 3  # unsupported statements kept per record, for the report


def rouge(pred: str, gold: str) -> dict[str, float]:
    """ROUGE F1 x 100 of `pred` against `gold` (rougeLsum splits sentences at newlines)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=True)
    s = scorer.score(gold, pred)
    return {k: round(100 * s[k].fmeasure, 3) for k in ROUGE_KEYS}


def _mean_ci(values: Sequence[float], seed: int) -> dict[str, Any]:
    v = [float(x) for x in values if x is not None and not np.isnan(x)]
    if not v:
        return {"value": None, "n": 0}
    lo, hi = M.bootstrap_ci(v, seed=seed)
    return {"value": float(np.mean(v)), "n": len(v), "bootstrap": [lo, hi]}


@functools.lru_cache(maxsize=1)
def default_judge() -> Any:
    """The entailment judge the harness uses (see `benchmarks/entailment.py` for its agreement);
    built once per process (loading MiniLM takes seconds), it holds no state between calls."""
    from medllm.trust.grounding import EmbeddingJudge

    return EmbeddingJudge()


@dataclass
class GenPredictor:
    session: Any  # medllm.session.Session
    model: Any  # the model generation sees (a GatedModel when the gate is on)
    judge: Any  # EntailmentJudge
    shots: list[Question]
    strategy: str

    def close(self) -> None:
        self.session.close()


class GenTask:
    """Shared by the four kinds: open the session and judge, time each item, summarise."""

    kind = ""
    batch = 1  # items per predict call: progress after each item, resume loses at most one
    strategies: tuple[str, ...] = ("direct",)

    def load(self, spec: str) -> GenPredictor:
        from medllm.eval.runner import EvalConfig

        return self.load_run(EvalConfig(dataset="", model=spec), [], None)

    def load_run(self, config: Any, shots: Sequence[Question], settings: Any, model: Any = None) -> GenPredictor:
        """`model`: an open model to use (not closed here), else the one `config.model` names."""
        if config.strategy not in self.strategies:
            raise ValueError(f"--strategy {config.strategy!r}: a {self.kind} dataset is generated with "
                             f"{' or '.join(self.strategies)} (few-shot: --shots K --shots-from SPEC)")
        if any(s.task != self.kind for s in shots):
            raise ValueError(f"--shots-from must be a {self.kind} dataset like the one evaluated")
        from medllm.session import Session

        session = Session.open(model if model is not None else config.model, strategy="direct", settings=settings, audit=False,
                               index=config.extra.get("index") if config.strategy == "rag" else None,
                               knowledge=("retriever",) if config.strategy == "rag" else ())
        try:
            judge = default_judge()
        except BaseException:
            session.close()
            raise
        model_seen = session.answering_model()
        if hasattr(model_seen, "restore_output"):
            model_seen.restore_output = False  # as the runner does: predictions hold what the model wrote, over surrogates
        return GenPredictor(session, model_seen, judge, list(shots), config.strategy)

    def generate(self, p: GenPredictor, q: Question) -> Any:  # -> medllm.tasks.gen.Generated
        raise NotImplementedError

    def score(self, p: GenPredictor, q: Question, pred: str) -> dict[str, Any]:
        """Factuality of `pred` against the item's source (the default: its `question` text)."""
        from medllm.trust.grounding import check_against_source

        rep = check_against_source(pred, q.question, p.judge)
        bad = [c for c in rep.claims if not c.supported]
        return {"statements": len(rep.claims), "supported": sum(c.supported for c in rep.claims),
                "contradicted": sum(c.verdict == "contradicted" for c in rep.claims),
                "unsupported": [{"claim": c.claim, "verdict": c.verdict, "closest": (c.evidence or "")[:300]}
                                for c in bad[:MAX_UNSUPPORTED]]}

    def predict(self, predictor: GenPredictor, items: Sequence[Question]) -> list[dict[str, Any]]:
        out = []
        for q in items:
            t = time.perf_counter()
            g = self.generate(predictor, q)
            gen_s = time.perf_counter() - t
            rec: dict[str, Any] = {
                "id": q.id, "task": self.kind, "subject": q.subject, "gold": q.gold, "pred": g.text,
                "correct": None, "rouge": rouge(g.text, q.gold or ""),
                "prompt_tokens": g.prompt_tokens, "completion_tokens": g.completion_tokens,
                "calls": g.calls, "parts": g.parts, "strategy": predictor.strategy,
                "shot_ids": [s.id for s in predictor.shots], "judge": predictor.judge.name,
            }
            rec.update(self.score(predictor, q, g.text))
            rec["latency"] = round(gen_s, 3)
            rec["judge_seconds"] = round(time.perf_counter() - t - gen_s, 3)
            out.append(rec)
        return out

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {k: _mean_ci([r["rouge"][k] / 100 for r in records], seed) for k in ROUGE_KEYS}
        if any("statements" in r for r in records):
            with_claims = [r for r in records if r.get("statements")]
            n_st = sum(r["statements"] for r in with_claims)
            n_ok = sum(r["supported"] for r in with_claims)
            out["factuality"] = {
                **_mean_ci([r["supported"] / r["statements"] for r in with_claims], seed),
                "statements": n_st, "supported": n_ok, "micro": n_ok / n_st if n_st else None,
                "contradicted": sum(r.get("contradicted", 0) for r in with_claims),
                "no_statements": len(records) - len(with_claims),
            }
            out["unsupported_examples"] = [{"id": r["id"], **u} for r in records for u in r.get("unsupported", [])][:12]
        out["judge"] = {"value": None, "name": records[0].get("judge") if records else None}
        per: dict[str, list[float]] = {}
        for r in records:
            if r.get("subject"):
                per.setdefault(str(r["subject"]), []).append(r["rouge"]["rouge1"] / 100)
        if len(per) > 1:
            out["per_subject_rouge1"] = {s: {"n": len(v), "mean": float(np.mean(v))} for s, v in sorted(per.items())}
        return out


def _pairs(shots: Sequence[Question]) -> list[tuple[str, str]]:
    return [(s.question, s.gold or "") for s in shots]


class NoteTask(GenTask):
    kind = "note"

    def generate(self, p: GenPredictor, q: Question) -> Any:
        from medllm.tasks.gen import write_note

        return write_note(q.question, p.model, examples=[s.gold or "" for s in p.shots])


class SectionTask(GenTask):
    kind = "section"

    def generate(self, p: GenPredictor, q: Question) -> Any:
        from medllm.tasks.gen import write_section

        ex = [(s.question, s.metadata.get("header", s.subject or ""), s.gold or "") for s in p.shots]
        return write_section(q.question, q.metadata.get("header", q.subject or ""), p.model, examples=ex)


class SummaryTask(GenTask):
    kind = "summary"

    def generate(self, p: GenPredictor, q: Question) -> Any:
        from medllm.tasks.gen import summarize_question

        return summarize_question(q.question, p.model, examples=_pairs(p.shots))


class KqaTask(GenTask):
    kind = "kqa"
    strategies = ("direct", "rag")

    def generate(self, p: GenPredictor, q: Question) -> Any:
        from medllm.tasks.gen import answer_question

        passages: list[str] = []
        if p.strategy == "rag" and p.session.retriever is not None:
            passages = [h.passage.text for h in p.session.retriever.search(q.question, k=3)]
        # a few-shot exemplar's answer is a physician's full answer: one paragraph of it is enough
        ex = [(s.question, re.split(r"\n\s*\n|\n", s.gold or "")[0]) for s in p.shots]
        g = answer_question(q.question, p.model, passages=passages, examples=ex, max_tokens=192)
        g.parts = len(passages)
        return g

    def score(self, p: GenPredictor, q: Question, pred: str) -> dict[str, Any]:
        return score_kqa(pred, q.metadata["must_have"], q.metadata.get("nice_to_have", []), p.judge)

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
        out = super().summarize(records, seed)
        out["comprehensiveness"] = {**_mean_ci([r["must_entailed"] / r["must"] for r in records], seed),
                                    "entailed": sum(r["must_entailed"] for r in records),
                                    "statements": sum(r["must"] for r in records)}
        out["hallucination"] = {**_mean_ci([float(r["contradicted"]) for r in records], seed),
                                "contradicted": sum(r["contradicted"] for r in records)}
        k = sum(1 for r in records if r["contradicted"])
        out["hallucination_any"] = {"value": k / len(records), "k": k, "n": len(records),
                                    "wilson": list(M.wilson_ci(k, len(records)))}
        return out


def score_kqa(answer: str, must_have: Sequence[str], nice_to_have: Sequence[str], judge: Any) -> dict[str, Any]:
    """K-QA's two measures for one answer: which must-have statements it entails
    (comprehensiveness) and which of all the statements it contradicts (hallucination)."""
    stmts = [*must_have, *nice_to_have]
    js = judge.judge(answer, stmts) if answer.strip() else []
    if not js:
        js = [None] * len(stmts)
    verdicts = [j.verdict if j else "neutral" for j in js]
    must_v = verdicts[: len(must_have)]
    return {
        "must": len(must_have), "must_entailed": sum(v == "entailed" for v in must_v),
        "contradicted": sum(v == "contradicted" for v in verdicts),
        "missed": [s for s, v in zip(must_have, must_v, strict=True) if v != "entailed"][:MAX_UNSUPPORTED],
        "unsupported": [{"claim": s, "verdict": "contradicted", "closest": (j.evidence if j else "")[:300]}
                        for s, v, j in zip(stmts, verdicts, js, strict=True) if v == "contradicted"][:MAX_UNSUPPORTED],
    }




# ------------------------------------------------------------------ rubric (HealthBench)


@dataclass(frozen=True)
class Criterion:
    text: str
    points: float  # negative for an undesirable behaviour


@dataclass
class RubricScore:
    score: float  # points met / positive points, clipped to [0, 1]
    met: list[bool]
    points_met: float
    points_possible: float


GRADER_PROMPT = (
    "You grade a medical assistant's reply against one rubric criterion.\n\nConversation:\n{conversation}\n\n"
    "Reply:\n{response}\n\nCriterion: {criterion}\n\nDoes the reply meet the criterion? Answer yes or no.\nAnswer:"
)


class ModelGrader:
    """A local model grading one criterion at a time: met when its log P(" yes") - log P(" no")
    for the reply beats the same margin for a content-free reply ("N/A"). Small models lean to
    one answer whatever the reply; the content-free margin measures that lean (contextual
    calibration, Zhao et al. 2021)."""

    def __init__(self, model: Any):
        self.model = model
        self.name = f"{model.info.name} yes/no by log-likelihood, calibrated, one criterion at a time"

    def margin(self, conversation: str, response: str, criterion: str) -> float:
        ctx = GRADER_PROMPT.format(conversation=conversation, response=response, criterion=criterion)
        yes, no = self.model.loglikelihood([(ctx, " yes"), (ctx, " no")])
        return yes.logprob - no.logprob

    def meets(self, conversation: str, response: str, criterion: str) -> bool:
        return self.margin(conversation, response, criterion) > self.margin(conversation, "N/A", criterion)


def parse_rubric(items: Sequence[Any], where: str = "rubric") -> list[Criterion]:
    """HealthBench rubric items ({criterion, points, ...}) as criteria; a clear error otherwise."""
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not str(it.get("criterion", "")).strip() or not isinstance(it.get("points"), int | float):
            raise ValueError(f"{where}, rubric item {i}: needs a non-empty 'criterion' and numeric 'points'")
        out.append(Criterion(str(it["criterion"]).strip(), float(it["points"])))
    if not any(c.points > 0 for c in out):
        raise ValueError(f"{where}: no criterion with positive points, so no score can be computed")
    return out


def score_rubric(conversation: str, response: str, rubric: Sequence[Criterion], grader: Any) -> RubricScore:
    """HealthBench's scheme: each criterion judged on its own; the score is the points of the
    criteria met (negative ones subtract) over the sum of the positive points, clipped to [0, 1]."""
    met = [bool(grader.meets(conversation, response, c.text)) for c in rubric]
    got = sum(c.points for c, m in zip(rubric, met, strict=True) if m)
    possible = sum(c.points for c in rubric if c.points > 0)
    if possible <= 0:
        raise ValueError("a rubric needs at least one criterion with positive points")
    return RubricScore(min(1.0, max(0.0, got / possible)), met, got, possible)


class RubricTask(GenTask):
    """`healthbench:` files: the run's model replies to the conversation, then grades its own
    reply criterion by criterion (a `ModelGrader` on the same model: say so when reporting)."""

    kind = "rubric"

    def generate(self, p: GenPredictor, q: Question) -> Any:
        from medllm.tasks.gen import answer_question

        return answer_question(q.question, p.model, max_tokens=256)

    def score(self, p: GenPredictor, q: Question, pred: str) -> dict[str, Any]:
        rubric = parse_rubric(q.metadata["rubrics"], f"item {q.id}")
        s = score_rubric(q.question, pred, rubric, ModelGrader(p.model))
        return {"rubric_score": s.score, "criteria_met": s.met, "points_met": s.points_met,
                "points_possible": s.points_possible, "grader": ModelGrader(p.model).name}

    def summarize(self, records: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
        out = super().summarize(records, seed)
        out["rubric_score"] = _mean_ci([r["rubric_score"] for r in records], seed)
        out["judge"] = {"value": None, "name": records[0].get("grader") if records else None}
        return out


GEN_TASKS = {t.kind: t for t in (NoteTask(), SectionTask(), SummaryTask(), KqaTask(), RubricTask())}
