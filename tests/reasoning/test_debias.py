"""Debiased option scoring: the arithmetic on a known prior, then PriDe and contextual
calibration on a real model (gemma3-270m) and real MedMCQA dev items."""

from __future__ import annotations

import pytest

from medllm.reasoning import SolveContext, get_solver
from medllm.reasoning.debias import (
    CalibrateSolver,
    PriDeSolver,
    content_free,
    divide_out,
    permutation_debiased,
    position_prior,
)
from medllm.reasoning.util import cyclic_permutations, permute_question

PRIOR = [0.1, 0.6, 0.2, 0.1]  # a model that likes position B
CONTENT = [0.4, 0.3, 0.2, 0.1]  # what it thinks of the options themselves


def _observed(perm: list[int]) -> list[float]:
    raw = [PRIOR[d] * CONTENT[orig] for d, orig in enumerate(perm)]
    return [x / sum(raw) for x in raw]


def test_pride_arithmetic_recovers_prior_and_content():
    perms = cyclic_permutations(4, 4)
    rows = [_observed(p) for p in perms]
    assert position_prior(rows) == pytest.approx(PRIOR)
    assert permutation_debiased(rows, perms) == pytest.approx(CONTENT)
    # the biased model answers B under the original order; dividing the prior out gives A
    assert max(range(4), key=lambda i: rows[0][i]) == 1
    assert divide_out(rows[0], PRIOR) == pytest.approx(CONTENT)


def test_divide_out_refuses_mismatched_prior():
    with pytest.raises(ValueError, match="3 positions"):
        divide_out([0.5, 0.5], [0.2, 0.3, 0.5])


def test_stages_compose_and_refuse_generate_mode():
    chain = get_solver("knn-fewshot(k=2)+pride(n=4)")
    assert chain.modes == ("loglik",)
    assert chain.root.inner.name == "pride" and chain.root.inner.n == 4
    assert get_solver("calibrate").modes == ("loglik",)
    with pytest.raises(ValueError, match="at least one item"):
        PriDeSolver(n=0)


@pytest.fixture(scope="module")
def items(shared_data):
    from medllm.eval.datasets import load_dataset

    return load_dataset(f"medmcqa:{shared_data / 'medmcqa' / 'dev_a.jsonl'}").questions[:3]


def test_pride_estimates_then_divides_on_a_real_model(base_model, items):
    ctx = SolveContext(model=base_model, mode="loglik")
    solver = PriDeSolver(n=2)
    direct = get_solver("direct")
    first, second, third = (solver(q, ctx) for q in items)
    assert [a.metadata["pride_role"] for a in (first, second, third)] == ["estimate", "estimate", "debias"]
    assert first.cost.calls == 4 and third.cost.calls == 1
    prior = solver.prior(4)
    assert prior is not None and sum(prior) == pytest.approx(1.0)
    assert third.metadata["prior"] == prior
    observed = [direct(items[2], ctx).option_probs[lbl] for lbl in items[2].labels]
    want = divide_out(observed, prior)
    assert [third.option_probs[lbl] for lbl in items[2].labels] == pytest.approx(want)
    assert third.choice == items[2].labels[want.index(max(want))]


def test_pride_estimate_does_not_depend_on_option_order(base_model, items):
    """An estimation item's answer averages every cyclic order, so shifting the options first
    picks the same option text."""
    ctx = SolveContext(model=base_model, mode="loglik")
    q = items[0]
    shifted = permute_question(q, [1, 2, 3, 0])
    a, b = PriDeSolver(n=1)(q, ctx), PriDeSolver(n=1)(shifted, ctx)
    assert a.text == b.text
    assert sorted(a.option_probs.values()) == pytest.approx(sorted(b.option_probs.values()))


def test_calibrate_divides_by_the_content_free_prior_once_per_exemplar_set(base_model, items):
    ctx = SolveContext(model=base_model, mode="loglik", shots=[items[2]])
    solver = CalibrateSolver()
    a1, a2 = solver(items[0], ctx), solver(items[1], ctx)
    assert a1.cost.calls == 2 and a2.cost.calls == 1  # the static shots' prior is paid once
    cf = get_solver("direct")(content_free(items[0]), ctx)
    prior = [cf.option_probs[lbl] for lbl in items[0].labels]
    assert a2.metadata["prior"] == pytest.approx(prior)
    assert [a2.option_probs[lbl] for lbl in items[1].labels] == pytest.approx(
        divide_out(a2.metadata["observed_probs"], prior))
    # other exemplars, another context: a new prior
    a3 = solver(items[0], SolveContext(model=base_model, mode="loglik", shots=[items[1]]))
    assert a3.cost.calls == 2 and a3.metadata["prior"] != a2.metadata["prior"]


def test_yes_no_questions_pass_through(base_model):
    from medllm.types import Choice, Question

    q = Question(id="yn", task="yesno", question="Is aspirin an antiplatelet drug?", gold="yes",
                 options=[Choice(label=w, text=w) for w in ("yes", "no", "maybe")])
    ctx = SolveContext(model=base_model, mode="loglik")
    direct = get_solver("direct")(q, ctx)
    for solver in (PriDeSolver(n=1), CalibrateSolver()):
        a = solver(q, ctx)
        assert a.choice == direct.choice and a.option_probs == direct.option_probs
        assert "skipped" in a.metadata["debias"]


def test_knn_with_calibration_runs_through_the_eval_runner(base_model, shared_data, tmp_path):
    """kNN exemplars per item (MiniLM), calibrated per item, as `medllm eval` runs it."""
    from medllm.config import load_settings
    from medllm.eval.runner import EvalConfig, run_eval

    spec = f"medmcqa:{shared_data / 'medmcqa' / 'dev_a.jsonl'}"
    config = EvalConfig(dataset=spec, model=base_model.info.spec, strategy="knn-fewshot(k=2)+calibrate",
                        shots=12, shots_from=spec, limit=2)
    res = run_eval(config, model=base_model, out_dir=tmp_path, settings=load_settings(cache=False))
    assert res.summary["n"] == 2 and res.summary["strategy"] == "knn-fewshot(k=2)+calibrate"
    pos = res.summary["metrics"]["positions"]  # position bias, reported with every MCQ run
    assert sum(pos["pred"].values()) == pytest.approx(1.0) and 0.0 <= pos["tvd"] <= 1.0
    lines = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all('"pred"' in ln for ln in lines)
