"""The FastAPI app of `medllm serve`: one `Session` behind an OpenAI-compatible API, medllm's
native endpoints and the clinician web page.

Admission: every model request goes through one queue (`ModelQueue`) that admits a request only
when, at the service rate measured on recent requests, it can finish within the deadline
(`timeout_s`); otherwise it is answered 429 with the Retry-After the queue computes. An admitted
request runs to its end (no 504); only a client that goes away cancels it. Other work
(de-identification, triage, differential, search) has its own queue so it never waits behind
the model.

Errors are OpenAI's error object on every route. Nothing that may hold patient text is logged:
the log line of an authenticated request is its method, route template, status, time and key
id; errors are logged by type, not by message. Each authenticated API request gets one
audit-log entry with the key id (the answer record of `medllm ask` for answering requests).
Requests without a valid key are not audited: they are counted, limited per client address and
logged as one aggregate line per address and minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from medllm import jobs
from medllm.models.base import ContextTooLong, GenParams, ModelError
from medllm.serve import adapters
from medllm.serve.errors import ApiError, error_body, responses, scrub
from medllm.serve.keys import ApiKey, KeyStore
from medllm.serve.limits import AuthFailures, Busy, Cancelled, ModelQueue, RateLimiter
from medllm.serve.schemas import (
    MAX_TEXT,
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

# Work units of one answering request besides its max_tokens (prompt, retrieval, triage,
# checks), in budget tokens: admission estimates a request as (max_tokens + this) units.
OVERHEAD_UNITS = 32
PROMPT_RESERVE = 512  # tokens of a prompt besides the question (instructions, template); evidence is fitted
_KEYED_OPS = ("/metrics", "/openapi.json", "/docs", "/redoc")
_CALLS = {"note": 4, "summary": 1, "section": 1}  # model calls of a generation job, for admission


@dataclass
class ServeConfig:
    queue_size: int = 8  # requests that may wait behind the one the model is answering
    rate_per_minute: float = 60.0  # per API key; 0 = no limit
    burst: int | None = None  # per API key; default: a tenth of a minute's rate
    max_body_bytes: int = 256 * 1024
    timeout_s: float = 120.0  # the deadline: a request is admitted only if it can finish within it
    max_tokens: int | None = None  # cap on a request's max_tokens; default: the session's
    strategies: tuple[str, ...] = ("cot", "direct")  # what callers may pick; the first is the default
    open_ops: bool = False  # /metrics, /openapi.json, /docs without a key (a trusted interface only)
    auth_fail_per_minute: float = 60.0  # requests without a valid key per client address; 0 = no limit
    auth_fail_burst: int = 30
    auth_log_interval_s: float = 60.0  # one aggregate log line per address and interval


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
    def __init__(self, queue: ModelQueue, tools: ModelQueue, auth: AuthFailures) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()  # per app: no global state
        self.requests = Counter("medllm_requests", "HTTP requests by route template and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("medllm_request_seconds", "request time by route template", ["route"],
                                 registry=self.registry,
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160))
        self.rejected = Counter("medllm_rejected", "requests refused with 429, by reason", ["reason"],
                                registry=self.registry)
        self.unauthenticated = Counter("medllm_unauthenticated", "requests without a valid API key, by status",
                                       ["status"], registry=self.registry)
        pending = Gauge("medllm_queue_pending", "requests running or waiting, by queue", ["queue"],
                        registry=self.registry)
        pending.labels("model").set_function(lambda: queue.pending)
        pending.labels("tools").set_function(lambda: tools.pending)
        rate = Gauge("medllm_service_seconds_per_unit", "measured seconds per work unit (budget token), by queue",
                     ["queue"], registry=self.registry)
        rate.labels("model").set_function(lambda: queue.rate.per_unit())
        rate.labels("tools").set_function(lambda: tools.rate.per_unit())


class _BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: reads the body first and refuses one over the size limit (413, chunked
    or not); refuses requests without credentials from an address over its failed-auth
    allowance (429); times and counts requests; writes the one log line of an authenticated
    request (never its body or query) and, for API requests no handler audited, its audit
    entry. Requests without a valid key are counted per address and logged in aggregate."""

    def __init__(self, app: Any, *, limit: int, metrics: _Metrics, audit: Callable[[AuditEntry], None],
                 auth: AuthFailures):
        self.app, self.limit, self.metrics, self.audit, self.auth = app, limit, metrics, audit, auth

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500, "started": False, "recorded": False}
        state = scope.setdefault("state", {})
        state["audited"] = False
        headers = dict(scope.get("headers") or [])
        address = (scope.get("client") or ("-",))[0]

        async def record() -> None:
            # Log and audit before the last byte goes out: no reply leaves without its record.
            if status["recorded"]:
                return
            status["recorded"] = True
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            code = status["code"]
            self.metrics.requests.labels(route, str(code)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - t0)
            key = state.get("key_id")
            if key is None and 400 <= code < 500:
                # no valid key: counted and logged per address in aggregate, never audited
                self.metrics.unauthenticated.labels(str(code)).inc()
                self.auth.failed(address, code)
                return
            log.info("%s %s %s %.0fms key=%s", scope.get("method"), route, code,
                     1000 * (time.perf_counter() - t0), key or "-")
            if key is not None and route.startswith("/v1/") and not state.get("audited"):
                entry = AuditEntry(event="request", strategy=route[:200], client=key, metrics={"status": code})
                await asyncio.to_thread(self.audit, entry)

        async def send_(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                status["code"], status["started"] = msg["status"], True
            elif msg["type"] == "http.response.body" and not msg.get("more_body"):
                await record()
            await send(msg)

        try:
            path = scope.get("path", "")
            if b"authorization" not in headers and (path.startswith("/v1/") or path in _KEYED_OPS):
                self.auth.check(address)  # over the allowance: refused before any work
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.limit):
                raise _BodyTooLarge
            # The whole body first (bounded): a chunked body over the limit is a 413 too, not a
            # parse error inside the framework.
            chunks, got, first = [], 0, None
            while True:
                msg = await receive()
                if msg["type"] != "http.request":
                    first = msg  # the client left
                    break
                got += len(msg.get("body", b""))
                if got > self.limit:
                    raise _BodyTooLarge
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    break
            replay = [first or {"type": "http.request", "body": b"".join(chunks), "more_body": False}]

            async def receive_() -> dict:
                return replay.pop() if replay else await receive()

            await self.app(scope, receive_, send_)
        except _BodyTooLarge:
            if not status["started"]:
                await self._reply(send_, 413, f"request body over {self.limit} bytes", "body_too_large")
        except Busy as e:
            if not status["started"]:
                self.metrics.rejected.labels(e.kind).inc()
                await self._reply(send_, 429, f"{e.reason}; retry in {e.retry_after} s", "rate_limit_exceeded",
                                  {"retry-after": str(e.retry_after)})
        finally:
            await record()

    @staticmethod
    async def _reply(send: Callable, code: int, message: str, err_code: str,
                     extra: dict[str, str] | None = None) -> None:
        body = json.dumps(error_body(code, message, code=err_code)).encode()
        hs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        hs += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
        await send({"type": "http.response.start", "status": code, "headers": hs})
        await send({"type": "http.response.body", "body": body})


