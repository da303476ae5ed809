"""The composition root: what `Session.open` opens, refuses and hands to solvers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medllm.config import load_settings
from medllm.session import Session
from medllm.types import Passage

FIX = Path(__file__).parent / "eval" / "fixtures"


@pytest.fixture
def index_dir(tmp_path):
    from medllm.knowledge.index import build_index

    out = tmp_path / "ix"
    build_index([Passage(id="p0", doc_id="d0", title="Scurvy", source="test",
                         text="Scurvy is caused by a lack of vitamin C in the diet.")], out, dense=False)
    return out


def test_unknown_strategy_fails_before_the_model_loads():
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        Session.open("llamacpp:no-such-model", strategy="nope")


def test_rag_needs_an_index_and_says_how_to_build_one(chat_model):
    with pytest.raises(FileNotFoundError, match="kb build-default"):
        Session.open(chat_model, strategy="rag+cot")


def test_optional_default_index_is_a_note(chat_model):
    s = Session.open(chat_model, knowledge=["retriever"], optional_index=True, audit=False)
    assert s.retriever is None and "no knowledge base" in s.notes[0]


def test_strategy_needs_open_the_retriever_and_the_session_does_not_close_a_borrowed_model(chat_model, index_dir):
    with Session.open(chat_model, strategy="rag(k=1)+direct", index=index_dir, audit=False,
                      settings=load_settings(max_tokens=24)) as s:
        assert s.retriever is not None and s.graph is None and not s.gated
        ctx = s.context("generate")
        assert ctx.retriever is s.retriever and ctx.model is chat_model
        a = s.ask("What causes scurvy?")
    assert a.evidence[0].passage_id == "p0" and a.strategy == "rag(k=1)+direct"
    assert chat_model.count_tokens("still open") > 0  # the session did not close it


def test_gate_on_wraps_the_model_and_audits(chat_model, index_dir):
    from medllm.trust.audit_log import AuditLog
    from medllm.trust.privacy import GatedModel

    s = Session.open(chat_model, strategy="direct", gate="on", settings=load_settings())
    assert s.gated and s.gate_reason == "setting: on"
    assert isinstance(s.context().model, GatedModel)
    assert isinstance(s.audit, AuditLog)
    g1, g2 = s.new_gate(), s.new_gate()
    assert g1 is not g2 and g1.deid is g2.deid  # one Presidio engine, a PHI session per question


@pytest.mark.slow  # ~50 s: every probe re-answers the item
def test_audit_with_rag_runs_through_the_session(index_dir, tmp_path):
    """`medllm audit --strategy rag` used to fail with "rag needs a retriever"."""
    from medllm.cli import app

    r = CliRunner().invoke(app, ["audit", "--model", "llamacpp:gemma3-270m", "--dataset", f"medqa:{FIX}/medqa.jsonl",
                                 "--strategy", "rag(k=1)", "--index", str(index_dir), "--limit", "1",
                                 "--out", str(tmp_path / "audit")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "audit" / "report.html").exists()


def test_a_strategy_that_needs_exemplars_opens_and_leaves_them_to_the_runner(chat_model):
    with Session.open(chat_model, strategy="medprompt", audit=False) as s:  # "shots" come from eval's runner
        assert s.retriever is None and s.graph is None
