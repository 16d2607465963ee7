"""Aggregates over time buckets, checked against numbers computed by hand."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from daytwo.model import SpanIn, TraceIn
from daytwo.model.views import AggregateRow
from daytwo.storage.aggregates import AggregateQuery, GroupBy, Scope, aggregate, parse_bucket
from daytwo.storage.filters import InvalidQueryError, SpanFilter, TraceFilter
from tests.storage.doubles import T0, at, span, tid, write

END = at(600)


def _calls() -> tuple[list[TraceIn], list[SpanIn]]:
    """Return ten one-span traces, call k starting at minute k-1 and lasting k seconds.

    Calls 1-6 use the priced model 'known' ($1 per 1000 tokens), 7-10 'other'
    (no price); 3 and 8 fail. Even calls are tagged 'even', multiples of three
    'three'; calls 1-5 belong to user u1, 6-10 to u2.
    """
    traces, spans = [], []
    for k in range(1, 11):
        tags = [tag for tag, keep in (("even", k % 2 == 0), ("three", k % 3 == 0)) if keep]
        traces.append(TraceIn(id=tid(k), tags=tags or None, user_id="u1" if k <= 5 else "u2"))
        start = at((k - 1) * 60)
        spans.append(
            span(
                k,
                1,
                name="call",
                kind="llm",
                start_time=start,
                end_time=start + timedelta(seconds=k),
                llm={"model": "known", "provider": "openai"}
                if k <= 6
                else {"model": "other", "provider": "acme"},
                usage={"input_tokens": 100 * k, "output_tokens": 10},
                error={"type": "Boom"} if k in (3, 8) else None,
            )
        )
    return traces, spans


@pytest.fixture
def calls(engine: Engine) -> int:
    traces, spans = _calls()
    return write(engine, traces=traces, spans=spans)


def _run(engine: Engine, project_id: int | None, **options: object) -> list[AggregateRow]:
    ids = None if project_id is None else (project_id,)
    query = AggregateQuery(start=T0, end=END, project_ids=ids, **options)  # type: ignore[arg-type]
    return aggregate(engine, query).rows


def test_whole_range_counts_sums_and_interpolated_percentiles(engine: Engine, calls: int) -> None:
    [row] = _run(engine, calls)

    assert (row.count, row.error_count, row.bucket_start, row.group) == (10, 2, None, None)
    # Durations 1..10 s: p = 1000 + q * 9 * 1000 ms, interpolated between ranks.
    assert row.latency_p50_ms == pytest.approx(5500.0)
    assert row.latency_p95_ms == pytest.approx(9550.0)
    assert row.latency_p99_ms == pytest.approx(9910.0)
    assert (row.input_tokens, row.output_tokens, row.total_tokens) == (5500, 100, 5600)
    assert row.cost == pytest.approx(sum(100 * k + 10 for k in range(1, 7)) / 1000)
    assert row.cost_unknown_count == 4


def test_span_scope_counts_spans_and_unknown_costs(engine: Engine, calls: int) -> None:
    [row] = _run(engine, calls, scope=Scope.SPANS)

    assert (row.count, row.error_count, row.cost_unknown_count) == (10, 2, 4)
    assert row.latency_p50_ms == pytest.approx(5500.0)


def test_five_minute_buckets_split_the_calls_on_epoch_boundaries(
    engine: Engine, calls: int
) -> None:
    rows = _run(engine, calls, bucket="5m")

    assert [(row.bucket_start, row.count, row.error_count) for row in rows] == [
        (at(0), 5, 1),
        (at(300), 5, 1),
    ]
    assert [row.latency_p50_ms for row in rows] == pytest.approx([3000.0, 8000.0])


def test_group_by_model_sums_cost_per_model(engine: Engine, calls: int) -> None:
    rows = {row.group: row for row in _run(engine, calls, group_by=GroupBy.MODEL)}

    assert set(rows) == {"known", "other"}
    assert (rows["known"].count, rows["known"].cost_unknown_count) == (6, 0)
    assert rows["known"].cost == pytest.approx(2.16)
    assert rows["known"].latency_p50_ms == pytest.approx(3500.0)
    assert (rows["other"].count, rows["other"].cost, rows["other"].cost_unknown_count) == (
        4,
        0.0,
        4,
    )


def test_cost_by_model_per_hour_fills_every_bucket_of_each_model(
    engine: Engine, calls: int
) -> None:
    query = AggregateQuery(
        start=T0, end=T0 + timedelta(hours=3), project_ids=(calls,), bucket="1h",
        group_by=GroupBy.MODEL, percentiles=False,
    )  # fmt: skip

    rows = aggregate(engine, query).rows

    assert [(row.bucket_start, row.group, row.count) for row in rows] == [
        (T0, "known", 6), (T0, "other", 4),
        (at(3600), "known", 0), (at(3600), "other", 0),
        (at(7200), "known", 0), (at(7200), "other", 0),
    ]  # fmt: skip
    assert rows[0].latency_p50_ms is None


def test_group_by_provider_kind_and_span_name(engine: Engine, calls: int) -> None:
    providers = {row.group: row.count for row in _run(engine, calls, group_by=GroupBy.PROVIDER)}
    kinds = {row.group: row.count for row in _run(engine, calls, group_by=GroupBy.KIND)}
    names = {row.group: row.count for row in _run(engine, calls, group_by=GroupBy.SPAN_NAME)}

    assert (providers, kinds, names) == ({"openai": 6, "acme": 4}, {"llm": 10}, {"call": 10})


def test_group_by_tag_counts_a_trace_in_each_of_its_tags(engine: Engine, calls: int) -> None:
    rows = {row.group: row for row in _run(engine, calls, group_by=GroupBy.TAG)}

    assert {tag: row.count for tag, row in rows.items()} == {"even": 5, "three": 3}
    assert rows["three"].input_tokens == 100 * (3 + 6 + 9)


def test_group_by_tag_in_span_scope_reads_span_tags(engine: Engine) -> None:
    project_id = write(
        engine,
        spans=[
            span(1, 1, tags=["a", "b"], start_time=at(1)),
            span(1, 2, tags=["b"], start_time=at(2)),
            span(1, 3, start_time=at(3)),
        ],
    )

    rows = _run(engine, project_id, group_by=GroupBy.TAG, scope=Scope.SPANS)

    assert [(row.group, row.count) for row in rows] == [("a", 1), ("b", 2)]


def test_group_by_user_and_trace_name(engine: Engine, calls: int) -> None:
    users = {row.group: row.count for row in _run(engine, calls, group_by=GroupBy.USER)}
    names = {row.group: row.count for row in _run(engine, calls, group_by=GroupBy.TRACE_NAME)}

    assert users == {"u1": 5, "u2": 5}
    assert names == {"call": 10}


def test_group_by_project_spans_every_project(engine: Engine, calls: int) -> None:
    write(engine, "q", spans=[span(20, 1, start_time=at(10)), span(21, 1, start_time=at(20))])

    rows = _run(engine, None, group_by=GroupBy.PROJECT)

    assert [(row.group, row.count) for row in rows] == [("p", 10), ("q", 2)]


def test_a_filter_narrows_the_aggregate(engine: Engine, calls: int) -> None:
    [spans] = _run(engine, calls, scope=Scope.SPANS, filter=SpanFilter(model="known"))
    [traces] = _run(engine, calls, filter=TraceFilter(user_id="u2", tags=("even",)))

    assert (spans.count, traces.count) == (6, 3)


def test_range_end_is_excluded(engine: Engine, calls: int) -> None:
    query = AggregateQuery(start=T0, end=at(540), project_ids=(calls,))

    [row] = aggregate(engine, query).rows

    assert row.count == 9


def test_empty_buckets_are_filled_with_zeros_unless_fill_is_off(engine: Engine, calls: int) -> None:
    start, end = at(30), at(12 * 60)
    filled = aggregate(engine, AggregateQuery(start, end, (calls,), bucket="1m")).rows
    sparse = aggregate(engine, AggregateQuery(start, end, (calls,), bucket="1m", fill=False)).rows

    assert [row.bucket_start for row in filled] == [at(60 * m) for m in range(12)]
    assert [row.count for row in filled] == [0] + [1] * 9 + [0, 0]
    assert [row.bucket_start for row in sparse] == [at(60 * m) for m in range(1, 10)]


def test_an_empty_range_answers_zero_rows_rather_than_nothing(engine: Engine) -> None:
    project_id = write(engine, traces=[TraceIn(id=tid(1))])

    whole = _run(engine, project_id)
    bucketed = _run(engine, project_id, bucket="5m")

    assert [(row.count, row.cost, row.latency_p50_ms) for row in whole] == [(0, 0.0, None)]
    assert [(row.count, row.latency_p50_ms) for row in bucketed] == [(0, None), (0, None)]


@pytest.mark.parametrize(
    ("text", "micros"),
    [("30s", 30_000_000), ("5m", 300_000_000), ("1h", 3_600_000_000), ("1d", 86_400_000_000)],
)
def test_bucket_widths_are_parsed(text: str, micros: int) -> None:
    assert parse_bucket(text) == micros


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bucket": "5x"}, "invalid bucket '5x'"),
        ({"bucket": "0m"}, "invalid bucket '0m'"),
        ({"bucket": "1s", "end": T0 + timedelta(days=1)}, "more than 10000 buckets"),
        ({"end": T0}, "is not before end"),
        ({"group_by": GroupBy.MODEL, "scope": Scope.TRACES}, "counts spans"),
        ({"group_by": GroupBy.USER, "scope": Scope.SPANS}, "counts traces"),
        ({"scope": Scope.SPANS, "filter": TraceFilter()}, "needs a SpanFilter"),
    ],
)
def test_impossible_aggregates_are_refused(options: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"start": T0, "end": END, **options}

    with pytest.raises(InvalidQueryError, match=message):
        AggregateQuery(**values)  # type: ignore[arg-type]
