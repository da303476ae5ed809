"""Evaluate a model on a medical benchmark; list, show, compare and report stored runs.

Run:   medllm eval --dataset medmcqa:../shared/data/medmcqa/dev_a.jsonl --model llamacpp:gemma3-270m --limit 100
Then:  medllm eval list | show RUN | compare RUN_A RUN_B | report RUN... --out report.html

Dataset specs: KIND:PATH, then optionally #SUBSET and ?KEY=VALUE&KEY=VALUE. KIND is one of
medqa, medmcqa, pubmedqa (?context=0 for question only, ?labels=FILE), mmlu, mirage
(#mmlu, #medqa, #medmcqa, #pubmedqa or #bioasq), healthver, medhalt, jsonl
(?question=F&options=F&answer=F&answer_base=0|1&task=mcq|yesno|nli|fake).
Generation (scored with ROUGE-1/2/L, factuality against the source, K-QA comprehensiveness and
hallucination, bootstrap CIs): aci (#train / #valid), mtsdialog (#train / #validation), meqsum,
kqa (--strategy rag for retrieval), healthbench (rubric files); few-shot with --shots K --shots-from SPEC.
A run killed at any moment resumes when the same command is started again.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from medllm.cli.common import UserError, console, user_errors

app = typer.Typer(no_args_is_help=False, add_completion=False)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} items/s" if speed else "– items/s", style="cyan")


def _pct(m: dict[str, Any] | None, ci: str = "wilson") -> str:
    if not m or m.get("value") is None:
        return "–"
    s = f"{100 * m['value']:.1f}%"
    if m.get(ci):
        s += f" [{100 * m[ci][0]:.1f}, {100 * m[ci][1]:.1f}]"
    return s


def _num(m: dict[str, Any] | None) -> str:
    return "–" if not m or m.get("value") is None else f"{m['value']:.3f}"


def _metrics_table(summary: dict[str, Any], title: str) -> Table:
    m = summary["metrics"]
    t = Table(title=title, show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("value (95% CI)", justify="right")
    t.add_row("n", str(summary["n"]))
    if "accuracy" in m:  # ner runs have entity F1 instead
        t.add_row("accuracy (Wilson)", _pct(m.get("accuracy")))
        t.add_row("accuracy (bootstrap)", _pct(m.get("accuracy"), "bootstrap"))
    for key, label in (("acc_norm", "acc_norm (lm-eval)"), ("parse_failure_rate", "parse failures")):
        if key in m:
            t.add_row(label, _pct(m[key]))
    for key, label in (("macro_f1", "macro-F1"), ("medhalt_score", "Med-HALT score"),
                       ("ece", "ECE (10 bins)"), ("brier", "Brier")):
        if key in m:
            t.add_row(label, _num(m[key]))
    if "acc_at_80_coverage" in m:
        t.add_row("accuracy at 80% coverage", _pct(m["acc_at_80_coverage"]))
    if "positions" in m:
        pos = m["positions"]
        t.add_row("picks per position (gold)", " ".join(
            f"{lbl} {100 * v:.0f}% ({100 * pos['gold'][lbl]:.0f}%)" for lbl, v in pos["pred"].items()))
    # ner / assertion runs (medllm.eval.tasks): F1 rows with bootstrap CIs
    f1_rows = [("f1", "entity F1 (strict)")] + [(f"per_type.{k}", f"  F1 {k}") for k in m.get("per_type", {})] + [
        ("negation_f1", "negation F1"), ("temporality_accuracy", "temporality accuracy"),
        ("historical_f1", "historical F1"), ("hypothetical_f1", "hypothetical F1"),
        ("experiencer_accuracy", "experiencer accuracy"), ("experiencer_f1", "experiencer F1 (other)")]
    for key, label in f1_rows:
        v = m.get("per_type", {}).get(key.split(".", 1)[1]) if key.startswith("per_type.") else m.get(key)
        if v:
            extra = f"  P {100 * v['precision']:.1f} R {100 * v['recall']:.1f}" if "precision" in v else ""
            t.add_row(label, _pct(v, "bootstrap" if "precision" in v else "wilson") + extra)
    # generation runs (medllm.eval.gen_tasks): ROUGE, factuality, K-QA, bootstrap CIs
    for key, label in (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"), ("rougeLsum", "ROUGE-Lsum"),
                       ("factuality", "factuality (statements supported)"),
                       ("comprehensiveness", "K-QA comprehensiveness"), ("hallucination_any", "K-QA answers contradicting")):
        if m.get(key) and m[key].get("value") is not None:
            t.add_row(label, _pct(m[key], "bootstrap" if "bootstrap" in m[key] else "wilson"))
    if m.get("hallucination"):
        h = m["hallucination"]
        t.add_row("K-QA contradicted / answer", f"{h['value']:.2f} [{h['bootstrap'][0]:.2f}, {h['bootstrap'][1]:.2f}]")
    if m.get("judge", {}).get("name"):
        t.add_row("judge", m["judge"]["name"])
    if "chars_per_s" in m:
        t.add_row("speed", f"{m['chars_per_s']['value']:,.0f} chars/s")
    t.add_row("wall time", f"{summary['wall_seconds']:.1f} s")
    return t


def _store():  # type: ignore[no-untyped-def]
    from medllm.session import Session

    return Session.configure().run_store()


@app.callback(invoke_without_command=True)
@user_errors
def run(
    ctx: typer.Context,
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset spec KIND:PATH, optionally #SUBSET and ?K=V&K=V."),
    model: str = typer.Option(None, "--model", "-m", help="Model spec; default: the configured default model."),
    mode: str = typer.Option("loglik", help="loglik (option log-likelihood) or generate."),
    strategy: str = typer.Option("direct", help="Reasoning strategy (solver) name."),
    shots: int = typer.Option(0, help="Solved exemplars put before each item."),
    shots_from: str = typer.Option(None, "--shots-from", help="Dataset spec the exemplars come from."),
    limit: int = typer.Option(None, help="Evaluate only the first N items."),
    seed: int = typer.Option(0, help="Seed for exemplar choice, sampling and bootstrap."),
    max_tokens: int = typer.Option(64, "--max-tokens", help="Generation budget (generate mode)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory; default $MEDLLM_HOME/runs/<run-id>."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Count and skip malformed records."),
    index: Path = typer.Option(None, "--index", help="Knowledge-base folder for rag strategies; default $MEDLLM_HOME/indexes/default."),
    reidentify: bool = typer.Option(False, "--reidentify", help="Behind the privacy gate (remote models): write answers "
                                    "re-identified into predictions.jsonl; default: as the model wrote them, over surrogates."),
    runner: str = typer.Option("local", help="local (this process) or ray (items answered on Ray workers, one model "
                               "each; the same predictions.jsonl): `pip install 'medllm[ray]'`"),
    ray_address: str = typer.Option(None, help="ray: 'auto' or ray://HOST:10001; default: a local Ray cluster "
                                    "for this command"),
    workers: int = typer.Option(None, help="ray: worker processes (one model each)"),
) -> None:
    """Evaluate (when --dataset is given), or run a subcommand."""
    if ctx.invoked_subcommand is not None:
        if dataset:
            raise UserError("--dataset belongs to `medllm eval` alone; leave it out with a subcommand")
        return
    if not dataset:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    from medllm.eval.runner import EvalConfig
    from medllm.runners import get_runner
    from medllm.runners.eval import EvalJob
    from medllm.session import Session

    session = Session.configure()
    settings = session.settings
    if index is not None and not (index / "manifest.json").is_file():
        raise UserError(f"--index {index}: no knowledge base there (no manifest.json); build one with "
                        "`medllm kb build` or `medllm kb build-default`")
    config = EvalConfig(
        dataset=dataset, model=model or settings.default_model, mode=mode, strategy=strategy,
        shots=shots, shots_from=shots_from, limit=limit, seed=seed, max_tokens=max_tokens,
        skip_invalid=skip_invalid, extra={"index": str(index.resolve())} if index else {},
    )
    config.validate()
    run_on = get_runner(runner, address=ray_address, workers=workers)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
        TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=False,
    ) as bar:
        task_id = None

        def progress(done: int, total: int) -> None:
            nonlocal task_id
            if task_id is None:
                # items already on disk count as done but not towards the rate
                task_id = bar.add_task(f"eval {config.run_id}", total=total, completed=done)
            else:
                bar.update(task_id, completed=done)

        result = run_on.run(EvalJob(config, out_dir=out, reidentify=reidentify, progress=progress, session=session))
    s = result.summary
    if result.resumed:
        console.print(f"resumed: {result.resumed} items were already done, {result.answered} answered now")
    if s["skipped_invalid"]:
        console.print(f"[yellow]skipped {s['skipped_invalid']} invalid records[/]")
    how = "" if set(s["task"]) & {"ner", "assertion"} else f" · {s['mode']} · {s['strategy']}"  # no strategy there
    console.print(_metrics_table(s, f"{s['dataset_name']} · {s['model']}{how}"))
    console.print(f"run {result.run_id}\n  {result.out_dir / 'summary.json'}\n  {result.out_dir / 'predictions.jsonl'}")
    stats = run_on.last
    if stats is not None and stats.runner == "ray":
        console.print(f"ray: {stats.workers} worker(s), {stats.wall_seconds:.1f} s wall "
                      f"({stats.startup_seconds:.1f} s starting), {stats.units_sent} chunks of items on workers")


@app.command("list")
@user_errors
def list_runs() -> None:
    """List the stored runs, oldest first."""
    rows = _store().list()
    if not rows:
        console.print("no runs yet; start one with `medllm eval --dataset ... --model ...`")
        return
    t = Table(show_header=True, header_style="bold")
    for col in ("run id", "status", "dataset", "model", "mode", "strategy", "shots", "n", "accuracy", "created"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r.run_id, r.status, r.dataset, r.model, r.mode, r.strategy, str(r.shots),
                  "–" if r.n is None else str(r.n),
                  "–" if r.accuracy is None else f"{100 * r.accuracy:.1f}%",
                  datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M"))
    console.print(t)


@app.command()
@user_errors
def show(
    run_ref: str = typer.Argument(..., metavar="RUN", help="Run id, unique id prefix, or run directory."),
    as_json: bool = typer.Option(False, "--json", help="Print summary.json as it is."),
) -> None:
    """Show one run's summary: every metric with its CI, and per-subject accuracy."""
    from medllm.eval.store import resolve_run

    run_files = resolve_run(run_ref, _store())
    s = run_files.summary
    if as_json:
        console.print_json(json.dumps(s))
        return
    console.print(_metrics_table(s, f"{run_files.run_id}\n{s['dataset']} · {s['model']} · "
                                    f"{s['mode']} · {s['strategy']} · {s['shots']}-shot · seed {s['seed']}"))
    per = s["metrics"].get("per_subject")
    if per:
        t = Table(title="per subject", header_style="bold")
        for col in ("subject", "n", "accuracy (Wilson 95%)"):
            t.add_column(col, justify="left" if col == "subject" else "right")
        for subj, v in sorted(per.items(), key=lambda kv: -kv[1]["n"]):
            t.add_row(subj, str(v["n"]), _pct({"value": v["accuracy"], "wilson": v["wilson"]}))
        console.print(t)
    console.print(f"directory: {run_files.out_dir}")


