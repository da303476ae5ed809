"""The FastAPI app of `medllm serve`: one `Session` behind an OpenAI-compatible API, medllm's
native endpoints and the clinician web page.

Every model call goes through one bounded queue (`ModelQueue`): a request that finds it full
gets 429 with Retry-After at once instead of waiting without end. Other work (de-identification,
triage, differential, search) has its own small queue so it never waits behind the model.

Nothing that may hold patient text is logged: the log line of a request is its method, route
template, status, time and key id; errors are logged by type, not by message. Each request gets
one audit-log entry with the key id (the answer record of `medllm ask` for answering requests).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from medllm.models.base import ContextTooLong, GenParams, ModelError
from medllm.serve import adapters
from medllm.serve.keys import ApiKey, KeyStore
from medllm.serve.limits import Busy, Cancelled, ModelQueue, RateLimiter
from medllm.serve.schemas import (
    AskRequest,
    ChatChoice,
    ChatCompletion,
    ChatRequest,
    ChoiceMessage,
    DdxDiagnosis,
    DdxMatch,
    DdxRequest,
    DdxResult,
    DeidRequest,
    GenerateRequest,
    Health,
    KbHit,
    KbSearchRequest,
    ModelCard,
    ModelList,
    RunInfo,
    TriageRequest,
    Usage,
)
from medllm.session import Session
from medllm.trust.audit_log import AuditEntry
from medllm.trust.safety import decision_flags
from medllm.types import Answer

log = logging.getLogger("medllm.serve")


@dataclass
class ServeConfig:
    queue_size: int = 8  # requests that may wait behind the one the model is answering
    rate_per_minute: float = 60.0  # per API key; 0 = no limit
    burst: int | None = None  # per API key; default: a tenth of a minute's rate
    max_body_bytes: int = 256 * 1024
    timeout_s: float = 120.0  # longest a request may wait for and run on the model
    max_tokens: int | None = None  # cap on a request's max_tokens; default: the session's
    strategies: tuple[str, ...] = ("cot", "direct")  # what callers may pick; the first is the default


@dataclass(frozen=True)
class Pipeline:
    """What an OpenAI `model` name means here: the ask pipeline with one strategy."""

    id: str
    strategy: str
    description: str


def pipelines(config: ServeConfig, session: Session) -> dict[str, Pipeline]:
    knows = " and ".join(n for n, r in (("retrieval", session.retriever), ("graph facts", session.graph)) if r)
    ctx = f" with {knows}" if knows else ""
    out = {"medllm-ask": Pipeline("medllm-ask", config.strategies[0],
                                  f"safety → gate → {config.strategies[0]}{ctx} → output checks → audit")}
    for s in config.strategies:
        pid = f"medllm-{s}"
        out.setdefault(pid, Pipeline(pid, s, f"safety → gate → {s}{ctx} → output checks → audit"))
    return out


class _Metrics:
    def __init__(self, queue: ModelQueue, tools: ModelQueue) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()  # per app: no global state
        self.requests = Counter("medllm_requests", "HTTP requests by route template and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("medllm_request_seconds", "request time by route template", ["route"],
                                 registry=self.registry,
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160))
        self.rejected = Counter("medllm_rejected", "requests refused with 429, by reason", ["reason"],
                                registry=self.registry)
        pending = Gauge("medllm_queue_pending", "requests running or waiting, by queue", ["queue"],
                        registry=self.registry)
        pending.labels("model").set_function(lambda: queue.pending)
        pending.labels("tools").set_function(lambda: tools.pending)


class _BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: refuses bodies over the size limit (413), times and counts requests,
    writes the one log line of a request (never its body or query) and, for API requests no
    handler audited, the request's audit entry."""

    def __init__(self, app: Any, *, limit: int, metrics: _Metrics, audit: Callable[[AuditEntry], None]):
        self.app, self.limit, self.metrics, self.audit = app, limit, metrics, audit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500, "started": False, "recorded": False}
        state = scope.setdefault("state", {})
        state["audited"] = False

        async def record() -> None:
            # Log and audit before the last byte goes out: no reply leaves without its record.
            if status["recorded"]:
                return
            status["recorded"] = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            code = status["code"]
            self.metrics.requests.labels(route, str(code)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - t0)
            key = state.get("key_id") or "-"
            log.info("%s %s %s %.0fms key=%s", scope.get("method"), route, code,
                     1000 * (time.perf_counter() - t0), key)
            if route.startswith("/v1/") and not state.get("audited"):
                entry = AuditEntry(event="request", strategy=route[:200], client=state.get("key_id"),
                                   metrics={"status": code})
                await asyncio.to_thread(self.audit, entry)

        async def send_(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                status["code"], status["started"] = msg["status"], True
            elif msg["type"] == "http.response.body" and not msg.get("more_body"):
                await record()
            await send(msg)

        got = 0

        async def receive_() -> dict:
            nonlocal got
            msg = await receive()
            if msg["type"] == "http.request":
                got += len(msg.get("body", b""))
                if got > self.limit:
                    raise _BodyTooLarge
            return msg

        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        try:
            if not length.isdigit() or int(length) > self.limit:
                raise _BodyTooLarge
            await self.app(scope, receive_, send_)
        except _BodyTooLarge:
            if not status["started"]:
                await self._reply(send_, 413, f"request body over {self.limit} bytes")
        finally:
            await record()

    @staticmethod
    async def _reply(send: Callable, code: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@dataclass
class _Job:
    """One answering request as the worker thread sees it."""

    cancel: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0


def create_app(session: Session, keys: KeyStore, config: ServeConfig | None = None) -> FastAPI:
    """The service around an open `session`. The caller owns the session (and closes it)."""
    cfg = config or ServeConfig()
    if not cfg.strategies:
        raise ValueError("serve needs at least one strategy")
    for s in cfg.strategies:  # an impossible strategy fails at start, not on a request
        from medllm.assistant import pipeline_strategy
        from medllm.reasoning.compose import compose

        compose(pipeline_strategy(s, session.retriever, session.graph))
    cap = cfg.max_tokens or session.params.max_tokens
    queue = ModelQueue(cfg.queue_size)
    tools = ModelQueue(cfg.queue_size)
    limiter = RateLimiter(cfg.rate_per_minute, cfg.burst)
    metrics = _Metrics(queue, tools)
    pipes = pipelines(cfg, session)
    started = int(time.time())

    def audit(entry: AuditEntry) -> None:
        if session.audit is not None:
            session.audit.append(entry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.shutdown()
        tools.shutdown()

    app = FastAPI(
        title="medllm", version=_version(), lifespan=lifespan,
        description="On-premises medical assistant: OpenAI-compatible chat over medllm pipelines, "
                    "and medllm's own records (answers with evidence, de-identification, triage, "
                    "differential diagnosis, knowledge-base search, evaluation runs).",
    )
    app.state.queue, app.state.tools, app.state.session = queue, tools, session
    app.add_middleware(Guard, limit=cfg.max_body_bytes, metrics=metrics, audit=audit)
    bearer = HTTPBearer(auto_error=False, description="an API key from `medllm serve keys add NAME`")

    # ------------------------------------------------------------ errors

    @app.exception_handler(Busy)
    async def _busy(request: Request, e: Busy) -> JSONResponse:
        metrics.rejected.labels("rate" if "rate" in e.reason else "queue").inc()
        return JSONResponse({"detail": f"{e.reason}; retry in {e.retry_after} s"}, status_code=429,
                            headers={"Retry-After": str(e.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        # the field and the problem, never the submitted value (it may be patient text)
        errs = [{"loc": list(x.get("loc", ())), "msg": x.get("msg", ""), "type": x.get("type", "")} for x in e.errors()]
        return JSONResponse({"detail": errs}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(e).__name__, getattr(request.scope.get("route"), "path", "?"))
        return JSONResponse({"detail": "internal error; the server log has its type"}, status_code=500)

    def client_error(e: Exception) -> HTTPException:
        if isinstance(e, ContextTooLong):
            return HTTPException(422, f"too long for the model: {e}")
        if isinstance(e, ValueError):
            return HTTPException(422, str(e))
        if isinstance(e, Cancelled):
            return HTTPException(504, f"no answer within {cfg.timeout_s:g} s")
        if isinstance(e, ModelError):
            return HTTPException(502, f"model backend: {type(e).__name__}")
        raise e

    # ------------------------------------------------------------ auth

    def require_key(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> ApiKey:
        if cred is None or cred.scheme.lower() != "bearer":
            raise HTTPException(401, "send Authorization: Bearer KEY (make a key with `medllm serve keys add NAME`)",
                                headers={"WWW-Authenticate": "Bearer"})
        key = keys.verify(cred.credentials.strip())
        if key is None:
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        request.scope.setdefault("state", {})["key_id"] = key.id
        limiter.check(key.id)
        return key

    # ------------------------------------------------------------ answering

    def params_for(max_tokens: int | None, temperature: float | None = None, top_p: float | None = None,
                   seed: int | None = None) -> GenParams:
        p = session.params
        return dataclasses.replace(  # a max_tokens over the server's cap is lowered to the cap
            p, max_tokens=min(max_tokens or p.max_tokens, cap),
            temperature=p.temperature if temperature is None else temperature,
            top_p=p.top_p if top_p is None else top_p, seed=p.seed if seed is None else seed)

    def strategy_for(name: str | None) -> str:
        if name is None:
            return cfg.strategies[0]
        if name not in cfg.strategies:
            raise HTTPException(422, f"strategy {name!r} is not served here; use one of {', '.join(cfg.strategies)}")
        return name

    def submit_ask(request: Request, question: str, strategy: str, params: GenParams, *,
                   options: list[str] | None = None, k: int = 5, decision: Any = None,
                   on_token: Callable[[str], None] | None = None) -> tuple[asyncio.Future[Answer], _Job]:
        if not question.strip():
            raise HTTPException(422, "the question is empty")
        job = _Job(deadline=time.monotonic() + cfg.timeout_s)
        state = request.scope.setdefault("state", {})
        key_id = state.get("key_id")

        def token(piece: str) -> None:
            if job.cancel.is_set() or time.monotonic() > job.deadline:
                raise Cancelled  # stops generation: the request is gone
            if on_token:
                on_token(piece)

        def run() -> Answer:
            if job.cancel.is_set() or time.monotonic() > job.deadline:
                raise Cancelled  # it waited in the queue past its time
            answer = session.ask(question, options=options, strategy=strategy, params=params, k=k,
                                 on_token=token, client=key_id, decision=decision)
            state["audited"] = session.audit is not None  # the pipeline wrote the entry
            return answer

        fut = queue.submit(run)
        # a job whose request has gone still ends (Cancelled, or an error): collect its outcome so
        # asyncio does not log it with a traceback
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return fut, job

    async def wait(fut: asyncio.Future[Answer], job: _Job) -> Answer:
        try:
            return await asyncio.wait_for(asyncio.shield(fut), max(0.1, job.deadline - time.monotonic()))
        except TimeoutError:
            job.cancel.set()
            raise HTTPException(504, f"no answer within {cfg.timeout_s:g} s") from None
        except HTTPException:
            raise
        except Exception as e:  # noqa: BLE001 - mapped to a client error or re-raised
            raise client_error(e) from None

    async def run_tool(fn: Callable[..., Any], *args: Any) -> Any:
        fut = tools.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), cfg.timeout_s)
        except TimeoutError:
            raise HTTPException(504, f"no result within {cfg.timeout_s:g} s") from None
        except HTTPException:
            raise
        except Exception as e:  # noqa: BLE001
            raise client_error(e) from None

    def sse(event: str, data: Any) -> str:
        return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    def stream_answer(request: Request, question: str, strategy: str, params: GenParams,
                      render: Callable[[str, Any], str | None], **kw: Any) -> AsyncIterator[str]:
        """Submit now (a full queue answers 429 before the stream starts), then relay tokens."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        fut, job = submit_ask(request, question, strategy, params,
                              on_token=lambda p: loop.call_soon_threadsafe(pieces.put_nowait, p), **kw)
        fut.add_done_callback(lambda _f: pieces.put_nowait(None))

        async def gen() -> AsyncIterator[str]:
            try:
                head = render("start", None)
                if head:
                    yield head
                while True:
                    left = job.deadline - time.monotonic()
                    try:
                        piece = await asyncio.wait_for(pieces.get(), max(0.1, left))
                    except TimeoutError:
                        job.cancel.set()
                        yield render("error", f"no answer within {cfg.timeout_s:g} s") or ""
                        return
                    if piece is None:
                        break
                    yield render("token", piece) or ""
                try:
                    answer = fut.result()
                except Exception as e:  # noqa: BLE001 - reported in the stream: the status is sent
                    try:
                        detail = client_error(e).detail
                    except Exception as e2:  # noqa: BLE001
                        log.error("unexpected %s in a stream", type(e2).__name__)
                        detail = "internal error; the server log has its type"
                    yield render("error", detail) or ""
                    return
                yield render("answer", answer) or ""
            finally:
                job.cancel.set()  # the client left or the stream ended: stop generating

        return gen()

    # ------------------------------------------------------------ OpenAI-compatible

    @app.get("/v1/models", response_model=ModelList, tags=["openai"])
    def list_models(key: ApiKey = Depends(require_key)) -> ModelList:
        """Each model is a medllm pipeline over the served model."""
        return ModelList(data=[ModelCard(id=p.id, created=started, description=p.description) for p in pipes.values()])

    @app.post("/v1/chat/completions", response_model=ChatCompletion, tags=["openai"],
              responses={200: {"content": {"text/event-stream": {}}}, 429: {"description": "queue full or rate limit"}})
    async def chat_completions(req: ChatRequest, request: Request, key: ApiKey = Depends(require_key)) -> Any:
        """OpenAI chat completions; `stream: true` sends server-sent events. The last user message
        is answered by the pipeline the `model` names (GET /v1/models)."""
        pipe = pipes.get(req.model)
        if pipe is None:
            raise HTTPException(404, f"no model {req.model!r} here; GET /v1/models lists them")
        users = [m for m in req.messages if m.role == "user"]
        if not users or not users[-1].text().strip():
            raise HTTPException(422, "no user message with text to answer")
        question = users[-1].text()
        params = params_for(req.max_completion_tokens or req.max_tokens, req.temperature, req.top_p, req.seed)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if req.stream:
            def render(kind: str, data: Any) -> str | None:
                def chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
                    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": pipe.id,
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
                    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
                if kind == "start":
                    return chunk({"role": "assistant", "content": ""})
                if kind == "token":
                    return chunk({"content": data})
                if kind == "answer":
                    return chunk({}, "stop", medllm=data.model_dump(mode="json")) + "data: [DONE]\n\n"
                err = {"error": {"message": data, "type": "server_error"}}
                return f"data: {json.dumps(err)}\n\ndata: [DONE]\n\n"

            return StreamingResponse(stream_answer(request, question, pipe.strategy, params, render),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        fut, job = submit_ask(request, question, pipe.strategy, params)
        a = await wait(fut, job)
        return ChatCompletion(
            id=cid, created=created, model=pipe.id,
            choices=[ChatChoice(message=ChoiceMessage(content=a.text))],
            usage=Usage(prompt_tokens=a.cost.prompt_tokens, completion_tokens=a.cost.completion_tokens,
                        total_tokens=a.cost.prompt_tokens + a.cost.completion_tokens),
            medllm=a)

    # ------------------------------------------------------------ native

    @app.post("/v1/ask", response_model=Answer, tags=["medllm"],
              responses={429: {"description": "queue full or rate limit"}})
    async def ask(req: AskRequest, request: Request, key: ApiKey = Depends(require_key)) -> Answer:
        """The ask pipeline: the `Answer` with evidence, citations, confidence and flags."""
        fut, job = submit_ask(request, req.question, strategy_for(req.strategy), params_for(req.max_tokens),
                              options=req.options, k=req.k)
        return await wait(fut, job)

    @app.post("/v1/ask/stream", tags=["medllm"], response_class=StreamingResponse,
              responses={200: {"content": {"text/event-stream": {}}}, 429: {"description": "queue full or rate limit"}})
    async def ask_stream(req: AskRequest, request: Request, key: ApiKey = Depends(require_key)) -> StreamingResponse:
        """The ask pipeline as server-sent events: `flags` (safety flags of the question, first),
        `token` (text as it is written), then `answer` (the full `Answer`) or `error`."""
        if not req.question.strip():
            raise HTTPException(422, "the question is empty")
        decision = await run_tool(lambda: session.triager().decide(req.question.strip()))
        flags = decision_flags(decision)  # sent first; the pipeline reuses the decision

        def render(kind: str, data: Any) -> str | None:
            if kind == "start":
                return sse("flags", [f.model_dump() for f in flags])
            if kind == "token":
                return sse("token", {"text": data})
            if kind == "answer":
                return sse("answer", data.model_dump(mode="json"))
            return sse("error", {"detail": data})

        gen = stream_answer(request, req.question, strategy_for(req.strategy), params_for(req.max_tokens), render,
                            options=req.options, k=req.k, decision=decision)
        return StreamingResponse(gen, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.post("/v1/generate", response_model=Answer, tags=["medllm"],
              responses={429: {"description": "queue full or rate limit"}})
    async def generate_text(req: GenerateRequest, request: Request, key: ApiKey = Depends(require_key)) -> Answer:
        """Clinical text generation (`medllm note` / `medllm summarize`) through the same privacy
        gate and audit log as ask, in the model's queue: the `Answer` holds the document."""
        from medllm.tasks.gen.pipeline import generate

        if not req.text.strip():
            raise HTTPException(422, "the text is empty")
        job = _Job(deadline=time.monotonic() + cfg.timeout_s)
        state = request.scope.setdefault("state", {})
        params = params_for(req.max_tokens)  # the server's token cap holds per model call

        def run() -> Answer:
            if job.cancel.is_set() or time.monotonic() > job.deadline:
                raise Cancelled  # it waited in the queue past its time
            answer = generate(session, req.job, req.text, header=req.header, params=params,
                              client=state.get("key_id"))
            state["audited"] = session.audit is not None
            return answer

        fut = queue.submit(run)
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return await wait(fut, job)

    @app.post("/v1/deid", response_model=adapters.DeidResult, tags=["medllm"])
    async def deid(req: DeidRequest, request: Request, key: ApiKey = Depends(require_key)) -> adapters.DeidResult:
        """De-identify a note. The spans say where PHI was (offsets and labels, not the text);
        nothing is stored."""
        res: adapters.DeidResult = await run_tool(lambda: adapters.deidentify(session.deidentifier(), req.text, req.mode))
        await asyncio.to_thread(audit, AuditEntry(event="deid", strategy=req.mode, client=key.id,
                                                  metrics={f"phi_{k}": v for k, v in res.counts.items()}))
        request.scope["state"]["audited"] = True
        return res

    @app.post("/v1/triage", response_model=adapters.TriageResult, tags=["medllm"])
    async def triage(req: TriageRequest, key: ApiKey = Depends(require_key)) -> adapters.TriageResult:
        """How urgent a message is (emergency / refuse / routine) and the flags behind it."""
        return await run_tool(lambda: adapters.triage(session.triager(), req.text))

    @app.post("/v1/ddx", response_model=DdxResult, tags=["medllm"])
    async def ddx(req: DdxRequest, key: ApiKey = Depends(require_key)) -> DdxResult:
        """Rare-disease differential from HPO phenotypes (ids or names) and/or a case text whose
        phenotypes are linked to HPO (negated ones count as excluded). `score` is the posterior."""
        g = session.graph
        if g is None:
            raise HTTPException(409, "this server runs without the knowledge graph (started with --no-kg)")
        if not req.phenotypes and not (req.text and req.text.strip()):
            raise HTTPException(422, "give phenotypes (HPO ids or names) or a case text")

        def work() -> DdxResult:
            items = [t for t in (req.phenotypes or []) if t.strip()]
            if req.text and req.text.strip():
                items.append(req.text)  # linked; negated findings ("no fever") become excluded terms
            dx = g.differential()
            case = dx.case(items, strict=False)
            name = lambda cid: g.get(cid).name if cid and cid in g else cid  # noqa: E731
            out = [DdxDiagnosis(disease_id=d.disease_id, name=d.name, score=d.score, rank=d.rank,
                                matches=[DdxMatch(patient=m.patient, patient_name=name(m.patient),
                                                  disease_term=m.disease_term, disease_term_name=name(m.disease_term),
                                                  ic=m.ic) for m in d.matches if m.disease_term])
                   for d in dx.rank(case, k=req.k)]
            return DdxResult(phenotypes=case.observed, phenotype_names=[name(i) for i in case.observed],
                             excluded=case.excluded, excluded_names=[name(i) for i in case.excluded],
                             diagnoses=out)

        return await run_tool(work)

    @app.post("/v1/kb/search", response_model=list[KbHit], tags=["medllm"])
    async def kb_search(req: KbSearchRequest, key: ApiKey = Depends(require_key)) -> list[KbHit]:
        """Search the knowledge base (POST, so the query stays out of URLs and access logs)."""
        r = session.retriever
        if r is None:
            raise HTTPException(409, "this server runs without a knowledge base (build one with `medllm kb build-default`)")
        if not req.query.strip():
            raise HTTPException(422, "the query is empty")
        hits = await run_tool(r.search, req.query, req.k)
        return [KbHit(rank=h.rank, score=float(h.score), passage_id=h.passage.id, title=h.passage.title,
                      text=h.passage.text, source=h.passage.source, url=h.passage.url, citation=h.citation)
                for h in hits]

    def run_store() -> Any:
        from medllm.eval.store import RunStore

        return RunStore(session.settings.home / "runs.sqlite")

    def find_run(run_id: str) -> Any:
        try:
            return run_store().get(run_id)
        except KeyError as e:
            raise HTTPException(404, str(e.args[0])) from None

    @app.get("/v1/eval/runs", response_model=list[RunInfo], tags=["eval"])
    def eval_runs(key: ApiKey = Depends(require_key)) -> list[RunInfo]:
        """Stored evaluation runs, oldest first."""
        return [RunInfo(run_id=r.run_id, status=r.status, dataset=r.dataset, model=r.model, mode=r.mode,
                        strategy=r.strategy, n=r.n, accuracy=r.accuracy, created=r.created, finished=r.finished)
                for r in run_store().list()]

    @app.get("/v1/eval/runs/{run_id}", tags=["eval"])
    def eval_run(run_id: str, key: ApiKey = Depends(require_key)) -> dict[str, Any]:
        """A run's summary (metrics with confidence intervals), by id or unique id prefix."""
        row = find_run(run_id)
        if row.summary is None:
            raise HTTPException(409, f"run {row.run_id} has not finished")
        return row.summary

    @app.get("/v1/eval/runs/{run_id}/report", response_class=HTMLResponse, tags=["eval"])
    def eval_report(run_id: str, key: ApiKey = Depends(require_key)) -> HTMLResponse:
        """The run's self-contained HTML report."""
        from medllm.eval.report import render_report
        from medllm.eval.store import read_run_dir

        row = find_run(run_id)
        try:
            run = read_run_dir(Path(row.out_dir))
        except FileNotFoundError as e:
            raise HTTPException(409, str(e)) from None
        return HTMLResponse(render_report([run], title=f"medllm run {row.run_id}"))

    # ------------------------------------------------------------ operations

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["ops"])
    def readyz() -> Health:
        """The model and knowledge are loaded; how full the queues are."""
        return Health(status="ready", model=session.model.info.spec,
                      queue={"pending": queue.pending, "size": cfg.queue_size, "tools_pending": tools.pending},
                      detail={"retriever": session.retriever is not None, "graph": session.graph is not None,
                              "privacy_gate": session.gated, "strategies": list(cfg.strategies)})

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    def prometheus() -> Response:
        """Prometheus metrics."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ------------------------------------------------------------ the web page

    web = files("medllm.serve") / "web"

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((web / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=str(web)), name="static")
    return app


class NoExceptionText(logging.Filter):
    """Keep an error's type, drop its message and traceback: a message may quote the request
    (uvicorn logs unhandled errors with both)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.msg, record.args = f"unhandled {record.exc_info[0].__name__} (text not logged)", ()
            record.exc_info, record.exc_text = None, None
        return True


def _version() -> str:
    import medllm

    return getattr(medllm, "__version__", "0")
