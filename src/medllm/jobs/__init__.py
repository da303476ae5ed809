"""The jobs layer: each job is one function of (session, record) -> record, with typed inputs
and outputs, and no other state than what the session owns.

    from medllm.jobs import AskRequest, TriageRequest, ask, triage
    from medllm.session import Session

    with Session.open("llamacpp:qwen2.5-coder-0.5b-instruct") as s:
        answer = ask(s, AskRequest("Which gene is mutated in Marfan syndrome?"))
    decision = triage(Session.configure(), TriageRequest("crushing chest pain and sweating"))

Jobs: `ask` (Answer), `generate` (note / summary / section: Answer), `extract` (a note's
entities and codes: NoteResult), `deid` (one text de-identified: DeidResult), `triage`
(TriageDecision), `evaluate` (a `medllm eval` run: RunResult). The CLI, the service, the training
checks and the benchmarks call these; the runners (`medllm.runners`) run them over many records,
locally or on Ray workers (each worker opens its own session from the driver's settings).

Import direction: cli / serve / benchmarks -> runners -> jobs -> session -> components.
"""

from medllm.jobs.ask import AskRequest, ask
from medllm.jobs.deid import DeidRequest, DeidResult, MaskedSpan, deid
from medllm.jobs.eval import EvalRequest, evaluate
from medllm.jobs.extract import ExtractRequest, NoteResult, check_tagger, extract
from medllm.jobs.generate import GenerateRequest, generate
from medllm.jobs.triage import TriageRequest, triage, triage_many

__all__ = [
    "AskRequest", "DeidRequest", "DeidResult", "EvalRequest", "ExtractRequest", "GenerateRequest", "MaskedSpan",
    "NoteResult", "TriageRequest", "ask", "check_tagger", "deid", "evaluate", "extract", "generate", "triage",
    "triage_many",
]
