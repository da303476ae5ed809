"""What every command shares: the console, turning a user mistake into a clear exit, and how a
batch command shows its progress and its report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print expected errors (bad input, missing model, unreachable server) as one clear line
    and exit non-zero, instead of a traceback."""
    from medllm.config import ConfigError
    from medllm.models.base import ModelError

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (UserError, ModelError, ConfigError, FileNotFoundError, FileExistsError, ValueError) as e:
            fail(str(e) or e.__class__.__name__)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper


def progress_bar(label: str, on: Console = console) -> Progress:
    """The bar of a long batch: label, bar, done/total, time; gone when the work ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=on, transient=True)


def print_batch_report(head: str, *, chars: int, seconds: float, notes: Sequence[str] = (),
                       failed: Sequence[tuple[str, str]] = ()) -> None:
    """A batch command's report: one line (`head`, then the throughput when any text was done,
    then `notes`), then each failure by name; exit 1 if anything failed (the rest was done)."""
    parts = [head]
    if chars:
        parts.append(f"{chars:,} chars in {seconds:.1f} s ({chars / seconds if seconds else 0:,.0f} chars/s)")
    console.print("; ".join(parts + [n for n in notes if n]))
    for where, why in failed:
        console.print(f"[red]failed[/] {where}: {why}")
    if failed:
        raise typer.Exit(1)
