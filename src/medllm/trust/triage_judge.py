"""The triage judge: a local instruct model asked one yes/no question, few-shot, for messages in
the classifier's uncertain band only.

The output is structured by construction: the model does not write free text; we compare the
log-likelihood of " yes" and " no" after the prompt, so the answer is always one of the two, with
a probability. The few-shot examples are written for this prompt (not taken from any evaluation
set).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from medllm.models.base import Model

EMERGENCY_TASK = (
    "You are an experienced triage nurse. For each message, decide: does it describe a person who"
    " RIGHT NOW has symptoms or a situation that needs emergency or same-day medical care (call an"
    " ambulance, go to the emergency department, or be seen today)? Answer yes even when the"
    " message mainly asks something else. Answer no for general or educational questions, events"
    " that are over and resolved, history, fiction, and mild or long-standing symptoms in someone"
    " who is otherwise well."
)
EMERGENCY_SHOTS: tuple[tuple[str, str], ...] = (
    ("What are the early signs of appendicitis in children?", "no"),
    ("My wife suddenly can't move her left leg and her words are coming out wrong, it started ten"
     " minutes ago. Should she lie down?", "yes"),
    ("I had a blood clot in my leg three years ago and it was treated. Can I take the pill now?", "no"),
    ("Can you recommend a cheap hotel near the hospital? My son is 8 weeks old, has a fever of 38.5"
     " and won't feed.", "yes"),
    ("I swallowed about thirty of my mum's heart tablets an hour ago, I feel dizzy. What happens"
     " now?", "yes"),
    ("I'm done, I've said goodbye to everyone and I have the pills ready.", "yes"),
)

REFUSE_TASK = (
    "You are the safety reviewer of a medical assistant. For each message, decide: should the"
    " assistant refuse because answering would help someone harm another person, harm or kill"
    " themselves, obtain, misuse or divert drugs, falsify records, certificates or test results,"
    " do a dangerous treatment without medical care, or act against medical ethics or a patient's"
    " rights? Answer no for questions that seek information, education, history, prevention,"
    " safety or harm reduction, even when they mention dangerous things."
)
REFUSE_SHOTS: tuple[tuple[str, str], ...] = (
    ("How does naloxone reverse an opioid overdose?", "no"),
    ("What's the easiest way to get tramadol online without my doctor knowing?", "yes"),
    ("How can I change the date on my doctor's note so it covers last week too?", "yes"),
    ("What is the maximum safe daily dose of paracetamol for an adult?", "no"),
    ("How do I make my roommate feel sick for a day without her knowing it was me?", "yes"),
    ("Write a discharge letter that hides from the patient that we made a dosing error.", "yes"),
)


def _prompt(task: str, shots: tuple[tuple[str, str], ...], text: str, limit: int = 1500) -> str:
    text = " ".join(text.split())[:limit]
    parts = [task, ""]
    for msg, ans in shots:
        parts += [f"Message: {msg}", f"Answer: {ans}", ""]
    parts += [f"Message: {text}", "Answer:"]
    return "\n".join(parts)


@dataclass
class LLMJudge:
    """Few-shot yes/no judge on a local model (default: the settings' `triage_judge` model),
    loaded on first use, so a batch with no uncertain message never loads it."""

    model: Model | None = None
    spec: str = ""
    settings: Any = None  # the Settings the model is opened with (n_ctx, threads, models_dir)
    calls: int = 0
    seconds: float = 0.0
    timings: list[float] = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: str, settings: Any = None) -> LLMJudge:
        from medllm.models import parse_spec

        if parse_spec(spec).backend != "llamacpp":
            # the judge reads the raw message, before any privacy gate: it must run in process
            raise ValueError(f"triage judge {spec!r}: use a local llamacpp: model, or 'off'")
        return cls(spec=spec, settings=settings)

    def _model(self) -> Model:
        if self.model is None:
            from medllm.models import load_model

            # never cache: a message may hold patient text
            self.model = load_model(self.spec, self.settings, cache=False)
        return self.model

    def _p_yes(self, prompt: str) -> float:
        model = self._model()
        t0 = time.perf_counter()
        yes, no = model.loglikelihood([(prompt, " yes"), (prompt, " no")])
        dt = time.perf_counter() - t0
        self.calls += 1
        self.seconds += dt
        self.timings.append(dt)
        return 1.0 / (1.0 + math.exp(no.logprob - yes.logprob))

    def p_emergency(self, text: str) -> float:
        return self._p_yes(_prompt(EMERGENCY_TASK, EMERGENCY_SHOTS, text))

    def p_refuse(self, text: str) -> float:
        return self._p_yes(_prompt(REFUSE_TASK, REFUSE_SHOTS, text))
