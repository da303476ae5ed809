"""The `direct` solver: answer the question as asked, no reasoning steps.

- loglik mode scores every option as lm-evaluation-harness's multiple_choice tasks do: the
  prompt of its `medmcqa` / `pubmedqa` task (see `medllm.tasks.prompts`), continuations " A",
  " B", ... or " yes", " no", " maybe", all on one shared context. `choice` is the argmax of the
  summed log-probability (lm-eval `acc`); `metadata["choice_norm"]` the argmax after dividing by
  the continuation's length in characters (lm-eval `acc_norm`). `option_probs` is the softmax
  over the option log-probabilities and `confidence` its maximum.
- generate mode asks for the answer (chat template when the model has one, else a plain
  completion prompt) and reads it with `medllm.tasks.extract_choice`; a reply with no readable
  option gets `choice=None` and a `parse_failure` flag.
- a question without options (an open question, `medllm ask`) gets a free-text answer in either
  mode, streamed to `ctx.on_token` when set; numbered evidence put in `question.context` by rag /
  kg-rag is shown above it and the model is asked to cite it as [n].
"""

from __future__ import annotations

import dataclasses
import time

from medllm.models.base import ContextTooLong, GenParams, Message
from medllm.reasoning.base import Mode, SolveContext
from medllm.tasks.extract import extract_choice
from medllm.tasks.prompts import chat_messages, generate_prompt, loglik_requests
from medllm.types import Answer, Cost, Flag, Question

# Where a plain completion should stop: the end of the answer paragraph or a new item.
COMPLETION_STOPS = ("\n\n", "\nQuestion:")

FREE_SYSTEM = (
    "You are a careful medical assistant for clinicians. Answer the question accurately and"
    " concisely: the answer first, then a short rationale. If the evidence is uncertain, say so."
    " Do not invent facts, drugs, doses or references."
)
CITE = (" Use the numbered documents where they help and cite each one you use by its number in"
        " square brackets, e.g. [1]. If the documents do not answer the question, say so instead of"
        " guessing.")


def free_messages(q: Question) -> list[Message]:
    """The chat for a free-text answer: the question as written, or below its numbered evidence."""
    from medllm.reasoning.cot import user_text

    if q.metadata.get("evidence_block"):
        return [{"role": "system", "content": FREE_SYSTEM + CITE}, {"role": "user", "content": user_text(q)}]
    return [{"role": "system", "content": FREE_SYSTEM}, {"role": "user", "content": q.question.strip()}]


def _softmax(xs: list[float]) -> list[float]:
    import math

    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [v / s for v in e]


def _argmax(xs: list[float]) -> int:
    # first index wins ties, as numpy.argmax does in lm-eval
    best = 0
    for i, x in enumerate(xs):
        if x > xs[best]:
            best = i
    return best


class DirectSolver:
    name = "direct"
    modes: tuple[Mode, ...] = ("loglik", "generate")

    def __call__(self, question: Question, ctx: SolveContext) -> Answer:
        if not question.options:
            return self._free(question, ctx)
        if ctx.mode == "loglik":
            return self._loglik(question, ctx)
        if ctx.mode == "generate":
            return self._generate(question, ctx)
        raise ValueError(f"unknown mode {ctx.mode!r}; use loglik or generate")

    def _answer(self, q: Question, ctx: SolveContext, choice: str | None, **kw: object) -> Answer:
        text = q.option(choice).text if choice is not None else ""
        return Answer(
            question_id=q.id, choice=choice, text=text, model=ctx.model.info.spec,
            strategy=self.name, **kw,  # type: ignore[arg-type]
        )

    def _loglik(self, q: Question, ctx: SolveContext) -> Answer:
        context, conts = loglik_requests(q, ctx.shots)
        t0 = time.perf_counter()
        results = ctx.model.loglikelihood([(context, c) for c in conts])
        seconds = time.perf_counter() - t0
        lls = [r.logprob for r in results]
        norm = [ll / max(1, len(c.strip())) for ll, c in zip(lls, conts, strict=True)]
        probs = _softmax(lls)
        labels = q.labels
        best, best_norm = _argmax(lls), _argmax(norm)
        cost = Cost(
            calls=1,
            prompt_tokens=ctx.model.count_tokens(context) + sum(r.n_tokens for r in results),
            seconds=seconds,
        )
        return self._answer(
            q, ctx, labels[best],
            confidence=probs[best],
            option_probs=dict(zip(labels, probs, strict=True)),
            cost=cost,
            metadata={
                "option_logprobs": dict(zip(labels, lls, strict=True)),
                "option_is_greedy": dict(zip(labels, [r.is_greedy for r in results], strict=True)),
                "choice_norm": labels[best_norm],
            },
        )

    def _generate(self, q: Question, ctx: SolveContext) -> Answer:
        model, params = ctx.model, ctx.params
        if model.info.supports_chat:
            done = model.chat(chat_messages(q, ctx.shots), params)  # type: ignore[arg-type]
        else:
            if not params.stop:
                params = dataclasses.replace(params, stop=COMPLETION_STOPS)
            done = model.complete(generate_prompt(q, ctx.shots), params)
        choice = extract_choice(done.text, q)
        flags = []
        if choice is None:
            flags.append(Flag(
                kind="parse_failure", severity="warning",
                message="no option could be read from the model's reply",
            ))
        cost = Cost(
            calls=1, prompt_tokens=done.prompt_tokens,
            completion_tokens=done.completion_tokens, seconds=done.seconds,
        )
        return self._answer(q, ctx, choice, raw=done.text, flags=flags, cost=cost)


    def _free(self, q: Question, ctx: SolveContext) -> Answer:
        """A free-text answer, streamed: no options to score, so the mode does not matter."""
        model, params = ctx.model, ctx.params
        messages = free_messages(q)
        n_prompt = sum(model.count_tokens(m["content"]) for m in messages)
        window = model.info.context_window
        if window and n_prompt + params.max_tokens > window:
            raise ContextTooLong(n_prompt, window, params.max_tokens)
        t0 = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        # a chat model only: a base model's backend says it has no chat template (a free answer
        # completed by a base model rambles to the token limit)
        for piece in model.chat_stream(messages, params):
            if not pieces:
                piece = piece.lstrip()  # the shown answer starts at its first word
                if not piece:
                    continue
                first = time.perf_counter() - t0
            pieces.append(piece)
            if ctx.on_token:
                ctx.on_token(piece)
        total = time.perf_counter() - t0
        text = "".join(pieces).strip()
        return Answer(
            question_id=q.id, text=text, raw=text, model=model.info.spec, strategy=self.name,
            cost=Cost(
                calls=1,
                # message contents only: the chat template's few wrapper tokens are not counted
                prompt_tokens=n_prompt,
                completion_tokens=model.count_tokens(text) if text else 0,
                seconds=round(total, 3),
            ),
            metadata={"timings": {"first_token_s": round(first or total, 3), "total_s": round(total, 3)}},
        )


def default_params(max_tokens: int = 64, seed: int = 0) -> GenParams:
    """Greedy decoding with a short budget: a direct answer is a few tokens."""
    return GenParams(max_tokens=max_tokens, temperature=0.0, seed=seed)
