"""`medllm extract`: problems, drugs and findings from clinical notes, each with its concept,
ConText assertion and section, plus ICD-10-CM code suggestions; resumably."""

from __future__ import annotations

from pathlib import Path

import typer

from medllm.cli.common import UserError, console, print_batch_report, progress_bar, user_errors


def register(app: typer.Typer) -> None:
    @app.command("extract")
    @user_errors
    def extract_cmd(
        paths: list[Path] = typer.Argument(..., help=".txt notes, .jsonl files of notes ({id, text} a line), or folders"),
        out: Path = typer.Option(..., "--out", "-o", help="output folder: one JSON line per note, same relative paths"),
        tagger: str = typer.Option("default", help="entity tagger: default (the trained model) or dictionary "
                                                   "(the knowledge-graph linker)"),
        codes: int = typer.Option(5, help="ICD-10-CM suggestions per note (0: none)"),
        fmt: str = typer.Option("jsonl", "--format", help="jsonl (files only) or table (also print each note's spans)"),
        id_field: str = typer.Option("id", help="jsonl: the key holding a note id"),
        text_field: str = typer.Option("text", help="jsonl: the key holding the note text"),
        force: bool = typer.Option(False, help="redo files an earlier run finished"),
        runner: str = typer.Option("local", help="local (this process) or ray (notes extracted on Ray workers; "
                                   "same output): `pip install 'medllm[ray]'`"),
        ray_address: str | None = typer.Option(None, help="ray: 'auto' or ray://HOST:10001; default: "
                                               "a local Ray cluster for this command"),
        workers: int | None = typer.Option(None, help="ray: worker processes (one tagger each)"),
    ) -> None:
        """Extract entities with type, concept, assertion (present / negated / possible,
        recent / historical / hypothetical, patient / other) and section from each note, and
        suggest ICD-10-CM codes (negated, hypothetical and other-person findings never coded).
        Writes OUT/<file>.jsonl; an interrupted run continues where it stopped."""
        from medllm.jobs import check_tagger
        from medllm.runners import get_runner
        from medllm.runners.extract import ExtractJob
        from medllm.session import Session
        from medllm.tasks.ie.batch import collect_inputs

        if fmt not in ("jsonl", "table"):
            raise UserError(f"--format {fmt!r}: use jsonl or table")
        if codes < 0:
            raise UserError("--codes must be 0 or more")
        try:
            inputs = collect_inputs(paths)
        except ValueError as e:
            raise UserError(str(e)) from None
        out_root = out.resolve()
        for src, _ in inputs:
            if out_root in src.resolve().parents:
                raise UserError(f"--out {out} contains the input {src}; choose a separate folder")
        try:
            run = get_runner(runner, address=ray_address, workers=workers)
        except ValueError as e:
            raise UserError(str(e)) from None
        session = Session.configure()
        with console.status(f"loading the {tagger} tagger and the knowledge graph ..."):
            try:
                check_tagger(session, tagger)  # loads the tagger
            except ValueError as e:
                raise UserError(str(e)) from None
            session.knowledge_graph()  # links what the tagger found and codes it
            if codes:
                session.icd_coder()
        show = _note_table if fmt == "table" else None
        with progress_bar("extract") as bar:
            task = bar.add_task("extract", total=len(inputs))
            job = ExtractJob(inputs, out_root, tagger=tagger, codes=codes, id_field=id_field, text_field=text_field,
                             force=force, progress=lambda n: bar.advance(task, n),
                             on_note=(lambda r: bar.console.print(show(r))) if show else None, session=session)
            rep = run.run(job)
        stats = run.last
        runner_note = (f"ray: {stats.workers} worker(s), {stats.wall_seconds:.1f} s wall "
                       f"({stats.startup_seconds:.1f} s starting)" if stats and stats.runner == "ray" else "")
        earlier = (f"{rep.resumed} note(s) and {rep.skipped_files} file(s) done by an earlier run (--force to redo)"
                   if rep.resumed or rep.skipped_files else "")
        print_batch_report(f"{rep.notes} note(s), {rep.spans:,} spans -> {out}", chars=rep.chars,
                           seconds=rep.seconds, notes=[earlier, runner_note], failed=rep.failed)


def _note_table(res):  # type: ignore[no-untyped-def]
    from rich.table import Table

    t = Table(title=f"{res.id} ({res.chars:,} chars)", title_justify="left", header_style="bold")
    for col in ("text", "type", "concept", "assertion", "time", "who", "section"):
        t.add_column(col, overflow="fold")
    for s in res.spans:
        style = "dim" if s.assertion == "negated" else None
        t.add_row(s.text, s.label, f"{s.concept or ''} {s.concept_id or ''}".strip(), s.assertion or "",
                  s.temporality or "", s.experiencer or "", s.section or "", style=style)
    if res.codes:
        t.add_section()
        for c in res.codes:
            ev = ", ".join(sorted({s.text for s in c.evidence}))
            t.add_row(f"ICD-10-CM {c.code}", "code", c.title, f"{c.score:.2f}", "historical" if c.historical else "",
                      "", ev)
    return t
