"""Reasoning strategies: composable solvers `solver(question, ctx) -> Answer`.

    get_solver("rag+cot+self-consistency")   # a chain, read left to right (see compose)

What a strategy needs besides the model (`solver.needs`: the retriever for rag, the graph for
kg-rag) is opened by `medllm.session.Session`, the one composition root; solvers never open files.
"""

from medllm.reasoning.base import SOLVERS, SolveContext, Solver, get_solver
from medllm.reasoning.compose import Chain, compose, describe
from medllm.reasoning.rag import parse_options

__all__ = ["SOLVERS", "Chain", "SolveContext", "Solver", "compose", "describe", "get_solver",
           "parse_options"]
