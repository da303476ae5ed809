"""Exemplar choice: `fewshot` (k static exemplars) and `knn-fewshot` (the k exemplars nearest to
the question by embedding, as Medprompt and KATE pick them).

Both are context stages: they choose exemplars, put them in `ctx.shots`, and hand the question
to the inner solver (direct by default; cot shows the exemplars as solved turns). The pool is
`ctx.shots` as the run gives it (`medllm eval --shots N --shots-from SPEC`: N is the pool size);
fewshot keeps its first k, knn-fewshot the k nearest. The embedder is the knowledge layer's
all-MiniLM-L6-v2 (offline); pool vectors are computed once per pool and kept on the solver.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from medllm.reasoning.base import Mode, SolveContext
from medllm.reasoning.util import Stage
from medllm.types import Answer, Question


def exemplar_text(q: Question) -> str:
    """What is embedded: the question and its options (never the gold answer)."""
    return " ".join([q.question.strip(), *(c.text.strip() for c in q.options)])


def nearest(query: np.ndarray, pool: np.ndarray, k: int) -> list[int]:
    """Indices of the k rows of `pool` most similar to `query` (unit vectors: inner product is
    cosine), most similar first; ties by pool order."""
    sims = pool @ query
    order = sorted(range(len(sims)), key=lambda i: (-float(sims[i]), i))
    return order[:k]


class _Context(Stage):
    kind = "context"
    modes: tuple[Mode, ...] = ("loglik", "generate")
    # no `needs`: the exemplars come from the caller (eval --shots N --shots-from SPEC) in
    # ctx.shots, not from a resource the session opens (it refuses needs it does not know)


def _need_pool(name: str, ctx: SolveContext) -> list[Question]:
    if not ctx.shots:
        raise ValueError(f"{name} needs solved exemplars: pass --shots N --shots-from SPEC (N = pool size),"
                         " e.g. --shots 20 --shots-from medmcqa:../shared/data/medmcqa/dev_a.jsonl")
    return list(ctx.shots)


class FewShotSolver(_Context):
    name = "fewshot"

    def __init__(self, k: int = 5) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"fewshot k={k}: use at least one exemplar")
        self.k = int(k)

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        shots = [s for s in _need_pool(self.name, ctx) if s.id != question.id][: self.k]
        a = self._inner()(question, dataclasses.replace(ctx, shots=shots))
        return a.model_copy(update={"metadata": {**a.metadata, "shot_ids": [s.id for s in shots]}})


class KnnFewShotSolver(_Context):
    name = "knn-fewshot"

    def __init__(self, k: int = 3, embedder: Any = None) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"knn-fewshot k={k}: use at least one exemplar")
        self.k = int(k)
        self.embedder = embedder
        self._pool_key: tuple[str, ...] | None = None
        self._pool_vecs: np.ndarray | None = None

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from medllm.knowledge.retrievers import Embedder  # deferred: loads torch

            self.embedder = Embedder()
        return self.embedder.encode(texts)

    def select(self, question: Question, pool: list[Question]) -> list[Question]:
        """The k pool items nearest to `question` (the question itself excluded), nearest last so
        the most similar solved example sits right before the item."""
        key = tuple(s.id for s in pool)
        if key != self._pool_key or self._pool_vecs is None:
            # the whole pool once; the question itself is skipped below, not re-embedded around
            self._pool_vecs = self._embed([exemplar_text(s) for s in pool])
            self._pool_key = key
        keep = [i for i, s in enumerate(pool) if s.id != question.id]
        q = self._embed([exemplar_text(question)])[0]
        picked = nearest(q, self._pool_vecs[keep], min(self.k, len(keep)))
        return [pool[keep[i]] for i in reversed(picked)]

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        shots = self.select(question, _need_pool(self.name, ctx))
        a = self._inner()(question, dataclasses.replace(ctx, shots=shots))
        return a.model_copy(update={"metadata": {**a.metadata, "shot_ids": [s.id for s in shots]}})
