"""`medllm note` and `medllm summarize`: clinical text generation with the local model."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from medllm.cli.common import UserError, console, err_console, user_errors


def register(app: typer.Typer) -> None:
    app.command("note")(note_command)
    app.command("summarize")(summarize_command)


def _read(source: str, what: str) -> str:
    """Text from '-' (stdin), an existing file, or (summarize only) the argument itself."""
    if source == "-":
        text = sys.stdin.read()
    elif Path(source).is_file():
        try:
            text = Path(source).read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise UserError(f"{source} is not UTF-8 text ({e.reason}); save it as UTF-8") from e
    elif what == "conversation":
        raise UserError(f"no file {source}; give the transcript file of the visit (or '-' to read stdin)")
    else:
        text = source
    if not text.strip():
        raise UserError(f"the {what} in {source!r} is empty")
    return text


def _run(job: str, text: str, model: str | None, gate: str | None, as_json: bool,
         header: str = "GENHX") -> None:
    from medllm.jobs import GenerateRequest, generate
    from medllm.session import Session

    status = err_console.status("loading…")
    status.start()
    try:
        with Session.open(model, strategy="direct", overrides={"privacy_gate": gate}, status=status.update) as session:
            status.update(f"writing the {job} with {session.model.info.spec}…")
            answer = generate(session, GenerateRequest(job, text, header=header))  # type: ignore[arg-type]
    finally:
        status.stop()
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    console.print(answer.text, highlight=False, markup=False)
    c = answer.cost
    parts = answer.metadata.get("parts", 1)
    console.print(f"[dim]{answer.model} · {c.calls} call(s), {c.prompt_tokens} prompt + {c.completion_tokens} "
                  f"generated tokens, {c.seconds:.1f} s" + (f" · conversation cut into {parts} parts to fit" if parts > 1 else "")
                  + "[/]")


@user_errors
def note_command(
    dialogue_file: str = typer.Argument(..., metavar="DIALOGUE_FILE", help="the visit transcript, one turn per line ('-' reads stdin)"),
    model: str = typer.Option(None, "--model", "-m", help="model spec; default: the default_model setting"),
    section: str = typer.Option(None, "--section", help="write only this section (an MTS-Dialog header such as GENHX, ROS, ALLERGY, or plain words)"),
    gate: str = typer.Option(None, "--gate", help="privacy gate: auto (on for remote models), on, off; default: the privacy_gate setting"),
    as_json: bool = typer.Option(False, "--json", help="print the full record as JSON"),
) -> None:
    """Write the clinical note of a visit from its doctor-patient conversation: chief complaint,
    HPI, review of systems, physical examination, results, assessment and plan, one section at
    a time (a long conversation is cut to fit the model's context window).

    Example: medllm note visit.txt
    """
    text = _read(dialogue_file, "conversation")
    _run("section" if section else "note", text, model, gate, as_json, header=section or "GENHX")


@user_errors
def summarize_command(
    text: str = typer.Argument(..., metavar="TEXT|FILE", help="a consumer health question, a file holding one, or '-' for stdin"),
    model: str = typer.Option(None, "--model", "-m", help="model spec; default: the default_model setting"),
    gate: str = typer.Option(None, "--gate", help="privacy gate: auto (on for remote models), on, off; default: the privacy_gate setting"),
    as_json: bool = typer.Option(False, "--json", help="print the full record as JSON"),
) -> None:
    """Summarise a patient's question as one short question (MeQSum style).

    Example: medllm summarize "my mother takes warfarin and wants to know if she can eat spinach ..."
    """
    _run("summary", _read(text, "question"), model, gate, as_json)
