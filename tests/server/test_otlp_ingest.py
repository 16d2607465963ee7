"""OpenTelemetry's own exporters sending to a real ``daytwo serve`` on loopback."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as ProtobufSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer
from sqlalchemy import select

from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import projects, span_payloads, spans, traces
from tests.conftest import LiveServer

EXPORTERS = {"protobuf": ProtobufSpanExporter, "json": JsonSpanExporter}


@contextmanager
def _tracer(
    server: LiveServer, encoding: str, resource: dict[str, Any], headers: dict[str, str]
) -> Iterator[Tracer]:
    exporter: SpanExporter = EXPORTERS[encoding](
        endpoint=f"{server.url}/v1/traces", headers=headers, timeout=30
    )
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("daytwo-tests")
    finally:
        provider.force_flush()
        provider.shutdown()


def _rows(database_url: str, table: Any) -> list[dict[str, Any]]:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            return [dict(r) for r in connection.execute(select(table)).mappings()]
    finally:
        engine.dispose()


def _openinference_chat(tracer: Tracer) -> None:
    with tracer.start_as_current_span("agent") as root:
        root.set_attribute("openinference.span.kind", "AGENT")
        root.set_attribute("input.value", "What is the capital of France?")
        root.set_attribute("session.id", "conversation-7")
        root.set_attribute("user.id", "alice")
        with tracer.start_as_current_span("retrieve") as retrieval:
            retrieval.set_attribute("openinference.span.kind", "RETRIEVER")
            retrieval.set_attribute("input.value", "capital of France")
            retrieval.set_attribute("retrieval.documents.0.document.id", "doc-1")
            retrieval.set_attribute("retrieval.documents.0.document.content", "Paris is ...")
            retrieval.set_attribute("retrieval.documents.0.document.score", 0.92)
        with tracer.start_as_current_span("ChatCompletion") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.provider", "openai")
            llm.set_attribute("llm.input_messages.0.message.role", "user")
            llm.set_attribute("llm.input_messages.0.message.content", "Capital of France?")
            llm.set_attribute("llm.output_messages.0.message.role", "assistant")
            llm.set_attribute("llm.output_messages.0.message.content", "Paris.")
            llm.set_attribute("llm.token_count.prompt", 1200)
            llm.set_attribute("llm.token_count.prompt_details.cache_read", 1000)
            llm.set_attribute("llm.token_count.completion", 50)
        root.set_attribute("output.value", "Paris.")


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_openinference_spans_arrive_with_cost_and_tree(
    live_server: LiveServer, database_url: str, encoding: str
) -> None:
    with _tracer(live_server, encoding, {"service.name": "rag"}, {"X-Daytwo-Project": "rag"}) as t:
        _openinference_chat(t)

    rows = {row["name"]: row for row in _rows(database_url, spans)}
    assert set(rows) == {"agent", "retrieve", "ChatCompletion"}
    llm = rows["ChatCompletion"]
    assert (llm["kind"], llm["model"], llm["provider"]) == ("llm", "gpt-4o", "openai")
    assert (llm["input_tokens"], llm["cache_read_tokens"], llm["output_tokens"]) == (1200, 1000, 50)
    assert llm["cost_source"] == "computed"
    assert llm["total_cost"] > 0
    assert llm["parent_id"] == rows["agent"]["id"]
    assert rows["retrieve"]["kind"] == "retrieval"

    (trace,) = _rows(database_url, traces)
    assert (trace["name"], trace["thread_id"], trace["user_id"]) == (
        "agent",
        "conversation-7",
        "alice",
    )
    assert trace["span_count"] == 3
    assert trace["total_cost"] == pytest.approx(llm["total_cost"])
    assert [p["name"] for p in _rows(database_url, projects)] == ["rag"]


def test_genai_convention_spans_are_mapped_and_raw_attributes_kept(
    live_server: LiveServer, database_url: str
) -> None:
    resource = {"service.name": "support-bot", "daytwo.project.name": "support"}
    tracer_context = _tracer(live_server, "protobuf", resource, {})
    with tracer_context as tracer, tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.request.temperature", 0.2)
        span.set_attribute("gen_ai.usage.input_tokens", 300)
        span.set_attribute("gen_ai.usage.output_tokens", 40)
        span.set_attribute(
            "gen_ai.input.messages",
            json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]),
        )

    (row,) = _rows(database_url, spans)
    assert (row["kind"], row["model"], row["input_tokens"], row["output_tokens"]) == (
        "llm",
        "gpt-4o-mini",
        300,
        40,
    )
    assert row["cost_source"] == "computed"
    (payload,) = _rows(database_url, span_payloads)
    assert payload["detail"]["llm"]["invocation_parameters"]["temperature"] == 0.2
    assert payload["detail"]["llm"]["input_messages"][0]["content"] == "Hi"
    assert payload["attributes"]["span"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert payload["attributes"]["resource"]["service.name"] == "support-bot"
    assert [p["name"] for p in _rows(database_url, projects)] == ["support"]


def test_a_model_without_a_known_price_has_unknown_cost(
    live_server: LiveServer, database_url: str
) -> None:
    tracer_context = _tracer(live_server, "protobuf", {}, {})
    with tracer_context as tracer, tracer.start_as_current_span("call") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "our-own-finetune-v3")
        span.set_attribute("gen_ai.usage.input_tokens", 10)

    (row,) = _rows(database_url, spans)
    assert (row["cost_source"], row["total_cost"]) == ("unknown", None)


def test_truncated_protobuf_is_refused_and_stored_spans_are_intact(
    live_server: LiveServer, database_url: str
) -> None:
    with _tracer(live_server, "protobuf", {}, {}) as tracer:
        _openinference_chat(tracer)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="x" * 100)
    span.trace_id, span.span_id = b"\x01" * 16, b"\x02" * 8
    body = request.SerializeToString()[:-20]
    with live_server.client() as client:
        response = client.post(
            "/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert len(_rows(database_url, spans)) == 3
