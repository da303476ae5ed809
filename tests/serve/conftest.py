"""A real `medllm serve` app on 127.0.0.1 (uvicorn in a thread) around a real session: the
packaged 0.5B instruct model (its own instance: the server's worker thread is its only user), a
BM25 index over passages written here, the default knowledge graph, and one stored eval run."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import free_port

PASSAGES = [
    ("Metformin", "Metformin is a biguanide and the usual first-line drug for type 2 diabetes mellitus."),
    ("Warfarin", "Warfarin is an oral anticoagulant; its effect is monitored with the INR."),
    ("Scurvy", "Scurvy is caused by a lack of vitamin C (ascorbic acid) in the diet; gums bleed and wounds heal slowly."),
    ("Malaria", "Malaria is caused by Plasmodium parasites spread by Anopheles mosquitoes; it causes cyclic fever."),
]
FIX = Path(__file__).resolve().parents[1] / "eval" / "fixtures"


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    key: str
    key_id: str
    home: Path
    keys: object
    session: object
    run_id: str


def start_uvicorn(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not t.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    return server, t


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, base_model):
    from medllm.config import load_settings
    from medllm.eval.runner import EvalConfig, run_eval
    from medllm.knowledge.index import build_index, load_index
    from medllm.knowledge.kg.graph import load_default_graph
    from medllm.models import GenParams, load_model
    from medllm.serve.app import ServeConfig, create_app
    from medllm.serve.keys import KeyStore
    from medllm.session import Session
    from medllm.trust.audit_log import AuditLog
    from medllm.types import Passage

    home = tmp_path_factory.mktemp("serve_home")
    s = dataclasses.replace(load_settings(n_ctx=2048), home=home, max_tokens=32)
    ix = home / "indexes" / "default"
    build_index([Passage(id=f"p{i}", doc_id=f"d{i}", title=t, text=x, source="test", url=f"https://example.org/{i}")
                 for i, (t, x) in enumerate(PASSAGES)], ix, dense=False)
    run = run_eval(EvalConfig(dataset=f"medqa:{FIX}/medqa.jsonl", model="llamacpp:gemma3-270m", limit=2),
                   model=base_model, settings=s)
    model = load_model("llamacpp:qwen2.5-coder-0.5b-instruct", s, cache=False)
    session = Session(model=model, settings=s, strategy="direct", retriever=load_index(ix, dense=False),
                      graph=load_default_graph(s.kg_dir), audit=AuditLog(home / "audit.jsonl"),
                      params=GenParams(max_tokens=32, temperature=0.0, seed=0))
    keys = KeyStore(home / "serve" / "keys.sqlite")
    rec, key = keys.add("tests")
    cfg = ServeConfig(queue_size=2, rate_per_minute=120, burst=30, max_body_bytes=64 * 1024, timeout_s=60,
                      max_tokens=64, strategies=("direct", "cot"))
    port = free_port()
    server, thread = start_uvicorn(create_app(session, keys, cfg), port)
    yield Served(url=f"http://127.0.0.1:{port}", key=key, key_id=rec.id, home=home, keys=keys, session=session,
                 run_id=run.run_id)
    server.should_exit = True
    thread.join(15)
    model.close()


@pytest.fixture(scope="session")
def serve_app(served):
    """Start another app over the served session with its own `ServeConfig`; returns its URL.
    For limits that would get in the way of other tests on the shared server."""
    started = []

    def start(cfg) -> str:
        from medllm.serve.app import create_app

        port = free_port()
        started.append(start_uvicorn(create_app(served.session, served.keys, cfg), port))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def auth(served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.key}"}
