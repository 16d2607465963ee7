"""The OpenTelemetry example of docs/integrations.md, run against a live server.

The server's OTLP ingest is tested in depth elsewhere; this pins the documented
setup: an OTLP/HTTP exporter pointed at ``/v1/traces`` with the project header.
"""

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.conftest import LiveServer


def test_the_documented_opentelemetry_setup_delivers_spans(live_server: LiveServer) -> None:
    # As in the docs, but with a provider of its own rather than the global one,
    # which a process can set only once.
    provider = TracerProvider(resource=Resource.create({"service.name": "my-app"}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(
                endpoint=f"{live_server.url}/v1/traces",
                headers={"X-Daytwo-Project": "my-app"},
            )
        )
    )
    tracer = provider.get_tracer("my-app")
    with (
        tracer.start_as_current_span("answer"),
        tracer.start_as_current_span("chat gpt-4o") as span,
    ):
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.usage.input_tokens", 1200)
        span.set_attribute("gen_ai.usage.output_tokens", 80)
    assert provider.force_flush(10_000)
    provider.shutdown()

    with httpx.Client(base_url=f"{live_server.url}/api/v1/projects/my-app") as client:
        (listed,) = client.get("/traces").json()["items"]
        tree = client.get(f"/traces/{listed['id']}").json()

    assert [(s["depth"], s["name"], s["kind"]) for s in tree["spans"]] == [
        (0, "answer", "general"),
        (1, "chat gpt-4o", "llm"),
    ]
    assert (listed["input_tokens"], listed["output_tokens"]) == (1200, 80)
