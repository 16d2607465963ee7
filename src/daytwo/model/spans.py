"""Traces and spans as they are sent to the server and read back from it.

An ingest record is a partial view: a span may be sent once when it starts and
again when it ends, in either order, and the server merges what it receives.
Every field is therefore optional except the ids; a field left out (``None``)
keeps whatever the server already holds.

Token usage follows the OpenTelemetry GenAI conventions: ``input_tokens``
includes cached tokens (read and written) and ``output_tokens`` includes
reasoning tokens. The breakdowns are kept so that cost can price them apart.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daytwo.model.ids import normalize_span_id, normalize_trace_id
from daytwo.model.scores import ScoreIn


class SpanKind(StrEnum):
    """What a span does; decides which details it carries and how it is shown."""

    LLM = "llm"
    RETRIEVAL = "retrieval"
    EMBEDDING = "embedding"
    RERANKER = "reranker"
    TOOL = "tool"
    AGENT = "agent"
    CHAIN = "chain"
    GUARDRAIL = "guardrail"
    EVALUATOR = "evaluator"
    GENERAL = "general"


class SpanStatus(StrEnum):
    """The OpenTelemetry status codes, lowercased."""

    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class CostSource(StrEnum):
    """Where a span's cost came from."""

    COMPUTED = "computed"
    GIVEN = "given"
    UNKNOWN = "unknown"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ErrorInfo(_Record):
    """An exception recorded on a span."""

    type: str | None = None
    message: str | None = None
    stack: str | None = None


class ToolCall(_Record):
    """A tool call requested by a model inside a message."""

    id: str | None = None
    name: str | None = None
    arguments: Any = None


class Message(_Record):
    """One chat message exactly as it was sent to or received from a model."""

    role: str | None = None
    content: Any = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class PromptRef(_Record):
    """A reference to the versioned prompt that produced an llm call."""

    name: str
    version: str | None = None
    label: str | None = None


class TokenUsage(_Record):
    """Tokens used by one model call (GenAI conventions: totals include breakdowns)."""

    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    cache_read_tokens: int | None = Field(default=None, ge=0)
    cache_write_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())


class Cost(_Record):
    """A cost in US dollars; ``source`` tells whether it was given or computed."""

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    total: float | None = Field(default=None, ge=0)
    source: CostSource = CostSource.GIVEN

    @model_validator(mode="after")
    def _fill_total(self) -> "Cost":
        if self.total is None and self.source is not CostSource.UNKNOWN:
            if self.input is None and self.output is None:
                raise ValueError("a cost needs at least one of total, input or output")
            self.total = (self.input or 0.0) + (self.output or 0.0)
        return self


class LlmDetail(_Record):
    """What an llm span sent to and received from the model."""

    provider: str | None = None
    model: str | None = None
    invocation_parameters: dict[str, Any] | None = None
    input_messages: list[Message] | None = None
    output_messages: list[Message] | None = None
    prompt_template: str | None = None
    prompt_variables: dict[str, Any] | None = None
    prompt: PromptRef | None = None
    time_to_first_token_ms: float | None = Field(default=None, ge=0)


class Document(_Record):
    """A document returned by a retriever or reranker."""

    id: str | None = None
    content: str | None = None
    score: float | None = None
    metadata: dict[str, Any] | None = None


class RetrievalDetail(_Record):
    """The query a retriever ran and the documents it returned, best first."""

    query: str | None = None
    documents: list[Document] | None = None


class ToolDetail(_Record):
    """A tool invocation: which tool, with what arguments, and what it returned."""

    name: str | None = None
    description: str | None = None
    arguments: Any = None
    result: Any = None


class SpanIn(_Record):
    """A span to create or to merge into one already stored."""

    trace_id: str
    id: str
    parent_id: str | None = None
    project: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=1000)
    kind: SpanKind | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    status: SpanStatus | None = None
    error: ErrorInfo | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    llm: LlmDetail | None = None
    usage: TokenUsage | None = None
    cost: Cost | None = None
    retrieval: RetrievalDetail | None = None
    tool: ToolDetail | None = None
    attributes: dict[str, Any] | None = None
    thread_id: str | None = Field(default=None, max_length=500)
    user_id: str | None = Field(default=None, max_length=500)

    _normalize_trace_id = field_validator("trace_id")(normalize_trace_id)
    _normalize_span_id = field_validator("id")(normalize_span_id)

    @field_validator("parent_id")
    @classmethod
    def _normalize_parent(cls, value: str | None) -> str | None:
        return None if value is None else normalize_span_id(value)


class TraceIn(_Record):
    """Trace-level facts to create or merge: name, payloads, thread and user."""

    id: str
    project: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=1000)
    start_time: datetime | None = None
    end_time: datetime | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    thread_id: str | None = Field(default=None, max_length=500)
    user_id: str | None = Field(default=None, max_length=500)

    _normalize_id = field_validator("id")(normalize_trace_id)


class IngestBatch(_Record):
    """One request of the native ingest API."""

    traces: list[TraceIn] = Field(default_factory=list)
    spans: list[SpanIn] = Field(default_factory=list)
    scores: list[ScoreIn] = Field(default_factory=list)
