"""The HTTP API against the real server on 127.0.0.1: OpenAI clients, native records, keys,
limits, audit and logs."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx


def post(url: str, **kw) -> httpx.Response:
    return httpx.post(url, timeout=180, **kw)  # a loaded CI machine is slow; a hang still fails


def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=180, **kw)


NOTE = "Mr. John Smith (MRN 4482913) was seen on 03/14/2024 in Boston; call him at 617-555-0134."


def test_health_is_open_and_metrics_and_docs_need_a_key(served, auth):
    assert get(f"{served.url}/healthz").json()["status"] == "ok"
    ready = get(f"{served.url}/readyz").json()
    assert ready["model"] == "llamacpp:qwen2.5-coder-0.5b-instruct" and ready["detail"]["retriever"] is True
    for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
        r = get(f"{served.url}{path}")
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key", path
    assert get(f"{served.url}/openapi.json", headers=auth).json()["info"]["title"] == "medllm"
    assert "swagger" in get(f"{served.url}/docs", headers=auth).text.lower()
    get(f"{served.url}/v1/models")  # one counted request
    metrics = get(f"{served.url}/metrics", headers=auth).text
    assert 'medllm_requests_total{route="/v1/models",status="401"}' in metrics
    assert 'medllm_unauthenticated_total{status="401"}' in metrics
    assert "medllm_queue_pending" in metrics and "medllm_service_seconds_per_unit" in metrics


def test_keys_are_required_checked_and_revocable(served):
    url = f"{served.url}/v1/models"
    r = get(url)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"]["type"] == "authentication_error"
    bad = get(url, headers={"Authorization": "Bearer mk_000000000000_" + "x" * 43})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    rec, key = served.keys.add("short-lived")
    assert get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    served.keys.revoke(rec.id)
    assert get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 401
    raw = (served.home / "serve" / "keys.sqlite").read_bytes()
    assert key.split("_", 2)[2].encode() not in raw  # only the hash is stored


def test_openai_client_lists_pipelines_and_chats(served):
    from openai import OpenAI

    client = OpenAI(base_url=f"{served.url}/v1", api_key=served.key, max_retries=0)
    ids = [m.id for m in client.models.list().data]
    assert ids[0] == "medllm-ask" and "medllm-direct" in ids and "medllm-cot" in ids
    r = client.chat.completions.create(model="medllm-ask", max_tokens=24,
                                       messages=[{"role": "user", "content": "Which vitamin deficiency causes scurvy?"}])
    assert r.choices[0].message.content and r.usage.completion_tokens > 0
    extra = r.model_extra["medllm"]  # the full Answer rides along
    assert extra["strategy"].startswith("rag+kg-rag+direct") and extra["evidence"]

    stream = client.chat.completions.create(model="medllm-direct", max_tokens=24, stream=True,
                                            messages=[{"role": "user", "content": "What does warfarin do?"}])
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in pieces if p]) > 2 and "".join(pieces).strip()



def test_medllms_own_openai_backend_talks_to_it(served, monkeypatch):
    from medllm.models import GenParams, load_model

    monkeypatch.setenv("MEDLLM_OPENAI_API_KEY", served.key)
    m = load_model(f"openai:{served.url}/v1#medllm-direct", cache=False)
    try:
        done = m.chat([{"role": "user", "content": "Name one oral anticoagulant."}], GenParams(max_tokens=16))
        assert done.text and done.completion_tokens > 0
        assert "".join(m.chat_stream([{"role": "user", "content": "What is metformin?"}], GenParams(max_tokens=16)))
    finally:
        m.close()


def test_ask_returns_the_answer_record_with_cited_evidence(served, auth):
    r = post(f"{served.url}/v1/ask", headers=auth,
                   json={"question": "What is the first-line drug for type 2 diabetes?", "k": 2})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["text"] and a["strategy"] == "rag+kg-rag+direct"
    assert a["evidence"][0]["passage_id"] == "p0"
    assert set(a["metadata"]["cited"]) <= {e["index"] for e in a["evidence"]}
    bad = post(f"{served.url}/v1/ask", headers=auth, json={"question": "x", "strategy": "agents"})
    assert bad.status_code == 422 and "not served here" in bad.json()["error"]["message"]


def test_ask_stream_sends_the_emergency_first(served, auth):
    q = "My father has crushing chest pain and is sweating. What should we do?"
    with httpx.stream("POST", f"{served.url}/v1/ask/stream", headers=auth, json={"question": q}, timeout=180) as r:
        events = [(b.split("\n")[0][7:], json.loads(b.split("\n")[1][6:]))
                  for b in r.read().decode().split("\n\n") if b.startswith("event:")]
    kinds = [k for k, _ in events]
    assert kinds[0] == "flags" and events[0][1][0]["kind"].startswith("red_flag:")
    assert kinds[1] == "token" and events[1][1]["text"].startswith("This may be a medical emergency")
    assert kinds[-1] == "answer" and events[-1][1]["text"].startswith("This may be a medical emergency")


def test_deid_masks_and_nothing_leaks_to_logs_or_audit(served, auth, caplog):
    caplog.set_level(logging.INFO, logger="medllm.serve")
    r = post(f"{served.url}/v1/deid", headers=auth, json={"text": NOTE, "mode": "tag"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert "John Smith" not in d["text"] and "<NAME>" in d["text"] and d["counts"]["NAME"] >= 1
    assert {"start", "end", "label"} == set(d["spans"][0]) and NOTE[d["spans"][0]["start"]:d["spans"][0]["end"]]
    audit = (served.home / "audit.jsonl").read_text()
    last = json.loads(audit.splitlines()[-1])
    assert last["event"] == "deid" and last["client"] == served.key_id
    # The request's log line and audit entry are written before its last byte is sent.
    assert "/v1/deid 200" in caplog.text and f"key={served.key_id}" in caplog.text
    for secret in ("John", "Smith", "4482913", "617-555-0134", "03/14/2024"):
        assert secret not in audit and secret not in caplog.text


def test_one_audit_entry_per_request_with_the_key_id(served, auth):
    path = served.home / "audit.jsonl"
    before = len(path.read_text().splitlines())
    get(f"{served.url}/v1/models", headers=auth)
    post(f"{served.url}/v1/kb/search", headers=auth, json={"query": "scurvy vitamin", "k": 1})
    post(f"{served.url}/v1/ask", headers=auth, json={"question": "What is warfarin?", "max_tokens": 8})
    new = [json.loads(x) for x in path.read_text().splitlines()[before:]]
    assert [(e["event"], e["client"]) for e in new] == [("request", served.key_id)] * 2 + [("answer", served.key_id)]
    assert new[1]["strategy"] == "/v1/kb/search" and new[1]["metrics"]["status"] == 200


def test_native_records(served, auth):
    hits = post(f"{served.url}/v1/kb/search", headers=auth, json={"query": "vitamin C", "k": 2}).json()
    assert hits[0]["passage_id"] == "p2" and hits[0]["citation"]
    t = post(f"{served.url}/v1/triage", headers=auth, json={"text": "She says her face is drooping on one side"}).json()
    assert t["level"] == "emergency" and not t["refuse"] and any(f["kind"].startswith("red_flag:") for f in t["flags"])
    assert t["reason"] and isinstance(t["findings"], list) and "rule" in t  # the decision record's why
    dd = post(f"{served.url}/v1/ddx", headers=auth,
                    json={"phenotypes": ["HP:0001945", "HP:0000988", "HP:0002829"], "k": 5}).json()
    assert len(dd["diagnoses"]) == 5 and dd["diagnoses"][0]["rank"] == 1 and dd["phenotype_names"][0] == "Fever"
    runs = get(f"{served.url}/v1/eval/runs", headers=auth).json()
    assert [r["run_id"] for r in runs] == [served.run_id] and runs[0]["n"] == 2
    summ = get(f"{served.url}/v1/eval/runs/{served.run_id[:12]}", headers=auth).json()
    assert summ["metrics"]["accuracy"]["n"] == 2
    rep = get(f"{served.url}/v1/eval/runs/{served.run_id}/report", headers=auth)
    assert rep.status_code == 200 and rep.text.lstrip().lower().startswith("<!doctype html")
    missing = get(f"{served.url}/v1/eval/runs/nope", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "run_not_found"
    assert "sqlite" not in missing.text and str(served.home) not in missing.text  # no server paths


def test_generate_summarises_through_the_audit(served, auth):
    q = "SUBJECT: lipitor\nMESSAGE: My father takes Lipitor and his legs ache at night. Could it be the Lipitor?"
    r = post(f"{served.url}/v1/generate", headers=auth, json={"job": "summary", "text": q, "max_tokens": 24})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["strategy"] == "summary" and a["text"].strip() and a["cost"]["calls"] >= 1
    last = json.loads((served.home / "audit.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "summary" and last["client"] == served.key_id and "Lipitor" not in json.dumps(last)
    bad = post(f"{served.url}/v1/generate", headers=auth, json={"job": "poem", "text": q})
    assert bad.status_code == 422


def test_text_with_nothing_visible_is_refused(served, auth):
    blank = "\u200b\u200c\u2060\ufeff \u00a0\u3164"
    for path, body in (("/v1/ask", {"question": blank}), ("/v1/deid", {"text": blank}),
                       ("/v1/triage", {"text": blank}), ("/v1/kb/search", {"query": blank}),
                       ("/v1/chat/completions", {"model": "medllm-ask", "messages": [{"role": "user", "content": blank}]})):
        r = post(f"{served.url}{path}", headers=auth, json=body)
        assert r.status_code == 422, (path, r.text)
        assert "no visible characters" in r.json()["error"]["message"] or "visible text" in r.json()["error"]["message"]
    ok = post(f"{served.url}/v1/triage", headers=auth, json={"text": "\u200bchest pain\u200b"})
    assert ok.status_code == 200


def test_the_schema_says_how_long_a_question_the_model_takes(served, auth):
    doc = get(f"{served.url}/openapi.json", headers=auth).json()
    limit = doc["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"]
    assert limit == 2048 - 64 - 512  # the model's window, less the answer cap and the prompt around it
    assert doc["components"]["schemas"]["AskRequest"]["properties"]["strategy"]["anyOf"][0]["enum"] == ["direct", "cot"]
    long = post(f"{served.url}/v1/ask", headers=auth, json={"question": "word " * (limit // 5 + 1)})
    assert long.status_code == 422 and long.json()["error"]["param"] == "question"
    # an error of any route is documented with the error object
    ops = doc["paths"]["/v1/triage"]["post"]["responses"]
    assert {"401", "413", "422", "429"} <= set(ops)
    assert ops["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_limits_body_size_rate_and_queue(served, auth):
    big = post(f"{served.url}/v1/deid", headers=auth, json={"text": "x" * 70_000})
    assert big.status_code == 413 and big.json()["error"]["code"] == "body_too_large"

    def chunks():  # no Content-Length: the body arrives chunked
        yield b'{"text": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    chunked = post(f"{served.url}/v1/deid", headers={**auth, "Content-Type": "application/json"}, content=chunks())
    assert chunked.status_code == 413
    _, key = served.keys.add("burst")
    codes = [get(f"{served.url}/v1/models", headers={"Authorization": f"Bearer {key}"}) for _ in range(60)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited and int(limited[0].headers["Retry-After"]) >= 1 and codes[0].status_code == 200
    assert limited[0].json()["error"]["code"] == "rate_limit_exceeded"

    def one(i: int) -> httpx.Response:
        return post(f"{served.url}/v1/ask", headers=auth,
                          json={"question": f"Explain what insulin does, in detail ({i}).", "max_tokens": 48})

    with ThreadPoolExecutor(6) as pool:
        rs = list(pool.map(one, range(6)))
    statuses = sorted(r.status_code for r in rs)
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 1
    assert statuses.count(429) >= 3  # queue 2 + 1 running: at most 3 admitted at once
    assert all(int(r.headers["Retry-After"]) >= 1 for r in rs if r.status_code == 429)


def test_unhandled_errors_are_logged_by_type_only():
    import sys

    from medllm.serve.app import NoExceptionText

    try:
        raise ValueError("patient John Smith, MRN 4482913")
    except ValueError:
        rec = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (),
                                sys.exc_info())
    NoExceptionText().filter(rec)
    text = logging.Formatter().format(rec)
    assert "ValueError" in text and "John" not in text and "4482913" not in text
