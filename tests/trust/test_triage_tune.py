"""Triage on the real packaged MiniLM and shipped heads: asking about a term or a mild complaint
stays routine, having it now is an emergency; and the encoder-tuning option (`triage_tune`, not
shipped: the heads ship over the frozen MiniLM) moves two training labels apart. Messages here are
written for the tests (not figures)."""

from __future__ import annotations

import numpy as np
import pytest

from medllm.trust.triage import Triager
from medllm.trust.triage_tune import TuneOptions, base_model, embed_from_inputs, finetune, layer_inputs, top_state

TEXTS = [
    "How long should I boil an egg for? I have a mild headache today, nothing new.",
    "My chest has been crushing for forty minutes, my left arm is numb and I'm soaked in sweat.",
    "What is the normal range for TSH?",
]


def test_finetuning_moves_the_labels_apart():
    import torch

    torch.set_num_threads(1)
    H = layer_inputs(TEXTS, 1)
    y_em = np.array([0.0, 1.0, 0.0])
    before = embed_from_inputs(H, top_state(base_model()[0].auto_model.encoder.layer[-1:]), 1)
    state = finetune(H, y_em, np.zeros(3), TuneOptions(layers=1, epochs=8, lr=2e-4, batch_size=3))
    after = embed_from_inputs(H, state, 1)
    # the emergency moves away from the mild-headache message it was written to resemble
    assert after[0] @ after[1] < before[0] @ before[1] - 0.01


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager(judge=None)


@pytest.mark.parametrize("text", [
    "How long should I boil an egg for a soft yolk? I have a mild headache today, nothing unusual.",
    "I've had a slightly runny nose for two days but feel fine otherwise. Is zinc worth taking?",
    "My knee has ached on and off for a year when I run. Any stretches?",
    "What does it mean when a stroke patient has aphasia?",
])
def test_asking_about_or_mild_is_routine(triager, text):
    assert triager.decide(text).level == "routine"


@pytest.mark.parametrize("text", [
    "Sorry to bother you, quick one about my prescription refill: since an hour I have a crushing "
    "pain in my chest going into my jaw and I'm clammy.",
    "my 6 week old is burning up, 38.6, and won't take her bottle",
])
def test_having_it_now_is_an_emergency(triager, text):
    assert triager.decide(text).level in ("emergency", "urgent")
