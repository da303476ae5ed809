"""The one composition root: a `Session` opens the model, the privacy gate, the retriever and the
knowledge graph in one place, with the strategy and the settings, and `ask`, `eval`, `audit` and
`serve` all use it.

    with Session.open("llamacpp:qwen2.5-coder-0.5b-instruct", strategy="cot") as s:
        answer = s.ask("Which gene is mutated in Marfan syndrome?")

What is opened follows what is asked for: `knowledge` names the resources ("retriever",
"graph"); a strategy's own needs (rag needs a retriever, kg-rag the graph) are always added.
The privacy gate follows the `privacy_gate` setting (auto: on for remote backends): the model
that strategies see is then a `GatedModel`, so a remote backend and its cache only ever hold
de-identified text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medllm.config import Settings, load_settings
from medllm.models.base import GenParams, Model
from medllm.reasoning.base import Mode, SolveContext, get_solver
from medllm.trust.audit_log import AuditLog
from medllm.types import Answer, Question

KNOWLEDGE = ("retriever", "graph")


@dataclass
class Session:
    model: Model  # the model as loaded (behind the response cache when that is on)
    settings: Settings
    strategy: str = "cot"
    retriever: Any = None
    graph: Any = None
    gated: bool = False  # whether text is de-identified before the model sees it
    gate_reason: str = ""
    audit: AuditLog | None = None
    params: GenParams = field(default_factory=GenParams)
    notes: list[str] = field(default_factory=list)  # what was left out and why (no index ...)
    owns_model: bool = True
    _deidentifier: Any = None

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        model: str | Model | None = None,
        *,
        strategy: str = "cot",
        settings: Settings | None = None,
        knowledge: Iterable[str] = (),
        index: str | Path | None = None,
        optional_index: bool = False,
        gate: str | None = None,
        cache: bool | None = None,
        audit: bool = True,
        status: Callable[[str], None] | None = None,
    ) -> Session:
        """Open everything a session needs.

        `model`: a spec (default: the `default_model` setting) or an open `Model` (not closed by
        the session). `knowledge`: resources to open besides the strategy's needs. `index`: the
        knowledge base folder (default: $MEDLLM_HOME/indexes/default); with `optional_index`, a
        missing *default* index is a note, not an error. `gate`: auto / on / off (default: the
        `privacy_gate` setting). `cache`: the response cache (default: on only when gated, since
        prompts may hold patient text). `audit`: append to $MEDLLM_HOME/audit.jsonl."""
        from medllm.trust.privacy import gate_reason, gate_required

        s = settings or load_settings()
        setting = gate or s.privacy_gate
        say = status or (lambda _m: None)
        get_solver(strategy)  # an unknown or impossible strategy fails before anything loads
        unknown = set(knowledge) - set(KNOWLEDGE)
        if unknown:
            raise ValueError(f"unknown resource {sorted(unknown)[0]!r}; known: {', '.join(KNOWLEDGE)}")
        # a strategy's other needs (exemplar "shots") come from the eval runner, not the session
        needs = set(knowledge) | (set(getattr(get_solver(strategy), "needs", ())) & set(KNOWLEDGE))
        if isinstance(model, str) or model is None:
            from medllm.models import load_model, parse_spec

            spec = str(parse_spec(model or s.default_model))
            gated = gate_required(spec, setting)
            say(f"loading {spec}…")
            m: Model = load_model(spec, s, cache=cache if cache is not None else gated)
            owns = True
        else:
            spec, m, owns = model.info.spec, model, False
            gated = gate_required(spec, setting)
        sess = cls(model=m, settings=s, strategy=strategy, gated=gated,
                   gate_reason=gate_reason(spec, setting),
                   audit=AuditLog(s.home / "audit.jsonl") if audit else None,
                   params=GenParams(max_tokens=s.max_tokens, temperature=s.temperature, seed=s.seed),
                   owns_model=owns)
        try:
            if "retriever" in needs:
                say("loading the knowledge base…")
                sess.retriever = sess._open_index(index, optional_index and index is None)
            if "graph" in needs:
                from medllm.knowledge.kg.graph import load_default_graph

                say("loading the knowledge graph…")
                sess.graph = load_default_graph(s.kg_dir)
            if gated:
                say("loading the privacy gate…")
                sess.deidentifier()
        except BaseException:
            sess.close()
            raise
        return sess

    def _open_index(self, index: str | Path | None, optional: bool) -> Any:
        from medllm.knowledge.index import load_index

        folder = Path(index) if index else self.settings.indexes_dir / "default"
        if not (folder / "manifest.json").exists():
            if optional:
                self.notes.append(f"no knowledge base at {folder}; answering without retrieval"
                                  " (build it with `medllm kb build-default`)")
                return None
            raise FileNotFoundError(f"no knowledge base at {folder}; build the default one with"
                                    " `medllm kb build-default` or point to one with --index DIR")
        return load_index(folder)

    def close(self) -> None:
        if self.owns_model:
            self.model.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- the gate

    def deidentifier(self) -> Any:
        """The session's Presidio de-identifier, built once (it is heavy) and shared by its gates."""
        if self._deidentifier is None:
            from medllm.trust.privacy import Deidentifier

            self._deidentifier = Deidentifier(operating_point=self.settings.deid_operating_point)
        return self._deidentifier

    def new_gate(self) -> Any:
        """A fresh privacy gate (one PHI session: its own surrogates), or None when the gate is
        off. The vault stays local, in $MEDLLM_HOME."""
        if not self.gated:
            return None
        from medllm.trust.privacy import PrivacyGate

        return PrivacyGate(self.deidentifier(), vault=self.settings.home / "vault.sqlite")

    def answering_model(self, gate: Any = None) -> Model:
        """The model strategies see: behind `gate` (or a fresh one) when the session is gated."""
        if not self.gated:
            return self.model
        from medllm.trust.privacy import GatedModel

        return GatedModel(self.model, gate or self.new_gate())

    def triager(self) -> Any:
        """The safety triager of this session's settings (built once per judge, then shared)."""
        from medllm.trust.triage import default_triager, judge_spec

        return default_triager(judge_spec(self.settings.triage_judge))

    # ---------------------------------------------------------------- using it

    def context(self, mode: Mode = "generate", *, params: GenParams | None = None,
                shots: Sequence[Question] = (), seed: int = 0, gate: Any = None) -> SolveContext:
        """What a solver needs, from this session (the gated model when the gate is on)."""
        return SolveContext(model=self.answering_model(gate), mode=mode, params=params or self.params,
                            shots=list(shots), seed=seed, retriever=self.retriever, graph=self.graph)

    def ask(self, question: str, *, options: str | Sequence[str] | None = None,
            strategy: str | None = None, params: GenParams | None = None,
            on_token: Callable[[str], None] | None = None, client: str | None = None,
            k: int = 5, decision: Any = None) -> Answer:
        """The main pipeline (`medllm.assistant.ask`) on this session's model and knowledge, with
        a fresh privacy gate per question when the gate is on, recorded in the audit log."""
        from medllm.assistant import ask

        return ask(question, self.model, retriever=self.retriever, graph=self.graph, options=options,
                   strategy=strategy or self.strategy, params=params or self.params,
                   gate=self.new_gate(), gate_reason=self.gate_reason, audit=self.audit,
                   on_token=on_token, client=client, k=k, triager=self.triager(), decision=decision)
