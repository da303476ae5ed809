"""Request and response records of the HTTP API: OpenAI's chat shapes where a client expects
them, medllm's own records (`Answer`, ...) on the native endpoints."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from medllm.types import Answer

MAX_TEXT = 20_000  # characters in one question or note


def _invisible_class() -> str:
    """A regex character class body of the characters that show nothing: controls, format
    characters (zero-width space and joiners, bidi marks, word joiner, BOM, tags), separators,
    whitespace, and the fillers that render blank."""
    cps = [c for c in range(sys.maxunicode + 1)
           if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp") or chr(c).isspace()]
    cps += [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800]  # Hangul fillers, braille blank
    cps = sorted(set(cps))
    esc = lambda c: f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}"  # noqa: E731
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(esc(cps[i]) if i == j else f"{esc(cps[i])}-{esc(cps[j])}")
        i = j + 1
    return "".join(parts)


# At least one character that shows: text of only zero-width or blank characters is refused
# (422), and the schema says so, so generated clients and fuzzers know it.
VISIBLE = f"[^{_invisible_class()}]"
_VISIBLE = re.compile(VISIBLE)


def visible(text: str | None) -> bool:
    return bool(text) and _VISIBLE.search(text) is not None


def _check_visible(text: str) -> str:
    if not visible(text):
        raise ValueError("has no visible characters")
    return text


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, json_schema_extra={"pattern": VISIBLE}),
                 AfterValidator(_check_visible)]


def _short(n: int) -> Any:
    return Annotated[str, Field(min_length=1, max_length=n, json_schema_extra={"pattern": VISIBLE}),
                     AfterValidator(_check_visible)]


# Requests are validated strictly (no "5" for 5, no 1 for true): what the schema says is what
# passes. JSON Schema counts 7.0 as an integer, so an integral float is one here too.
STRICT = ConfigDict(strict=True)


def _integral(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**63 else v


JsonInt = Annotated[int, BeforeValidator(_integral)]


def _int(ge: int, le: int | None = None) -> Any:
    """An integer in [ge, le] (bounds inside the type, so the schema carries them in a union too)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integral)]


# ---------------------------------------------------------------- OpenAI-compatible


class TextPart(BaseModel):
    model_config = STRICT

    type: Literal["text"]
    text: str = Field(max_length=MAX_TEXT)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, Field(max_length=MAX_TEXT)] | Annotated[list[TextPart], Field(max_length=32)] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content)


# The schema's version of ChatRequest's check: some user message has text that shows.
_ANSWERABLE = {"required": ["role", "content"], "properties": {
    "role": {"const": "user"},
    "content": {"anyOf": [{"type": "string", "pattern": VISIBLE},
                          {"type": "array", "contains": {"required": ["text"], "properties": {
                              "text": {"type": "string", "pattern": VISIBLE}}}}]}}}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request that a medllm pipeline uses; others are ignored.
    The pipeline answers the last user message (each turn is answered on its own, with the
    same safety, privacy and audit steps as `medllm ask`)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    model: str = Field(max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=64, json_schema_extra={"contains": _ANSWERABLE})
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: _int(1) | None = None  # type: ignore[valid-type]
    max_completion_tokens: _int(1) | None = None  # type: ignore[valid-type]
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: _int(0, 2**31 - 1) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _answerable(self) -> ChatRequest:
        if self.question() is None:
            raise ValueError("no user message with visible text to answer")
        return self

    def question(self) -> str | None:
        """The last user message whose text shows: what the pipeline answers."""
        for m in reversed(self.messages):
            if m.role == "user" and visible(m.text()):
                return m.text()
        return None


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
    finish_reason: Literal["stop", "length"] = "stop"  # length: cut by max_tokens


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
    model_config = STRICT

    question: Text
    options: list[_short(2000)] | None = Field(default=None, min_length=2, max_length=10,  # type: ignore[valid-type]
                                               description="multiple-choice options, in order")
    strategy: str | None = Field(default=None, max_length=100, description="one of the server's strategies (GET /v1/models)")
    max_tokens: _int(1) | None = None  # type: ignore[valid-type]
    k: JsonInt = Field(default=5, ge=1, le=20, description="passages to retrieve")


class DeidRequest(BaseModel):
    model_config = STRICT

    text: Text
    mode: Literal["surrogate", "redact", "tag", "shift"] = "surrogate"


class GenerateRequest(BaseModel):
    model_config = STRICT

    job: Literal["note", "summary", "section"] = Field(
        description="note: visit conversation -> clinical note; summary: consumer question -> short "
                    "question; section: conversation snippet -> the note section named by `header`")
    text: Text
    header: _short(64) = Field("GENHX", description="the section to write (job 'section')")  # type: ignore[valid-type]
    max_tokens: _int(1) | None = Field(None, description="tokens per model call (per section for a note)")  # type: ignore[valid-type]


class TriageRequest(BaseModel):
    model_config = STRICT

    text: Text


class DdxRequest(BaseModel):
    """Phenotypes and/or a case text; with neither (or nothing recognised) the differential is empty."""

    model_config = STRICT

    phenotypes: list[str] | None = Field(default=None, max_length=50, description="HPO ids or phenotype names")
    text: str | None = Field(default=None, max_length=MAX_TEXT, description="a case description to link phenotypes from")
    k: JsonInt = Field(default=10, ge=1, le=50)


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
    model_config = STRICT

    query: _short(2000)  # type: ignore[valid-type]
    k: JsonInt = Field(default=5, ge=1, le=50)


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
