"""Listing traces and spans: every filter, sorts, keyset pages; one span; projects."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from daytwo.model import SpanKind, SpanStatus, TraceIn
from daytwo.storage import queries
from daytwo.storage.filters import InvalidQueryError, ScoreFilter, SpanFilter, TraceFilter
from daytwo.storage.queries import Sort
from tests.storage.doubles import at, catalogue_records, sid, span, tid, write


@pytest.fixture
def catalogue(engine: Engine) -> int:
    traces, spans, scores = catalogue_records()
    return write(engine, traces=traces, spans=spans, scores=scores)


def _trace_numbers(engine: Engine, project_id: int, found: TraceFilter) -> set[int]:
    page = queries.list_traces(engine, project_id, found, limit=500)
    return {int(trace.id, 16) for trace in page.items}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (TraceFilter(), {1, 2, 3, 4, 5}),
        (TraceFilter(start_from=at(120)), {3, 4, 5}),
        (TraceFilter(start_to=at(120)), {1, 2}),
        (TraceFilter(name="answer"), {5}),
        (TraceFilter(name_prefix="answer"), {1, 2, 5}),
        (TraceFilter(name_prefix="answer%"), set()),
        (TraceFilter(name_contains="SWER Q"), {1}),
        (TraceFilter(kind=SpanKind.RETRIEVAL), {3}),
        (TraceFilter(kind=SpanKind.LLM), {1, 2, 4, 5}),
        (TraceFilter(model="known"), {1, 4, 5}),
        (TraceFilter(kind=SpanKind.LLM, model="mystery"), {2}),
        (TraceFilter(status=SpanStatus.OK), {1, 4, 5}),
        (TraceFilter(status=SpanStatus.ERROR), {2}),
        (TraceFilter(status=SpanStatus.UNSET), {3}),
        (TraceFilter(has_error=True), {2}),
        (TraceFilter(has_error=False), {1, 3, 4, 5}),
        (TraceFilter(tags=("prod",)), {1, 2, 5}),
        (TraceFilter(tags=("prod", "beta")), {1}),
        (TraceFilter(tags=("nope",)), set()),
        (TraceFilter(user_id="ann"), {1, 3}),
        (TraceFilter(thread_id="th1"), {1, 2}),
        (TraceFilter(search="REFUND"), {2}),
        (TraceFilter(search="all of"), {1}),
        (TraceFilter(search="100%"), {1}),
        (TraceFilter(search="of_this"), {1}),
        (TraceFilter(min_cost=1.0), {1, 4}),
        (TraceFilter(max_cost=1.0), {5}),
        (TraceFilter(min_latency_ms=3000), {2, 3, 5}),
        (TraceFilter(max_latency_ms=2000), {1, 4}),
        (TraceFilter(min_tokens=1000), {1, 4}),
        (TraceFilter(max_tokens=100), {5}),
        (TraceFilter(scores=(ScoreFilter("quality", minimum=0.5),)), {1}),
        (TraceFilter(scores=(ScoreFilter("quality", maximum=0.5),)), {2}),
        (TraceFilter(scores=(ScoreFilter("verdict", equals="pass"),)), {1}),
        (TraceFilter(scores=(ScoreFilter("correct", equals="true"),)), {4}),
        (TraceFilter(scores=(ScoreFilter("quality", 0.1), ScoreFilter("correct", 1))), set()),
        (TraceFilter(user_id="ann", tags=("prod",), min_cost=1.0), {1}),
    ],
    ids=lambda value: repr(value) if isinstance(value, set) else None,
)
def test_each_trace_filter_keeps_the_matching_traces(
    engine: Engine, catalogue: int, found: TraceFilter, expected: set[int]
) -> None:
    assert _trace_numbers(engine, catalogue, found) == expected


def _span_keys(engine: Engine, project_id: int, found: SpanFilter) -> set[tuple[int, int]]:
    page = queries.list_spans(engine, project_id, found, limit=500)
    return {(int(item.trace_id, 16), int(item.id, 16)) for item in page.items}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (SpanFilter(kind=SpanKind.LLM), {(1, 2), (2, 2), (4, 1), (5, 2)}),
        (SpanFilter(name="chat"), {(1, 2), (2, 2), (5, 2)}),
        (SpanFilter(name_prefix="answer"), {(1, 1), (2, 1), (5, 1)}),
        (SpanFilter(name_contains="UMMA"), {(4, 1)}),
        (SpanFilter(model="known"), {(1, 2), (4, 1), (5, 2)}),
        (SpanFilter(provider="openai"), {(1, 2), (4, 1)}),
        (SpanFilter(status=SpanStatus.ERROR), {(2, 3)}),
        (SpanFilter(has_error=True), {(2, 3)}),
        (SpanFilter(trace_id=tid(2)), {(2, 1), (2, 2), (2, 3)}),
        (SpanFilter(parent_id=sid(1)), {(1, 2), (2, 2), (2, 3), (5, 2)}),
        (SpanFilter(root_only=True), {(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)}),
        (SpanFilter(start_from=at(180)), {(4, 1), (5, 1), (5, 2)}),
        (SpanFilter(start_to=at(60.5)), {(1, 1), (1, 2), (2, 1)}),
        (SpanFilter(search="refund"), {(2, 1)}),
        (SpanFilter(min_cost=1.0), {(1, 2), (4, 1)}),
        (SpanFilter(max_cost=0.1), {(5, 2)}),
        (SpanFilter(min_latency_ms=4000), {(3, 1), (5, 1)}),
        (SpanFilter(max_latency_ms=500), {(2, 2)}),
        (SpanFilter(min_tokens=1000), {(1, 2), (4, 1)}),
        (SpanFilter(max_tokens=20), {(5, 2)}),
        (SpanFilter(tags=("beta",)), {(4, 1), (5, 2)}),
        (SpanFilter(tags=("prod", "beta")), {(5, 2)}),
        (SpanFilter(kind=SpanKind.LLM, has_error=False, trace_id=tid(1)), {(1, 2)}),
    ],
    ids=lambda value: repr(sorted(value)) if isinstance(value, set) else None,
)
def test_each_span_filter_keeps_the_matching_spans(
    engine: Engine, catalogue: int, found: SpanFilter, expected: set[tuple[int, int]]
) -> None:
    assert _span_keys(engine, catalogue, found) == expected


def test_traces_are_listed_newest_first_with_rollups_and_their_own_scores(
    engine: Engine, catalogue: int
) -> None:
    items = queries.list_traces(engine, catalogue).items

    assert [int(trace.id, 16) for trace in items] == [5, 4, 3, 2, 1]
    first = items[-1]
    assert (first.name, first.span_count, first.llm_count) == ("answer question", 2, 1)
    assert (first.total_tokens, first.total_cost, first.duration_ms) == (1500, 1.5, 2000.0)
    assert sorted(first.tags) == ["beta", "prod"]
    assert first.start_time == at(0)
    assert [(score.name, score.value) for score in first.scores] == [("quality", 0.9)]
    assert items[1].scores[0].value is True


def test_span_detail_carries_payload_usage_cost_and_scores(engine: Engine, catalogue: int) -> None:
    detail = queries.span_detail(engine, catalogue, tid(1), sid(2))

    assert detail is not None
    assert detail.detail is not None
    assert detail.detail["llm"]["model"] == "known"
    assert detail.usage is not None
    assert detail.usage.input_tokens == 1000
    assert detail.cost is not None
    assert (detail.cost.total, detail.cost.source) == (1.5, "computed")
    assert [(score.name, score.value) for score in detail.scores] == [("verdict", "pass")]
    root = queries.span_detail(engine, catalogue, tid(1), sid(1))
    assert root is not None
    assert (root.input, root.output, root.cost) == ("What is 100% of_this?", "all of it", None)


def test_span_detail_of_a_missing_span_is_none(engine: Engine, catalogue: int) -> None:
    assert queries.span_detail(engine, catalogue, tid(1), sid(9)) is None
    assert queries.span_detail(engine, catalogue, tid(9), sid(1)) is None


def test_unknown_cost_counts_without_pretending_to_be_zero(engine: Engine, catalogue: int) -> None:
    detail = queries.span_detail(engine, catalogue, tid(2), sid(2))

    assert detail is not None
    assert detail.cost is not None
    assert (detail.cost.total, detail.cost.source) == (None, "unknown")
    trace = queries.list_traces(engine, catalogue, TraceFilter(thread_id="th1")).items[0]
    assert (trace.total_cost, trace.cost_unknown_count) == (None, 1)


def _all_pages(read: Any, limit: int) -> Iterator[list[Any]]:
    cursor = None
    while True:
        page = read(limit=limit, cursor=cursor)
        yield page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _tied_traces(engine: Engine, count: int) -> int:
    # Four distinct start times only, so most pages end in the middle of a tie.
    spans = [
        span(n, 1, name=f"t{n}", start_time=at(n % 4), end_time=at(n % 4 + n % 3))
        for n in range(1, count + 1)
    ]
    return write(engine, spans=spans)


@pytest.mark.parametrize("limit", [1, 4, 7, 23, 50])
def test_cursor_pages_cover_every_trace_once_across_ties(engine: Engine, limit: int) -> None:
    project_id = _tied_traces(engine, 23)

    def read(**page: Any) -> Any:
        return queries.list_traces(engine, project_id, **page)

    pages = list(_all_pages(read, limit))
    seen = [trace.id for page in pages for trace in page]
    assert len(seen) == len(set(seen)) == 23
    assert all(len(page) == limit for page in pages[:-1])
    keys = [(trace.start_time, trace.id) for page in pages for trace in page]
    assert keys == sorted(keys, reverse=True)


def _costed_traces(engine: Engine) -> int:
    # Costs: trace 1 none, 2 and 3 tie at 2.0, 4 at 1.0, 5 none, 6 at 3.0.
    tokens = {2: 2000, 3: 2000, 4: 1000, 6: 3000}
    spans = []
    for n in range(1, 7):
        usage = {"input_tokens": tokens[n]} if n in tokens else None
        llm = {"model": "known"} if n in tokens else None
        spans.append(span(n, 1, kind="llm", llm=llm, usage=usage, start_time=at(n)))
    return write(engine, spans=spans)


@pytest.mark.parametrize(
    ("descending", "expected"),
    [(True, [6, 3, 2, 4, 5, 1]), (False, [4, 2, 3, 6, 1, 5])],
    ids=["desc", "asc"],
)
@pytest.mark.parametrize("limit", [1, 2, 4])
def test_cost_sort_pages_known_costs_first_then_unknown_in_both_directions(
    engine: Engine, descending: bool, expected: list[int], limit: int
) -> None:
    project_id = _costed_traces(engine)

    def read(**page: Any) -> Any:
        return queries.list_traces(
            engine, project_id, sort=Sort.COST, descending=descending, **page
        )

    order = [int(trace.id, 16) for page in _all_pages(read, limit) for trace in page]
    assert order == expected


@pytest.mark.parametrize("sort", list(Sort))
def test_every_sort_pages_spans_without_duplicates_or_gaps(engine: Engine, sort: Sort) -> None:
    spans = [
        span(n % 3 + 1, n, start_time=at(n % 2), end_time=at(n % 2 + n % 4) if n % 5 else None)
        for n in range(1, 20)
    ]
    project_id = write(engine, spans=spans)

    def read(**page: Any) -> Any:
        return queries.list_spans(engine, project_id, sort=sort, **page)

    seen = [(s.trace_id, s.id) for page in _all_pages(read, 3) for s in page]
    assert sorted(seen) == sorted({(s.trace_id, s.id) for s in spans})


def test_cursor_made_for_another_sort_is_refused(engine: Engine, catalogue: int) -> None:
    cursor = queries.list_traces(engine, catalogue, limit=1).next_cursor

    with pytest.raises(InvalidQueryError, match="was made for sort 'start_time desc'"):
        queries.list_traces(engine, catalogue, sort=Sort.COST, cursor=cursor)
    with pytest.raises(InvalidQueryError, match="not 'start_time asc'"):
        queries.list_traces(engine, catalogue, descending=False, cursor=cursor)


def test_cursor_of_the_span_listing_is_refused_by_the_trace_listing(
    engine: Engine, catalogue: int
) -> None:
    cursor = queries.list_spans(engine, catalogue, limit=1).next_cursor

    with pytest.raises(InvalidQueryError, match="belongs to a listing of spans"):
        queries.list_traces(engine, catalogue, cursor=cursor)


@pytest.mark.parametrize("cursor", ["not base64!", "bm90IGpzb24", "WzEsMl0", "eyJsIjoidHJhY2VzIn0"])
def test_garbled_cursor_is_refused(engine: Engine, catalogue: int, cursor: str) -> None:
    with pytest.raises(InvalidQueryError, match="cursor"):
        queries.list_traces(engine, catalogue, cursor=cursor)


def test_limit_outside_bounds_is_refused(engine: Engine, catalogue: int) -> None:
    with pytest.raises(InvalidQueryError, match="limit 501 is out of range"):
        queries.list_traces(engine, catalogue, limit=501)


def test_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match=r"min_cost 2\.0 exceeds max_cost 1\.0"):
        TraceFilter(min_cost=2.0, max_cost=1.0)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("quality:0.5:1", ScoreFilter("quality", 0.5, 1.0)),
        ("quality:0.5:", ScoreFilter("quality", 0.5, None)),
        ("latency::3", ScoreFilter("latency", None, 3.0)),
        ("ns:name:0:1", ScoreFilter("ns:name", 0.0, 1.0)),
        ("verdict=pass", ScoreFilter("verdict", equals="pass")),
        ("note=a:b", ScoreFilter("note", equals="a:b")),
    ],
)
def test_score_filter_syntax_is_parsed(text: str, parsed: ScoreFilter) -> None:
    assert ScoreFilter.parse(text) == parsed


@pytest.mark.parametrize("text", ["quality", "quality:x:1", "=pass", "quality:nan:"])
def test_malformed_score_filter_is_refused(text: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"score filter|bound"):
        ScoreFilter.parse(text)


def test_listings_never_read_the_payload_tables(engine: Engine, catalogue: int) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        queries.list_traces(engine, catalogue, TraceFilter(search="x", kind=SpanKind.LLM))
        queries.list_spans(engine, catalogue, SpanFilter(search="x"))
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert statements
    assert not [sql for sql in statements if "payloads" in sql]


def test_projects_are_listed_with_counts_cost_and_activity(engine: Engine, catalogue: int) -> None:
    write(engine, "quiet", traces=[TraceIn(id=tid(1))])

    summaries = {project.name: project for project in queries.list_projects(engine)}

    main = summaries["p"]
    assert main.trace_count == 5
    assert main.total_cost == pytest.approx(1.5 + 4.0 + 0.02)
    assert main.total_tokens == 1500 + 210 + 4000 + 20
    assert main.last_activity == at(240)
    quiet = summaries["quiet"]
    assert (quiet.trace_count, quiet.total_cost, quiet.last_activity) == (1, None, None)
