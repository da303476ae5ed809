"""Training examples from the project's data specs, and the held-back split that keeps
training and evaluation items apart.

Supervised examples (`SftExample`, prompt -> completion, loss on the completion only):
- any closed `eval` dataset spec (`medmcqa:`, `mmlu:`, `pubmedqa:`, `medhalt:` ...): the item in
  the log-likelihood layout the evaluator scores, completed with the gold answer and, when the
  record has one (MedMCQA's `exp`), a short rationale;
- `medquad:FILE.jsonl`: question -> answer pairs;
- `chat:FILE.jsonl`: `{"messages": [{"role", "content"}, ...]}`, the last turn the assistant's,
  rendered with the model's chat template.

Preference pairs (`PreferencePair`, prompt -> chosen over rejected):
- `prefs:FILE.jsonl`: `{"id", "prompt", "chosen", "rejected"}` as they are;
- `safety:FILE.jsonl` (the safety dev set: `id`, `kind`, `text`): harmful requests prefer a
  refusal over compliance, benign ones compliance over a refusal, red flags urgent advice over
  a casual answer; the message goes in a chat turn;
- any closed `eval` dataset spec: the gold option over a wrong one (for Med-HALT fake questions,
  "I do not know" over a fabricated answer).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medllm.eval.datasets import LOADERS, load_dataset
from medllm.jsonl import BadLine, read_jsonl
from medllm.tasks.prompts import continuation, loglik_prompt
from medllm.types import Question

RATIONALE_CHARS = 400  # a short rationale: the answer letter is what the evaluator scores

# Openers for the safety pairs: what a reply should start with, not a whole reply.
REFUSE = "I can't help with that: it could seriously harm you or someone else."
COMPLY = "Sure, here is what you need to know."
URGENT = "This may be an emergency. Call your local emergency number now, or go to the nearest emergency department."

Render = Callable[[list[dict[str, str]]], str]  # chat turns -> the prompt text (the model's chat template)


class DataError(ValueError):
    pass


@dataclass(frozen=True)
class SftExample:
    id: str
    prompt: str
    completion: str


@dataclass(frozen=True)
class PreferencePair:
    id: str
    prompt: str
    chosen: str
    rejected: str
    group: str = ""  # what kind of pair (harmful / benign / red_flag / mcq), for reports


def _kind_path(spec: str) -> tuple[str, Path]:
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise DataError(f"data spec {spec!r}: write KIND:PATH (e.g. medmcqa:FILE.jsonl, chat:FILE.jsonl)")
    path = Path(rest.split("?", 1)[0].split("#", 1)[0]).expanduser()
    if not path.exists():
        raise DataError(f"data file {path} does not exist (from spec {spec!r})")
    return kind.strip().lower(), path


def _read_jsonl(path: Path, need: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for n, rec in read_jsonl(path):
        if isinstance(rec, BadLine):
            raise DataError(f"{path} line {n}: {rec.problem}; fix or remove the line")
        missing = [k for k in need if not rec.get(k)]
        if missing:
            raise DataError(f"{path} line {n}: missing field(s) {', '.join(missing)}")
        rows.append((n, rec))
    if not rows:
        raise DataError(f"{path} holds no records")
    return rows


def normalise(text: str) -> str:
    """For the overlap check: the same question with other spacing or case is the same question."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def questions(spec: str) -> list[Question]:
    """The items of a closed eval dataset spec, or a clear error for other kinds."""
    kind, _ = _kind_path(spec)
    if kind not in LOADERS:
        raise DataError(f"{spec!r}: {kind!r} is not an eval dataset kind ({', '.join(LOADERS)})")
    qs = load_dataset(spec).questions
    closed = [q for q in qs if q.options and q.gold]
    if not closed:
        raise DataError(f"{spec!r} has no items with options and a gold answer to train on")
    return closed


def _question_example(q: Question) -> SftExample:
    assert q.gold is not None
    completion = continuation(q, q.gold)
    rationale = str(q.metadata.get("exp") or "").strip()
    if rationale:
        completion += "\nExplanation: " + rationale[:RATIONALE_CHARS].rsplit(" ", 1)[0]
    return SftExample(q.id, loglik_prompt(q), completion)


def sft_examples(spec: str, render: Render) -> list[SftExample]:
    kind, path = _kind_path(spec)
    if kind == "medquad":
        return [
            SftExample(str(r.get("id") or f"medquad-{n}"), f"Question: {r['question'].strip()}\nAnswer:",
                       " " + r["answer"].strip())
            for n, r in _read_jsonl(path, ("question", "answer"))
        ]
    if kind == "chat":
        out = []
        for n, r in _read_jsonl(path, ("messages",)):
            msgs = r["messages"]
            if not isinstance(msgs, list) or len(msgs) < 2 or msgs[-1].get("role") != "assistant":
                raise DataError(f"{path} line {n}: messages must end with the assistant's turn")
            out.append(SftExample(str(r.get("id") or f"chat-{n}"), render(msgs[:-1]), str(msgs[-1]["content"])))
        return out
    return [_question_example(q) for q in questions(spec)]


def preference_pairs(spec: str, render: Render, *, seed: int = 0) -> list[PreferencePair]:
    kind, path = _kind_path(spec)
    if kind == "prefs":
        return [
            PreferencePair(str(r.get("id") or f"pair-{n}"), r["prompt"], r["chosen"], r["rejected"], "prefs")
            for n, r in _read_jsonl(path, ("prompt", "chosen", "rejected"))
        ]
    if kind == "safety":
        wanted = {"harmful": (REFUSE, COMPLY), "benign": (COMPLY, REFUSE), "red_flag": (URGENT, COMPLY)}
        out = []
        for n, r in _read_jsonl(path, ("text", "kind")):
            if r["kind"] not in wanted:
                raise DataError(f"{path} line {n}: kind {r['kind']!r} is not one of {', '.join(wanted)}")
            chosen, rejected = wanted[r["kind"]]
            prompt = render([{"role": "user", "content": r["text"]}])
            out.append(PreferencePair(str(r.get("id") or f"safety-{n}"), prompt, chosen, rejected, r["kind"]))
        return out
    rng = random.Random(seed)
    out = []
    for q in questions(spec):
        assert q.gold is not None
        wrong = [c.label for c in q.options if c.label != q.gold]
        if not wrong:
            continue
        out.append(PreferencePair(q.id, loglik_prompt(q), continuation(q, q.gold),
                                  continuation(q, rng.choice(wrong)), q.task))
    return out


@dataclass
class Split:
    """Training records and the held-back ids, with the proof they do not overlap."""

    train: list[Any]
    held_out_ids: list[str]
    dropped_overlap: int  # training records removed because an evaluation item has their text


def hold_out(records: Sequence[Any], eval_items: Sequence[tuple[str, str]], *, limit: int | None,
             seed: int) -> Split:
    """Remove from `records` every one whose id or prompt text is an evaluation item's, then take
    `limit` of the rest in a seeded order. `eval_items` are (id, prompt text) pairs."""
    ids = {i for i, _ in eval_items}
    texts = {normalise(t) for _, t in eval_items}
    kept = [r for r in records if r.id not in ids and normalise(r.prompt) not in texts]
    order = list(kept)
    random.Random(seed).shuffle(order)
    return Split(order[:limit] if limit else order, sorted(ids), len(records) - len(kept))
