"""The shared records: one type goes in (`Question`), one comes out (`Answer`).

Every strategy, task, the evaluation harness, the trust layer and the service speak these, so
anything that answers can be evaluated, audited and served without glue.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

TaskKind = Literal["mcq", "yesno", "nli", "open", "fake", "ner", "assertion", "note", "section", "summary", "kqa",
                   "rubric"]
"""mcq: pick one option; yesno: yes/no/maybe; nli: supports/refutes/neutral;
open: free text; fake: a nonsense question the model should decline (Med-HALT);
ner: tag a sentence's tokens (IOB); assertion: is a target mention negated, historical, ... (NegEx);
note / section / summary: generate a visit note, a note section, a short question (gold: the
reference text); kqa: a free-text answer scored against must-have statements; rubric: a reply
scored against rubric criteria (HealthBench)."""


class Choice(BaseModel):
    """One answer option. `label` is what a model must output ("A", or "yes")."""

    label: str
    text: str


class Question(BaseModel):
    """One item to answer: an exam question, a yes/no research question, a claim, a free query."""

    id: str
    question: str
    options: list[Choice] = Field(default_factory=list)
    gold: str | None = None  # the gold option label (or reference text for open questions)
    context: list[str] = Field(default_factory=list)  # passages that come with the item
    subject: str | None = None
    task: TaskKind = "mcq"
    metadata: dict[str, Any] = Field(default_factory=dict)

    def option(self, label: str) -> Choice:
        for c in self.options:
            if c.label == label:
                return c
        raise KeyError(f"question {self.id!r} has no option {label!r}")

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.options]


class Document(BaseModel):
    """A source document before chunking."""

    id: str
    title: str = ""
    text: str
    source: str = ""  # corpus name, e.g. "medquad", "hpo", "icd10cm"
    url: str | None = None
    license: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Passage(BaseModel):
    """A retrievable chunk of a document; `id` is stable across rebuilds."""

    id: str
    doc_id: str
    title: str = ""
    text: str
    source: str = ""
    url: str | None = None
    license: str | None = None

    def citation(self) -> str:
        where = self.url or self.doc_id
        return f"{self.title} ({self.source}: {where})" if self.title else f"{self.source}: {where}"


class Evidence(BaseModel):
    """A passage put in front of the model, as the answer cites it ([n] = `index`)."""

    index: int
    passage_id: str
    text: str
    citation: str
    source: str = ""
    score: float | None = None


class Span(BaseModel):
    """A character span of an input text with a label (PHI category, entity type, concept)."""

    start: int
    end: int
    label: str
    text: str
    concept_id: str | None = None
    polarity: Literal["present", "negated"] = "present"
    score: float | None = None
    # clinical extraction (medllm.tasks.ie): the concept's name, ConText assertion, where it sits
    concept: str | None = None
    assertion: Literal["present", "negated", "possible"] | None = None
    temporality: Literal["recent", "historical", "hypothetical"] | None = None
    experiencer: Literal["patient", "other"] | None = None
    section: str | None = None


class Flag(BaseModel):
    """A trust-layer signal attached to an answer (red flag, refusal, PHI gate, abstention ...)."""

    kind: str
    message: str
    severity: Literal["info", "warning", "critical"] = "info"


class Cost(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, other: Cost) -> Cost:
        return Cost(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=self.seconds + other.seconds,
        )


class Answer(BaseModel):
    """What every strategy returns."""

    question_id: str | None = None
    text: str = ""  # the answer as shown to a person
    choice: str | None = None  # the chosen option label, for mcq / yesno / nli
    rationale: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    confidence: float | None = None  # None when unknown
    option_probs: dict[str, float] | None = None  # softmax over option scores
    flags: list[Flag] = Field(default_factory=list)
    model: str = ""
    strategy: str = ""
    cost: Cost = Field(default_factory=Cost)
    raw: str = ""  # the model's raw output
    metadata: dict[str, Any] = Field(default_factory=dict)
