"""The main job: answer a clinical question or case, end to end.

    input ─► safety triage (emergency / urgent / routine; refuse harmful requests)
          ─► privacy gate (de-identify before a remote model; restore its reply)
          ─► medication safety (drugs linked, interactions and contraindications looked up; a
             warning leads the answer and reassuring sentences that contradict it are removed)
          ─► retrieval + knowledge-graph facts ─► strategy ─► model (`evidence`: few strong
             passages, each written sentence checked against its sources)
          ─► output checks (doses, disclaimer) ─► audit log (hashes and ids, never text)

`medllm ask` and `medllm serve` share this one pipeline; `medllm.session.Session` opens what
it needs (model, gate, retriever, graph) in one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from medllm.models.base import GenParams, Model
from medllm.reasoning.base import SolveContext
from medllm.reasoning.rag import parse_options
from medllm.trust.audit_log import AuditLog, GateRecord, record_answer
from medllm.trust.grounding import attribute_citations
from medllm.trust.medication import MedicationReport, check_medication, contradicts
from medllm.trust.privacy import GatedModel, PrivacyGate
from medllm.trust.safety import (
    apply_guardrails, check_output, decision_flags, is_refusal, is_safe_completion, urgent_preamble,
)
from medllm.trust.triage import TriageDecision, Triager
from medllm.types import Answer, Question


def _nonempty(question: str) -> str:
    question = question.strip()
    if not question:
        raise ValueError("the question is empty; type a question or a case description")
    return question


def apply_medication(answer: Answer, meds: MedicationReport) -> Answer:
    """Lead with the medication warning and its reason; where the verdict is avoid, drop the
    answer's reassuring sentences ("yes, you can take ...") that contradict it."""
    warning = meds.preamble()
    if not warning:
        note = meds.note()
        return answer.model_copy(update={"text": note + "\n\n" + answer.text}) if note else answer
    text = answer.text
    removed: list[str] = []
    if meds.verdict == "avoid":
        from medllm.trust.grounding import _SENTENCE

        kept = []
        for m in _SENTENCE.finditer(text):
            (removed if contradicts(m.group(0)) else kept).append(m.group(0))
        text = "".join(kept).strip() if removed else text
    from medllm.types import Flag

    flag = Flag(kind=f"medication:{meds.verdict}", severity="critical" if meds.verdict == "avoid" else "warning",
                message=f"{len(meds.interactions)} interaction(s) and {len(meds.warnings)} contraindication warning(s) "
                        f"found for {', '.join(d.name for d in meds.drugs)}")
    meta = {**answer.metadata, "medication": {
        "verdict": meds.verdict, "drugs": [d.name for d in meds.drugs], "unmapped": meds.unmapped,
        "interactions": [i.sentence() for i in meds.interactions], "warnings": [w.sentence() for w in meds.warnings],
        "removed": removed}}
    return answer.model_copy(update={"text": warning + "\n\n" + text, "flags": [*answer.flags, flag], "metadata": meta})


def pipeline_strategy(strategy: str, retriever: Any = None, graph: Any = None) -> str:
    """The chain `ask` runs: rag and kg-rag first when a retriever / graph is open, then
    `strategy` (e.g. "cot", "direct", "cot+verify")."""
    names = [n for n in strategy.split("+") if n]
    bare = [n.split("(")[0] for n in names]
    if "evidence" in bare:  # it retrieves for itself; the graph only expands its query
        return "+".join(names)
    if graph is not None and "kg-rag" not in bare:
        names.insert(0, "kg-rag")
    if retriever is not None and "rag" not in bare:
        names.insert(0, "rag")
    return "+".join(names)


