"""Reasoning strategies: composable solvers `solver(question, ctx) -> Answer`.

    get_solver("rag+cot+self-consistency")   # a chain, read left to right (see compose)
"""

from medllm.reasoning.base import SOLVERS, SolveContext, Solver, get_solver
from medllm.reasoning.compose import Chain, compose, describe
from medllm.reasoning.rag import parse_options
from medllm.reasoning.resources import load_resources

__all__ = ["SOLVERS", "Chain", "SolveContext", "Solver", "compose", "describe", "get_solver",
           "load_resources", "parse_options"]
