"""Property-based testing of the real server from its own OpenAPI schema (schemathesis), under
the checks schemathesis runs by default: no 5xx, every status code and body as documented,
schema-valid requests accepted (or refused with a status the check allows), schema-violating
ones refused, auth enforced where the schema says. Bounded: a few examples per operation and
mode, no shrinking, short answers (the server caps max_tokens).

Each operation's cases come from `operation.as_strategy()` (schema-valid and schema-violating
examples) and run under plain Hypothesis: schemathesis's pytest plugin does not work with this
pytest."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from medllm.serve.app import ServeConfig

EXAMPLES = 3  # per operation and generation mode


def test_the_schema_holds_under_schemathesis_default_checks(served, serve_app):
    # Short answers (8 tokens) keep it quick. schemathesis sends every successful request again
    # without a key (its auth check): a generous allowance of those for this address.
    url = serve_app(ServeConfig(queue_size=2, rate_per_minute=6000, burst=3000, max_body_bytes=64 * 1024,
                                timeout_s=60, max_tokens=8, strategies=("direct", "cot"),
                                auth_fail_per_minute=6000, auth_fail_burst=3000))
    auth = {"Authorization": f"Bearer {served.key}"}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", headers=auth, timeout=30)
    seen: list[tuple[str, int]] = []
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        headers = auth
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)
            if op.path == "/v1/chat/completions":  # most valid requests should name a served pipeline
                strategy = strategy.map(_served_model)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def conforms(case) -> None:
                r = case.call_and_validate(headers=headers, timeout=120)
                seen.append((f"{case.method} {case.path}", r.status_code))

            try:
                conforms()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to break in an operation without inputs
            except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - every operation is tried; all reported
                failures.append(f"{op.label} ({mode.value}): {str(e)[:1500]}")
    assert not failures, "\n\n".join(failures)
    ops = {o for o, _ in seen}
    assert len(ops) >= 14  # every operation was exercised
    codes = {c for _, c in seen}
    assert 200 in codes and 422 in codes and ("POST /v1/ask", 200) in seen


def _served_model(case):
    if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
        case.body["model"] = "medllm-direct"
    return case
