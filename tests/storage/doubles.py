"""Test doubles and record builders for the storage and query tests."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from daytwo.model import Cost, CostSource, ScoreIn, SpanIn, TokenUsage, TraceIn
from daytwo.storage.projects import ProjectDirectory
from daytwo.storage.writer import Batch, Writer

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FlatPrices:
    """Test double: one dollar per thousand tokens for model 'known', nothing else priced."""

    def cost(
        self,
        *,
        model: str | None,
        provider: str | None,
        usage: TokenUsage,
        at: datetime | None = None,
    ) -> Cost:
        if model != "known":
            return Cost(source=CostSource.UNKNOWN)
        input_cost = (usage.input_tokens or 0) / 1000
        output_cost = (usage.output_tokens or 0) / 1000
        return Cost(input=input_cost, output=output_cost, source=CostSource.COMPUTED)


def tid(number: int) -> str:
    """Return trace id number ``number`` (from 1) as 32 hex digits."""
    return f"{number:032x}"


def sid(number: int) -> str:
    """Return span id number ``number`` (from 1) as 16 hex digits."""
    return f"{number:016x}"


def at(seconds: float) -> datetime:
    """Return the time ``seconds`` after the tests' epoch `T0`."""
    return T0 + timedelta(seconds=seconds)


def span(trace: int, number: int, **fields: Any) -> SpanIn:
    """Return span ``number`` of trace ``trace``; a ``parent`` number becomes its parent id."""
    parent = fields.pop("parent", None)
    if parent is not None:
        fields["parent_id"] = sid(parent)
    return SpanIn(trace_id=tid(trace), id=sid(number), **fields)


def write(
    engine: Engine,
    project: str = "p",
    *,
    traces: Sequence[TraceIn] = (),
    spans: Sequence[SpanIn] = (),
    scores: Sequence[ScoreIn] = (),
) -> int:
    """Write records to ``project`` and return the project's id."""
    writer = Writer(engine, FlatPrices())
    writer.write([Batch(project, traces=traces, spans=spans, scores=scores)])
    project_id = ProjectDirectory(engine).lookup(project)
    assert project_id is not None
    return project_id


KNOWN = {"model": "known", "provider": "openai"}


def catalogue_records() -> tuple[list[TraceIn], list[SpanIn], list[ScoreIn]]:
    """Return five traces that differ in every attribute a filter looks at."""
    traces = [
        TraceIn(id=tid(1), tags=["prod", "beta"], user_id="ann", thread_id="th1"),
        TraceIn(id=tid(2), tags=["prod"], user_id="bob", thread_id="th1"),
        TraceIn(id=tid(3), user_id="ann"),
        TraceIn(id=tid(4), tags=["beta"]),
        TraceIn(id=tid(5), tags=["prod"]),
    ]
    spans = [
        span(1, 1, name="answer question", kind="chain", status="ok", start_time=at(0),
             end_time=at(2), input="What is 100% of_this?", output="all of it"),
        span(1, 2, parent=1, name="chat", kind="llm", llm=KNOWN, start_time=at(0.5),
             end_time=at(1.5), usage={"input_tokens": 1000, "output_tokens": 500}),
        span(2, 1, name="answer followup", kind="chain", status="ok", start_time=at(60),
             end_time=at(63), input="Refund please", output="done"),
        span(2, 2, parent=1, name="chat", kind="llm", start_time=at(60.5), end_time=at(61),
             llm={"model": "mystery", "provider": "acme"},
             usage={"input_tokens": 200, "output_tokens": 10}),
        span(2, 3, parent=1, name="lookup", kind="tool", start_time=at(61), end_time=at(62),
             error={"type": "Timeout", "message": "gave up"}),
        span(3, 1, name="search", kind="retrieval", start_time=at(120), end_time=at(125),
             input="cheap flights"),
        span(4, 1, name="summarize", kind="llm", status="ok", llm=KNOWN, tags=["beta"],
             start_time=at(180), end_time=at(181),
             usage={"input_tokens": 3000, "output_tokens": 1000}),
        span(5, 1, name="answer", kind="chain", status="ok", start_time=at(240),
             end_time=at(244), input="percent 100x ofXthis"),
        span(5, 2, parent=1, name="chat", kind="llm", llm={"model": "known"},
             tags=["prod", "beta"], start_time=at(240.5), end_time=at(241.5),
             usage={"input_tokens": 10, "output_tokens": 10}),
    ]  # fmt: skip
    scores = [
        ScoreIn(trace_id=tid(1), name="quality", value=0.9),
        ScoreIn(trace_id=tid(1), span_id=sid(2), name="verdict", value="pass"),
        ScoreIn(trace_id=tid(2), name="quality", value=0.2),
        ScoreIn(trace_id=tid(4), name="correct", value=True),
    ]
    return traces, spans, scores
