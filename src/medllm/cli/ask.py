"""`medllm ask`: the main job."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from medllm.cli.common import UserError, console, err_console, user_errors


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)


@user_errors
def ask_command(
    question: str = typer.Argument(..., help="the question or case, in quotes; '-' reads stdin"),
    options: str = typer.Option(None, "--options", help='multiple choice: "A) aspirin B) heparin ..."; answers with a letter'),
    model: str = typer.Option(None, "--model", "-m", help="model spec; default: the default_model setting"),
    strategy: str = typer.Option("evidence", "--strategy", "-s", help="evidence (default: few strong passages, each sentence checked against its sources), or what answers after rag retrieval, e.g. cot, direct, cot+verify, agents (see `medllm strategies`)"),
    index: Path = typer.Option(None, "--index", help="knowledge-base folder; default $MEDLLM_HOME/indexes/default"),
    no_kb: bool = typer.Option(False, "--no-kb", help="answer without retrieval from the knowledge base"),
    kg: bool = typer.Option(
        True, "--kg/--no-kg",
        help="load the knowledge graph: its facts for rag strategies; for evidence, the linked concepts' names in the "
             "query (--no-kg saves ~0.3 GB of memory)",
    ),
    k: int = typer.Option(3, "-k", help="passages to retrieve (at most; the evidence strategy's relevance floor may keep fewer)"),
    gate: str = typer.Option(None, "--gate", help="privacy gate: auto (on for remote models), on, off; default: the privacy_gate setting"),
    max_tokens: int = typer.Option(None, "--max-tokens", help="longest answer, in tokens"),
    temperature: float = typer.Option(None, "--temperature", help="0 = greedy (repeatable)"),
    seed: int = typer.Option(None, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="print the full Answer record as JSON"),
    cache: bool = typer.Option(
        None, "--cache/--no-cache",
        help="use the response cache; default: only when the privacy gate is on (questions may hold patient text)",
    ),
) -> None:
    """Answer a clinical question or case with the local model, citing the knowledge base.

    Example: medllm ask "Which gene is mutated in Marfan syndrome?"
    """
    from medllm.jobs import AskRequest, ask
    from medllm.session import Session

    if question == "-":
        question = sys.stdin.read()
    if not question.strip():
        raise UserError("the question is empty; type a question or a case description")
    overrides = {"max_tokens": max_tokens, "temperature": temperature, "seed": seed, "privacy_gate": gate}
    if index is not None and not (index / "manifest.json").exists():
        raise UserError(f"no knowledge base at {index}; build one with `medllm kb build` or `medllm kb build-default`")
    knowledge = [r for r, on in (("retriever", not no_kb), ("graph", kg)) if on]
    status = err_console.status("loading…") if not as_json else None
    shown: list[str] = []
    try:
        if status:
            status.start()
        with Session.open(model, strategy=strategy, overrides=overrides, knowledge=knowledge, index=index,
                          optional_index=True, cache=cache,
                          status=status.update if status else None) as session:
            for note in session.notes:
                err_console.print(f"[yellow]note:[/] {note}")
            if status:
                status.update(f"answering with {session.model.info.spec}…")

            def stream(piece: str) -> None:
                nonlocal status
                if status:  # the first token: the spinner gives way to the answer
                    status.stop()
                    status = None
                shown.append(piece)
                print(piece, end="", flush=True)

            answer = ask(session, AskRequest(question, options=options, k=k), on_token=None if as_json else stream)
    finally:
        if status:
            status.stop()
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    if shown:
        print()
    if "".join(shown).strip() != answer.text.strip():  # not streamed, or revised after streaming
        console.print(answer.text, highlight=False, markup=False)
    _print_footer(answer)


def _print_footer(answer) -> None:
    cited = set(answer.metadata.get("cited", []))
    shown = [e for e in answer.evidence if e.index in cited] or []
    if shown:
        console.print("\n[bold]Sources[/]")
        for e in shown:
            # a graph fact is its own best citation; a passage is named by title and id
            line = e.text if e.source == "kg" else e.citation
            console.print(f"  [{e.index}] {line}", highlight=False, markup=False)
    for f in answer.flags:
        if f.kind == "disclaimer" or f.message in answer.text:
            continue  # already shown in the answer itself
        if f.kind.startswith(("red_flag:", "refusal:")):
            # the advice and the refusal lead the answer already: name the flag and why only
            why = f.message.rsplit("(Detected: ", 1)[1].rstrip(".)") if "(Detected: " in f.message else ""
            console.print(f"[red]flag {f.kind}[/]" + (f": {why}" if why else ""), highlight=False)
            continue
        colour = {"critical": "red", "warning": "yellow"}.get(f.severity, "dim")
        console.print(f"[{colour}]flag {f.kind}[/]: {f.message}", highlight=False)
    c = answer.cost
    conf = f"{answer.confidence:.2f}" if answer.confidence is not None else "unknown"
    console.print(
        f"[dim]{answer.model} · strategy {answer.strategy} · confidence {conf} · {c.calls} call(s),"
        f" {c.prompt_tokens} prompt + {c.completion_tokens} answer tokens,"
        f" {answer.metadata.get('timings', {}).get('total_s', c.seconds):.1f} s[/]"
    )
