"""`medllm audit` (trust report: robustness, fairness, hallucination, calibration) and
`medllm audit-log verify` (check the hash chain of an audit log)."""

from __future__ import annotations

from pathlib import Path

import typer

from medllm.cli.common import console, user_errors

log_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@log_app.command("verify")
@user_errors
def verify_cmd(path: Path = typer.Argument(..., help="audit log (JSON lines)")) -> None:
    """Check every entry's hash and link, and the head anchor: detects edits, deletions,
    insertions, reordering and a cut-off tail. Exit code 1 when the log was tampered with."""
    from medllm.trust.audit_log import verify

    r = verify(path)
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    if r.ok:
        console.print(f"[green]OK[/] {path}: {r.entries} entries, chain intact")
        return
    for p in r.problems[:20]:
        console.print(f"[red]-[/] {p}")
    if len(r.problems) > 20:
        console.print(f"... and {len(r.problems) - 20} more")
    console.print(f"[bold red]FAILED[/] {path}: {len(r.problems)} problem(s) in {r.entries} entries")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="audit-log")

    @app.command("audit")
    @user_errors
    def audit(
        model: str = typer.Option(..., help="model spec, e.g. llamacpp:qwen2.5-coder-0.5b-instruct"),
        dataset: str = typer.Option(..., help="dataset spec, as for `medllm eval`"),
        out: Path = typer.Option(..., "--out", "-o", help="output folder for report.html"),
        strategy: str = typer.Option("direct", help="solver to audit"),
        mode: str = typer.Option("loglik", help="loglik | generate"),
        limit: int = typer.Option(50, help="items from the dataset (each probe re-answers them)"),
        medhalt: Path | None = typer.Option(None, help="Med-HALT reasoning_fake CSV (optional)"),
        medhalt_limit: int = typer.Option(50),
        seed: int = typer.Option(0),
        index: Path | None = typer.Option(None, "--index", help="knowledge base for rag strategies; default $MEDLLM_HOME/indexes/default"),
    ) -> None:
        """Run the trust audit and write OUT/report.html and OUT/results.json."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from medllm.eval.datasets import load_dataset
        from medllm.reasoning.base import get_solver
        from medllm.session import Session
        from medllm.eval.audit import render_html, results_json, run_audit
        from medllm.trust.hallucination import load_medhalt_fake

        if limit < 1:
            raise ValueError("--limit must be at least 1")
        qs = load_dataset(dataset).questions[:limit]
        fakes = load_medhalt_fake(medhalt, limit=medhalt_limit) if medhalt else []
        solver = get_solver(strategy)
        if mode not in solver.modes:
            raise ValueError(f"strategy {strategy!r} supports --mode {', '.join(solver.modes)}")
        # the same composition root as ask and eval: privacy gate, index (rag), graph (kg-rag)
        session = Session.open(model, strategy=strategy, index=index, audit=False)
        ctx = session.context(mode, seed=seed)  # type: ignore[arg-type]
        # originals + 4 robustness + sex + 5 races + 3 ages + NOTA, at most
        total = len(qs) * 15 + len(fakes)
        try:
            with Progress(TextColumn("[bold]audit"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("audit", total=total)
                results = run_audit(qs, lambda q: solver(q, ctx), seed=seed, medhalt=fakes,
                                    progress=lambda k: bar.advance(task, k))
        finally:
            session.close()
        out.mkdir(parents=True, exist_ok=True)
        meta = {"model": model, "dataset": dataset, "strategy": strategy, "mode": mode,
                "items": len(qs), "seed": seed}
        (out / "report.html").write_text(render_html(results, meta), encoding="utf-8")
        (out / "results.json").write_text(results_json(results), encoding="utf-8")
        for r in results:
            figs = ", ".join(f"{k}={v:.3f}" for k, v in r.metrics.items() if isinstance(v, float))
            console.print(f"{r.family:<13} {r.name:<34} n={r.n:<4} {figs}")
        console.print(f"report: {out / 'report.html'}")
