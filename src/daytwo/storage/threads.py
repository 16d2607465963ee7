"""Threads: the conversations formed by traces that share a ``thread_id``.

A thread has no table of its own; its figures are aggregated from its traces
on every read, through the ``(project_id, thread_id, start_time)`` index of
``traces``. Pages follow the same keyset rules as the other listings, with the
keyset applied to the aggregates (HAVING) rather than to rows (WHERE).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, select

from daytwo.model.views import Page, ThreadSummary, ThreadView
from daytwo.storage.filters import InvalidQueryError, TraceFilter
from daytwo.storage.paging import AnyRow, Segment, SortKey, decode_cursor, read_page
from daytwo.storage.queries import (
    DEFAULT_PAGE,
    Sort,
    check_limit,
    count_where,
    int_sum,
    list_traces,
    thread_scores,
)
from daytwo.storage.rows import from_micros, to_micros
from daytwo.storage.tables import traces

_t = traces.c


class ThreadSort(StrEnum):
    """The orders a thread listing can take."""

    LAST_TIME = "last_time"
    FIRST_TIME = "first_time"
    TRACE_COUNT = "trace_count"


_SORT_COLUMNS: dict[ThreadSort, Any] = {
    ThreadSort.LAST_TIME: func.max(_t.start_time),
    ThreadSort.FIRST_TIME: func.min(_t.start_time),
    ThreadSort.TRACE_COUNT: func.count(),
}


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    """Which threads to list.

    ``active_from`` and ``active_to`` keep the threads whose traces started
    within the range (first trace before ``active_to``, last at or after
    ``active_from``); ``user_id`` counts only that user's traces.
    """

    active_from: datetime | None = None
    active_to: datetime | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        start, end = to_micros(self.active_from), to_micros(self.active_to)
        if start is not None and end is not None and start > end:
            raise InvalidQueryError(
                f"active_from {self.active_from} is after active_to {self.active_to}; swap them"
            )

    def having(self) -> list[ColumnElement[bool]]:
        """Return the conditions on the per-thread aggregates."""
        wanted = []
        if self.active_from is not None:
            wanted.append(func.max(_t.start_time) >= to_micros(self.active_from))
        if self.active_to is not None:
            wanted.append(func.min(_t.start_time) < to_micros(self.active_to))
        return wanted


def thread_sort_key(sort: ThreadSort, descending: bool = True) -> SortKey:
    """Return the keyset order of the thread listing; thread ids break ties."""
    column = _SORT_COLUMNS[sort]
    return SortKey(
        "threads", sort.value, column, (_t.thread_id,), sort.value, ("thread_id",), descending
    )


def _ranking(project_id: int, user_id: str | None) -> Select[Any]:
    """Return the figures that order threads, which the thread index alone answers."""
    query = select(
        _t.thread_id,
        func.count().label("trace_count"),
        func.min(_t.start_time).label("first_time"),
        func.max(_t.start_time).label("last_time"),
    ).where(_t.project_id == project_id, _t.thread_id.is_not(None))
    if user_id is not None:
        query = query.where(_t.user_id == user_id)
    return query.group_by(_t.thread_id)


def _groups(project_id: int, user_id: str | None) -> Select[Any]:
    """Return the per-thread aggregates of a project's traces."""
    query = select(
        _t.thread_id,
        func.count().label("trace_count"),
        func.min(_t.start_time).label("first_time"),
        func.max(_t.start_time).label("last_time"),
        func.sum(_t.total_cost).label("total_cost"),
        int_sum(_t.total_tokens).label("total_tokens"),
        count_where(_t.error_count > 0).label("error_count"),
        func.max(_t.user_id).label("user_id"),
    ).where(_t.project_id == project_id, _t.thread_id.is_not(None))
    if user_id is not None:
        query = query.where(_t.user_id == user_id)
    return query.group_by(_t.thread_id)


def list_threads(
    engine: Engine,
    project_id: int,
    found: ThreadFilter | None = None,
    *,
    sort: ThreadSort = ThreadSort.LAST_TIME,
    descending: bool = True,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> Page[ThreadSummary]:
    """Return one page of the threads of a project, by default the latest active first."""
    check_limit(limit)
    found = found or ThreadFilter()
    key = thread_sort_key(sort, descending)
    after = decode_cursor(key, cursor) if cursor else None
    # Rank every thread from the (project_id, thread_id, start_time) index alone, then
    # read the figures that need the table (cost, tokens, errors) for one page only.
    ranking = _ranking(project_id, found.user_id).having(*found.having())

    def query(segment: Segment, count: int) -> Select[Any]:
        return ranking.having(segment.condition).order_by(*segment.order_by).limit(count)

    with engine.connect() as connection:
        ranked, next_cursor = read_page(connection, key, after, limit, query)
        ids = [row.thread_id for row in ranked]
        figures = _groups(project_id, found.user_id).where(_t.thread_id.in_(ids))
        by_id = {row.thread_id: row for row in connection.execute(figures)} if ids else {}
        names = _last_trace_names(connection, project_id, ids)
    items = [_summary(by_id[thread_id], names.get(thread_id)) for thread_id in ids]
    return Page[ThreadSummary](items=items, next_cursor=next_cursor)


def thread_view(
    engine: Engine,
    project_id: int,
    thread_id: str,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> ThreadView | None:
    """Return a thread with a page of its traces, oldest first, or None if it has none."""
    with engine.connect() as connection:
        row = connection.execute(
            _groups(project_id, None).where(_t.thread_id == thread_id)
        ).one_or_none()
        if row is None:
            return None
        names = _last_trace_names(connection, project_id, [thread_id])
        scores = thread_scores(connection, project_id, thread_id)
    page = list_traces(
        engine,
        project_id,
        TraceFilter(thread_id=thread_id),
        sort=Sort.START_TIME,
        descending=False,
        limit=limit,
        cursor=cursor,
    )
    return ThreadView(thread=_summary(row, names.get(thread_id)), scores=scores, traces=page)


def _last_trace_names(
    connection: Connection, project_id: int, thread_ids: Sequence[str]
) -> dict[str, str | None]:
    """Return the name of the latest trace of each thread."""
    if not thread_ids:
        return {}
    rank = func.row_number().over(
        partition_by=_t.thread_id,
        order_by=(_t.start_time.desc().nulls_last(), _t.id.desc()),
    )
    ranked = (
        select(_t.thread_id, _t.name, rank.label("rank"))
        .where(_t.project_id == project_id, _t.thread_id.in_(thread_ids))
        .subquery()
    )
    latest = select(ranked.c.thread_id, ranked.c.name).where(ranked.c.rank == 1)
    return {row.thread_id: row.name for row in connection.execute(latest)}


def _summary(row: AnyRow, last_trace_name: str | None) -> ThreadSummary:
    return ThreadSummary(
        thread_id=row.thread_id,
        trace_count=row.trace_count,
        first_time=from_micros(row.first_time),
        last_time=from_micros(row.last_time),
        total_cost=row.total_cost,
        total_tokens=row.total_tokens,
        error_count=row.error_count or 0,
        last_trace_name=last_trace_name,
        user_id=row.user_id,
    )
