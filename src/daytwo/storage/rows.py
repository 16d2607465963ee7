"""Turn ingest records into table rows.

Each record becomes a narrow listing row (names, times, tokens, cost, short
previews) and a payload row (whole input, output, metadata and detail). Fields
the record leaves out become ``None`` so that the upsert keeps what is stored.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from daytwo.model import Cost, CostSource, SpanIn, SpanKind, SpanStatus, TokenUsage, TraceIn
from daytwo.storage.tables import PREVIEW_CHARS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Row = dict[str, Any]


class CostModel(Protocol):
    """Anything that prices token usage, such as `daytwo.pricing.PriceBook`."""

    def cost(
        self,
        *,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        at: datetime | None = None,
    ) -> Cost: ...


def to_micros(value: datetime | None) -> int | None:
    """Return ``value`` as integer microseconds since the epoch (naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    """Return integer microseconds since the epoch as an aware UTC datetime."""
    # Adding a timedelta is twice as fast as datetime.fromtimestamp, which counts
    # when a 30,000-span tree converts 60,000 times.
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def preview(value: Any) -> str | None:
    """Return the first characters of ``value`` as text, for tables and search."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:PREVIEW_CHARS]
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = str(value)
    return text[:PREVIEW_CHARS]


def _duration_ms(start: int | None, end: int | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 1000.0


def _status(value: SpanStatus | None) -> str | None:
    # "unset" is stored as NULL so that a later "ok" or "error" always wins the merge.
    if value is None or value is SpanStatus.UNSET:
        return None
    return value.value


@dataclass(slots=True)
class SpanRows:
    """The rows for one span, and whether its cost must be computed after merging."""

    span: Row
    payload: Row
    needs_pricing: bool


def span_rows(span: SpanIn, project_id: int, now: int, prices: CostModel) -> SpanRows:
    """Return the rows that store ``span`` in project ``project_id``."""
    start, end = to_micros(span.start_time), to_micros(span.end_time)
    llm, usage, error = span.llm, span.usage, span.error
    prompt = llm.prompt if llm else None
    row: Row = {
        "project_id": project_id,
        "trace_id": span.trace_id,
        "id": span.id,
        "parent_id": span.parent_id,
        "name": span.name,
        "kind": span.kind.value if span.kind else None,
        "start_time": start,
        "end_time": end,
        "duration_ms": _duration_ms(start, end),
        "status": _status(span.status) or ("error" if error else None),
        "error_type": error.type if error else None,
        "error_message": error.message if error else None,
        "provider": llm.provider if llm else None,
        "model": llm.model if llm else None,
        "ttft_ms": llm.time_to_first_token_ms if llm else None,
        # Cut to the column widths: one overlong reference must not fail the batch.
        "prompt_name": prompt.name[:200] if prompt else None,
        "prompt_version": prompt.version[:64] if prompt and prompt.version else None,
        "tags": span.tags,
        "input_preview": preview(_input_for_preview(span)),
        "output_preview": preview(_output_for_preview(span)),
        "updated_at": now,
    }
    row.update(_usage_columns(usage))
    needs_pricing = _apply_cost(row, span, prices)
    return SpanRows(row, _span_payload(span, project_id), needs_pricing)


def _usage_columns(usage: TokenUsage | None) -> Row:
    if usage is None:
        usage = TokenUsage()
    total = usage.total_tokens
    if total is None and (usage.input_tokens is not None or usage.output_tokens is not None):
        total = (usage.input_tokens or 0) + (usage.output_tokens or 0)
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "total_tokens": total,
    }


def _apply_cost(row: Row, span: SpanIn, prices: CostModel) -> bool:
    """Fill the cost columns; return True when the cost must wait for a merge."""
    if span.cost is not None:
        cost = span.cost
    elif span.usage is not None and row["model"] and _has_counts(row):
        # Priced as of the call, so that dated and off-peak prices apply.
        cost = prices.cost(
            model=row["model"], provider=row["provider"], usage=span.usage, at=span.start_time
        )
    else:
        row.update(input_cost=None, output_cost=None, total_cost=None, cost_source=None)
        # A create and its update may carry the model and the usage separately.
        return span.kind is SpanKind.LLM or span.llm is not None or span.usage is not None
    row.update(
        input_cost=cost.input,
        output_cost=cost.output,
        total_cost=cost.total,
        cost_source=cost.source.value,
    )
    return False


def _has_counts(row: Row) -> bool:
    return row["input_tokens"] is not None or row["output_tokens"] is not None


def _input_for_preview(span: SpanIn) -> Any:
    if span.input is not None:
        return span.input
    if span.llm and span.llm.input_messages:
        return span.llm.input_messages[-1].content
    if span.retrieval and span.retrieval.query is not None:
        return span.retrieval.query
    if span.tool and span.tool.arguments is not None:
        return span.tool.arguments
    return None


def _output_for_preview(span: SpanIn) -> Any:
    if span.output is not None:
        return span.output
    if span.llm and span.llm.output_messages:
        message = span.llm.output_messages[0]
        if message.content is not None:
            return message.content
        if message.tool_calls:
            return [call.model_dump(exclude_none=True) for call in message.tool_calls]
    if span.retrieval and span.retrieval.documents:
        return [doc.content for doc in span.retrieval.documents[:3]]
    if span.tool and span.tool.result is not None:
        return span.tool.result
    return None


def _span_payload(span: SpanIn, project_id: int) -> Row:
    detail: Row = {}
    if span.llm is not None:
        detail["llm"] = span.llm.model_dump(mode="json", exclude_none=True)
    if span.retrieval is not None:
        detail["retrieval"] = span.retrieval.model_dump(mode="json", exclude_none=True)
    if span.tool is not None:
        detail["tool"] = span.tool.model_dump(mode="json", exclude_none=True)
    if span.error is not None:
        detail["error"] = span.error.model_dump(mode="json", exclude_none=True)
    return {
        "project_id": project_id,
        "trace_id": span.trace_id,
        "span_id": span.id,
        "input": span.input,
        "output": span.output,
        "metadata": span.metadata,
        "detail": detail or None,
        "attributes": span.attributes,
    }


def trace_rows(trace: TraceIn, project_id: int, now: int) -> tuple[Row, Row]:
    """Return the listing row and the payload row for an explicit trace record."""
    start, end = to_micros(trace.start_time), to_micros(trace.end_time)
    row: Row = {
        "project_id": project_id,
        "id": trace.id,
        "name": trace.name,
        "start_time": start,
        "end_time": end,
        "thread_id": trace.thread_id,
        "user_id": trace.user_id,
        "tags": trace.tags,
        "input_preview": preview(trace.input),
        "output_preview": preview(trace.output),
        "updated_at": now,
    }
    payload: Row = {
        "project_id": project_id,
        "trace_id": trace.id,
        "input": trace.input,
        "output": trace.output,
        "metadata": trace.metadata,
    }
    return row, payload


def placeholder_trace_row(span: SpanIn, project_id: int, now: int) -> Row:
    """Return the trace row implied by a span: its id, and thread and user if the span has them."""
    return {
        "project_id": project_id,
        "id": span.trace_id,
        "name": None,
        "start_time": None,
        "end_time": None,
        "thread_id": span.thread_id,
        "user_id": span.user_id,
        "tags": None,
        "input_preview": None,
        "output_preview": None,
        "updated_at": now,
    }


def cost_from_row(
    row: Row, prices: CostModel
) -> tuple[float | None, float | None, float | None, CostSource] | None:
    """Price a merged span row; None when it still lacks a model or token counts."""
    if not row["model"] or (row["input_tokens"] is None and row["output_tokens"] is None):
        return None
    usage = TokenUsage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    at = from_micros(row["start_time"])
    cost = prices.cost(model=row["model"], provider=row["provider"], usage=usage, at=at)
    return cost.input, cost.output, cost.total, cost.source
