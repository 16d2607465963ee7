"""daytwo and OpenTelemetry spans in one process keep one trace, whichever is outside."""

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

import daytwo
from tests.sdk.conftest import Sink, received


@pytest.fixture
def otel() -> Iterator[tuple[Tracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def test_a_daytwo_span_inside_an_opentelemetry_span_is_its_child(
    traced: Sink, otel: tuple[Tracer, InMemorySpanExporter]
) -> None:
    tracer, _ = otel
    with tracer.start_as_current_span("http request") as outer, daytwo.span("answer"):
        pass
    context = outer.get_span_context()

    [span] = received(traced)
    assert span["trace_id"] == f"{context.trace_id:032x}"
    assert span["parent_id"] == f"{context.span_id:016x}"


def test_an_opentelemetry_span_inside_a_daytwo_span_is_its_child(
    traced: Sink, otel: tuple[Tracer, InMemorySpanExporter]
) -> None:
    tracer, exported = otel
    with daytwo.span("agent") as agent, tracer.start_as_current_span("vector search"):
        pass

    [inner] = exported.get_finished_spans()
    assert inner.parent is not None
    assert f"{inner.context.trace_id:032x}" == agent.trace_id
    assert f"{inner.parent.span_id:016x}" == agent.span_id
    assert len(received(traced)) == 1


def test_spans_alternating_between_the_two_form_one_chain(
    traced: Sink, otel: tuple[Tracer, InMemorySpanExporter]
) -> None:
    tracer, exported = otel
    with (
        daytwo.span("a") as a,
        tracer.start_as_current_span("b") as b,
        daytwo.span("c"),
    ):
        pass

    spans = {span["name"]: span for span in received(traced)}
    [otel_b] = exported.get_finished_spans()
    assert otel_b.parent is not None
    assert otel_b.parent.span_id == int(a.span_id or "0", 16)
    assert spans["c"]["parent_id"] == f"{b.get_span_context().span_id:016x}"
    assert spans["c"]["trace_id"] == spans["a"]["trace_id"]


def test_wrap_carries_both_contexts_into_a_thread(
    traced: Sink, otel: tuple[Tracer, InMemorySpanExporter]
) -> None:
    tracer, exported = otel

    def work(name: str) -> None:
        with tracer.start_as_current_span(f"otel {name}"), daytwo.span(f"daytwo {name}"):
            pass

    def in_thread(name: str) -> None:
        thread = threading.Thread(target=daytwo.wrap(work), args=(name,))
        thread.start()
        thread.join()

    with tracer.start_as_current_span("request") as request:
        in_thread("under otel")
    with daytwo.span("job") as job:
        in_thread("under daytwo")

    otel_spans = {span.name: span for span in exported.get_finished_spans()}
    spans = {span["name"]: span for span in received(traced)}
    under_otel = otel_spans["otel under otel"]
    assert under_otel.parent is not None
    assert under_otel.parent.span_id == request.get_span_context().span_id
    under_daytwo = otel_spans["otel under daytwo"]
    assert under_daytwo.parent is not None
    assert f"{under_daytwo.parent.span_id:016x}" == job.span_id
    assert f"{under_daytwo.context.trace_id:032x}" == job.trace_id
    for name, outer in (("under otel", under_otel), ("under daytwo", under_daytwo)):
        assert spans[f"daytwo {name}"]["parent_id"] == f"{outer.context.span_id:016x}"
        assert spans[f"daytwo {name}"]["trace_id"] == f"{outer.context.trace_id:032x}"
