"""Debiased option scoring (loglik mode): take a model's preference for option positions out of
its answer. Small models pick by position (the 0.5B answers B on 389 of 500 MedMCQA items).

- `pride` (Zheng et al. 2024, "Large Language Models Are Not Robust Multiple Choice
  Selectors"): the observed option probabilities are modelled as a prior over positions times a
  position-free preference over contents, P_obs(position d_i) ∝ P_prior(d_i) · P_deb(o_i). The
  prior is estimated from the test inputs themselves, without labels: the first `n` items of a
  run are answered under every cyclic permutation of their options, the mean log-probability of
  each position over those permutations is that item's prior, and the run's prior is the mean
  of the items'. Those `n` items get the permutation-debiased answer (the mean mapped-back
  log-probability); every later item is answered once and its probabilities are divided by the
  prior. Cost: n·(k−1) extra scorings per run, then none.
- `calibrate` (contextual calibration, Zhao et al. 2021): the same prompt with a content-free
  item ("N/A" as the question and every option) gives the model's prior over the option letters
  in this context (the exemplars included); the item's probabilities are divided by it. Cost: one
  extra scoring per distinct exemplar set (static shots: once a run; kNN shots: once an item,
  on top of the exemplars the prefix cache already holds).
- cyclic permutation averaging is the `choice-shuffle` stage (medllm.reasoning.ensemble): every
  option in every position once, probabilities mapped back and averaged. Cost: k× per item.

Both stages here wrap an answerer that gives option probabilities (direct by default; also a
context stage's output, e.g. `knn-fewshot+pride`). Yes/no/maybe and NLI questions list no
options by position, so they are passed through unchanged. The prior a run learns lives on the
solver (one solver per run); a resumed run estimates it again on its first pending items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from medllm.reasoning.base import Mode, SolveContext
from medllm.reasoning.util import (
    Stage,
    cyclic_permutations,
    permute_question,
    positional,
    total_cost,
)
from medllm.types import Answer, Choice, Cost, Question

_FLOOR = 1e-12  # a probability of exactly 0 would make a log or a division blow up


def _logs(probs: Sequence[float]) -> list[float]:
    return [math.log(max(p, _FLOOR)) for p in probs]


def normalize_logs(logs: Sequence[float]) -> list[float]:
    """Softmax of log-scores: probabilities that sum to one."""
    m = max(logs)
    e = [math.exp(x - m) for x in logs]
    s = sum(e)
    return [v / s for v in e]


def divide_out(probs: Sequence[float], prior: Sequence[float]) -> list[float]:
    """P_deb ∝ P_obs / prior, renormalised (the correction both PriDe and calibration apply)."""
    if len(probs) != len(prior):
        raise ValueError(f"{len(probs)} option probabilities but a prior over {len(prior)} positions")
    return normalize_logs([a - b for a, b in zip(_logs(probs), _logs(prior), strict=True)])


def position_prior(perm_probs: Sequence[Sequence[float]]) -> list[float]:
    """One item's prior over positions from its answers under the cyclic permutations:
    `perm_probs[p][d]` is the probability of position d under permutation p. With every option in
    every position once, the content terms cancel in the mean log-probability of a position."""
    k = len(perm_probs[0])
    means = [sum(_logs([row[d] for row in perm_probs])) / len(perm_probs) for d in range(k)]
    return normalize_logs(means)


def permutation_debiased(perm_probs: Sequence[Sequence[float]], perms: Sequence[Sequence[int]]) -> list[float]:
    """Each original option's mean log-probability over the permutations (position j of
    permutation p shows original option perms[p][j]), as probabilities."""
    k = len(perm_probs[0])
    sums = [0.0] * k
    for row, perm in zip(perm_probs, perms, strict=True):
        for j, orig in enumerate(perm):
            sums[orig] += math.log(max(row[j], _FLOOR))
    return normalize_logs([s / len(perms) for s in sums])


def _probs(a: Answer, q: Question, who: str) -> list[float]:
    if not a.option_probs:
        raise ValueError(f"{who} divides option probabilities by a prior and the answer to {q.id!r} has none;"
                         " use --mode loglik with an answerer that scores options (direct, rag, kg-rag)")
    return [float(a.option_probs.get(lbl, 0.0)) for lbl in q.labels]


def _debiased_answer(q: Question, ctx: SolveContext, name: str, probs: list[float], base: Answer,
                     cost: Cost, metadata: dict[str, object]) -> Answer:
    best = max(range(len(probs)), key=lambda i: (probs[i], -i))
    label = q.labels[best]
    # the inner answer's lm-eval acc_norm choice is not debiased: leave it out
    meta = {k: v for k, v in base.metadata.items() if k != "choice_norm"}
    return base.model_copy(update={
        "choice": label, "text": q.option(label).text, "confidence": probs[best],
        "option_probs": dict(zip(q.labels, probs, strict=True)), "cost": cost,
        "model": ctx.model.info.spec, "strategy": name, "metadata": {**meta, **metadata},
    })


class _Debias(Stage):
    kind = "ensemble"
    modes: tuple[Mode, ...] = ("loglik",)

    def _pass_through(self, q: Question, ctx: SolveContext) -> Answer:
        a = self._inner()(q, ctx)
        return a.model_copy(update={"strategy": self.name,
                                    "metadata": {**a.metadata, "debias": "skipped: options have no position"}})


class PriDeSolver(_Debias):
    name = "pride"

    def __init__(self, n: int = 16) -> None:
        """`n`: items per option count whose permutations estimate the prior."""
        super().__init__()
        if n < 1:
            raise ValueError(f"pride n={n}: estimate the prior on at least one item")
        self.n = int(n)
        self._log_sum: dict[int, list[float]] = {}  # option count -> summed log prior
        self._seen: dict[int, int] = {}  # option count -> items the prior was estimated on

    def prior(self, k: int) -> list[float] | None:
        """The prior over k positions learned so far (None before the first estimate)."""
        if not self._seen.get(k):
            return None
        return normalize_logs([s / self._seen[k] for s in self._log_sum[k]])

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        if not positional(question):
            return self._pass_through(question, ctx)
        inner, k = self._inner(), len(question.options)
        if self._seen.get(k, 0) < self.n:
            perms = cyclic_permutations(k, k)
            answers = [inner(permute_question(question, p), ctx) for p in perms]
            rows = [_probs(a, permute_question(question, p), self.name) for a, p in zip(answers, perms, strict=True)]
            item_prior = position_prior(rows)
            acc = self._log_sum.setdefault(k, [0.0] * k)
            for d, lp in enumerate(_logs(item_prior)):
                acc[d] += lp
            self._seen[k] = self._seen.get(k, 0) + 1
            probs = permutation_debiased(rows, perms)
            return _debiased_answer(question, ctx, self.name, probs, answers[0],
                                    total_cost([a.cost for a in answers]),
                                    {"debias": "pride", "pride_role": "estimate", "observed_probs": rows[0],
                                     "item_prior": item_prior})
        a = inner(question, ctx)
        prior = self.prior(k)
        assert prior is not None
        observed = _probs(a, question, self.name)
        return _debiased_answer(question, ctx, self.name, divide_out(observed, prior), a, a.cost,
                                {"debias": "pride", "pride_role": "debias", "observed_probs": observed,
                                 "prior": prior})


CONTENT_FREE = "N/A"


def content_free(q: Question, text: str = CONTENT_FREE) -> Question:
    """The item with its content taken out: the same labels and layout, `text` everywhere."""
    return q.model_copy(update={
        "id": f"{q.id}#content-free", "question": text, "context": [], "gold": None,
        "options": [Choice(label=c.label, text=text) for c in q.options]})


class CalibrateSolver(_Debias):
    name = "calibrate"

    def __init__(self, text: str = CONTENT_FREE) -> None:
        super().__init__()
        self.text = str(text)
        self._priors: dict[tuple[object, ...], tuple[list[float], Cost]] = {}

    def prior(self, question: Question, ctx: SolveContext) -> tuple[list[float], Cost, bool]:
        """(prior over the option letters in this context, what it cost, whether it was new).
        Keyed by the exemplars and the option labels: static shots pay once a run."""
        key = (tuple(s.id for s in ctx.shots), tuple(question.labels), question.task)
        if key in self._priors:
            p, _ = self._priors[key]
            return p, Cost(), False
        cf = content_free(question, self.text)
        a = self._inner()(cf, ctx)
        p = _probs(a, cf, self.name)
        if len(self._priors) > 64:  # kNN exemplars differ per item: keep memory flat
            self._priors.clear()
        self._priors[key] = (p, a.cost)
        return p, a.cost, True

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        if not positional(question):
            return self._pass_through(question, ctx)
        a = self._inner()(question, ctx)
        prior, extra, _ = self.prior(question, ctx)
        observed = _probs(a, question, self.name)
        return _debiased_answer(question, ctx, self.name, divide_out(observed, prior), a,
                                total_cost([a.cost, extra]),
                                {"debias": "calibrate", "observed_probs": observed, "prior": prior})
