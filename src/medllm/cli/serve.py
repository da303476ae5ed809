"""`medllm serve`: the ask pipeline behind an OpenAI-compatible HTTP API and a clinician web page."""

from __future__ import annotations

from pathlib import Path

import typer

from medllm.cli.common import UserError, console, err_console, user_errors

app = typer.Typer(help=__doc__, invoke_without_command=True)
keys_app = typer.Typer(help="API keys (stored hashed; a new key is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _store():
    from medllm.session import Session

    return Session.configure().key_store()


@keys_app.command("add")
@user_errors
def keys_add(name: str = typer.Argument(..., help="who or what the key is for, e.g. ward-7 or ehr-bridge")) -> None:
    """Make a key and print it once (only its hash is kept)."""
    rec, key = _store().add(name)
    console.print(f"key {rec.id} ({rec.name}); send it as 'Authorization: Bearer KEY'. It is shown only now:")
    print(key)


@keys_app.command("list")
@user_errors
def keys_list() -> None:
    """The keys: id, name, created, revoked."""
    rows = _store().list()
    if not rows:
        console.print("no keys; make one with `medllm serve keys add NAME`")
    for k in rows:
        console.print(f"{k.id}  {k.name:<24} created {k.created}" + (f"  [red]revoked {k.revoked}[/]" if k.revoked else ""))


@keys_app.command("revoke")
@user_errors
def keys_revoke(ref: str = typer.Argument(..., help="key id, or a name (revokes every key of that name)")) -> None:
    """Revoke a key: requests with it are refused from now on."""
    for k in _store().revoke(ref):
        console.print(f"revoked {k.id} ({k.name})")


def _write_first_key(path: Path, key: str) -> Path:
    """Write `key` to `path`, created 0600 (never readable by others, not even for a moment)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return path


@app.callback()
@user_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for the whole network)"),
    port: int = typer.Option(8000, help="TCP port"),
    model: str = typer.Option(None, "--model", "-m", help="model spec; default: the default_model setting"),
    strategy: list[str] = typer.Option(None, "--strategy", "-s",
                                       help="strategies callers may use (repeat the option); the first is the default."
                                            " Default: evidence, cot, direct, as `ask` (cot, direct without a knowledge base)"),
    index: Path = typer.Option(None, "--index", help="knowledge-base folder; default $MEDLLM_HOME/indexes/default"),
    no_kb: bool = typer.Option(False, "--no-kb", help="serve without retrieval"),
    no_kg: bool = typer.Option(False, "--no-kg", help="serve without the knowledge graph (no kg-rag, no /v1/ddx)"),
    gate: str = typer.Option(None, "--gate", help="privacy gate: auto (on for remote models), on, off"),
    max_tokens: int = typer.Option(None, "--max-tokens", help="longest answer, and the cap on a request's max_tokens"),
    queue_size: int = typer.Option(8, "--queue-size", help="requests that may wait for the model; more get 429"),
    rate_limit: float = typer.Option(60, "--rate-limit", help="requests per minute per API key (0: no limit)"),
    burst: int = typer.Option(None, "--burst", help="requests a key may send at once; default: a tenth of a minute's rate"),
    timeout: float = typer.Option(120, "--timeout",
                                  help="deadline in seconds: a request is admitted only if, at the measured rate, it can"
                                       " finish within it (else 429 with Retry-After); an admitted one runs to its end"),
    max_body: int = typer.Option(256 * 1024, "--max-body", help="largest request body, in bytes"),
    open_ops: bool = typer.Option(False, "--open-ops",
                                  help="serve /metrics, /openapi.json and /docs without a key (a trusted interface only)"),
    auth_fail_limit: float = typer.Option(60, "--auth-fail-limit",
                                          help="requests without a valid key per minute per client address (0: no limit)"),
) -> None:
    """Serve the ask pipeline: OpenAI-compatible /v1/chat/completions, native /v1/ask, /v1/deid,
    /v1/triage, /v1/ddx, /v1/kb/search, /v1/eval/runs, and the web page at /.

    Example: medllm serve --host 127.0.0.1 --port 8000
    """
    if ctx.invoked_subcommand is not None:
        return
    import logging

    import uvicorn

    from medllm.serve.app import NoExceptionText, ServeConfig, create_app
    from medllm.session import Session

    if not 0 < port < 65536:
        raise UserError(f"--port {port}: use 1-65535")
    if index is not None and not (index / "manifest.json").exists():
        raise UserError(f"no knowledge base at {index}; build one with `medllm kb build` or `medllm kb build-default`")
    store = _store()
    if not any(k.active for k in store.list()):
        rec, key = store.add("default")
        path = _write_first_key(store.path.parent / "first-key", key)
        # the key never goes to stdout or stderr (they end up in log collectors): only its file
        err_console.print(f"no API key yet: made key {rec.id} ('default'); it is in {path} (readable by you only)."
                          " Copy it from there and delete the file.", soft_wrap=True, highlight=False)
    knowledge = [r for r, off in (("retriever", no_kb), ("graph", no_kg)) if not off]
    chosen = list(strategy or (["cot", "direct"] if no_kb else ["evidence", "cot", "direct"]))
    with err_console.status("loading…") as status:
        session = Session.open(model, strategy=chosen[0], overrides={"max_tokens": max_tokens, "privacy_gate": gate},
                               knowledge=knowledge, index=index,
                               optional_index=True, status=status.update)
    if not strategy and session.retriever is None and "evidence" in chosen:  # no knowledge base: answer as before
        chosen = [s for s in chosen if s != "evidence"]
        session.strategy = chosen[0]
    strategy = chosen
    for note in session.notes:
        err_console.print(f"[yellow]note:[/] {note}")
    try:
        cfg = ServeConfig(queue_size=queue_size, rate_per_minute=rate_limit, burst=burst, max_body_bytes=max_body,
                          timeout_s=timeout, max_tokens=max_tokens, strategies=tuple(dict.fromkeys(strategy)),
                          open_ops=open_ops, auth_fail_per_minute=auth_fail_limit)
        api = create_app(session, store, cfg)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        for name in ("uvicorn.error", "asyncio"):
            logging.getLogger(name).addFilter(NoExceptionText())
        docs = "docs at /docs" + ("" if open_ops else " with a key")
        err_console.print(f"medllm serving {session.model.info.spec} on http://{host}:{port} (web page at /, API at /v1, {docs})")
        # uvicorn's access log would print query strings; ours logs route templates only
        uvicorn.run(api, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        session.close()
