"""Grounding: split an answer into claims and check each against the evidence it cites.

Two checks, both must pass for a claim to count as supported:
- a lexical-overlap floor: enough of the claim's content words occur in the cited passages
  (cheap, catches claims with no basis at all);
- the model as a strict judge: log P(" yes") vs log P(" no") after a prompt asking whether the
  passages state the claim (log-likelihood, so even small models give a usable verdict).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medllm.models.base import Model
from medllm.types import Answer, Evidence, Flag

_STOP = set(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those there which who whom what when where why how can could may "
    "might should would will not no do does did has have had than then so such also into about "
    "over under more most less very many much some any each other their they them he she his "
    "her we our you your i".split()
)
JUDGE_PROMPT = (
    "You are a strict fact checker. Answer yes only if the passages explicitly state the claim; "
    "answer no if the claim is missing, different or only implied.\n\nPassages:\n{passages}\n\n"
    "Claim: {claim}\nIs the claim stated in the passages? Answer:"
)


def _stem(w: str) -> str:
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) > 2}


def split_claims(answer_text: str) -> list[tuple[str, list[int]]]:
    """(claim without citation marks, cited evidence indexes) per sentence."""
    out = []
    for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\[])|\n+", answer_text.strip()):
        cites = [int(n) for n in re.findall(r"\[(\d+)\]", sent)]
        claim = re.sub(r"\s*\[\d+\]", "", sent).strip()
        if len(content_words(claim)) >= 2:
            out.append((claim, cites))
    return out


def lexical_support(claim: str, passages: Sequence[str]) -> float:
    words = content_words(claim)
    if not words:
        return 1.0
    have = content_words(" ".join(passages))
    return len(words & have) / len(words)


@dataclass
class ClaimCheck:
    claim: str
    cited: list[int]
    overlap: float
    judge_margin: float | None  # log P(yes) - log P(no); None when the judge was not asked
    supported: bool


@dataclass
class GroundingReport:
    claims: list[ClaimCheck] = field(default_factory=list)

    @property
    def unsupported_rate(self) -> float:
        return sum(not c.supported for c in self.claims) / len(self.claims) if self.claims else 0.0

    def flags(self) -> list[Flag]:
        bad = sum(not c.supported for c in self.claims)
        if not bad:
            return []
        return [Flag(kind="ungrounded", severity="warning",
                     message=f"{bad} of {len(self.claims)} claims are not supported by their cited evidence")]


def check_grounding(answer: Answer, model: Model | None = None, *, min_overlap: float = 0.5,
                    cite_all_when_uncited: bool = True) -> GroundingReport:
    """Check each claim of `answer.text` against the evidence it cites (all evidence when a
    claim cites none and `cite_all_when_uncited`). Without a model only the lexical floor runs."""
    if not 0 <= min_overlap <= 1:
        raise ValueError(f"min_overlap must be in [0, 1], got {min_overlap}")
    by_index: dict[int, Evidence] = {e.index: e for e in answer.evidence}
    report = GroundingReport()
    for claim, cites in split_claims(answer.text):
        idx = [i for i in cites if i in by_index] or (list(by_index) if cite_all_when_uncited and not cites else [])
        passages = [by_index[i].text for i in idx]
        overlap = lexical_support(claim, passages) if passages else 0.0
        margin = None
        ok = bool(passages) and overlap >= min_overlap
        if ok and model is not None:
            ctx = JUDGE_PROMPT.format(passages="\n".join(f"[{i}] {by_index[i].text}" for i in idx), claim=claim)
            yes, no = model.loglikelihood([(ctx, " yes"), (ctx, " no")])
            margin = yes.logprob - no.logprob
            ok = margin > 0
        report.claims.append(ClaimCheck(claim, cites, overlap, margin, ok))
    return report


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def attribute_citations(answer: Answer, min_overlap: float = 0.6) -> Answer:
    """Sources for an answer whose model cited none: each sentence gets the evidence passage
    holding most of its content words, as [n], when that passage holds at least `min_overlap` of
    them (the lexical floor of `check_grounding`). The answer says so: `metadata["citations"]`
    is "attributed" and an info flag explains it. Answers that cite, choices and answers without
    evidence come back unchanged."""
    if answer.choice is not None or not answer.evidence or answer.metadata.get("cited"):
        return answer
    if re.search(r"\[\d+\]", answer.text):
        return answer  # the model cited, if only numbers the prompt did not have
    out: list[str] = []
    cited: list[int] = []
    last = 0
    for m in _SENTENCE.finditer(answer.text):
        sent = m.group(0)
        words = content_words(sent)
        best, score = None, 0.0
        if len(words) >= 2:
            for e in answer.evidence:
                s = lexical_support(sent, [e.text])
                if s > score:
                    best, score = e.index, s
        out.append(answer.text[last:m.start()])
        if best is not None and score >= min_overlap:
            body = sent.rstrip()
            stop = len(body.rstrip(".!?"))
            out.append(f"{body[:stop]} [{best}]{body[stop:]}{sent[len(body):]}")
            if best not in cited:
                cited.append(best)
        else:
            out.append(sent)
        last = m.end()
    out.append(answer.text[last:])
    if not cited:
        return answer
    flag = Flag(kind="citations_attributed", severity="info",
                message="the model cited no source; each [n] marks the passage that contains most of the sentence's words")
    return answer.model_copy(update={"text": "".join(out), "flags": [*answer.flags, flag],
                                     "metadata": {**answer.metadata, "cited": cited, "citations": "attributed"}})
