"""Request and response records of the HTTP API: OpenAI's chat shapes where a client expects
them, medllm's own records (`Answer`, ...) on the native endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medllm.types import Answer

MAX_TEXT = 20_000  # characters in one question or note


# ---------------------------------------------------------------- OpenAI-compatible


class TextPart(BaseModel):
    type: Literal["text"]
    text: str = Field(max_length=MAX_TEXT)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, Field(max_length=MAX_TEXT)] | Annotated[list[TextPart], Field(max_length=32)] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content)


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request that a medllm pipeline uses; others are ignored.
    The pipeline answers the last user message (each turn is answered on its own, with the
    same safety, privacy and audit steps as `medllm ask`)."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=64)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "medllm"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChoiceMessage
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    medllm: Answer  # the full record: evidence, flags, confidence (clients may ignore it)


# ---------------------------------------------------------------- native


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT)
    options: list[str] | None = Field(default=None, max_length=10, description="multiple-choice options, in order")
    strategy: str | None = Field(default=None, max_length=100, description="one of the server's strategies (GET /v1/models)")
    max_tokens: int | None = Field(default=None, ge=1)
    k: int = Field(default=5, ge=1, le=20, description="passages to retrieve")


class DeidRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    mode: Literal["surrogate", "redact", "tag", "shift"] = "surrogate"


class GenerateRequest(BaseModel):
    job: Literal["note", "summary", "section"] = Field(
        description="note: visit conversation -> clinical note; summary: consumer question -> short "
                    "question; section: conversation snippet -> the note section named by `header`")
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    header: str = Field("GENHX", max_length=64, description="the section to write (job 'section')")
    max_tokens: int | None = Field(None, ge=1, description="tokens per model call (per section for a note)")


class TriageRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class DdxRequest(BaseModel):
    phenotypes: list[str] | None = Field(default=None, max_length=50, description="HPO ids or phenotype names")
    text: str | None = Field(default=None, max_length=MAX_TEXT, description="a case description to link phenotypes from")
    k: int = Field(default=10, ge=1, le=50)


class DdxMatch(BaseModel):
    patient: str
    patient_name: str
    disease_term: str
    disease_term_name: str
    ic: float


class DdxDiagnosis(BaseModel):
    disease_id: str
    name: str
    score: float
    rank: int
    matches: list[DdxMatch]


class DdxResult(BaseModel):
    phenotypes: list[str]  # observed HPO terms
    phenotype_names: list[str]
    excluded: list[str] = Field(default_factory=list)  # HPO terms the patient does not have
    excluded_names: list[str] = Field(default_factory=list)
    diagnoses: list[DdxDiagnosis]


class KbSearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)


class KbHit(BaseModel):
    rank: int
    score: float
    passage_id: str
    title: str
    text: str
    source: str
    url: str | None
    citation: str


class RunInfo(BaseModel):
    run_id: str
    status: str
    dataset: str
    model: str
    mode: str
    strategy: str
    n: int | None
    accuracy: float | None
    created: float
    finished: float | None


class Health(BaseModel):
    status: str
    model: str | None = None
    queue: dict[str, int] = Field(default_factory=dict)
    detail: dict[str, Any] = Field(default_factory=dict)
