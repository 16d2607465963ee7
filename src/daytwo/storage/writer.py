"""Write ingest batches: one transaction for a group of batches.

The server hands the writer every batch that arrived while the previous
transaction was committing (group commit), so a busy server pays one commit
for many requests. Within the transaction spans are merged into what is
stored, costs are computed once a span has both its model and its token
counts, and the roll-ups of every trace touched are recomputed from its spans.
"""

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, func, select

from daytwo.model import ScoreIn, SpanIn, TraceIn
from daytwo.model.ids import new_trace_id
from daytwo.storage import rows as rowmaker
from daytwo.storage.engine import write_transaction
from daytwo.storage.projects import ProjectDirectory
from daytwo.storage.tables import scores, span_payloads, spans, trace_payloads, traces
from daytwo.storage.upsert import Merge, upsert

logger = logging.getLogger(__name__)

_SPAN_RULES = {"tags": Merge.TAGS}
_PAYLOAD_RULES = {"metadata": Merge.OBJECT, "detail": Merge.OBJECT, "attributes": Merge.OBJECT}
_TRACE_RULES = {"tags": Merge.TAGS}
_BILLED_KINDS = ("llm", "embedding")


@dataclass(slots=True)
class Batch:
    """Records to write; a record without a project goes to ``project``."""

    project: str
    traces: Sequence[TraceIn] = ()
    spans: Sequence[SpanIn] = ()
    scores: Sequence[ScoreIn] = ()

    def size(self) -> int:
        return len(self.traces) + len(self.spans) + len(self.scores)


@dataclass(slots=True)
class WriteSummary:
    traces: int = 0
    spans: int = 0
    scores: int = 0


@dataclass(slots=True)
class _Rows:
    traces: list[rowmaker.Row] = field(default_factory=list)
    trace_payloads: list[rowmaker.Row] = field(default_factory=list)
    spans: list[rowmaker.Row] = field(default_factory=list)
    span_payloads: list[rowmaker.Row] = field(default_factory=list)
    scores: list[rowmaker.Row] = field(default_factory=list)
    to_price: set[tuple[int, str, str]] = field(default_factory=set)