@dataclass
class _Job:
    """One answering request as the worker thread sees it."""

    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Done:
    answer: Answer
    finish_reason: str  # stop | length (the last model call was cut by max_tokens)


class FinishRecorder:
    """The session's model, recording how each generation in this thread ended: OpenAI's
    `finish_reason` needs to know whether the answer was cut by max_tokens, which the `Answer`
    record does not say. A stream is cut when it produced max_tokens tokens (counted as pieces
    and by re-tokenising the text, whichever is more)."""

    def __init__(self, model: Any):
        self._model = model
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def begin(self) -> None:
        self._local.finishes = []

    def last_finish(self) -> str:
        got = getattr(self._local, "finishes", [])
        return got[-1] if got else "stop"

    def _note(self, reason: str, params: GenParams, tokens: int) -> None:
        if reason not in ("stop", "length"):
            reason = "length" if tokens >= params.max_tokens else "stop"
        getattr(self._local, "finishes", []).append(reason)

    def chat(self, messages: Sequence[Any], params: GenParams = GenParams()) -> Any:
        done = self._model.chat(messages, params)
        self._note(done.finish_reason, params, done.completion_tokens)
        return done

    def complete(self, prompt: str, params: GenParams = GenParams()) -> Any:
        done = self._model.complete(prompt, params)
        self._note(done.finish_reason, params, done.completion_tokens)
        return done

    def chat_stream(self, messages: Sequence[Any], params: GenParams = GenParams()) -> Iterator[str]:
        pieces: list[str] = []
        for piece in self._model.chat_stream(messages, params):
            pieces.append(piece)
            yield piece
        n = max(len(pieces), self._model.count_tokens("".join(pieces)) if pieces else 0)
        self._note("", params, n)


