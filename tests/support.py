"""Helpers the tests share (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import os

import pytest


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_llama_server(model: str, alias: str, logits_all: bool):
    """Start llama-cpp-python's OpenAI-compatible server on a free 127.0.0.1 port; returns
    (process, base URL ending in /v1)."""
    import subprocess
    import sys
    import tempfile
    import time

    import httpx

    from medllm.config import load_settings
    from medllm.models.registry import assemble

    path = assemble(model, load_settings().models_dir)
    port = free_port()
    threads = str(os.cpu_count() or 1)
    log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the server
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(path),
            "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "2048", "--n_threads", threads, "--n_threads_batch", threads,
            "--logits_all", str(logits_all).lower(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama_cpp.server exited: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("llama_cpp.server did not start within 120 s")


def stop(proc) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class FakeRemoteBackend:
    """Stands in for an outside OpenAI-compatible service (cannot run here; a real server is
    exercised in the leak benchmark): records everything it is sent and echoes the user message
    after `prefix`, as a chatty model might."""

    def __init__(self, prefix: str = "Summary: ", limit: int | None = None):
        from medllm.models.base import ModelInfo

        self.info = ModelInfo(spec="openai:fake", backend="openai", name="fake", context_window=4096,
                              supports_chat=True)
        self.prefix, self.limit = prefix, limit
        self.received: list[str] = []

    def chat(self, messages, params=None):
        from medllm.models.base import Completion

        self.received += [m["content"] for m in messages]
        return Completion(text=self.prefix + messages[-1]["content"][: self.limit])

    def complete(self, prompt, params=None):
        from medllm.models.base import Completion

        self.received.append(prompt)
        return Completion(text=prompt)

    def count_tokens(self, text):
        self.received.append(text)  # a real server tokenizes what it is sent
        return len(text.split())

    def close(self):
        pass


def deid_cli_app():
    """A Typer app holding only `medllm deid` (and a no-op, so `deid` stays a named subcommand)."""
    import typer

    from medllm.cli import deid as deid_cli

    app = typer.Typer()
    deid_cli.register(app)

    @app.command("noop")
    def _noop() -> None:
        pass

    return app