class Writer:
    """Write batches to one database, one transaction per call."""

    def __init__(self, engine: Engine, prices: rowmaker.CostModel) -> None:
        self.engine = engine
        self.prices = prices
        self.projects = ProjectDirectory(engine)

    def write(self, batches: Sequence[Batch]) -> WriteSummary:
        """Write ``batches`` in one transaction; on return they are committed."""
        names = _project_names(batches)
        project_ids = self.projects.ensure(names)
        now = time.time_ns() // 1000
        rows = _Rows()
        summary = WriteSummary()
        for batch in batches:
            self._collect(batch, project_ids, now, rows, summary)
        with write_transaction(self.engine) as connection:
            self._write_rows(connection, rows)
        return summary

    def _collect(
        self,
        batch: Batch,
        project_ids: dict[str, int],
        now: int,
        rows: _Rows,
        summary: WriteSummary,
    ) -> None:
        for trace in batch.traces:
            project_id = project_ids[trace.project or batch.project]
            trace_row, payload = rowmaker.trace_rows(trace, project_id, now)
            rows.traces.append(trace_row)
            rows.trace_payloads.append(payload)
        for span in batch.spans:
            project_id = project_ids[span.project or batch.project]
            made = rowmaker.span_rows(span, project_id, now, self.prices)
            rows.spans.append(made.span)
            rows.span_payloads.append(made.payload)
            rows.traces.append(rowmaker.placeholder_trace_row(span, project_id, now))
            if made.needs_pricing:
                rows.to_price.add((project_id, span.trace_id, span.id))
        for score in batch.scores:
            rows.scores.append(_score_row(score, project_ids[score.project or batch.project], now))
        summary.traces += len(batch.traces)
        summary.spans += len(batch.spans)
        summary.scores += len(batch.scores)

    def _write_rows(self, connection: Connection, rows: _Rows) -> None:
        # Traces first: on PostgreSQL the upsert locks each trace row, so that two
        # servers adding spans to one trace compute its roll-ups one after the other.
        upsert(connection, traces, rows.traces, ("project_id", "id"), _TRACE_RULES)
        trace_payload_rows = [r for r in rows.trace_payloads if _has_payload(r)]
        upsert(
            connection,
            trace_payloads,
            trace_payload_rows,
            ("project_id", "trace_id"),
            {"metadata": Merge.OBJECT},
        )
        upsert(
            connection,
            spans,
            rows.spans,
            ("project_id", "trace_id", "id"),
            _SPAN_RULES,
            computed=_merged_duration,
        )
        upsert(
            connection,
            span_payloads,
            rows.span_payloads,
            ("project_id", "trace_id", "span_id"),
            _PAYLOAD_RULES,
        )
        self._price_merged(connection, rows.to_price)
        touched = {(row["project_id"], row["id"]) for row in rows.traces}
        recompute_rollups(connection, touched)
        upsert(connection, scores, rows.scores, ("id",), {})

    def _price_merged(self, connection: Connection, keys: set[tuple[int, str, str]]) -> None:
        """Price spans whose model and token counts arrived in different records."""
        if not keys:
            return
        columns = [
            spans.c.project_id,
            spans.c.trace_id,
            spans.c.id,
            spans.c.model,
            spans.c.provider,
            spans.c.input_tokens,
            spans.c.output_tokens,
            spans.c.cache_read_tokens,
            spans.c.cache_write_tokens,
            spans.c.reasoning_tokens,
            spans.c.start_time,
        ]
        updates = []
        for project_id, trace_ids in _by_project((p, t) for p, t, _ in keys).items():
            for chunk in _chunks(trace_ids, 500):
                query = select(*columns).where(
                    spans.c.project_id == project_id,
                    spans.c.trace_id.in_(chunk),
                    spans.c.id.in_({span for p, t, span in keys if p == project_id}),
                    func.coalesce(spans.c.cost_source, "computed").in_(["computed", "unknown"]),
                )
                for row in connection.execute(query).mappings():
                    if (row["project_id"], row["trace_id"], row["id"]) not in keys:
                        continue
                    priced = rowmaker.cost_from_row(dict(row), self.prices)
                    if priced is not None:
                        updates.append(_cost_update(row, priced))
        if updates:
            statement = (
                spans.update()
                .where(
                    spans.c.project_id == bindparam("k_project"),
                    spans.c.trace_id == bindparam("k_trace"),
                    spans.c.id == bindparam("k_span"),
                )
                .values(
                    input_cost=bindparam("v_input"),
                    output_cost=bindparam("v_output"),
                    total_cost=bindparam("v_total"),
                    cost_source=bindparam("v_source"),
                )
            )
            connection.execute(statement, updates)


def _cost_update(row: Any, priced: tuple[Any, Any, Any, Any]) -> dict[str, Any]:
    return {
        "k_project": row.project_id,
        "k_trace": row.trace_id,
        "k_span": row.id,
        "v_input": priced[0],
        "v_output": priced[1],
        "v_total": priced[2],
        "v_source": priced[3].value,
    }


def _merged_duration(excluded: Any) -> dict[str, Any]:
    start = func.coalesce(excluded.start_time, spans.c.start_time)
    end = func.coalesce(excluded.end_time, spans.c.end_time)
    return {"duration_ms": (end - start) / 1000.0}


def _has_payload(row: rowmaker.Row) -> bool:
    return any(row[name] is not None for name in ("input", "output", "metadata"))


def _project_names(batches: Iterable[Batch]) -> set[str]:
    names: set[str] = set()
    for batch in batches:
        records: list[TraceIn | SpanIn | ScoreIn] = [*batch.traces, *batch.spans, *batch.scores]
        names.update(record.project or batch.project for record in records)
    return names


def _score_row(score: ScoreIn, project_id: int, now: int) -> rowmaker.Row:
    assert score.data_type is not None  # filled in by ScoreIn's validator
    return {
        "id": score.id or new_trace_id(),
        "project_id": project_id,
        "target": score.target.value,
        "trace_id": score.trace_id,
        "span_id": score.span_id,
        "thread_id": score.thread_id,
        "name": score.name,
        "data_type": score.data_type.value,
        "value": score.numeric_value(),
        "string_value": score.value if isinstance(score.value, str) else None,
        "reason": score.reason,
        "source": score.source.value,
        "author": score.author,
        "created_at": now,
    }


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def recompute_rollups(connection: Connection, keys: set[tuple[int, str]]) -> None:
    """Recompute the roll-ups of traces ``keys`` from their stored spans."""
    updates = []
    for project_id, trace_ids in _by_project(keys).items():
        for chunk in _chunks(trace_ids, 500):
            for row in connection.execute(_rollup_query(project_id, chunk)):
                updates.append(_rollup_params(row))
    if updates:
        connection.execute(_rollup_statement(), updates)


