"""The generation jobs as the commands and the Python API run them: behind the privacy gate
when the session has one (one gate per document, so a name keeps its surrogate across the
sections of a note), recorded in the audit log (hashes and counts only), as `medllm ask` does."""

from __future__ import annotations

from typing import Any, Literal

from medllm.models.base import GenParams
from medllm.tasks.gen.generate import Generated, summarize_question, write_note, write_section
from medllm.trust.audit_log import GateRecord, record_answer
from medllm.types import Answer, Cost

Job = Literal["note", "summary", "section"]


def generate(session: Any, job: Job, text: str, *, header: str = "GENHX",
             params: GenParams | None = None, client: str | None = None) -> Answer:
    """Run one generation job with a `medllm.session.Session`: "note" (visit conversation ->
    note), "summary" (consumer question -> short question), "section" (snippet -> one section
    named by `header`). Returns an `Answer` whose text is the generated document. `client` (an
    API key's id) goes into the audit record."""
    gate = session.new_gate()
    model = session.answering_model(gate)
    if job == "note":
        g: Generated = write_note(text, model, params=params)
    elif job == "summary":
        g = summarize_question(text, model, params=params)
    elif job == "section":
        g = write_section(text, header, model, params=params)
    else:
        raise ValueError(f"unknown generation job {job!r}: use note, summary or section")
    answer = Answer(text=g.text, model=model.info.spec, strategy=job,
                    cost=Cost(prompt_tokens=g.prompt_tokens, completion_tokens=g.completion_tokens,
                              seconds=round(g.seconds, 3), calls=g.calls),
                    metadata={"parts": g.parts})
    if session.audit is not None:
        sent = gate.scrub(text)[0] if gate else text  # the hash is of what the model saw
        rec = gate.record(True, session.gate_reason) if gate else GateRecord(on=False, reason=session.gate_reason)
        record_answer(session.audit, prompt=sent, answer=answer, gate=rec, event=job, client=client)
    return answer
