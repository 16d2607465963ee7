"""Scores: judgements attached to a span, a trace or a thread."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daytwo.model.ids import normalize_span_id, normalize_trace_id


class ScoreTarget(StrEnum):
    SPAN = "span"
    TRACE = "trace"
    THREAD = "thread"


class ScoreDataType(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"


class ScoreSource(StrEnum):
    """Who produced a score: the application, a person, an LLM judge or a rule."""

    SDK = "sdk"
    HUMAN = "human"
    JUDGE = "judge"
    RULE = "rule"


class ScoreIn(BaseModel):
    """A score to store; sending the same ``id`` again replaces it."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=64)
    project: str | None = Field(default=None, min_length=1, max_length=200)
    trace_id: str | None = None
    span_id: str | None = None
    thread_id: str | None = Field(default=None, max_length=500)
    name: str = Field(min_length=1, max_length=200)
    value: bool | float | str
    data_type: ScoreDataType | None = None
    reason: str | None = None
    source: ScoreSource = ScoreSource.SDK
    author: str | None = Field(default=None, max_length=200)

    @field_validator("trace_id")
    @classmethod
    def _trace(cls, value: str | None) -> str | None:
        return None if value is None else normalize_trace_id(value)

    @field_validator("span_id")
    @classmethod
    def _span(cls, value: str | None) -> str | None:
        return None if value is None else normalize_span_id(value)

    @property
    def target(self) -> ScoreTarget:
        if self.span_id is not None:
            return ScoreTarget.SPAN
        if self.trace_id is not None:
            return ScoreTarget.TRACE
        return ScoreTarget.THREAD

    @model_validator(mode="after")
    def _check(self) -> "ScoreIn":
        if self.span_id is not None and self.trace_id is None:
            raise ValueError("a span score needs the trace_id of its span as well")
        if self.trace_id is None and self.thread_id is None:
            raise ValueError("a score needs a target: span_id and trace_id, trace_id, or thread_id")
        inferred = _infer_type(self.value)
        if self.data_type is None:
            self.data_type = inferred
        elif self.data_type is not inferred and not (
            self.data_type is ScoreDataType.NUMERIC and inferred is ScoreDataType.BOOLEAN
        ):
            raise ValueError(
                f"score value {self.value!r} does not match data_type {self.data_type.value!r}"
            )
        return self

    def numeric_value(self) -> float | None:
        """Return the value as a number (booleans as 0 or 1), or None if categorical."""
        if isinstance(self.value, str):
            return None
        return float(self.value)


def _infer_type(value: bool | float | str) -> ScoreDataType:
    if isinstance(value, bool):
        return ScoreDataType.BOOLEAN
    if isinstance(value, str):
        return ScoreDataType.CATEGORICAL
    return ScoreDataType.NUMERIC
