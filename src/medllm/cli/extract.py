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
    ) -> None:
        """Extract entities with type, concept, assertion (present / negated / possible,
        recent / historical / hypothetical, patient / other) and section from each note, and
        suggest ICD-10-CM codes (negated, hypothetical and other-person findings never coded).
        Writes OUT/<file>.jsonl; an interrupted run continues where it stopped."""
        from medllm.config import load_settings
        from medllm.tasks.ie.batch import collect_inputs, extract_files
        from medllm.tasks.ie.coding import ICDCoder
        from medllm.tasks.ie.pipeline import load_tagger
        from medllm.trust.privacy.gate import gate_required

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
        with console.status(f"loading the {tagger} tagger and the knowledge graph ..."):
            tg = load_tagger(tagger)
            # a tagger backed by a model outside this process would see raw notes: extraction
            # maps spans onto the original text, which the gate's surrogates would move
            spec = getattr(tg, "model_spec", None)
            if spec and gate_required(spec, load_settings().privacy_gate):
                raise UserError(f"tagger {tagger!r} sends text to {spec}, which the privacy gate covers; use a "
                                "local tagger (default, dictionary) or set privacy_gate = \"off\" explicitly")
            # the graph links what the tagger found (HPO, diseases, drugs, ICD-10-CM) and codes it
            graph = getattr(tg, "graph", None)
            if graph is None:
                from medllm.knowledge.kg.graph import load_default_graph

                graph = load_default_graph()
            coder = ICDCoder(graph) if codes else None
        show = _note_table if fmt == "table" else None
        with progress_bar("extract") as bar:
            task = bar.add_task("extract", total=len(inputs))
            rep = extract_files(inputs, out_root, tg, graph=graph, coder=coder, k=codes, id_field=id_field,
                                text_field=text_field, force=force, progress=lambda n: bar.advance(task, n),
                                on_note=(lambda r: bar.console.print(show(r))) if show else None)
        earlier = (f"{rep.resumed} note(s) and {rep.skipped_files} file(s) done by an earlier run (--force to redo)"
                   if rep.resumed or rep.skipped_files else "")
        print_batch_report(f"{rep.notes} note(s), {rep.spans:,} spans -> {out}", chars=rep.chars,
                           seconds=rep.seconds, notes=[earlier], failed=rep.failed)


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