def _by_project(keys: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    # One query per project with "trace_id IN (...)": SQLite cannot use an index
    # for a row-value IN over (project_id, trace_id) and scans the whole table.
    grouped: dict[int, set[str]] = {}
    for project_id, trace_id in keys:
        grouped.setdefault(project_id, set()).add(trace_id)
    return {project_id: sorted(ids) for project_id, ids in sorted(grouped.items())}


def _rollup_query(project_id: int, trace_ids: list[str]) -> Any:
    s = spans.c
    is_root = s.parent_id.is_(None)
    return (
        select(
            s.project_id,
            s.trace_id,
            func.min(s.start_time).label("start"),
            func.max(s.end_time).label("end"),
            func.count().label("span_count"),
            func.sum(case((s.status == "error", 1), else_=0)).label("errors"),
            func.sum(case((s.kind == "llm", 1), else_=0)).label("llm"),
            func.sum(_billed(s.input_tokens)).label("input_tokens"),
            func.sum(_billed(s.output_tokens)).label("output_tokens"),
            func.sum(_billed(s.total_tokens)).label("total_tokens"),
            func.sum(_billed(s.total_cost)).label("cost"),
            func.sum(case((s.cost_source == "unknown", 1), else_=0)).label("unknown"),
            # The root span's fields; a trace has one root, so max() just picks it.
            func.max(case((is_root, s.name))).label("root_name"),
            func.max(case((is_root, s.status))).label("root_status"),
            func.max(case((is_root, s.input_preview))).label("root_input"),
            func.max(case((is_root, s.output_preview))).label("root_output"),
        )
        .where(s.project_id == project_id, s.trace_id.in_(trace_ids))
        .group_by(s.project_id, s.trace_id)
    )


def _billed(column: Any) -> Any:
    # Only model calls count towards a trace's tokens and cost: some
    # instrumentations (the Vercel AI SDK, agent frameworks) repeat the summed
    # usage of the calls inside on the enclosing span, which would count twice.
    return case((spans.c.kind.in_(_BILLED_KINDS), column), else_=None)


def _rollup_params(agg: Any) -> dict[str, Any]:
    return {
        "k_project": agg.project_id,
        "k_trace": agg.trace_id,
        "v_start": agg.start,
        "v_end": agg.end,
        "v_span_count": agg.span_count,
        "v_errors": agg.errors,
        "v_llm": agg.llm,
        "v_input_tokens": agg.input_tokens,
        "v_output_tokens": agg.output_tokens,
        "v_total_tokens": agg.total_tokens,
        "v_cost": agg.cost,
        "v_unknown": agg.unknown,
        "v_name": agg.root_name,
        "v_status": "error" if agg.errors else agg.root_status,
        "v_input": agg.root_input,
        "v_output": agg.root_output,
    }


def _rollup_statement() -> Any:
    t = traces.c
    start: Any = bindparam("v_start")
    end: Any = bindparam("v_end")
    new_start = case(
        (and_(t.start_time.is_not(None), t.start_time <= start), t.start_time), else_=start
    )
    new_end = case((and_(t.end_time.is_not(None), t.end_time >= end), t.end_time), else_=end)
    return (
        traces.update()
        .where(t.project_id == bindparam("k_project"), t.id == bindparam("k_trace"))
        .values(
            start_time=func.coalesce(new_start, t.start_time),
            end_time=func.coalesce(new_end, t.end_time),
            duration_ms=(
                func.coalesce(new_end, t.end_time) - func.coalesce(new_start, t.start_time)
            )
            / 1000.0,
            span_count=bindparam("v_span_count"),
            error_count=bindparam("v_errors"),
            llm_count=bindparam("v_llm"),
            input_tokens=bindparam("v_input_tokens"),
            output_tokens=bindparam("v_output_tokens"),
            total_tokens=bindparam("v_total_tokens"),
            total_cost=bindparam("v_cost"),
            cost_unknown_count=bindparam("v_unknown"),
            name=func.coalesce(t.name, bindparam("v_name")),
            status=bindparam("v_status"),
            input_preview=func.coalesce(t.input_preview, bindparam("v_input")),
            output_preview=func.coalesce(t.output_preview, bindparam("v_output")),
        )
    )
