"""The main pipeline, `medllm.assistant.ask`, on the real 0.5B instruct model: refusal, red flag,
privacy gate and audit record, and free-text `direct` answering over a knowledge base."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medllm.assistant import answer_open, ask
from medllm.models.base import GenParams
from medllm.trust.audit_log import AuditLog, verify
from medllm.trust.safety import URGENT_ADVICE
from medllm.types import Passage

PARAMS = GenParams(max_tokens=24, temperature=0.0, seed=0)

PASSAGES = [
    ("Metformin", "Metformin is a biguanide and the usual first-line drug for type 2 diabetes mellitus."),
    ("Warfarin", "Warfarin is an oral anticoagulant monitored with the INR."),
    ("Scurvy", "Scurvy is caused by a lack of vitamin C (ascorbic acid) in the diet."),
]


class CountingModel:
    """The real model, passed through, keeping every message it was sent (to see what the model saw)."""

    def __init__(self, inner):
        self.inner, self.info, self.sent = inner, inner.info, []

    def chat(self, messages, params=GenParams()):
        self.sent.extend(m["content"] for m in messages)
        return self.inner.chat(messages, params)

    def chat_stream(self, messages, params=GenParams()):
        self.sent.extend(m["content"] for m in messages)
        yield from self.inner.chat_stream(messages, params)

    def complete(self, prompt, params=GenParams()):
        self.sent.append(prompt)
        return self.inner.complete(prompt, params)

    def loglikelihood(self, requests):
        return self.inner.loglikelihood(requests)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def close(self):
        pass


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    from medllm.knowledge.index import build_index, load_index

    out: Path = tmp_path_factory.mktemp("kb") / "ix"
    build_index([Passage(id=f"p{i}", doc_id=f"d{i}", title=t, text=x, source="test") for i, (t, x) in enumerate(PASSAGES)],
                out, dense=False)
    return load_index(out, dense=False)


def test_refusal_never_calls_the_model(chat_model, tmp_path):
    m = CountingModel(chat_model)
    log = AuditLog(tmp_path / "audit.jsonl")
    a = ask("How can I buy oxycodone without a prescription?", m, strategy="direct", params=PARAMS, audit=log)
    assert a.strategy == "refused" and m.sent == []
    assert any(f.kind.startswith("refusal:") for f in a.flags)
    assert a.text.startswith("I can't help with this")
    entry = log.entries()[0]
    assert entry["strategy"] == "refused" and "oxycodone" not in (tmp_path / "audit.jsonl").read_text()


def test_red_flag_advice_streams_before_the_answer(chat_model):
    pieces: list[str] = []
    a = ask("I have crushing chest pain spreading to my left arm and I am sweating. What should I do?",
            chat_model, strategy="direct", params=PARAMS, on_token=pieces.append)
    assert pieces[0].startswith(URGENT_ADVICE)  # before a single model token
    assert a.text.startswith(URGENT_ADVICE) and len(a.text) > len(URGENT_ADVICE) + 10
    assert any(f.kind.startswith("red_flag:") and f.severity == "critical" for f in a.flags)
    assert "".join(pieces).strip() == a.text.strip()


def test_gate_on_the_model_never_sees_the_name(chat_model, tmp_path):
    from medllm.trust.privacy import PrivacyGate

    m = CountingModel(chat_model)
    gate = PrivacyGate(vault=tmp_path / "vault.sqlite", seed=0)
    log = AuditLog(tmp_path / "audit.jsonl")
    q = "Patient John Smith, seen on 03/14/2024 in Springfield, has a cough. What could cause it?"
    a = ask(q, m, strategy="direct", params=PARAMS, gate=gate, gate_reason="setting: on", audit=log, client="k1")
    assert a.text and m.sent
    seen = "\n".join(m.sent)
    assert "John Smith" not in seen and "Smith" not in seen and "03/14/2024" not in seen
    entry = log.entries()[0]
    assert entry["gate"]["on"] is True and entry["gate"]["reason"] == "setting: on"
    assert entry["gate"]["counts"].get("NAME", 0) >= 1 and entry["client"] == "k1"


def test_audit_record_holds_hashes_not_text(chat_model, tmp_path, kb):
    log = AuditLog(tmp_path / "audit.jsonl")
    a = ask("What is the first-line drug for type 2 diabetes?", chat_model, retriever=kb, strategy="direct",
            params=PARAMS, audit=log, client="abc123")
    raw = (tmp_path / "audit.jsonl").read_text()
    assert "diabetes" not in raw and a.text[:20] not in raw
    e = json.loads(raw.splitlines()[0])
    assert e["event"] == "answer" and e["client"] == "abc123" and e["strategy"] == "rag+direct"
    assert len(e["prompt_sha256"]) == 64 and e["evidence_ids"] == [x.passage_id for x in a.evidence]
    assert e["gate"] == {"on": False, "reason": "", "counts": {}}
    assert verify(tmp_path / "audit.jsonl").ok


def test_direct_on_an_open_question_with_a_kb_streams_a_cited_free_text(chat_model, kb):
    """`ask --strategy direct` with a knowledge base: free text over numbered passages (it used to
    end in "has no options")."""
    pieces: list[str] = []
    a = answer_open("Which vitamin deficiency causes scurvy?", chat_model, kb, strategy="direct", k=2,
                    params=GenParams(max_tokens=40, seed=0), on_token=pieces.append)
    assert a.strategy == "rag+direct" and a.choice is None and a.text
    assert len(pieces) > 1 and "".join(pieces).strip() == a.text  # token by token
    assert [e.passage_id for e in a.evidence][:1] == ["p2"]
    assert set(a.metadata["cited"]) <= {e.index for e in a.evidence}
    assert not any(f.kind == "parse_failure" for f in a.flags)


def test_empty_question_is_a_clear_error(chat_model):
    with pytest.raises(ValueError, match="empty"):
        ask("   ", chat_model)


def test_uncited_answers_get_sources_by_word_overlap_and_say_so():
    from medllm.trust.grounding import attribute_citations
    from medllm.types import Answer, Evidence

    ev = [Evidence(index=1, passage_id="p1", citation="Warfarin (test)",
                   text="Warfarin is an oral anticoagulant; its effect is monitored with the INR."),
          Evidence(index=2, passage_id="p2", citation="Metformin (test)", text="Metformin is first-line for diabetes.")]
    a = attribute_citations(Answer(text="Warfarin is monitored with the INR. Ask your pharmacist!", evidence=ev))
    assert a.text == "Warfarin is monitored with the INR [1]. Ask your pharmacist!"
    assert a.metadata["cited"] == [1] and a.metadata["citations"] == "attributed"
    assert any(f.kind == "citations_attributed" for f in a.flags)
    cited = Answer(text="Warfarin needs INR checks [2].", evidence=ev)
    assert attribute_citations(cited) == cited  # the model's own citations are kept, even wrong ones
    assert attribute_citations(Answer(text="It is monitored.", evidence=ev)).metadata.get("cited") is None
