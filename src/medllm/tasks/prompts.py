"""Prompt formats for the closed tasks (mcq, yes/no/maybe, nli, fake), in both scoring modes.

Log-likelihood prompts follow lm-evaluation-harness so figures are comparable:
- mcq (its `medmcqa` task): "Question: ...\\nChoices:\\nA. ...\\n...\\nAnswer:" scored on the
  continuations " A", " B", ... (target delimiter " ");
- yes/no/maybe (its `pubmedqa` task): "Abstract: <contexts joined by newline>\\nQuestion: ...
  \\nAnswer:" scored on " yes", " no", " maybe"; without contexts the "Abstract:" line is left out
  (MIRAGE's PubMedQA*);
- k-shot: each exemplar is its prompt + " " + its gold continuation, exemplars joined by a blank
  line before the item (lm-eval's fewshot_delimiter "\\n\\n").
NLI and fake questions have no lm-eval task; they reuse the same shapes (NLI scored on the label
words, fake questions as lettered options with an "I do not know" option).
"""

from __future__ import annotations

from collections.abc import Sequence

from medllm.types import Question

FEWSHOT_DELIMITER = "\n\n"
TARGET_DELIMITER = " "

NLI_LABELS = ("supports", "refutes", "neutral")
YESNO_LABELS = ("yes", "no", "maybe")


def _context_block(q: Question) -> str:
    if not q.context:
        return ""
    head = "Evidence" if q.task == "nli" else "Abstract"
    return f"{head}: " + "\n".join(c.strip() for c in q.context) + "\n"


def question_text(q: Question) -> str:
    """The item as the model reads it, without the trailing "Answer:" cue."""
    if q.task == "yesno":
        return f"{_context_block(q)}Question: {q.question.strip()}"
    if q.task == "nli":
        return (
            f"{_context_block(q)}Claim: {q.question.strip()}\n"
            "Question: Does the evidence support the claim, refute it, or neither (neutral)?"
        )
    # mcq and fake: lettered options
    lines = [f"{_context_block(q)}Question: {q.question.strip()}", "Choices:"]
    lines += [f"{c.label}. {c.text.strip()}" for c in q.options]
    return "\n".join(lines)


def loglik_prompt(q: Question) -> str:
    return question_text(q) + "\nAnswer:"


def continuation(q: Question, label: str) -> str:
    """What the model must continue the prompt with to pick option `label`."""
    return TARGET_DELIMITER + label


def fewshot_prefix(shots: Sequence[Question]) -> str:
    """Solved exemplars in lm-eval's layout, ending with the delimiter before the item."""
    parts = []
    for s in shots:
        if s.gold is None:
            raise ValueError(f"few-shot exemplar {s.id!r} has no gold answer; pick another file")
        parts.append(loglik_prompt(s) + continuation(s, s.gold))
    return FEWSHOT_DELIMITER.join(parts) + FEWSHOT_DELIMITER if parts else ""


def loglik_requests(q: Question, shots: Sequence[Question] = ()) -> tuple[str, list[str]]:
    """(shared context, one continuation per option in `q.options` order)."""
    if not q.options:
        raise ValueError(f"question {q.id!r} has no options; log-likelihood scoring needs them")
    ctx = fewshot_prefix(shots) + loglik_prompt(q)
    return ctx, [continuation(q, c.label) for c in q.options]


def instruction(q: Question) -> str:
    """What to ask for in generate mode; the extractor in `tasks.extract` reads the reply."""
    if q.task == "yesno":
        return "Answer the question with yes, no or maybe. Reply in the form 'Answer: yes'."
    if q.task == "nli":
        return (
            "Decide whether the evidence supports or refutes the claim, or is neutral. "
            "Reply in the form 'Answer: supports', 'Answer: refutes' or 'Answer: neutral'."
        )
    letters = ", ".join(q.labels)
    extra = (
        " If the question is nonsensical or cannot be answered, choose the 'I do not know' option."
        if q.task == "fake"
        else ""
    )
    return (
        f"Choose the single best option ({letters}).{extra} "
        "Reply in the form 'Answer: X' where X is the option's letter."
    )


def generate_prompt(q: Question, shots: Sequence[Question] = ()) -> str:
    """Plain completion prompt: instruction, solved exemplars, the item, "Answer:"."""
    body = fewshot_prefix(shots) + loglik_prompt(q)
    return instruction(q) + "\n\n" + body


def chat_messages(q: Question, shots: Sequence[Question] = ()) -> list[dict[str, str]]:
    """Chat prompt: exemplars as earlier user/assistant turns, then the item."""
    msgs: list[dict[str, str]] = [
        {"role": "system", "content": "You are a careful medical expert. " + instruction(q)}
    ]
    for s in shots:
        msgs.append({"role": "user", "content": question_text(s)})
        msgs.append({"role": "assistant", "content": f"Answer: {s.gold}"})
    msgs.append({"role": "user", "content": question_text(q)})
    return msgs
