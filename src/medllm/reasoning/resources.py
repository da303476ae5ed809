"""Open what a strategy needs (`solver.needs`): the retriever for rag, the graph for kg-rag.

The evaluation runner and `medllm ask` call `load_resources(solver.needs, ...)` and pass the
result into `SolveContext`; solvers themselves never open files (no global state).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medllm.config import Settings, load_settings


def default_index_dir(settings: Settings | None = None) -> Path:
    return (settings or load_settings()).indexes_dir / "default"


def load_resources(needs: Iterable[str], index_dir: str | Path | None = None,
                   settings: Settings | None = None) -> dict[str, Any]:
    """{"retriever": ..., "graph": ...} for the needs named; nothing is loaded that is not needed.
    The index defaults to the default KB ($MEDLLM_HOME/indexes/default)."""
    needs = set(needs)
    out: dict[str, Any] = {}
    if "retriever" in needs:
        from medllm.knowledge.index import load_index

        folder = Path(index_dir) if index_dir else default_index_dir(settings)
        if not (folder / "manifest.json").exists():
            raise FileNotFoundError(f"rag needs an index and there is none at {folder}; build the default KB with"
                                    " `medllm kb build-default` or point to one with --index DIR")
        out["retriever"] = load_index(folder)
    if "graph" in needs:
        from medllm.knowledge.kg.graph import load_default_graph

        out["graph"] = load_default_graph()
    return out
