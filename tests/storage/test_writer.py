from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from daytwo.model import Cost, ScoreIn, SpanIn, TokenUsage, TraceIn
from daytwo.storage.tables import scores, span_payloads, spans, traces
from daytwo.storage.writer import Batch, Writer
from tests.storage.doubles import FlatPrices

TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT = "b7ad6b7169203331"
CHILD = "00f067aa0ba902b7"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _row(engine: Engine, table: Any, **where: Any) -> dict[str, Any]:
    with engine.connect() as connection:
        query = select(table).filter_by(**where)
        return dict(connection.execute(query).mappings().one())


def test_update_before_create_merges_into_one_span(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    end = SpanIn(trace_id=TRACE, id=ROOT, end_time=T0 + timedelta(seconds=2), output="done")
    start = SpanIn(
        trace_id=TRACE, id=ROOT, name="answer", kind="chain", start_time=T0, input="question"
    )

    writer.write([Batch("p", spans=[end])])
    writer.write([Batch("p", spans=[start])])

    row = _row(engine, spans, id=ROOT)
    assert row["name"] == "answer"
    assert row["duration_ms"] == 2000.0
    assert row["input_preview"] == "question"
    assert row["output_preview"] == "done"
    trace = _row(engine, traces, id=TRACE)
    assert trace["name"] == "answer"
    assert trace["duration_ms"] == 2000.0
    assert trace["span_count"] == 1


def test_metadata_and_tags_merge_instead_of_replacing(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    first = SpanIn(trace_id=TRACE, id=ROOT, metadata={"a": {"x": 1}}, tags=["beta"])
    second = SpanIn(trace_id=TRACE, id=ROOT, metadata={"a": {"y": 2}}, tags=["alpha", "beta"])

    writer.write([Batch("p", spans=[first])])
    writer.write([Batch("p", spans=[second])])

    assert _row(engine, spans, id=ROOT)["tags"] == ["alpha", "beta"]
    assert _row(engine, span_payloads, span_id=ROOT)["metadata"] == {"a": {"x": 1, "y": 2}}


def test_duplicates_within_one_group_are_merged(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    first = SpanIn(trace_id=TRACE, id=ROOT, name="n", tags=["a"], start_time=T0)
    second = SpanIn(trace_id=TRACE, id=ROOT, tags=["b"], end_time=T0 + timedelta(seconds=1))

    writer.write([Batch("p", spans=[first]), Batch("p", spans=[second])])

    row = _row(engine, spans, id=ROOT)
    assert (row["name"], row["tags"]) == ("n", ["a", "b"])


def test_cost_is_computed_when_model_and_usage_arrive_separately(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    create = SpanIn(trace_id=TRACE, id=ROOT, kind="llm", llm={"model": "known"}, start_time=T0)
    update = SpanIn(trace_id=TRACE, id=ROOT, usage=TokenUsage(input_tokens=1000, output_tokens=500))

    writer.write([Batch("p", spans=[create])])
    writer.write([Batch("p", spans=[update])])

    row = _row(engine, spans, id=ROOT)
    assert (row["total_cost"], row["cost_source"]) == (1.5, "computed")
    assert _row(engine, traces, id=TRACE)["total_cost"] == 1.5


def test_unknown_model_has_unknown_cost_not_zero(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    span = SpanIn(
        trace_id=TRACE, id=ROOT, kind="llm", llm={"model": "mystery"}, usage={"input_tokens": 5}
    )

    writer.write([Batch("p", spans=[span])])

    row = _row(engine, spans, id=ROOT)
    assert (row["total_cost"], row["cost_source"]) == (None, "unknown")
    trace = _row(engine, traces, id=TRACE)
    assert (trace["total_cost"], trace["cost_unknown_count"]) == (None, 1)


def test_cost_given_by_the_client_is_kept(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    span = SpanIn(
        trace_id=TRACE,
        id=ROOT,
        kind="llm",
        llm={"model": "known"},
        usage={"input_tokens": 1000},
        cost=Cost(total=0.25),
    )

    writer.write([Batch("p", spans=[span])])

    row = _row(engine, spans, id=ROOT)
    assert (row["total_cost"], row["cost_source"]) == (0.25, "given")


def test_trace_rollups_sum_their_spans(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    root = SpanIn(trace_id=TRACE, id=ROOT, name="root", start_time=T0, end_time=T0 + timedelta(3))
    child = SpanIn(
        trace_id=TRACE,
        id=CHILD,
        parent_id=ROOT,
        kind="llm",
        llm={"model": "known"},
        usage={"input_tokens": 2000, "output_tokens": 1000},
        status="error",
        start_time=T0,
    )
    writer.write([Batch("p", spans=[child])])
    writer.write([Batch("p", spans=[root])])

    trace = _row(engine, traces, id=TRACE)
    assert trace["span_count"] == 2
    assert trace["error_count"] == 1
    assert trace["status"] == "error"
    assert trace["total_tokens"] == 3000
    assert trace["total_cost"] == 3.0
    assert trace["name"] == "root"


def test_explicit_trace_fields_win_over_the_root_span(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    trace = TraceIn(id=TRACE, name="chat turn", input={"q": "hi"}, thread_id="t1", user_id="u1")
    root = SpanIn(trace_id=TRACE, id=ROOT, name="root", input="other")

    writer.write([Batch("p", spans=[root])])
    writer.write([Batch("p", traces=[trace])])

    row = _row(engine, traces, id=TRACE)
    assert (row["name"], row["thread_id"], row["user_id"]) == ("chat turn", "t1", "u1")
    assert row["input_preview"] == '{"q":"hi"}'


def test_scores_are_replaced_when_sent_again_with_the_same_id(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    first = ScoreIn(id="s1", trace_id=TRACE, name="quality", value=0.2)
    second = ScoreIn(id="s1", trace_id=TRACE, name="quality", value=0.9, reason="better")

    writer.write([Batch("p", scores=[first])])
    writer.write([Batch("p", scores=[second])])

    row = _row(engine, scores, id="s1")
    assert (row["value"], row["reason"], row["target"]) == (0.9, "better", "trace")


def test_usage_repeated_on_an_enclosing_agent_span_is_not_counted_twice(engine: Engine) -> None:
    writer = Writer(engine, FlatPrices())
    usage = TokenUsage(input_tokens=1000, output_tokens=0)
    agent = SpanIn(trace_id=TRACE, id=ROOT, kind="agent", usage=usage, cost=Cost(total=1.0))
    llm = SpanIn(
        trace_id=TRACE, id=CHILD, parent_id=ROOT, kind="llm", llm={"model": "known"}, usage=usage
    )

    writer.write([Batch("p", spans=[agent, llm])])

    trace = _row(engine, traces, id=TRACE)
    assert (trace["input_tokens"], trace["total_cost"]) == (1000, 1.0)


def test_a_read_does_not_wait_for_a_write_in_progress(engine: Engine) -> None:
    from daytwo.storage.engine import write_transaction

    writer = Writer(engine, FlatPrices())
    writer.write([Batch("p", spans=[SpanIn(trace_id=TRACE, id=ROOT, name="first")])])

    with write_transaction(engine) as writing:
        writing.execute(spans.update().values(name="second"))
        # A reader sees the last committed state at once, without the write lock.
        assert _row(engine, spans, id=ROOT)["name"] == "first"

    assert _row(engine, spans, id=ROOT)["name"] == "second"


def test_two_servers_adding_spans_to_one_trace_keep_exact_rollups(database_url: str) -> None:
    import threading

    from daytwo.storage.engine import create_database_engine

    engines = [create_database_engine(database_url) for _ in range(2)]
    writers = [Writer(engine, FlatPrices()) for engine in engines]
    usage = TokenUsage(input_tokens=10, output_tokens=0)

    def add(writer: Writer, first: int) -> None:
        for number in range(first, first + 40, 2):
            span = SpanIn(
                trace_id=TRACE,
                id=f"{number + 1:016x}",
                kind="llm",
                llm={"model": "known"},
                usage=usage,
            )
            writer.write([Batch("p", spans=[span])])

    threads = [threading.Thread(target=add, args=(w, i)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    trace = _row(engines[0], traces, id=TRACE)
    assert (trace["span_count"], trace["input_tokens"]) == (40, 400)
    for engine in engines:
        engine.dispose()