@app.command()
@user_errors
def compare(
    run_a: str = typer.Argument(..., metavar="RUN_A"),
    run_b: str = typer.Argument(..., metavar="RUN_B"),
    seed: int = typer.Option(0, help="Seed for the paired bootstrap."),
) -> None:
    """Paired comparison of two runs on their shared items: exact McNemar and a paired
    bootstrap CI of the accuracy difference; for generation runs (ROUGE, factuality, K-QA,
    rubric), a paired bootstrap CI of the mean difference of each per-item score."""
    from medllm.eval.runner import compare_runs
    from medllm.eval.store import resolve_run

    store = _store()
    a, b = resolve_run(run_a, store), resolve_run(run_b, store)
    c = compare_runs(a.predictions, b.predictions, seed=seed)
    t = Table(title=f"A = {a.run_id}\nB = {b.run_id}", header_style="bold")
    t.add_column("statistic")
    t.add_column("value", justify="right")
    t.add_row("shared items", f"{c['n_shared']} (A has {c['n_a']}, B has {c['n_b']})")
    if c["kind"] == "accuracy":
        t.add_row("accuracy A", f"{100 * c['accuracy_a']:.1f}%")
        t.add_row("accuracy B", f"{100 * c['accuracy_b']:.1f}%")
        t.add_row("B − A (paired bootstrap 95% CI)",
                  f"{100 * c['diff_b_minus_a']:+.1f} pts [{100 * c['diff_ci'][0]:+.1f}, {100 * c['diff_ci'][1]:+.1f}]")
        t.add_row("only A right / only B right", f"{c['a_only_correct']} / {c['b_only_correct']}")
        t.add_row("exact McNemar p", f"{c['mcnemar_p']:.4g}")
    for s in c.get("scores", {}).values():
        x, pts, d = (100, " pts", 1) if s["unit"] == "share" else (1, "", 2)  # shares in points, counts as they are
        t.add_row(f"{s['label']}: A / B (n {s['n']})", f"{x * s['mean_a']:.{d}f} / {x * s['mean_b']:.{d}f}")
        t.add_row("  B − A (paired bootstrap 95% CI)", f"{x * s['diff_b_minus_a']:+.{d}f}{pts} "
                  f"[{x * s['diff_ci'][0]:+.{d}f}, {x * s['diff_ci'][1]:+.{d}f}]")
    t.add_row("same prediction", f"{100 * c['agreement']:.1f}%")
    console.print(t)


@app.command()
@user_errors
def report(
    runs: list[str] = typer.Argument(..., metavar="RUN...", help="Run ids, prefixes or directories."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    title: str = typer.Option("medllm evaluation report", help="Page title."),
) -> None:
    """Write one self-contained HTML report for the runs (tables, plots, paired comparison)."""
    from medllm.eval.report import write_report
    from medllm.eval.store import resolve_run

    store = _store()
    files = [resolve_run(r, store) for r in runs]
    path = write_report(files, out, title)
    console.print(f"wrote {path} ({path.stat().st_size // 1024} KiB, {len(files)} run(s))")
