"""The in-process backend on real packaged models."""

import pytest

from medllm.models import ContextTooLong, GenParams, ModelError


def test_loglik_prefers_the_likely_continuation(base_model):
    ctx = "The capital of France is"
    likely, unlikely = base_model.loglikelihood([(ctx, " Paris"), (ctx, " Stethoscope")])
    assert likely.logprob > unlikely.logprob
    assert likely.logprob < 0 and unlikely.logprob < 0


def test_shared_prefix_equals_naive_path(base_model):
    ctx = ("Question: Which vitamin deficiency causes scurvy?\nA. Vitamin A\nB. Vitamin B12\n"
           "C. Vitamin C\nD. Vitamin D\nAnswer:")
    reqs = [(ctx, " A"), (ctx, " B"), (ctx, " C"), (ctx, " D"), (ctx, " Vitamin C deficiency"),
            ("Aspirin inhibits", " cyclooxygenase")]
    shared = base_model.loglikelihood(reqs)
    naive = base_model.loglikelihood(reqs, share_prefix=False)
    for s, n in zip(shared, naive):
        assert s.logprob == n.logprob  # bit-identical: same batch boundaries on both paths
        assert s.is_greedy == n.is_greedy
        assert s.n_tokens == n.n_tokens
    assert shared[4].n_tokens > 1  # a multi-token continuation took the second path


def _kshot_requests(shared_data, k: int, items: int, options: int = 4):
    from medllm.eval.datasets import load_dataset
    from medllm.tasks.prompts import loglik_requests

    qs = load_dataset(f"medmcqa:{shared_data / 'medmcqa' / 'dev_a.jsonl'}").questions
    shots = qs[1000 : 1000 + k]
    out = []
    for q in qs[:items]:
        ctx, conts = loglik_requests(q, shots)
        out.append([(ctx, c) for c in conts[:options]])
    return out


@pytest.mark.parametrize("which", ["base_model", pytest.param("chat_model", marks=pytest.mark.slow)])
def test_kshot_prefix_cache_is_bit_identical_to_decoding_from_scratch(which, shared_data, request):
    """The k-shot exemplars are decoded once and kept across calls (items), yet every score
    equals the from-scratch path exactly, also after a context with another prefix and after
    generation (which invalidates the cache)."""
    m = request.getfixturevalue(which)
    n_opts = 2 if which == "base_model" else 1
    items = _kshot_requests(shared_data, 2, 2, n_opts)
    other = _kshot_requests(shared_data, 1, 1, n_opts)[0]  # one exemplar: a shorter shared prefix
    calls = [items[0], items[1], other, items[0]]
    before = m.reused_tokens
    cached = [m.loglikelihood(r) for r in calls]
    reused = m.reused_tokens - before
    if m.info.supports_chat:
        m.chat([{"role": "user", "content": "Say yes."}], GenParams(max_tokens=2))
        cached.append(m.loglikelihood(items[1]))
        calls.append(items[1])
    naive = [m.loglikelihood(r, share_prefix=False) for r in calls]
    for got, want in zip(cached, naive, strict=True):
        assert [x.logprob for x in got] == [x.logprob for x in want]
        assert [x.is_greedy for x in got] == [x.is_greedy for x in want]
    # the exemplars were reused for the second item, and the first one for the one-shot prompt
    exemplars = items[0][0][0][: items[0][0][0].rindex("\n\nQuestion:") + 2]
    assert reused >= m.count_tokens(exemplars) + m.count_tokens(exemplars.split("\n\n")[0])


def test_is_greedy_matches_generation(base_model):
    prompt = "1, 2, 3, 4, 5,"
    out = base_model.complete(prompt, GenParams(max_tokens=4, temperature=0.0))
    (res,) = base_model.loglikelihood([(prompt, out.text)])
    assert res.is_greedy


def test_base_model_refuses_chat_clearly(base_model):
    assert not base_model.info.supports_chat
    with pytest.raises(ModelError, match="no chat template"):
        base_model.chat([{"role": "user", "content": "hi"}])


def test_chat_and_stream_agree_under_greedy(chat_model):
    msgs = [{"role": "user", "content": "Name one symptom of influenza. One word."}]
    p = GenParams(max_tokens=8, temperature=0.0)
    whole = chat_model.chat(msgs, p)
    streamed = "".join(chat_model.chat_stream(msgs, p))
    assert whole.text and whole.text == streamed
    assert whole.completion_tokens > 0 and whole.prompt_tokens > 0


def test_generation_after_loglik_is_unaffected(chat_model):
    msgs = [{"role": "user", "content": "Say the word 'heart'."}]
    p = GenParams(max_tokens=6, temperature=0.0)
    before = chat_model.chat(msgs, p).text
    chat_model.loglikelihood([("The kidney filters", " blood"), ("The kidney filters", " air")])
    assert chat_model.chat(msgs, p).text == before


def test_prompt_longer_than_context_says_the_numbers(base_model):
    long_prompt = "fever " * 3000
    with pytest.raises(ContextTooLong) as e:
        base_model.complete(long_prompt, GenParams(max_tokens=4))
    assert "2048" in str(e.value) and "tokens" in str(e.value)
