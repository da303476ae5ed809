"""The solver shape every reasoning strategy has, and the registry the evaluation harness uses.

A solver is a small callable: `solver(question, ctx) -> Answer`. The context carries what the
solver may use (model, generation parameters, scoring mode, exemplars, retriever, graph, seed),
so solvers hold no global state and compose (a strategy may call another solver).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from medllm.models.base import GenParams, Model
from medllm.types import Answer, Question

Mode = Literal["loglik", "generate"]


@dataclass
class SolveContext:
    model: Model
    params: GenParams = field(default_factory=GenParams)
    mode: Mode = "loglik"
    shots: list[Question] = field(default_factory=list)
    retriever: object | None = None  # a medllm.knowledge retriever; typed loosely to keep layers
    graph: object | None = None  # a medllm.knowledge.kg graph
    seed: int = 0
    # Free-text answers stream here piece by piece when set (ask, serve); MCQ scoring ignores it.
    on_token: Callable[[str], None] | None = None


@runtime_checkable
class Solver(Protocol):
    name: str
    modes: tuple[Mode, ...]  # the scoring modes the solver supports

    def __call__(self, question: Question, ctx: SolveContext) -> Answer: ...


# name -> "module:attribute" of a zero-argument factory (a class). A table, not mutable state:
# the strategies issue adds its lines here.
SOLVERS: dict[str, str] = {
    "direct": "medllm.reasoning.direct:DirectSolver",
    "cot": "medllm.reasoning.cot:CoTSolver",
    "fewshot": "medllm.reasoning.fewshot:FewShotSolver",
    "knn-fewshot": "medllm.reasoning.fewshot:KnnFewShotSolver",
    "self-consistency": "medllm.reasoning.ensemble:SelfConsistencySolver",
    "choice-shuffle": "medllm.reasoning.ensemble:ChoiceShuffleSolver",
    "pride": "medllm.reasoning.debias:PriDeSolver",
    "calibrate": "medllm.reasoning.debias:CalibrateSolver",
    "medprompt": "medllm.reasoning.medprompt:MedpromptSolver",
    "rag": "medllm.reasoning.rag:RagSolver",
    "kg-rag": "medllm.reasoning.rag:KgRagSolver",
    "evidence": "medllm.reasoning.evidence:EvidenceSolver",
    "agents": "medllm.reasoning.agents:AgentsSolver",
    "agents-adaptive": "medllm.reasoning.agents:AdaptiveAgentsSolver",
    "verify": "medllm.reasoning.verify:VerifySolver",
}


def get_solver(name: str) -> Solver:
    """A fresh solver by name; raises ValueError listing the known names. A composed name
    (`rag+cot+self-consistency`, `self-consistency(n=3)`) is built by `reasoning.compose`."""
    if "+" in name or "(" in name:
        from medllm.reasoning.compose import compose

        return compose(name)
    target = SOLVERS.get(name)
    if target is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(SOLVERS))}")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)()
