"""`medllm triage`: the safety decision for a message, or for every line of a .jsonl file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medllm.cli.common import UserError, console, err_console, progress_bar, user_errors


def register(app: typer.Typer) -> None:
    app.command("triage")(triage_command)


@user_errors
def triage_command(
    target: str = typer.Argument(..., help="the message in quotes, or a .jsonl file with lines {\"id\", \"text\"}"),
    out: Path = typer.Option(None, "--out", "-o", help="with a .jsonl file: folder for decisions.jsonl (resumes if present)"),
    judge: str = typer.Option(None, "--judge", help="judge for a concerning finding in the classifier's uncertain band: 'probe' (heads over the 0.5B's hidden states), a llamacpp: model spec (few-shot), or 'off'; default: the triage_judge setting (off)"),
    as_json: bool = typer.Option(False, "--json", help="print the full decision as JSON (single message)"),
    runner: str = typer.Option("local", help="with a .jsonl file: local, or ray (decisions on Ray workers, "
                               "same decisions.jsonl): `pip install 'medllm[ray]'`"),
    ray_address: str = typer.Option(None, help="ray: 'auto' or ray://HOST:10001; default: a local Ray cluster"),
    workers: int = typer.Option(None, help="ray: worker processes (one triager each)"),
) -> None:
    """Triage a message: level (emergency / urgent / routine), refuse or not, category, reason and
    the advice to lead with.

    Examples: medllm triage "my jaw aches and I'm clammy after carrying the groceries"
              medllm triage messages.jsonl --out triaged/
    """
    from medllm.jobs import TriageRequest, triage
    from medllm.session import Session

    session = Session.configure()
    judge = judge or None  # empty: the triage_judge setting
    path = Path(target)
    if target.endswith(".jsonl"):
        if not path.is_file():
            raise UserError(f"{target} does not exist; give a .jsonl file with one {{\"id\", \"text\"}} per line")
        if out is None:
            raise UserError("a .jsonl input needs --out DIR (where decisions.jsonl is written)")
        _batch(session, path, out, judge, runner, ray_address, workers)
        return
    if out is not None:
        raise UserError("--out is for a .jsonl input; for one message the decision is printed")
    if not target.strip():
        raise UserError("the message is empty; give the text to triage")
    with err_console.status("loading the triage classifier…"):
        session.triager(judge)
    d = triage(session, TriageRequest(target, judge))
    if as_json:
        print(json.dumps(d.to_dict(), indent=2))
        return
    colour = {"emergency": "bold red", "urgent": "yellow", "routine": "green"}[d.level]
    console.print(f"level   [{colour}]{d.level}[/]")
    console.print(f"refuse  {'[bold red]yes[/] (' + str(d.category) + ')' if d.refuse else 'no'}"
                  + ("  · safe completion (general safety information only)" if d.safe_completion else ""))
    console.print(f"reason  {d.reason}", highlight=False, markup=False)
    if d.rule:
        console.print(f"rule    {d.rule}: {d.detail.get('rule_source', '')}", highlight=False, markup=False)
    if d.findings:
        console.print("finding " + "; ".join(f"{f.text} ({f.concept}, {f.assertion})" for f in d.findings),
                      highlight=False, markup=False)
    if d.advice:
        console.print(f"advice  {d.advice}", highlight=False, markup=False)
    for kind in ("safety_note", "safety_net"):  # text at the end of the answer, not a banner
        if d.detail.get(kind):
            console.print(f"note    {d.detail[kind]}", highlight=False, markup=False)
    console.print(f"[dim]intent {d.intent} · p(emergency) {d.p_emergency:.2f} · p(harmful) {d.p_harmful:.2f} · "
                  f"decided by {d.stage} · {d.seconds * 1000:.0f} ms[/]")


def _batch(session, path: Path, out: Path, judge: str | None, runner: str, address: str | None,  # type: ignore[no-untyped-def]
           workers: int | None) -> None:
    from medllm.runners import get_runner
    from medllm.runners.triage import TriageJob

    try:
        run = get_runner(runner, address=address, workers=workers)
    except ValueError as e:
        raise UserError(str(e)) from None
    if run.name == "local":
        with err_console.status("loading the triage classifier…"):
            session.triager(judge)
    with progress_bar("triage", err_console) as bar:
        task = bar.add_task("triage", total=None)
        report = run.run(TriageJob(path, out, judge=judge, session=session,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total)))
    for n, msg in report.errors:
        err_console.print(f"[yellow]{path}:{n}[/]: {msg}", highlight=False)
    stats = run.last
    console.print(
        f"{report.written} decision(s) written to {report.out_file}"
        + (f", {report.skipped} already there (resumed)" if report.skipped else "")
        + (f", {len(report.errors)} bad line(s) reported with an error record" if report.errors else "")
        + f"; {report.emergency} emergency, {report.urgent} urgent, {report.refused} refused"
        + (f"; {stats.runner}: {stats.workers} worker(s), {stats.wall_seconds:.1f} s wall "
           f"({stats.startup_seconds:.1f} s starting)" if stats and stats.runner != "local" else "")
    )