def answer_open(
    question: str,
    model: Model,
    retriever: Any = None,
    graph: Any = None,
    options: str | Sequence[str] | None = None,
    *,
    strategy: str = "cot",
    k: int = 5,
    params: GenParams | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Answer a free question (or, with `options`, a multiple-choice one, by letter), with the
    passages from `retriever` and the facts `graph` links numbered [1], [2] ... in the prompt.
    `strategy` is what answers after retrieval (cot by default; "direct" streams a free-text
    answer to `on_token`). The evidence the model saw is in `Answer.evidence` (index, passage id,
    citation, source); the numbers the answer cites are in `Answer.metadata["cited"]`."""
    from medllm.reasoning.compose import compose

    question = _nonempty(question or "")
    opts = parse_options(options) if options else []
    q = Question(id="ask", question=question, options=opts, task="mcq" if opts else "open")
    solver = compose(pipeline_strategy(strategy, retriever, graph), {"rag": {"k": k}, "evidence": {"k": k}})
    ctx = SolveContext(model=model, params=params or GenParams(max_tokens=384, temperature=0.0, seed=0),
                       mode="generate", retriever=retriever, graph=graph, on_token=on_token)
    return solver(q, ctx)


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
    client: str | None = None,
    k: int = 5,
    triager: Triager | None = None,
    decision: TriageDecision | None = None,
) -> Answer:
    """Answer `question` with `model`, citing passages from `retriever` and facts from `graph`
    when given. With `gate`, the model only ever sees de-identified text. With `on_token`, the
    text shown streams there: urgent advice first, then the answer as the strategy writes it
    (token by token for free-text `direct`, else in one piece), then what the checks add; the
    pieces join to `Answer.text` whenever the streamed answer was not revised afterwards.
    `client` (an API key's id) goes into the audit record; `k` is how many passages rag shows.
    `triager` decides urgency and refusal (default: the shipped thresholds, no judge; a
    `Session` passes the one its settings describe);
    `decision` is its decision on this question when the caller already has it (the service
    sends the flags before the answer), so the question is not triaged twice."""
    question = _nonempty(question)
    t0 = time.perf_counter()
    if decision is None:
        if triager is None:  # a Session passes its own (its settings' thresholds and judge)
            triager = Triager(judge=None)
        decision = triager.decide(question)
    in_flags = decision_flags(decision)
    sent = gate.scrub(question)[0] if gate else question  # what the audit log may hash
    streamed: list[str] = []

    def emit(piece: str) -> None:
        streamed.append(piece)
        if on_token:
            on_token(piece)

    if is_refusal(in_flags) or is_safe_completion(in_flags):
        # a safe completion never calls the model: general safety information, no method
        answer = Answer(text=apply_guardrails("", in_flags, []), flags=in_flags, model=model.info.spec,
                        strategy="refused" if is_refusal(in_flags) else "safe_completion")
    else:
        preamble = urgent_preamble(in_flags)
        if preamble and on_token:
            emit(preamble + "\n\n")  # the emergency advice goes out before the model is called
        meds = check_medication(question) if not options else MedicationReport()
        warning = meds.preamble() or meds.note()
        if warning and on_token:
            emit(warning + "\n\n")  # a known interaction leads, before the model says anything
        m: Model = GatedModel(model, gate) if gate else model
        answer = answer_open(question, m, retriever, graph, options, strategy=strategy, k=k, params=params,
                             on_token=emit if on_token else None)
        answer = attribute_citations(answer)  # sources by word overlap when the model cited none
        answer = apply_medication(answer, meds)
        out_flags = check_output(answer.text)
        answer = answer.model_copy(update={
            "text": apply_guardrails(answer.text, in_flags, out_flags),
            "flags": [*in_flags, *answer.flags, *out_flags],
        })
    if on_token:
        sofar = "".join(streamed).rstrip()
        if answer.text.startswith(sofar):
            rest = answer.text[len(sofar):]
            if rest:
                emit(rest)
    timings = {**answer.metadata.get("timings", {}), "total_s": round(time.perf_counter() - t0, 3)}
    triage = {k: getattr(decision, k) for k in ("level", "refuse", "category", "stage", "p_emergency", "p_harmful",
                                                "rule", "intent", "safe_completion")}
    answer = answer.model_copy(update={"metadata": {**answer.metadata, "timings": timings, "triage": triage}})
    if audit is not None:
        gate_record = gate.record(True, gate_reason) if gate else GateRecord(on=False, reason=gate_reason)
        record_answer(audit, prompt=sent, answer=answer, gate=gate_record, client=client)
    return answer
