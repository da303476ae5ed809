"""The `medllm` command line: thin. It parses, calls the library, prints.

Each command group lives in its own module with its own `app`; heavy libraries (torch,
llama.cpp, Presidio) are imported inside the commands so `medllm --help` stays instant.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="medllm",
    help="On-premises medical LLM toolkit: ask, evaluate, de-identify, audit, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, group name or None for top-level commands registered by the module itself)
_GROUPS: list[tuple[str, str | None]] = [
    ("medllm.cli.ask", None),
    ("medllm.cli.models", "models"),
    ("medllm.cli.kb", "kb"),
    ("medllm.cli.kg", "kg"),
    ("medllm.cli.eval", "eval"),
    ("medllm.cli.strategies", "strategies"),
    ("medllm.cli.deid", None),
    ("medllm.cli.extract", None),
    ("medllm.cli.generate", None),
    ("medllm.cli.audit", None),
    ("medllm.cli.triage", None),
    ("medllm.cli.serve", "serve"),
    ("medllm.cli.train", "train"),
]

for _module, _name in _GROUPS:
    _mod = importlib.import_module(_module)
    if _name is None:
        _mod.register(app)
    else:
        app.add_typer(_mod.app, name=_name, help=_mod.__doc__)


def main() -> None:
    app()