def create_app(session: Session, keys: KeyStore, config: ServeConfig | None = None) -> FastAPI:
    """The service around an open `session`. The caller owns the session (and closes it)."""
    cfg = config or ServeConfig()
    if not cfg.strategies:
        raise ValueError("serve needs at least one strategy")
    for s in cfg.strategies:  # an impossible strategy fails at start, not on a request
        from medllm.assistant import pipeline_strategy
        from medllm.reasoning.compose import compose

        compose(pipeline_strategy(s, session.retriever, session.graph))
    recorder = FinishRecorder(session.model)
    # the service's view of the session: the same parts, the model behind the finish recorder
    session = dataclasses.replace(session, model=recorder, owns_model=False)
    cap = cfg.max_tokens or session.params.max_tokens
    # The longest text the model is given, in characters: what fits its context window with the
    # answer and the prompt around it, counting a character as at most one token (true of
    # ordinary text; rarer scripts can take more, and then get the documented 422). The schema
    # says this limit, so a schema-valid question is one the model can take.
    window = getattr(session.model.info, "context_window", 0) or 0
    model_chars = min(MAX_TEXT, max(256, window - cap - PROMPT_RESERVE)) if window else MAX_TEXT
    queue = ModelQueue(cfg.queue_size, deadline_s=cfg.timeout_s, name="model")
    tools = ModelQueue(max(cfg.queue_size, 4), deadline_s=cfg.timeout_s, prior_s_per_unit=0.5, name="tools")
    limiter = RateLimiter(cfg.rate_per_minute, cfg.burst)
    auth_failures = AuthFailures(cfg.auth_fail_per_minute, cfg.auth_fail_burst, interval_s=cfg.auth_log_interval_s,
                                 log=log)
    metrics = _Metrics(queue, tools, auth_failures)
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
        auth_failures.flush()

    app = FastAPI(
        title="medllm", version=_version(), lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
        description="On-premises medical assistant: OpenAI-compatible chat over medllm pipelines, "
                    "and medllm's own records (answers with evidence, de-identification, triage, "
                    "differential diagnosis, knowledge-base search, evaluation runs). Every error is "
                    "OpenAI's error object.",
    )
    app.state.queue, app.state.tools, app.state.session = queue, tools, session
    app.state.auth_failures = auth_failures
    app.add_middleware(Guard, limit=cfg.max_body_bytes, metrics=metrics, audit=audit, auth=auth_failures)
    bearer = HTTPBearer(auto_error=False, description="an API key from `medllm serve keys add NAME`")

    # ------------------------------------------------------------ errors

    @app.exception_handler(Busy)
    async def _busy(request: Request, e: Busy) -> JSONResponse:
        metrics.rejected.labels(e.kind).inc()
        code = {"rate": "rate_limit_exceeded", "auth": "rate_limit_exceeded"}.get(e.kind, "server_busy")
        return JSONResponse(error_body(429, f"{e.reason}; retry in {e.retry_after} s", code=code), status_code=429,
                            headers={"Retry-After": str(e.retry_after)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        msg = e.detail if isinstance(e.detail, str) else "request refused"
        if e.status_code == 404 and not isinstance(e, ApiError):
            msg = f"no route {request.url.path[:200]!r} here; see /docs"
        if e.status_code == 405:
            msg = f"method {request.method} is not allowed on this route"
        body = error_body(e.status_code, msg, code=getattr(e, "code", None), param=getattr(e, "param", None))
        return JSONResponse(body, status_code=e.status_code, headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        # the field and the problem, never the submitted value (it may be patient text)
        errs = e.errors()
        if any(x.get("type") == "json_invalid" for x in errs):
            return JSONResponse(error_body(400, "the body is not valid JSON", code="invalid_json"), status_code=400)
        first = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        param = ".".join(loc) or None
        msg = f"{param}: {first.get('msg', 'invalid')}" if param else str(first.get("msg", "invalid request"))
        if len(errs) > 1:
            msg += f" (and {len(errs) - 1} more)"
        return JSONResponse(error_body(422, msg, code=str(first.get("type") or "invalid_value"), param=param),
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(e).__name__, getattr(request.scope.get("route"), "path", "?"))
        return JSONResponse(error_body(500, "internal error; the server log has its type"), status_code=500)

    def client_error(e: Exception) -> ApiError:
        if isinstance(e, ContextTooLong):
            return ApiError(422, scrub(f"too long for the model: {e}"), code="context_length_exceeded")
        if isinstance(e, ValueError):
            return ApiError(422, scrub(str(e)), code="invalid_value")
        if isinstance(e, Cancelled):
            return ApiError(400, "the request was cancelled: the client went away", code="cancelled")
        if isinstance(e, ModelError):
            return ApiError(502, f"model backend: {type(e).__name__}", code="model_error")
        raise e

    # ------------------------------------------------------------ auth

    def require_key(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> ApiKey:
        key = keys.verify(cred.credentials.strip()) if cred is not None and cred.scheme.lower() == "bearer" else None
        if key is None:
            address = (request.scope.get("client") or ("-",))[0]
            auth_failures.check(address)  # over the allowance: 429, not another 401
            if cred is None:
                raise ApiError(401, "send Authorization: Bearer KEY (make a key with `medllm serve keys add NAME`)",
                               code="missing_api_key", headers={"WWW-Authenticate": "Bearer"})
            raise ApiError(401, "unknown or revoked API key", code="invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        request.scope.setdefault("state", {})["key_id"] = key.id
        limiter.check(key.id)
        return key

    ops_guard = [] if cfg.open_ops else [Depends(require_key)]

    # ------------------------------------------------------------ answering

    def params_for(max_tokens: int | None, temperature: float | None = None, top_p: float | None = None,
                   seed: int | None = None) -> GenParams:
        p = session.params
        return dataclasses.replace(  # a max_tokens over the server's cap is lowered to the cap
            p, max_tokens=min(max_tokens or p.max_tokens, cap),
            temperature=p.temperature if temperature is None else temperature,
            top_p=p.top_p if top_p is None else top_p, seed=p.seed if seed is None else seed)

    def fits(text: str, param: str) -> None:
        if len(text) > model_chars:
            raise ApiError(422, f"{param}: longer than the {model_chars} characters this model takes",
                           code="string_too_long", param=param)

    def strategy_for(name: str | None) -> str:
        if name is None:
            return cfg.strategies[0]
        if name not in cfg.strategies:
            raise ApiError(422, f"strategy {name!r} is not served here; use one of {', '.join(cfg.strategies)}",
                           code="invalid_value", param="strategy")
        return name

    def submit(request: Request, work: Callable[[], Answer], units: float) -> tuple[asyncio.Future[_Done], _Job]:
        job = _Job()

        def run() -> _Done:
            if job.cancel.is_set():
                raise Cancelled  # the client left while it waited
            recorder.begin()
            answer = work()
            return _Done(answer, recorder.last_finish())

        fut = queue.submit(run, units=units)
        # a job whose request has gone still ends (Cancelled, or an error): collect its outcome so
        # asyncio does not log it with a traceback
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return fut, job

    def submit_ask(request: Request, question: str, strategy: str, params: GenParams, *,
                   options: list[str] | None = None, k: int = 5, decision: Any = None,
                   on_token: Callable[[str], None] | None = None) -> tuple[asyncio.Future[_Done], _Job]:
        state = request.scope.setdefault("state", {})
        key_id = state.get("key_id")
        job_box: list[_Job] = []

        def token(piece: str) -> None:
            if job_box and job_box[0].cancel.is_set():
                raise Cancelled  # stops generation: the client is gone
            if on_token:
                on_token(piece)

        def work() -> Answer:
            answer = jobs.ask(session, jobs.AskRequest(question, options=options, strategy=strategy, params=params,
                                                       k=k, client=key_id, decision=decision), on_token=token)
            state["audited"] = session.audit is not None  # the pipeline wrote the entry
            return answer

        fut, job = submit(request, work, params.max_tokens + OVERHEAD_UNITS)
        job_box.append(job)
        return fut, job

    async def wait(request: Request, fut: asyncio.Future[_Done], job: _Job) -> _Done:
        """The admitted job's outcome: it runs to its end; only a client that leaves cancels it."""
        try:
            while True:
                done, _ = await asyncio.wait({fut}, timeout=1.0)
                if done:
                    return fut.result()
                if await request.is_disconnected():
                    job.cancel.set()
                    raise Cancelled
        except ApiError:
            raise
        except Exception as e:  # noqa: BLE001 - mapped to a client error or re-raised
            raise client_error(e) from None

    async def run_tool(fn: Callable[..., Any], *args: Any) -> Any:
        fut = tools.submit(fn, *args)
        try:
            return await fut
        except ApiError:
            raise
        except Exception as e:  # noqa: BLE001
            raise client_error(e) from None

    def sse(event: str, data: Any) -> str:
        return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    def stream_answer(request: Request, question: str, strategy: str, params: GenParams,
                      render: Callable[[str, Any], str | None], **kw: Any) -> AsyncIterator[str]:
        """Submit now (a request that cannot be admitted gets 429 before the stream starts), then
        relay tokens until the job ends."""
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
                    piece = await pieces.get()
                    if piece is None:
                        break
                    yield render("token", piece) or ""
                try:
                    done = fut.result()
                except Exception as e:  # noqa: BLE001 - reported in the stream: the status is sent
                    try:
                        err = client_error(e)
                        body = error_body(err.status_code, str(err.detail), code=err.code)
                    except Exception as e2:  # noqa: BLE001
                        log.error("unexpected %s in a stream", type(e2).__name__)
                        body = error_body(500, "internal error; the server log has its type")
                    yield render("error", body) or ""
                    return
                yield render("answer", done) or ""
            finally:
                job.cancel.set()  # the client left or the stream ended: stop generating

        return gen()

    # ------------------------------------------------------------ routes

    BODY = (400, 413, 422)
    v1 = APIRouter(responses=responses(401, 429, 500), dependencies=[Depends(require_key)])
    model_responses = responses(*BODY, 502)

    @v1.get("/v1/models", response_model=ModelList, tags=["openai"])
    def list_models() -> ModelList:
        """Each model is a medllm pipeline over the served model."""
        return ModelList(data=[ModelCard(id=p.id, created=started, description=p.description) for p in pipes.values()])

    @v1.post("/v1/chat/completions", response_model=ChatCompletion, tags=["openai"],
             responses={200: {"content": {"text/event-stream": {}}}, **responses(*BODY, 404, 502)})
    async def chat_completions(req: ChatRequest, request: Request) -> Any:
        """OpenAI chat completions; `stream: true` sends server-sent events (with
        `stream_options.include_usage`, a last chunk with `usage`). The last user message is
        answered by the pipeline the `model` names (GET /v1/models). `finish_reason` is `length`
        when the answer was cut by max_tokens."""
        pipe = pipes.get(req.model)
        if pipe is None:
            raise ApiError(404, f"no model {req.model!r} here; GET /v1/models lists them", code="model_not_found",
                           param="model")
        for i, m in enumerate(req.messages):
            if isinstance(m.content, str):
                fits(m.content, f"messages.{i}.content")
            for j, part in enumerate(m.content if isinstance(m.content, list) else []):
                fits(part.text, f"messages.{i}.content.{j}.text")
        question = req.question() or ""
        params = params_for(req.max_completion_tokens or req.max_tokens, req.temperature, req.top_p, req.seed)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

        def usage(a: Answer) -> Usage:
            return Usage(prompt_tokens=a.cost.prompt_tokens, completion_tokens=a.cost.completion_tokens,
                         total_tokens=a.cost.prompt_tokens + a.cost.completion_tokens)

        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)

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
                    out = chunk({}, data.finish_reason, medllm=data.answer.model_dump(mode="json"))
                    if include_usage:  # as OpenAI: one more chunk, no choices, the usage
                        out += "data: " + json.dumps({"id": cid, "object": "chat.completion.chunk", "created": created,
                                                      "model": pipe.id, "choices": [],
                                                      "usage": usage(data.answer).model_dump()}) + "\n\n"
                    return out + "data: [DONE]\n\n"
                return f"data: {json.dumps(data)}\n\ndata: [DONE]\n\n"

            return StreamingResponse(stream_answer(request, question, pipe.strategy, params, render),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        fut, job = submit_ask(request, question, pipe.strategy, params)
        done = await wait(request, fut, job)
        a = done.answer
        return ChatCompletion(
            id=cid, created=created, model=pipe.id,
            choices=[ChatChoice(message=ChoiceMessage(content=a.text), finish_reason=done.finish_reason)],
            usage=usage(a), medllm=a)

    @v1.post("/v1/ask", response_model=Answer, tags=["medllm"], responses=model_responses)
    async def ask(req: AskRequest, request: Request) -> Answer:
        """The ask pipeline: the `Answer` with evidence, citations, confidence and flags
        (`metadata.finish_reason`: `length` when the answer was cut by max_tokens)."""
        fits(req.question, "question")
        fut, job = submit_ask(request, req.question, strategy_for(req.strategy), params_for(req.max_tokens),
                              options=req.options, k=req.k)
        done = await wait(request, fut, job)
        done.answer.metadata["finish_reason"] = done.finish_reason
        return done.answer

    @v1.post("/v1/ask/stream", tags=["medllm"], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}, **model_responses})
    async def ask_stream(req: AskRequest, request: Request) -> StreamingResponse:
        """The ask pipeline as server-sent events: `flags` (safety flags of the question, first),
        `token` (text as it is written), then `answer` (the full `Answer`) or `error` (OpenAI's
        error object's `error`)."""
        strategy = strategy_for(req.strategy)
        fits(req.question, "question")
        decision = await run_tool(lambda: jobs.triage(session, jobs.TriageRequest(req.question)))
        flags = decision_flags(decision)  # sent first; the pipeline reuses the decision

        def render(kind: str, data: Any) -> str | None:
            if kind == "start":
                return sse("flags", [f.model_dump() for f in flags])
            if kind == "token":
                return sse("token", {"text": data})
            if kind == "answer":
                data.answer.metadata["finish_reason"] = data.finish_reason
                return sse("answer", data.answer.model_dump(mode="json"))
            return sse("error", data["error"])

        gen = stream_answer(request, req.question, strategy, params_for(req.max_tokens), render,
                            options=req.options, k=req.k, decision=decision)
        return StreamingResponse(gen, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @v1.post("/v1/generate", response_model=Answer, tags=["medllm"], responses=model_responses)
    async def generate_text(req: GenerateRequest, request: Request) -> Answer:
        """Clinical text generation (`medllm note` / `medllm summarize`) through the same privacy
        gate and audit log as ask, in the model's queue: the `Answer` holds the document."""
        fits(req.text, "text")
        state = request.scope.setdefault("state", {})
        params = params_for(req.max_tokens)  # the server's token cap holds per model call

        def work() -> Answer:
            answer = jobs.generate(session, jobs.GenerateRequest(req.job, req.text, header=req.header, params=params,
                                                                 client=state.get("key_id")))
            state["audited"] = session.audit is not None
            return answer

        fut, job = submit(request, work, (params.max_tokens + OVERHEAD_UNITS) * _CALLS.get(req.job, 1))
        done = await wait(request, fut, job)
        done.answer.metadata["finish_reason"] = done.finish_reason
        return done.answer

    @v1.post("/v1/deid", response_model=adapters.DeidResult, tags=["medllm"], responses=responses(*BODY))
    async def deid(req: DeidRequest, request: Request, key: ApiKey = Depends(require_key)) -> adapters.DeidResult:
        """De-identify a note. The spans say where PHI was (offsets and labels, not the text);
        nothing is stored."""
        res: adapters.DeidResult = await run_tool(lambda: jobs.deid(session, jobs.DeidRequest(req.text, req.mode)))
        await asyncio.to_thread(audit, AuditEntry(event="deid", strategy=req.mode, client=key.id,
                                                  metrics={f"phi_{k}": v for k, v in res.counts.items()}))
        request.scope["state"]["audited"] = True
        return res

    @v1.post("/v1/triage", response_model=adapters.TriageResult, tags=["medllm"], responses=responses(*BODY))
    async def triage(req: TriageRequest) -> adapters.TriageResult:
        """How urgent a message is (emergency / urgent / routine, or refuse), why (`reason`), the
        present findings behind it and the red-flag `rule` they matched, when the triager gives them."""
        return await run_tool(lambda: adapters.triage_result(jobs.triage(session, jobs.TriageRequest(req.text))))

    @v1.post("/v1/ddx", response_model=DdxResult, tags=["medllm"], responses=responses(*BODY, 409))
    async def ddx(req: DdxRequest) -> DdxResult:
        """Rare-disease differential from HPO phenotypes (ids or names) and/or a case text whose
        phenotypes are linked to HPO (negated ones count as excluded). `score` is the posterior.
        Nothing recognised: an empty differential."""
        g = session.graph
        if g is None:
            raise ApiError(409, "this server runs without the knowledge graph (started with --no-kg)",
                           code="not_available")

        def work() -> DdxResult:
            items = [t for t in (req.phenotypes or []) if t.strip()]
            if req.text and req.text.strip():
                items.append(req.text)  # linked; negated findings ("no fever") become excluded terms
            if not items:
                return DdxResult(phenotypes=[], phenotype_names=[], diagnoses=[])
            dx = g.differential()
            try:
                case = dx.case(items, strict=False)
            except ValueError:  # nothing in the input links to HPO: nothing to rank
                return DdxResult(phenotypes=[], phenotype_names=[], diagnoses=[])
            if not case.observed and not case.excluded:
                return DdxResult(phenotypes=[], phenotype_names=[], diagnoses=[])
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

    @v1.post("/v1/kb/search", response_model=list[KbHit], tags=["medllm"], responses=responses(*BODY, 409))
    async def kb_search(req: KbSearchRequest) -> list[KbHit]:
        """Search the knowledge base (POST, so the query stays out of URLs and access logs)."""
        r = session.retriever
        if r is None:
            raise ApiError(409, "this server runs without a knowledge base (build one with `medllm kb build-default`)",
                           code="not_available")
        hits = await run_tool(r.search, req.query, req.k)
        return [KbHit(rank=h.rank, score=float(h.score), passage_id=h.passage.id, title=h.passage.title,
                      text=h.passage.text, source=h.passage.source, url=h.passage.url, citation=h.citation)
                for h in hits]

    def run_store() -> Any:
        return session.run_store()

    def find_run(run_id: str) -> Any:
        try:
            return run_store().get(run_id)
        except KeyError:
            # our own words: the store's message names its file
            raise ApiError(404, f"no stored run {run_id[:80]!r} (or the prefix is not unique); "
                                "GET /v1/eval/runs lists them", code="run_not_found", param="run_id") from None

    @v1.get("/v1/eval/runs", response_model=list[RunInfo], tags=["eval"])
    def eval_runs() -> list[RunInfo]:
        """Stored evaluation runs, oldest first."""
        return [RunInfo(run_id=r.run_id, status=r.status, dataset=r.dataset, model=r.model, mode=r.mode,
                        strategy=r.strategy, n=r.n, accuracy=r.accuracy, created=r.created, finished=r.finished)
                for r in run_store().list()]

    @v1.get("/v1/eval/runs/{run_id}", tags=["eval"], response_model=dict[str, Any], responses=responses(404, 409))
    def eval_run(run_id: str) -> dict[str, Any]:
        """A run's summary (metrics with confidence intervals), by id or unique id prefix."""
        row = find_run(run_id)
        if row.summary is None:
            raise ApiError(409, f"run {row.run_id} has not finished", code="run_not_finished")
        return row.summary

    @v1.get("/v1/eval/runs/{run_id}/report", response_class=HTMLResponse, tags=["eval"],
            responses={**responses(401, 404, 409, 429, 500, by_ref=True)})
    def eval_report(run_id: str) -> HTMLResponse:
        """The run's self-contained HTML report."""
        from medllm.eval.report import render_report
        from medllm.eval.store import read_run_dir

        row = find_run(run_id)
        try:
            run = read_run_dir(Path(row.out_dir))
        except FileNotFoundError:
            raise ApiError(409, f"run {row.run_id}'s files are no longer on the server", code="run_files_missing") from None
        return HTMLResponse(render_report([run], title=f"medllm run {row.run_id}"))

    app.include_router(v1)

    # ------------------------------------------------------------ operations

    @app.get("/healthz", response_model=Health, tags=["ops"])
    def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["ops"])
    def readyz() -> Health:
        """The model and knowledge are loaded; how full the queues are."""
        spec = session.model.info.spec
        return Health(status="ready", model=scrub(spec),
                      queue={"pending": queue.pending, "size": cfg.queue_size, "tools_pending": tools.pending},
                      detail={"retriever": session.retriever is not None, "graph": session.graph is not None,
                              "privacy_gate": session.gated, "strategies": list(cfg.strategies)})

    ops_responses = responses(500, by_ref=True) if cfg.open_ops else responses(401, 429, 500, by_ref=True)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"], dependencies=ops_guard,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **ops_responses})
    def prometheus() -> Response:
        """Prometheus metrics (behind a key unless the server runs with --open-ops)."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False, dependencies=ops_guard)
    def openapi_doc() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=ops_guard)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="medllm API")

    @app.get("/redoc", include_in_schema=False, dependencies=ops_guard)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="medllm API")

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base_openapi()
            # what this server serves, so schema-valid means servable
            comps = doc.get("components", {}).get("schemas", {})
            props = comps.get("AskRequest", {}).get("properties", {})
            if "strategy" in props:
                props["strategy"] = {"anyOf": [{"type": "string", "enum": list(cfg.strategies)}, {"type": "null"}],
                                     "title": "Strategy", "description": "one of the server's strategies"}
            for name, field in (("AskRequest", "question"), ("GenerateRequest", "text"), ("TextPart", "text")):
                if field in comps.get(name, {}).get("properties", {}):
                    comps[name]["properties"][field]["maxLength"] = model_chars
            content = comps.get("ChatMessage", {}).get("properties", {}).get("content", {})
            for alt in content.get("anyOf", []):
                if alt.get("type") == "string":
                    alt["maxLength"] = model_chars
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

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
