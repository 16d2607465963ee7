"""What the query API answers: projects, traces, spans, threads, scores, aggregates.

Listing views carry the narrow columns and short previews only. Whole payloads
appear in `SpanDetail` and `TraceTree`, which are read one at a time. Times are
aware UTC datetimes; a field that was never reported is ``None``, never zero.
"""

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from daytwo.model.scores import ScoreDataType, ScoreSource, ScoreTarget
from daytwo.model.spans import Cost, CostSource, SpanKind, SpanStatus, TokenUsage

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a listing, and the cursor that reads the next one."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` with the same sort to read the next page; "
        "null on the last page.",
    )


class ScoreView(BaseModel):
    """A score on a span, a trace or a thread."""

    id: str
    name: str
    target: ScoreTarget
    trace_id: str | None = None
    span_id: str | None = None
    thread_id: str | None = None
    data_type: ScoreDataType
    value: bool | float | str | None = Field(
        description="A number for numeric scores, true or false for boolean ones, "
        "the label for categorical ones."
    )
    reason: str | None = None
    source: ScoreSource
    author: str | None = None
    created_at: datetime


class TraceSummary(BaseModel):
    """A trace as listed: its roll-ups over its spans and short previews."""

    id: str
    name: str | None = Field(default=None, description="The trace's name or its root span's.")
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: float | None = None
    status: SpanStatus | None = Field(
        default=None, description="`error` when any span failed; null when never set."
    )
    thread_id: str | None = None
    user_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    input_preview: str | None = Field(default=None, description="The input's first characters.")
    output_preview: str | None = Field(default=None, description="The output's first characters.")
    span_count: int = 0
    error_count: int = Field(default=0, description="Spans whose status is error.")
    llm_count: int = Field(default=0, description="Spans of kind llm.")
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    total_cost: float | None = Field(
        default=None, description="US dollars over the spans whose cost is known."
    )
    cost_unknown_count: int = Field(default=0, description="Spans with usage but no price.")
    scores: list[ScoreView] = Field(
        default_factory=list, description="Scores on the trace itself (not on its spans)."
    )


class SpanSummary(BaseModel):
    """A span as listed: names, times, usage, cost and short previews, no payload."""

    id: str
    trace_id: str
    parent_id: str | None = None
    name: str | None = None
    kind: SpanKind | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: float | None = None
    status: SpanStatus | None = None
    error_type: str | None = None
    error_message: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None
    input_cost: float | None = None
    output_cost: float | None = None
    total_cost: float | None = None
    cost_source: CostSource | None = None
    ttft_ms: float | None = Field(default=None, description="Time to the first token.")
    tags: list[str] = Field(default_factory=list)
    input_preview: str | None = None
    output_preview: str | None = None


class SpanNode(BaseModel):
    """A span in a trace tree: what one row of a tree or waterfall shows.

    Open the span (`SpanDetail`) for its usage breakdown, previews and payload;
    a node stays small so that a 30,000-span tree stays quick to send and draw.
    """

    id: str
    parent_id: str | None = None
    name: str | None = None
    kind: SpanKind | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: float | None = None
    status: SpanStatus | None = None
    error_type: str | None = None
    model: str | None = None
    total_tokens: int | None = None
    total_cost: float | None = None
    cost_source: CostSource | None = None
    depth: int = Field(description="0 for a root (or an orphan), 1 for its children, ...")
    child_count: int = Field(description="Direct children, whether returned or not.")
    orphan: bool = Field(
        default=False,
        description="True when the span names a parent that the trace does not hold; "
        "it is then shown at the root level.",
    )
    scores: list[ScoreView] = Field(default_factory=list)
    input_preview: str | None = Field(default=None, description="Only with `previews=true`.")
    output_preview: str | None = Field(default=None, description="Only with `previews=true`.")


class SpanDetail(SpanSummary):
    """One span with its whole payload and its scores."""

    input: Any = None
    output: Any = None
    metadata: dict[str, Any] | None = None
    detail: dict[str, Any] | None = Field(
        default=None,
        description="Kind-specific detail: `llm` (messages, parameters), `retrieval` "
        "(query, documents), `tool` (arguments, result), `error` (type, message, stack).",
    )
    attributes: dict[str, Any] | None = Field(
        default=None, description="The attributes exactly as received, before mapping."
    )
    usage: TokenUsage | None = None
    cost: Cost | None = None
    scores: list[ScoreView] = Field(default_factory=list)


class TraceTree(BaseModel):
    """One trace and its spans as a flat list in tree order, ready to render."""

    trace: TraceSummary
    input: Any = Field(default=None, description="The trace's whole input (not when lazy).")
    output: Any = Field(default=None, description="The trace's whole output (not when lazy).")
    metadata: dict[str, Any] | None = None
    spans: list[SpanNode] = Field(
        description="Depth-first, each span followed by its children ordered by start time."
    )
    total_nodes: int = Field(description="Spans that match before `offset` and `limit` apply.")
    next_offset: int | None = Field(
        default=None, description="Pass as `offset` to read the following spans; null at the end."
    )


class ThreadSummary(BaseModel):
    """A conversation: the traces that share a thread id."""

    thread_id: str
    trace_count: int
    first_time: datetime | None = Field(default=None, description="Start of the first trace.")
    last_time: datetime | None = Field(default=None, description="Start of the last trace.")
    total_cost: float | None = None
    total_tokens: int | None = None
    error_count: int = Field(description="Traces with an error.")
    last_trace_name: str | None = None
    user_id: str | None = Field(default=None, description="The thread's user (the greatest id).")


class ThreadView(BaseModel):
    """One thread: its traces in time order and the scores given to the thread."""

    thread: ThreadSummary
    scores: list[ScoreView] = Field(description="Scores on the thread itself.")
    traces: Page[TraceSummary]


class AggregateRow(BaseModel):
    """The metrics of one time bucket and one group."""

    bucket_start: datetime | None = Field(
        default=None, description="Start of the bucket; null when the range is not bucketed."
    )
    group: str | None = Field(default=None, description="The group's value; null for no group.")
    count: int = Field(description="Spans or traces, by the aggregate's scope.")
    error_count: int
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float = Field(default=0.0, description="US dollars over the known costs.")
    cost_unknown_count: int = Field(default=0, description="Llm spans with usage but no price.")


class AggregateResult(BaseModel):
    """Metrics over a time range, by bucket and group."""

    scope: Literal["spans", "traces"]
    group_by: str | None = None
    bucket: str | None = Field(default=None, description="The bucket width, such as `1h`.")
    start: datetime
    end: datetime
    rows: list[AggregateRow] = Field(description="Ordered by bucket, then group.")


class ProjectSummary(BaseModel):
    """A project and what it holds."""

    name: str
    created_at: datetime
    retention_days: int | None = None
    trace_count: int
    total_tokens: int | None = None
    total_cost: float | None = Field(
        default=None, description="US dollars over the spans whose cost is known."
    )
    last_activity: datetime | None = Field(
        default=None, description="Start of the project's latest trace."
    )
