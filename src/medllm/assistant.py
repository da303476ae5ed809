"""The main job: answer a clinical question or case, end to end.

    input ─► safety check (red flags, harmful requests)
          ─► privacy gate (de-identify before a remote model; restore its reply)
          ─► retrieval + knowledge-graph facts ─► strategy ─► model
          ─► output checks (doses, disclaimer) ─► audit log (hashes and ids, never text)

`medllm ask` and (later) `medllm serve` share this one pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from medllm.models.base import ContextTooLong, GenParams, Message, Model
from medllm.reasoning.rag import answer_open
from medllm.trust.audit_log import AuditLog, GateRecord, record_answer
from medllm.trust.privacy import GatedModel, PrivacyGate
from medllm.trust.safety import apply_guardrails, check_input, check_output, is_refusal
from medllm.types import Answer, Cost

SYSTEM_PROMPT = (
    "You are a careful medical assistant for clinicians. Answer the question accurately and"
    " concisely. Give the answer first, then a short rationale. Say when the evidence is"
    " uncertain, and never invent facts, drugs, doses or references."
)


def direct_messages(question: str, system: str = SYSTEM_PROMPT) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def _nonempty(question: str) -> str:
    question = question.strip()
    if not question:
        raise ValueError("the question is empty; type a question or a case description")
    return question


def ask_direct(
    question: str,
    model: Model,
    params: GenParams = GenParams(),
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """The simplest honest pipeline: the model answers from its own knowledge, streamed."""
    question = _nonempty(question)
    messages = direct_messages(question)
    n_prompt = sum(model.count_tokens(m["content"]) for m in messages)
    window = model.info.context_window
    if window and n_prompt + params.max_tokens > window:
        raise ContextTooLong(n_prompt, window, params.max_tokens)
    t0 = time.perf_counter()
    first: float | None = None
    pieces: list[str] = []
    for piece in model.chat_stream(messages, params):
        if first is None:
            first = time.perf_counter() - t0
        pieces.append(piece)
        if on_token:
            on_token(piece)
    total = time.perf_counter() - t0
    text = "".join(pieces).strip()
    return Answer(
        text=text,
        model=model.info.spec,
        strategy="direct",
        cost=Cost(
            calls=1,
            # Message contents only: the chat template's few wrapper tokens are not counted.
            prompt_tokens=n_prompt,
            completion_tokens=model.count_tokens(text) if text else 0,
            seconds=round(total, 3),
        ),
        raw=text,
        metadata={"timings": {"first_token_s": round(first or total, 3), "total_s": round(total, 3)}},
    )


def ask(
    question: str,
    model: Model,
    *,
    retriever: Any = None,
    graph: Any = None,
    options: str | Sequence[str] | None = None,
    strategy: str = "cot",
    params: GenParams = GenParams(),
    gate: PrivacyGate | None = None,
    gate_reason: str = "",
    audit: AuditLog | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Answer `question` with `model`, citing passages from `retriever` and facts from `graph`
    when given. With `gate`, the model only ever sees de-identified text. `on_token` streams the
    answer when the pipeline is direct (no retrieval, no options)."""
    question = _nonempty(question)
    t0 = time.perf_counter()
    in_flags = check_input(question)
    sent = gate.scrub(question)[0] if gate else question  # what the audit log may hash
    if is_refusal(in_flags):
        answer = Answer(text=apply_guardrails("", in_flags, []), flags=in_flags, model=model.info.spec,
                        strategy="refused")
    else:
        m: Model = GatedModel(model, gate) if gate else model
        if retriever is None and graph is None and not options and strategy == "direct":
            answer = ask_direct(question, m, params, on_token)
        else:
            answer = answer_open(question, m, retriever, graph, options, strategy=strategy, params=params)
        out_flags = check_output(answer.text)
        answer = answer.model_copy(update={
            "text": apply_guardrails(answer.text, in_flags, out_flags),
            "flags": [*in_flags, *answer.flags, *out_flags],
        })
    timings = {**answer.metadata.get("timings", {}), "total_s": round(time.perf_counter() - t0, 3)}
    answer = answer.model_copy(update={"metadata": {**answer.metadata, "timings": timings}})
    if audit is not None:
        decision = gate.record(True, gate_reason) if gate else GateRecord(on=False, reason=gate_reason)
        record_answer(audit, prompt=sent, answer=answer, gate=decision)
    return answer
