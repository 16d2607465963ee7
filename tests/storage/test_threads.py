"""Threads: traces grouped by thread id, listed, sorted, paged and opened."""

from typing import Any

import pytest
from sqlalchemy import Engine

from daytwo.model import ScoreIn, SpanIn, TraceIn
from daytwo.storage.filters import InvalidQueryError
from daytwo.storage.threads import ThreadFilter, ThreadSort, list_threads, thread_view
from tests.storage.doubles import at, span, tid, write

# trace number: (thread, user, name, start second, input tokens priced at $1 per 1000)
TRACES = {
    1: ("th-a", "ann", "q1", 0, 1000),
    2: ("th-a", "ann", "q2", 100, None),
    3: ("th-a", "carl", "q3", 200, 500),
    4: ("th-b", "bob", "b1", 50, None),
    5: ("th-c", "ann", "c1", 300, None),
    6: ("th-c", "ann", "c2", 310, None),
    7: (None, "ann", "lonely", 400, None),
}


def _spans(number: int, start: float, tokens: int | None) -> list[SpanIn]:
    fields: dict[str, Any] = {"start_time": at(start), "end_time": at(start + 1)}
    if tokens is not None:
        fields.update(kind="llm", llm={"model": "known"}, usage={"input_tokens": tokens})
    if number == 2:
        fields["error"] = {"type": "ValueError"}
    return [span(number, 1, **fields)]


@pytest.fixture
def conversations(engine: Engine) -> int:
    traces, spans = [], []
    for number, (thread, user, name, start, tokens) in TRACES.items():
        traces.append(TraceIn(id=tid(number), thread_id=thread, user_id=user, name=name))
        spans += _spans(number, start, tokens)
    scores = [
        ScoreIn(thread_id="th-a", name="satisfaction", value="happy"),
        ScoreIn(trace_id=tid(2), name="helpful", value=False),
    ]
    return write(engine, traces=traces, spans=spans, scores=scores)


def _names(page: Any) -> list[str]:
    return [thread.thread_id for thread in page.items]


def test_threads_are_listed_latest_activity_first_with_their_figures(
    engine: Engine, conversations: int
) -> None:
    page = list_threads(engine, conversations)

    assert _names(page) == ["th-c", "th-a", "th-b"]
    thread = page.items[1]
    assert (thread.trace_count, thread.error_count) == (3, 1)
    assert (thread.first_time, thread.last_time) == (at(0), at(200))
    assert (thread.total_cost, thread.total_tokens) == (1.5, 1500)
    assert (thread.last_trace_name, thread.user_id) == ("q3", "carl")
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        (ThreadSort.TRACE_COUNT, True, ["th-a", "th-c", "th-b"]),
        (ThreadSort.FIRST_TIME, False, ["th-a", "th-b", "th-c"]),
        (ThreadSort.LAST_TIME, False, ["th-b", "th-a", "th-c"]),
    ],
)
def test_threads_sort_by_count_or_time(
    engine: Engine, conversations: int, sort: ThreadSort, descending: bool, expected: list[str]
) -> None:
    page = list_threads(engine, conversations, sort=sort, descending=descending)

    assert _names(page) == expected


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (ThreadFilter(active_from=at(250)), ["th-c"]),
        (ThreadFilter(active_to=at(40)), ["th-a"]),
        (ThreadFilter(active_from=at(40), active_to=at(60)), ["th-a", "th-b"]),
        (ThreadFilter(user_id="ann"), ["th-c", "th-a"]),
    ],
)
def test_threads_filter_by_activity_and_user(
    engine: Engine, conversations: int, found: ThreadFilter, expected: list[str]
) -> None:
    assert _names(list_threads(engine, conversations, found)) == expected


def test_user_filter_counts_only_that_users_traces(engine: Engine, conversations: int) -> None:
    page = list_threads(engine, conversations, ThreadFilter(user_id="ann"))

    assert [thread.trace_count for thread in page.items] == [2, 2]


def test_thread_pages_cover_every_thread_once_across_ties(engine: Engine) -> None:
    traces = [TraceIn(id=tid(n), thread_id=f"t{n % 7}") for n in range(1, 30)]
    spans = [span(n, 1, start_time=at(n % 3)) for n in range(1, 30)]
    project_id = write(engine, traces=traces, spans=spans)

    seen: list[str] = []
    cursor = None
    while True:
        page = list_threads(engine, project_id, sort=ThreadSort.TRACE_COUNT, limit=2, cursor=cursor)
        seen += _names(page)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == [f"t{n}" for n in range(7)]
    assert len(seen) == 7


def test_thread_cursor_is_refused_by_another_sort(engine: Engine, conversations: int) -> None:
    cursor = list_threads(engine, conversations, limit=1).next_cursor

    with pytest.raises(InvalidQueryError, match="was made for sort 'last_time desc'"):
        list_threads(engine, conversations, sort=ThreadSort.TRACE_COUNT, cursor=cursor)


def test_thread_view_lists_its_traces_oldest_first_with_scores(
    engine: Engine, conversations: int
) -> None:
    view = thread_view(engine, conversations, "th-a")

    assert view is not None
    assert [trace.name for trace in view.traces.items] == ["q1", "q2", "q3"]
    assert [(s.name, s.value) for s in view.traces.items[1].scores] == [("helpful", False)]
    assert [(s.name, s.value) for s in view.scores] == [("satisfaction", "happy")]
    assert view.thread.trace_count == 3


def test_thread_view_pages_through_a_long_thread(engine: Engine, conversations: int) -> None:
    first = thread_view(engine, conversations, "th-a", limit=2)
    assert first is not None
    assert first.traces.next_cursor is not None

    rest = thread_view(engine, conversations, "th-a", limit=2, cursor=first.traces.next_cursor)

    assert rest is not None
    assert [trace.name for trace in rest.traces.items] == ["q3"]
    assert rest.traces.next_cursor is None


def test_thread_view_of_an_unknown_thread_is_none(engine: Engine, conversations: int) -> None:
    assert thread_view(engine, conversations, "th-zzz") is None
