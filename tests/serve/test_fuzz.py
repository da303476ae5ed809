"""Property-based fuzzing of the real server from its own OpenAPI schema (schemathesis): no
request, valid or invalid, may end in a 5xx. Bounded: a few examples per operation and mode,
short answers (the server caps max_tokens).

Each operation's cases come from `operation.as_strategy()` (schema-valid and schema-violating
examples) and run under plain Hypothesis: schemathesis's pytest plugin does not work with this
pytest."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 3  # per operation and generation mode


def test_no_server_errors(served):
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    seen: list[tuple[str, int]] = []
    for result in schema.get_all_operations():
        op = result.ok()
        # a key per operation, so the per-key rate limit does not hide what lies behind it
        headers = {"Authorization": f"Bearer {served.keys.add('fuzz')[1]}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)
            if op.path == "/v1/chat/completions":  # most valid requests should name a served pipeline
                strategy = strategy.map(_served_model)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def no_5xx(case) -> None:
                r = case.call(headers=headers, timeout=120)
                seen.append((f"{case.method} {case.path}", r.status_code))
                assert r.status_code < 500, f"{case.method} {case.formatted_path} -> {r.status_code}: {r.text[:300]}"

            try:
                no_5xx()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to break in an operation without inputs
    ops = {o for o, _ in seen}
    assert len(ops) >= 14  # every operation was exercised
    codes = {c for _, c in seen}
    assert 200 in codes and 422 in codes and ("POST /v1/ask", 200) in seen


def _served_model(case):
    if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
        case.body["model"] = "medllm-direct"
    return case
