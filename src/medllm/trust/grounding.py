"""Grounding: split a text into claims and check each against its evidence.

Answers with citations (`check_grounding`): two checks, both must pass for a claim to count:
- a lexical-overlap floor: enough of the claim's content words occur in the cited passages
  (cheap, catches claims with no basis at all);
- the model as a strict judge: log P(" yes") vs log P(" no") after a prompt asking whether the
  passages state the claim (log-likelihood, so even small models give a usable verdict).

Generated text against its source (`check_against_source`: a note against the visit
conversation, a summary against the question): each statement gets a verdict from an
`EntailmentJudge` (entailed / contradicted / neutral) against the source, cut into windows of a
few turns or sentences; the factuality of the text is the share of its statements entailed. The
same judges decide whether an open answer entails or contradicts a reference statement (K-QA).
Two judges, measured against hand-labelled pairs in `benchmarks/entailment.py`:
- `EmbeddingJudge`: all-MiniLM-L6-v2 cosine of the statement with its best source window, and a
  negation rule (a close window whose polarity differs contradicts);
- `ModelJudge`: a local model choosing " yes" / " no" / " unclear" by log-likelihood after the
  statement and the source windows most like it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
    verdict: str | None = None  # entailed / contradicted / neutral (checks against a source)
    evidence: str | None = None  # the source window the judge found closest


@dataclass
class GroundingReport:
    claims: list[ClaimCheck] = field(default_factory=list)

    @property
    def supported_share(self) -> float:
        return sum(c.supported for c in self.claims) / len(self.claims) if self.claims else float("nan")

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


# ------------------------------------------------------------------ against a source

Verdict = Literal["entailed", "contradicted", "neutral"]
VERDICTS: tuple[Verdict, ...] = ("entailed", "contradicted", "neutral")

# Negation cues: clinical (NegEx-style) and conversational; they decide a close window's polarity.
_NEG = re.compile(r"\b(no|not|never|none|denie[sd]|deny|denying|without|negative|absent|cannot|"
                  r"neither|nor|free of|ruled out|unremarkable)\b|n't\b", re.I)
_HEADER = re.compile(r"^[A-Z0-9 /&,()-]{3,}:?$")  # an all-capitals section heading, not a claim


def negated(text: str, about: set[str] | None = None, reach: int = 6) -> bool:
    """Whether `text` holds a negation cue; with `about` (content words), only a cue followed
    within `reach` words by one of them counts ("not getting the supply" does not negate
    "cetirizine")."""
    if about is None:
        return bool(_NEG.search(text))
    for m in _NEG.finditer(text):
        after = re.findall(r"[a-z0-9]+", text[m.end():].lower())[:reach]
        if {_stem(w) for w in after} & about:
            return True
    return False


def statements(text: str) -> list[str]:
    """The claims of a generated text: sentences and list items, without section headings,
    bullets or citation marks; fragments of fewer than two content words are left out."""
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("•*-–· ").strip()
        if not line or _HEADER.match(line):
            continue
        for claim, _ in split_claims(line):
            out.append(claim)
    return out


def source_windows(source: str, size: int = 2) -> list[str]:
    """The source cut into overlapping windows of `size` consecutive units: the turns of a
    conversation (one per line), else sentences. A statement is judged against its closest
    windows, so it need not match the whole source."""
    units = [u.strip() for u in source.splitlines() if u.strip()]
    if len(units) <= 1:
        units = [u.strip() for u in re.split(r"(?<=[.!?])\s+", source) if u.strip()]
    if len(units) <= size:
        return [" ".join(units)] if units else []
    return [" ".join(units[i:i + size]) for i in range(len(units) - size + 1)]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    score: float  # the judge's own strength: a cosine, or a log-probability margin
    evidence: str  # the source window it rests on


class EntailmentJudge(Protocol):
    """Decides, for each hypothesis, whether the premise entails it, contradicts it or neither."""

    name: str

    def judge(self, premise: str, hypotheses: Sequence[str]) -> list[Judgement]: ...


class EmbeddingJudge:
    """Entailed when the closest premise window is at least `entail` cosine-similar to the
    hypothesis and has the same polarity (both negated or neither); contradicted when a window
    at least `contradict` similar has the opposite polarity; neutral otherwise. Thresholds are
    chosen on folds of the hand-labelled pairs (`benchmarks/entailment.py`)."""

    def __init__(self, embedder: Any = None, entail: float = 0.6, contradict: float = 0.6, size: int = 2):
        if embedder is None:
            from medllm.knowledge.retrievers import shared_embedder

            embedder = shared_embedder()
        self.embedder, self.entail, self.contradict, self.size = embedder, entail, contradict, size
        self.name = f"minilm-negation(entail>={entail:.2f}, contradict>={contradict:.2f})"

    def similarities(self, premise: str, hypotheses: Sequence[str]) -> tuple[list[str], Any]:
        """(windows, hypotheses x windows cosine matrix)."""
        windows = source_windows(premise, self.size) or [premise]
        v = self.embedder.encode([*hypotheses, *windows])
        return windows, v[: len(hypotheses)] @ v[len(hypotheses):].T

    def judge(self, premise: str, hypotheses: Sequence[str]) -> list[Judgement]:
        if not hypotheses:
            return []
        windows, sims = self.similarities(premise, hypotheses)
        out = []
        for h, row in zip(hypotheses, sims, strict=True):
            best = int(row.argmax())
            score, win = float(row[best]), windows[best]
            shared = content_words(h) & content_words(win)  # polarity of what the two share
            same = negated(h, shared) == negated(win, shared)
            if score >= self.entail and same:
                v: Verdict = "entailed"
            elif score >= self.contradict and not same:
                v = "contradicted"
            else:
                v = "neutral"
            out.append(Judgement(v, score, win))
        return out


ENTAIL_PROMPT = (
    "Read the text and decide whether it supports the statement.\n\nText:\n{premise}\n\n"
    "Statement: {hypothesis}\n\nAnswer yes if the text says the statement is true, no if the text "
    "says it is false, unclear if the text does not say.\nAnswer:"
)


class ModelJudge:
    """A local model as the judge: for each hypothesis, the `k` premise windows most like it
    (MiniLM) are the text, and the verdict is the likeliest of " yes" / " no" / " unclear"
    (`calibrate`: less the log-probabilities for a content-free text; off by default, since on the
    hand-labelled pairs it turned the 0.5B's "no" lean into a "yes" lean)."""

    ANSWERS: tuple[tuple[str, Verdict], ...] = ((" yes", "entailed"), (" no", "contradicted"), (" unclear", "neutral"))

    def __init__(self, model: Model, embedder: Any = None, k: int = 3, size: int = 2, calibrate: bool = False):
        self.model, self.k, self.calibrate = model, k, calibrate
        self.ranker = EmbeddingJudge(embedder, size=size)
        how = ", calibrated on a content-free text" if calibrate else ""
        self.name = f"{model.info.name} yes/no/unclear by log-likelihood over the {k} closest windows{how}"

    def _logprobs(self, premise: str, hypothesis: str) -> list[float]:
        ctx = ENTAIL_PROMPT.format(premise=premise, hypothesis=hypothesis)
        return [r.logprob for r in self.model.loglikelihood([(ctx, a) for a, _ in self.ANSWERS])]

    def judge(self, premise: str, hypotheses: Sequence[str]) -> list[Judgement]:
        if not hypotheses:
            return []
        windows, sims = self.ranker.similarities(premise, hypotheses)
        out = []
        for h, row in zip(hypotheses, sims, strict=True):
            top = sorted(row.argsort()[::-1][: self.k].tolist())  # in source order
            text = "\n".join(windows[i] for i in top)
            lps = self._logprobs(text, h)
            if self.calibrate:  # small models lean to one answer; "N/A" as the text measures the lean
                lps = [a - b for a, b in zip(lps, self._logprobs("N/A", h), strict=True)]
            best = max(range(3), key=lambda i: lps[i])
            second = max(lp for i, lp in enumerate(lps) if i != best)
            out.append(Judgement(self.ANSWERS[best][1], lps[best] - second, windows[int(row.argmax())]))
        return out


def check_against_source(text: str, source: str, judge: EntailmentJudge) -> GroundingReport:
    """Each statement of `text` (a generated note or summary) judged against `source` (the
    conversation or question it was written from); supported = entailed."""
    claims = statements(text)
    report = GroundingReport()
    for claim, j in zip(claims, judge.judge(source, claims), strict=True):
        report.claims.append(ClaimCheck(claim, [], lexical_support(claim, [source]), j.score,
                                        j.verdict == "entailed", j.verdict, j.evidence))
    return report
