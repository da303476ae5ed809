"""OpenAI's contracts, through OpenAI's own client against the real server: the error object
on every kind of error (its message, type, code and param reach the client), `finish_reason`
`length` for a reply cut by max_tokens and `stop` otherwise, in both modes, and `usage`."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from medllm.serve.app import ServeConfig

Q = [{"role": "user", "content": "Explain in detail how insulin lowers blood glucose."}]


@pytest.fixture(scope="module")
def client(served) -> OpenAI:
    return OpenAI(base_url=f"{served.url}/v1", api_key=served.key, max_retries=0, timeout=300)


def test_every_error_reaches_the_client_as_openais_error_object(served, serve_app, client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "model_not_found" and e.value.param == "model"
    assert "no model 'gpt-4' here" in e.value.message and e.value.type == "not_found_error"

    with pytest.raises(openai.AuthenticationError) as e:
        OpenAI(base_url=f"{served.url}/v1", api_key="mk_000000000000_" + "z" * 43, max_retries=0).models.list()
    assert e.value.code == "invalid_api_key" and e.value.type == "authentication_error"

    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.chat.completions.create(model="medllm-ask", messages=[{"role": "user", "content": "\u200b\u200d"}])
    assert e.value.type == "invalid_request_error" and "visible text" in e.value.message

    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.chat.completions.create(model="medllm-ask", messages=[{"role": "robot", "content": "hi"}])
    assert e.value.param == "messages.0.role" and "robot" not in e.value.message  # the field, not the value

    with pytest.raises(openai.APIStatusError) as e:  # over the server's 64 KB body limit
        client.chat.completions.create(model="medllm-ask", messages=[{"role": "user", "content": "x" * 20_000}] * 4)
    assert e.value.status_code == 413 and e.value.code == "body_too_large"

    with pytest.raises(openai.NotFoundError) as e:  # the native endpoints speak the same errors
        client.get("/eval/runs/no-such-run", cast_to=object)
    assert e.value.code == "run_not_found" and "sqlite" not in e.value.message

    limited = OpenAI(base_url=serve_app(ServeConfig(rate_per_minute=1, burst=1, strategies=("direct",))) + "/v1",
                     api_key=served.key, max_retries=0)
    limited.models.list()
    with pytest.raises(openai.RateLimitError) as e:
        limited.models.list()
    assert e.value.code == "rate_limit_exceeded" and int(e.value.response.headers["Retry-After"]) >= 1
    with pytest.raises(openai.RateLimitError):  # a stream refused before it starts is a plain 429
        limited.chat.completions.create(model="medllm-direct", messages=Q, stream=True)

    bad_json = httpx.post(f"{served.url}/v1/chat/completions", content=b'{"model": ', timeout=30,
                          headers={"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_json"
    unknown = httpx.get(f"{served.url}/v1/nothing-here", timeout=30)
    assert unknown.status_code == 404 and set(unknown.json()["error"]) == {"message", "type", "param", "code"}


def test_a_reply_cut_by_max_tokens_finishes_with_length_in_both_modes(client):
    cut = client.chat.completions.create(model="medllm-direct", max_tokens=4, messages=Q)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens >= 3
    assert cut.usage.total_tokens == cut.usage.prompt_tokens + cut.usage.completion_tokens > 0

    chunks = list(client.chat.completions.create(model="medllm-direct", max_tokens=4, messages=Q, stream=True,
                                                 stream_options={"include_usage": True}))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= 3  # the usage chunk comes last

    plain = list(client.chat.completions.create(model="medllm-direct", max_tokens=4, messages=Q, stream=True))
    assert all(c.usage is None for c in plain)  # usage only when asked for, as OpenAI


def test_a_reply_that_ends_on_its_own_finishes_with_stop(client):
    msg = [{"role": "user", "content": "Which vitamin deficiency causes scurvy? Answer in one short sentence."}]
    done = client.chat.completions.create(model="medllm-direct", max_tokens=64, messages=msg)
    assert done.choices[0].finish_reason == "stop" and done.usage.completion_tokens < 64
    chunks = list(client.chat.completions.create(model="medllm-direct", max_tokens=64, messages=msg, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
