"""daytwo and OpenTelemetry spans in one process keep one trace, whichever is outside."""

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
