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

The session is where settings are read (`load_settings`) and where every part is built: the
model, the privacy gate and its de-identifier (with the site lexicon of the session's home), the
triager (with its thresholds and judge), the entity tagger and coder, the knowledge graph and the
index. Each is built on first use and kept by the session (no process-wide caches), so two
sessions with different settings never share a part. `Session.configure()` gives a session
without a language model, for the jobs that need none (deid, triage, extract). The jobs layer
(`medllm.jobs`) runs single items on a session; the CLI, the service, the training checks and the
benchmarks call those jobs, never the parts' constructors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    # the model as loaded (behind the response cache when that is on); None in a session opened
    # by `configure()` for jobs that need no language model
    model: Model | None = None
    settings: Settings = field(default_factory=load_settings)
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
    _site: Any = None
    _triagers: dict[str | None, Any] = field(default_factory=dict, repr=False)
    _taggers: dict[str, Any] = field(default_factory=dict, repr=False)
    _coder: Any = None
    _lock: Any = field(default_factory=threading.RLock, repr=False, compare=False)  # parts are built once

    @classmethod
    def configure(cls, settings: Settings | None = None, **overrides: object) -> Session:
        """A session without a language model: the settings (`overrides` on top of the config
        file and environment) and the parts built from them on first use (de-identifier, gate,
        triager, tagger, graph, index), for jobs that need no model and for tools that only need
        a path the settings name. Nothing is loaded until asked for."""
        return cls(model=None, settings=settings or load_settings(**overrides), audit=None, owns_model=False)

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
        overrides: Mapping[str, object] | None = None,
    ) -> Session:
        """Open everything a session needs.

        `model`: a spec (default: the `default_model` setting) or an open `Model` (not closed by
        the session). `knowledge`: resources to open besides the strategy's needs. `index`: the
        knowledge base folder (default: $MEDLLM_HOME/indexes/default); with `optional_index`, a
        missing *default* index is a note, not an error. `gate`: auto / on / off (default: the
        `privacy_gate` setting). `cache`: the response cache (default: on only when gated, since
        prompts may hold patient text). `audit`: append to $MEDLLM_HOME/audit.jsonl.
        `overrides`: settings given on a command line (None values are left out), applied over
        the config file and environment when `settings` is not given."""
        from medllm.trust.privacy import gate_reason, gate_required

        s = settings or load_settings(**dict(overrides or {}))
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
                say("loading the knowledge graph…")
                sess.knowledge_graph()
            if gated:
                say("loading the privacy gate…")
                sess.deidentifier()
        except BaseException:
            sess.close()
            raise
        return sess

    def _open_index(self, index: str | Path | None, optional: bool, **load: Any) -> Any:
        from medllm.knowledge.index import load_index

        folder = Path(index) if index else self.default_index_dir
        if not (folder / "manifest.json").exists():
            if optional:
                self.notes.append(f"no knowledge base at {folder}; answering without retrieval"
                                  " (build it with `medllm kb build-default`)")
                return None
            raise FileNotFoundError(f"no knowledge base at {folder}; build the default one with"
                                    " `medllm kb build-default` or point to one with --index DIR")
        return load_index(folder, **load)

    def close(self) -> None:
        if self.owns_model and self.model is not None:
            self.model.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- paths the settings name

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def models_dir(self) -> Path:
        assert self.settings.models_dir is not None
        return self.settings.models_dir

    @property
    def default_index_dir(self) -> Path:
        """The default knowledge base ($MEDLLM_HOME/indexes/default)."""
        return self.settings.indexes_dir / "default"

    @property
    def vault_path(self) -> Path:
        """The re-identification vault: local, in $MEDLLM_HOME."""
        return self.settings.home / "vault.sqlite"

    def run_store(self) -> Any:
        """The results store of `medllm eval` ($MEDLLM_HOME/runs.sqlite)."""
        from medllm.eval.store import RunStore

        return RunStore(self.settings.home / "runs.sqlite")

    def key_store(self) -> Any:
        """The service's API keys ($MEDLLM_HOME/serve/keys.sqlite)."""
        from medllm.serve.keys import KeyStore

        return KeyStore(self.settings.home / "serve" / "keys.sqlite")

    # ---------------------------------------------------------------- parts, built on first use

    def load_model(self, spec: str | None = None, *, cache: bool | None = None) -> Model:
        """Another model opened with this session's settings (default spec: `default_model`;
        `cache`: the response cache, default the `cache` setting). The caller closes it."""
        from medllm.models import load_model

        return load_model(spec or self.settings.default_model, self.settings, cache=cache)

    def knowledge_graph(self) -> Any:
        """The knowledge graph of this session's settings (`kg_dir`, `hpoa`), loaded once."""
        with self._lock:
            if self.graph is None:
                from medllm.knowledge.kg.graph import load_default_graph

                assert self.settings.kg_dir is not None
                self.graph = load_default_graph(self.settings.kg_dir, hpoa=self.settings.hpoa)
            return self.graph

    def index(self, folder: str | Path | None = None, *, optional: bool = False, **load: Any) -> Any:
        """A knowledge base (default: the session's default one); `load`: `load_index` options
        (dense, rrf_k, embedder). With `optional`, a missing index is None and a note."""
        return self._open_index(folder, optional, **load)

    def site_lexicon(self) -> Any:
        """The site lexicon: the one learned into this session's home (`medllm deid-learn`),
        else the one shipped with the package."""
        if self._site is None:
            from medllm.trust.privacy.lexicon import default_site_lexicon, shipped_site_lexicon

            self._site = default_site_lexicon(self.settings.home) or shipped_site_lexicon()
        return self._site

    def deidentifier(self, site: Any = None, *, detector: Any = None, operating_point: str | None = None) -> Any:
        """The session's Presidio de-identifier with its site lexicon at the `deid_operating_point`
        setting, built once (it is heavy) and shared by its gates; with `site` or another
        `operating_point`, a new one; with `detector`, a new one over that detector (the Ray
        runner's detections made on workers, which carry their own operating point)."""
        from medllm.trust.privacy import Deidentifier

        point = operating_point or self.settings.deid_operating_point
        if detector is not None:
            return Deidentifier(detector=detector)
        if site is not None or point != self.settings.deid_operating_point:
            return Deidentifier(site=site if site is not None else self.site_lexicon(), operating_point=point)
        with self._lock:
            if self._deidentifier is None:
                self._deidentifier = Deidentifier(site=self.site_lexicon(), operating_point=point)
            return self._deidentifier

    def privacy_gate(self, *, mode: str = "surrogate", vault: Path | None = None, session_id: str | None = None,
                     seed: int | None = None, deidentifier: Any = None) -> Any:
        """A privacy gate (one PHI session: its own surrogates) over the session's de-identifier
        (or `deidentifier`), keeping its mapping in `vault` (None: in memory only)."""
        from medllm.trust.privacy import PrivacyGate

        return PrivacyGate(deidentifier if deidentifier is not None else self.deidentifier(), mode=mode,
                           vault=vault, session_id=session_id, seed=seed)

    def new_gate(self) -> Any:
        """A fresh privacy gate (one PHI session: its own surrogates), or None when the gate is
        off. The vault stays local, in $MEDLLM_HOME."""
        if not self.gated:
            return None
        return self.privacy_gate(vault=self.vault_path)

    def answering_model(self, gate: Any = None) -> Model:
        """The model strategies see: behind `gate` (or a fresh one) when the session is gated."""
        if self.model is None:
            raise ValueError("this session has no language model; open one with Session.open(MODEL)")
        if not self.gated:
            return self.model
        from medllm.trust.privacy import GatedModel

        return GatedModel(self.model, gate or self.new_gate())

    def triage_judge(self, spec: str | None = None) -> Any:
        """The triage judge `spec` names (default: the `triage_judge` setting): "probe" (heads
        over the packaged 0.5B's hidden states), a llamacpp: model spec, or None for off."""
        from medllm.trust.triage import judge_spec

        name = judge_spec(spec if spec is not None else self.settings.triage_judge)
        if name == "probe":
            from medllm.trust.triage_probe import ProbeJudge

            return ProbeJudge.packaged(self.models_dir)
        if name:
            from medllm.trust.triage_judge import LLMJudge

            return LLMJudge.from_spec(name, self.settings)
        return None

    def triager(self, judge: str | None = None, *, weights: Any = None, thresholds: Any = None,
                encoder: Any = None) -> Any:
        """The safety triager: this session's thresholds (`triage_*` settings) and the judge
        `judge` names (default: the `triage_judge` setting; "off" for none), built once per judge.
        With `weights`, `thresholds` or `encoder` (a benchmark's fold-fitted heads, cached
        embeddings), a new triager of those parts, not kept."""
        from medllm.trust.triage import Thresholds, Triager, judge_spec

        key = judge_spec(judge if judge is not None else self.settings.triage_judge)
        if weights is not None or thresholds is not None or encoder is not None:
            return Triager(weights=weights, thresholds=thresholds or Thresholds.from_settings(self.settings),
                           judge=self.triage_judge(key or "off"), encoder=encoder)
        with self._lock:
            if key not in self._triagers:
                self._triagers[key] = Triager(thresholds=Thresholds.from_settings(self.settings),
                                              judge=self.triage_judge(key or "off"))
            return self._triagers[key]

    def tagger(self, name: str = "default") -> Any:
        """The entity tagger called `name` ("default": the trained model; "dictionary": the
        graph's linker over this session's graph), built once per name."""
        with self._lock:
            if name not in self._taggers:
                from medllm.tasks.ie.pipeline import load_tagger

                self._taggers[name] = load_tagger(name, self.knowledge_graph() if name == "dictionary" else None)
            return self._taggers[name]

    def icd_coder(self) -> Any:
        """The ICD-10-CM coder over this session's graph."""
        with self._lock:
            if self._coder is None:
                from medllm.tasks.ie.coding import ICDCoder

                self._coder = ICDCoder(self.knowledge_graph())
            return self._coder

    # ---------------------------------------------------------------- using it

    def context(self, mode: Mode = "generate", *, params: GenParams | None = None,
                shots: Sequence[Question] = (), seed: int = 0, gate: Any = None) -> SolveContext:
        """What a solver needs, from this session (the gated model when the gate is on)."""
        return SolveContext(model=self.answering_model(gate), mode=mode, params=params or self.params,
                            shots=list(shots), seed=seed, retriever=self.retriever, graph=self.graph)

    def ask(self, question: str, *, options: str | Sequence[str] | None = None,
            strategy: str | None = None, params: GenParams | None = None,
            on_token: Callable[[str], None] | None = None, client: str | None = None,
            k: int = 5, decision: Any = None, gate: Any = None) -> Answer:
        """The main pipeline (`medllm.assistant.ask`) on this session's model and knowledge, with
        a fresh privacy gate per question when the gate is on (or `gate`, one the caller made
        with `new_gate()` to look at its surrogates), recorded in the audit log."""
        from medllm.assistant import ask

        return ask(question, self.model, retriever=self.retriever, graph=self.graph, options=options,
                   strategy=strategy or self.strategy, params=params or self.params,
                   gate=gate if gate is not None else self.new_gate(), gate_reason=self.gate_reason, audit=self.audit,
                   on_token=on_token, client=client, k=k, triager=self.triager(), decision=decision)
