"""Mapping OTLP spans to daytwo's SpanIn: conventions, priorities, ids, errors, raw data."""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans as encode_json
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, StatusCode

from daytwo.model import (
    CostSource,
    Document,
    ErrorInfo,
    Message,
    SpanIn,
    SpanKind,
    SpanStatus,
    ToolCall,
)
from daytwo.server.otlp import (
    JSON,
    MAX_ERRORS,
    PROTOBUF,
    MappedSpans,
    decode_export_request,
    map_export_request,
)
from daytwo.server.otlp.attributes import MAX_DEPTH

TRACE_ID = "5bc8f3b82b4973dad0826631b7b6c02c"
SPAN_ID = "cfb5bc390120bca2"
PARENT_ID = "b35e4fd706cab91e"
START_NS = 1_764_000_000_123_456_789
END_NS = 1_764_000_001_500_000_999


# Builders -------------------------------------------------------------------------


def any_value(value: object) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(item) for item in value]))
    if isinstance(value, dict):
        items = [KeyValue(key=key, value=any_value(item)) for key, item in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=items))
    if value is None:
        return AnyValue()
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, object]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def make_span(
    attributes: Mapping[str, object] | None = None,
    *,
    name: str = "span",
    trace_id: str = TRACE_ID,
    span_id: str = SPAN_ID,
    parent_id: str = "",
    status: Status | None = None,
    events: Sequence[Span.Event] = (),
    links: Sequence[Span.Link] = (),
) -> Span:
    span = Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent_id),
        name=name,
        start_time_unix_nano=START_NS,
        end_time_unix_nano=END_NS,
        attributes=key_values(attributes or {}),
        events=events,
        links=links,
    )
    if status is not None:
        span.status.CopyFrom(status)
    return span


def make_event(name: str, attributes: Mapping[str, object], time_ns: int = START_NS) -> Span.Event:
    return Span.Event(name=name, time_unix_nano=time_ns, attributes=key_values(attributes))


def make_request(
    *spans: Span, resource: Mapping[str, object] | None = None
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {"service.name": "shop"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests.instrumentation"
    scope_spans.scope.version = "0.1"
    scope_spans.spans.extend(spans)
    return request


def map_request(
    request: ExportTraceServiceRequest, header_project: str | None = None
) -> MappedSpans:
    return map_export_request(request, header_project=header_project, default_project="default")


def map_one(attributes: Mapping[str, object] | None = None, **span_options: Any) -> SpanIn:
    mapped = map_request(make_request(make_span(attributes, **span_options)))
    assert mapped.errors == []
    (span,) = mapped.spans
    return span


def raw(span: SpanIn) -> dict[str, Any]:
    assert span.attributes is not None
    return span.attributes


def openinference_llm_attributes() -> dict[str, str | int]:
    return {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.invocation_parameters": json.dumps({"temperature": 0.2, "max_tokens": 512}),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You answer questions about the handbook.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "How many vacation days do I get?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Fifteen days a year.",
        "llm.token_count.prompt": 412,
        "llm.token_count.completion": 57,
        "llm.token_count.total": 469,
        "llm.token_count.prompt_details.cache_read": 256,
        "llm.token_count.prompt_details.cache_write": 100,
        "llm.token_count.completion_details.reasoning": 20,
        "output.value": "Fifteen days a year.",
    }


# OpenInference ----------------------------------------------------------------------


def test_openinference_llm_span_maps_model_messages_and_parameters() -> None:
    span = map_one(openinference_llm_attributes(), name="ChatOpenAI")

    assert span.kind is SpanKind.LLM
    assert span.name == "ChatOpenAI"
    assert span.llm is not None
    assert span.llm.model == "gpt-4o-mini-2024-07-18"
    assert span.llm.provider == "openai"
    assert span.llm.invocation_parameters == {"temperature": 0.2, "max_tokens": 512}
    assert span.llm.input_messages == [
        Message(role="system", content="You answer questions about the handbook."),
        Message(role="user", content="How many vacation days do I get?"),
    ]
    assert span.llm.output_messages == [Message(role="assistant", content="Fifteen days a year.")]
    assert span.output == "Fifteen days a year."


def test_llm_span_without_input_value_has_no_input() -> None:
    span = map_one(openinference_llm_attributes())

    assert span.input is None


def test_cached_tokens_are_counted_inside_input_tokens() -> None:
    span = map_one(openinference_llm_attributes())

    assert span.usage is not None
    assert span.usage.input_tokens == 412
    assert span.usage.cache_read_tokens == 256
    assert span.usage.cache_write_tokens == 100


def test_reasoning_tokens_are_counted_inside_output_tokens() -> None:
    span = map_one(openinference_llm_attributes())

    assert span.usage is not None
    assert span.usage.output_tokens == 57
    assert span.usage.reasoning_tokens == 20
    assert span.usage.total_tokens == 469


def test_total_tokens_stays_unset_when_no_source_gives_it() -> None:
    span = map_one({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5})

    assert span.usage is not None
    assert span.usage.total_tokens is None


def test_input_count_that_leaves_out_the_cache_is_folded_back() -> None:
    # Anthropic's input_tokens excludes cache reads; copied as is it undercounts.
    span = map_one(
        {
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.cache_read.input_tokens": 3000,
            "gen_ai.usage.cache_creation.input_tokens": 500,
            "gen_ai.usage.output_tokens": 80,
            "gen_ai.usage.total_tokens": 92,
        }
    )

    assert span.usage is not None
    assert span.usage.input_tokens == 3512
    assert span.usage.total_tokens == 3592


def test_output_count_that_leaves_out_reasoning_is_folded_back() -> None:
    span = map_one(
        {"llm.token_count.completion": 10, "llm.token_count.completion_details.reasoning": 300}
    )

    assert span.usage is not None
    assert span.usage.output_tokens == 310


def test_openinference_tool_calls_are_read_from_messages() -> None:
    calls = "llm.output_messages.0.message.tool_calls"
    span = map_one(
        {
            "openinference.span.kind": "LLM",
            "llm.output_messages.0.message.role": "assistant",
            f"{calls}.0.tool_call.id": "call_1",
            f"{calls}.0.tool_call.function.name": "multiply",
            f"{calls}.0.tool_call.function.arguments": '{"a": 23, "b": 87}',
            f"{calls}.1.tool_call.function.name": "add",
            f"{calls}.1.tool_call.function.arguments": "not json",
            "llm.input_messages.0.message.role": "tool",
            "llm.input_messages.0.message.content": "2001",
            "llm.input_messages.0.message.name": "multiply",
            "llm.input_messages.0.message.tool_call_id": "call_0",
        }
    )

    assert span.llm is not None
    assert span.llm.output_messages == [
        Message(
            role="assistant",
            tool_calls=[
                ToolCall(id="call_1", name="multiply", arguments={"a": 23, "b": 87}),
                ToolCall(name="add", arguments="not json"),
            ],
        )
    ]
    assert span.llm.input_messages == [
        Message(role="tool", content="2001", name="multiply", tool_call_id="call_0")
    ]


def test_openinference_message_contents_become_parts() -> None:
    prefix = "llm.input_messages.0.message"
    span = map_one(
        {
            "openinference.span.kind": "LLM",
            f"{prefix}.role": "user",
            f"{prefix}.contents.0.message_content.type": "text",
            f"{prefix}.contents.0.message_content.text": "What is in this picture?",
            f"{prefix}.contents.1.message_content.type": "image",
            f"{prefix}.contents.1.message_content.image.image.url": "https://example.com/cat.png",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.text": "Only text",
        }
    )

    assert span.llm is not None
    assert span.llm.input_messages == [
        Message(
            role="user",
            content=[
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "url": "https://example.com/cat.png"},
            ],
        ),
        Message(role="user", content="Only text"),
    ]


def test_openinference_prompt_template_is_kept() -> None:
    span = map_one(
        {
            "openinference.span.kind": "LLM",
            "llm.prompt_template.template": "Weather in {city}",
            "llm.prompt_template.variables": '{"city": "Oslo"}',
        }
    )

    assert span.llm is not None
    assert span.llm.prompt_template == "Weather in {city}"
    assert span.llm.prompt_variables == {"city": "Oslo"}


def test_retrieval_documents_are_mapped_in_order() -> None:
    span = map_one(
        {
            "openinference.span.kind": "RETRIEVER",
            "input.value": "vacation policy",
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.content": "Fifteen days.",
            "retrieval.documents.0.document.score": 0.92,
            "retrieval.documents.0.document.metadata": '{"page": 12}',
            "retrieval.documents.1.document.id": 7,
            "retrieval.documents.1.document.content": "Carry-over rules.",
            "retrieval.documents.1.document.score": 0.5,
        }
    )

    assert span.kind is SpanKind.RETRIEVAL
    assert span.retrieval is not None
    assert span.retrieval.query == "vacation policy"
    assert span.retrieval.documents == [
        Document(id="doc-1", content="Fifteen days.", score=0.92, metadata={"page": 12}),
        Document(id="7", content="Carry-over rules.", score=0.5),
    ]


def test_reranker_result_is_its_output_documents() -> None:
    span = map_one(
        {
            "openinference.span.kind": "RERANKER",
            "reranker.query": "vacation policy",
            "reranker.model_name": "cross-encoder/ms-marco-MiniLM-L-12-v2",
            "reranker.input_documents.0.document.id": "a",
            "reranker.input_documents.1.document.id": "b",
            "reranker.output_documents.0.document.id": "b",
            "reranker.output_documents.0.document.score": 0.9,
        }
    )

    assert span.kind is SpanKind.RERANKER
    assert span.retrieval is not None
    assert span.retrieval.query == "vacation policy"
    assert span.retrieval.documents == [Document(id="b", score=0.9)]


def test_openinference_tool_span_maps_the_tool() -> None:
    span = map_one(
        {
            "openinference.span.kind": "TOOL",
            "tool.name": "get_weather",
            "tool.description": "Current weather for a city.",
            "tool.parameters": '{"type": "object", "properties": {"city": {"type": "string"}}}',
            "tool_call.function.arguments": '{"city": "Oslo"}',
            "input.value": '{"city": "Oslo"}',
            "input.mime_type": "application/json",
            "output.value": "rainy",
        }
    )

    assert span.kind is SpanKind.TOOL
    assert span.tool is not None
    assert span.tool.name == "get_weather"
    assert span.tool.description == "Current weather for a city."
    assert span.tool.arguments == {"city": "Oslo"}
    assert span.input == {"city": "Oslo"}
    assert span.output == "rainy"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("LLM", SpanKind.LLM),
        ("CHAIN", SpanKind.CHAIN),
        ("RETRIEVER", SpanKind.RETRIEVAL),
        ("RERANKER", SpanKind.RERANKER),
        ("EMBEDDING", SpanKind.EMBEDDING),
        ("TOOL", SpanKind.TOOL),
        ("AGENT", SpanKind.AGENT),
        ("GUARDRAIL", SpanKind.GUARDRAIL),
        ("EVALUATOR", SpanKind.EVALUATOR),
        ("UNKNOWN", SpanKind.GENERAL),
        ("agent", SpanKind.AGENT),
    ],
)
def test_openinference_span_kinds_map_to_daytwo_kinds(value: str, kind: SpanKind) -> None:
    assert map_one({"openinference.span.kind": value}).kind is kind


def test_input_value_is_parsed_only_when_its_mime_type_is_json() -> None:
    as_json = map_one({"input.value": '{"q": 1}', "input.mime_type": "application/json"})
    as_text = map_one({"input.value": '{"q": 1}'})

    assert as_json.input == {"q": 1}
    assert as_text.input == '{"q": 1}'


def test_openinference_session_user_metadata_and_tags_are_mapped() -> None:
    span = map_one(
        {
            "session.id": "session-1",
            "user.id": 42,
            "metadata": '{"env": "prod"}',
            "tag.tags": ["beta", "eu"],
        }
    )

    assert span.thread_id == "session-1"
    assert span.user_id == "42"
    assert span.metadata == {"env": "prod"}
    assert span.tags == ["beta", "eu"]


def test_openinference_embedding_span_names_its_model() -> None:
    span = map_one(
        {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small"}
    )

    assert span.kind is SpanKind.EMBEDDING
    assert span.llm is not None
    assert span.llm.model == "text-embedding-3-small"


# GenAI conventions ---------------------------------------------------------------------


def test_genai_json_messages_map_parts_to_content_and_tool_calls() -> None:
    span = map_one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.system_instructions": json.dumps(
                [{"type": "text", "content": "You are a weather bot."}]
            ),
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": "call_1",
                                "name": "get_weather",
                                "arguments": {"location": "Paris"},
                            }
                        ],
                        "finish_reason": "tool_call",
                    }
                ]
            ),
        }
    )

    assert span.kind is SpanKind.LLM
    assert span.llm is not None
    assert span.llm.provider == "openai"
    assert span.llm.input_messages == [
        Message(role="system", content="You are a weather bot."),
        Message(role="user", content="Weather in Paris?"),
    ]
    assert span.llm.output_messages == [
        Message(
            role="assistant",
            tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"location": "Paris"})],
        )
    ]


def test_genai_tool_call_response_part_becomes_a_tool_message() -> None:
    messages = [
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rainy"}],
        },
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Look:"},
                {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
            ],
        },
    ]

    span = map_one({"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(messages)})

    assert span.llm is not None
    assert span.llm.input_messages == [
        Message(role="tool", content="rainy", tool_call_id="call_1"),
        Message(
            role="user",
            content=[
                {"type": "text", "text": "Look:"},
                {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
            ],
        ),
    ]


def test_genai_messages_sent_as_structured_values_are_read_too() -> None:
    message = {"role": "user", "parts": [{"type": "text", "content": "hi"}]}

    span = map_one({"gen_ai.operation.name": "chat", "gen_ai.input.messages": [message]})

    assert span.llm is not None
    assert span.llm.input_messages == [Message(role="user", content="hi")]


def test_indexed_genai_prompt_and_completion_are_read() -> None:
    span = map_one(
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Weather in Oslo?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_use",
            "gen_ai.completion.0.tool_calls.0.id": "toolu_1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Oslo"}',
            "gen_ai.usage.prompt_tokens": 20,
            "gen_ai.usage.completion_tokens": 9,
            "llm.usage.total_tokens": 29,
        }
    )

    assert span.kind is SpanKind.LLM
    assert span.llm is not None
    assert span.llm.provider == "Anthropic"
    assert span.llm.input_messages == [Message(role="user", content="Weather in Oslo?")]
    assert span.llm.output_messages == [
        Message(
            role="assistant",
            tool_calls=[ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Oslo"})],
        )
    ]
    assert span.usage is not None
    assert (span.usage.input_tokens, span.usage.output_tokens) == (20, 9)
    assert span.usage.total_tokens == 29


def test_legacy_genai_content_events_are_read() -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    completion = [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ]
    events = [
        make_event("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(prompt)}),
        make_event("gen_ai.content.completion", {"gen_ai.completion": json.dumps(completion)}),
    ]

    span = map_one({"gen_ai.operation.name": "chat"}, events=events)

    assert span.llm is not None
    assert span.llm.input_messages == [Message(role="user", content="Hi")]
    assert span.llm.output_messages == [
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="f", arguments={})])
    ]
    assert [event["name"] for event in raw(span)["events"]] == [
        "gen_ai.content.prompt",
        "gen_ai.content.completion",
    ]


def test_genai_inference_details_event_carries_messages() -> None:
    details = {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": []}])}
    events = [make_event("gen_ai.client.inference.operation.details", details)]

    span = map_one({"gen_ai.operation.name": "chat"}, events=events)

    assert span.llm is not None
    assert span.llm.input_messages == [Message(role="user")]


@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        ("chat", SpanKind.LLM),
        ("text_completion", SpanKind.LLM),
        ("generate_content", SpanKind.LLM),
        ("embeddings", SpanKind.EMBEDDING),
        ("execute_tool", SpanKind.TOOL),
        ("invoke_agent", SpanKind.AGENT),
        ("create_agent", SpanKind.AGENT),
        ("retrieval", SpanKind.RETRIEVAL),
    ],
)
def test_genai_operation_names_map_to_daytwo_kinds(operation: str, kind: SpanKind) -> None:
    assert map_one({"gen_ai.operation.name": operation}).kind is kind


def test_response_model_wins_over_request_model() -> None:
    span = map_one({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"})

    assert span.llm is not None
    assert span.llm.model == "gpt-4o-2024-08-06"


def test_genai_request_settings_become_invocation_parameters() -> None:
    span = map_one(
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.max_tokens": 200,
            "gen_ai.request.stop_sequences": ["END"],
            "gen_ai.request.functions.0.name": "get_weather",
        }
    )

    assert span.llm is not None
    assert span.llm.invocation_parameters == {
        "temperature": 0.3,
        "max_tokens": 200,
        "stop_sequences": ["END"],
    }


@pytest.mark.parametrize(
    ("cache_read", "cache_write", "reasoning"),
    [
        (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.reasoning.output_tokens",
        ),
        (
            "gen_ai.usage.cache_read_input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "gen_ai.usage.reasoning_tokens",
        ),
    ],
)
def test_genai_usage_breakdowns_are_read_under_both_spellings(
    cache_read: str, cache_write: str, reasoning: str
) -> None:
    span = map_one(
        {
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 300,
            cache_read: 600,
            cache_write: 200,
            reasoning: 100,
        }
    )

    assert span.usage is not None
    assert span.usage.model_dump(exclude_none=True) == {
        "input_tokens": 1000,
        "output_tokens": 300,
        "cache_read_tokens": 600,
        "cache_write_tokens": 200,
        "reasoning_tokens": 100,
    }


def test_genai_tool_span_maps_arguments_and_result() -> None:
    span = map_one(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": '{"city": "Paris"}',
            "gen_ai.tool.call.result": '{"sky": "clear"}',
        }
    )

    assert span.kind is SpanKind.TOOL
    assert span.tool is not None
    assert span.tool.name == "get_weather"
    assert span.tool.arguments == {"city": "Paris"}
    assert span.tool.result == {"sky": "clear"}


def test_time_to_first_token_is_converted_to_milliseconds() -> None:
    span = map_one({"gen_ai.request.model": "gpt-4o", "gen_ai.server.time_to_first_token": 0.25})

    assert span.llm is not None
    assert span.llm.time_to_first_token_ms == 250.0


def test_genai_conversation_is_the_thread() -> None:
    assert map_one({"gen_ai.conversation.id": "conv_1"}).thread_id == "conv_1"


def test_genai_retrieval_documents_are_read() -> None:
    span = map_one(
        {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.retrieval.query.text": "capital of France",
            "gen_ai.retrieval.documents": '[{"id": "doc_1", "score": 0.95}]',
        }
    )

    assert span.retrieval is not None
    assert span.retrieval.query == "capital of France"
    assert span.retrieval.documents == [Document(id="doc_1", score=0.95)]


def test_genai_system_instructions_alone_make_a_system_message() -> None:
    instructions = json.dumps([{"type": "text", "content": "Be brief."}])

    span = map_one({"gen_ai.operation.name": "chat", "gen_ai.system_instructions": instructions})

    assert span.llm is not None
    assert span.llm.input_messages == [Message(role="system", content="Be brief.")]


def test_json_messages_with_anthropic_content_blocks_are_read() -> None:
    prompt = [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "found"}],
        },
    ]
    events = [make_event("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(prompt)})]

    span = map_one({"gen_ai.operation.name": "chat"}, events=events)

    assert span.llm is not None
    assert span.llm.input_messages == [
        Message(
            role="assistant",
            content="Let me check.",
            tool_calls=[ToolCall(id="toolu_1", name="lookup", arguments={"q": "x"})],
        ),
        Message(role="user", content="found", tool_call_id="toolu_1"),
    ]


def test_a_single_json_message_object_is_read_as_one_message() -> None:
    completion = json.dumps({"role": "assistant", "content": "Done."})
    events = [make_event("gen_ai.content.completion", {"gen_ai.completion": completion})]

    span = map_one({"gen_ai.operation.name": "chat"}, events=events)

    assert span.llm is not None
    assert span.llm.output_messages == [Message(role="assistant", content="Done.")]


def test_long_lists_are_read_past_the_cached_indices() -> None:
    attributes: dict[str, object] = {"openinference.span.kind": "RETRIEVER"}
    for index in range(300):
        attributes[f"retrieval.documents.{index}.document.id"] = f"doc-{index}"

    span = map_one(attributes)

    assert span.retrieval is not None
    assert span.retrieval.documents is not None
    assert [document.id for document in span.retrieval.documents][-2:] == ["doc-298", "doc-299"]


# Vendor keys ----------------------------------------------------------------------------


def test_vercel_ai_sdk_provider_call_is_an_llm_span() -> None:
    span = map_one(
        {
            "ai.operationId": "ai.generateText.doGenerate",
            "ai.model.id": "gpt-4o-mini",
            "ai.model.provider": "openai.chat",
            "ai.usage.promptTokens": 30,
            "ai.usage.completionTokens": 12,
            "ai.settings.temperature": 0.1,
            "ai.prompt.messages": json.dumps(
                [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
            ),
            "ai.response.text": "Hello!",
            "ai.telemetry.metadata.userId": "u-9",
        }
    )

    assert span.kind is SpanKind.LLM
    assert span.llm is not None
    assert (span.llm.provider, span.llm.model) == ("openai", "gpt-4o-mini")
    assert span.llm.invocation_parameters == {"temperature": 0.1}
    assert span.llm.input_messages == [Message(role="user", content="Hi")]
    assert span.llm.output_messages == [Message(role="assistant", content="Hello!")]
    assert span.usage is not None
    assert (span.usage.input_tokens, span.usage.output_tokens) == (30, 12)
    assert span.user_id == "u-9"
    assert span.metadata == {"userId": "u-9"}
    assert span.output == "Hello!"


def test_traceloop_workflow_span_is_a_chain_with_its_payloads() -> None:
    span = map_one(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.input": '{"args": ["hi"], "kwargs": {}}',
            "traceloop.entity.output": '"done"',
            "traceloop.association.properties.session_id": "s-1",
        }
    )

    assert span.kind is SpanKind.CHAIN
    assert span.input == {"args": ["hi"], "kwargs": {}}
    assert span.output == "done"
    assert span.thread_id == "s-1"
    assert span.metadata == {"session_id": "s-1"}


def test_vercel_ai_sdk_tool_calls_and_results_are_read() -> None:
    prompt = [
        {
            "role": "tool",
            "content": [
                {"type": "tool-result", "toolCallId": "c1", "toolName": "f", "result": {"ok": 1}}
            ],
        }
    ]
    span = map_one(
        {
            "ai.operationId": "ai.streamText.doStream",
            "ai.prompt.messages": json.dumps(prompt),
            "ai.response.toolCalls": json.dumps(
                [{"toolCallType": "function", "toolCallId": "c2", "toolName": "g", "args": "{}"}]
            ),
            "ai.response.msToFirstChunk": 180.5,
        }
    )

    assert span.kind is SpanKind.LLM
    assert span.llm is not None
    assert span.llm.input_messages == [Message(role="tool", content={"ok": 1}, tool_call_id="c1")]
    assert span.llm.output_messages == [
        Message(role="assistant", tool_calls=[ToolCall(id="c2", name="g", arguments={})])
    ]
    assert span.llm.time_to_first_token_ms == 180.5


def test_vercel_ai_sdk_tool_span_is_a_tool() -> None:
    span = map_one(
        {
            "ai.operationId": "ai.toolCall",
            "ai.toolCall.name": "lookup",
            "ai.toolCall.args": '{"q": "x"}',
            "ai.toolCall.result": '"found"',
        }
    )

    assert span.kind is SpanKind.TOOL
    assert span.tool is not None
    assert (span.tool.name, span.tool.arguments, span.tool.result) == (
        "lookup",
        {"q": "x"},
        "found",
    )


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        ({"traceloop.span.kind": "task"}, SpanKind.CHAIN),
        ({"traceloop.span.kind": "agent"}, SpanKind.AGENT),
        ({"traceloop.span.kind": "tool"}, SpanKind.TOOL),
        ({"llm.request.type": "embedding"}, SpanKind.EMBEDDING),
        ({"llm.request.type": "rerank"}, SpanKind.RERANKER),
        ({"ai.operationId": "ai.generateText"}, SpanKind.CHAIN),
        ({"ai.operationId": "ai.embedMany.doEmbed"}, SpanKind.EMBEDDING),
        ({"openinference.span.kind": "PROMPT"}, SpanKind.GENERAL),
    ],
)
def test_vendor_kinds_map_to_daytwo_kinds(attributes: dict[str, object], kind: SpanKind) -> None:
    assert map_one(attributes).kind is kind


# Priority ----------------------------------------------------------------------------------


def test_daytwo_attributes_win_over_openinference_and_genai() -> None:
    span = map_one(
        {
            "daytwo.span.kind": "agent",
            "openinference.span.kind": "CHAIN",
            "gen_ai.operation.name": "chat",
            "daytwo.thread_id": "mine",
            "session.id": "openinference",
            "gen_ai.conversation.id": "genai",
            "daytwo.user_id": "me",
            "user.id": "them",
            "daytwo.tags": ["own"],
            "tag.tags": ["theirs"],
            "daytwo.input": '{"question": "own"}',
            "input.value": "theirs",
            "daytwo.output": "plain own text",
            "output.value": "theirs",
            "daytwo.metadata": {"source": "daytwo"},
            "metadata": '{"source": "openinference"}',
            "daytwo.prompt.name": "support-answer",
            "daytwo.prompt.version": 3,
        }
    )

    assert span.kind is SpanKind.AGENT
    assert (span.thread_id, span.user_id, span.tags) == ("mine", "me", ["own"])
    assert span.input == {"question": "own"}
    assert span.output == "plain own text"
    assert span.metadata == {"source": "daytwo"}
    assert span.llm is not None
    assert span.llm.prompt is not None
    assert (span.llm.prompt.name, span.llm.prompt.version) == ("support-answer", "3")


def test_openinference_wins_over_genai_field_by_field() -> None:
    span = map_one(
        {
            "llm.model_name": "openinference-model",
            "gen_ai.request.model": "genai-model",
            "gen_ai.provider.name": "genai-provider",
            "llm.token_count.prompt": 100,
            "gen_ai.usage.input_tokens": 999,
            "gen_ai.usage.output_tokens": 7,
        }
    )

    assert span.llm is not None
    assert span.llm.model == "openinference-model"
    assert span.llm.provider == "genai-provider"
    assert span.usage is not None
    assert (span.usage.input_tokens, span.usage.output_tokens) == (100, 7)


def test_cost_given_by_the_client_is_marked_given() -> None:
    span = map_one({"daytwo.cost.input": 0.002, "daytwo.cost.output": 0.001, "llm.cost.total": 9.0})

    assert span.cost is not None
    assert span.cost.source is CostSource.GIVEN
    assert (span.cost.input, span.cost.output) == (0.002, 0.001)
    assert span.cost.total == pytest.approx(0.003)


def test_openinference_cost_is_used_when_daytwo_gives_none() -> None:
    span = map_one({"llm.cost.total": 0.5, "llm.cost.prompt": 0.2, "llm.cost.completion": 0.3})

    assert span.cost is not None
    assert (span.cost.total, span.cost.source) == (0.5, CostSource.GIVEN)


def test_unknown_daytwo_kind_falls_through_to_the_next_convention() -> None:
    span = map_one({"daytwo.span.kind": "lm", "openinference.span.kind": "TOOL"})

    assert span.kind is SpanKind.TOOL


def test_span_without_any_kind_is_general() -> None:
    assert map_one({"http.method": "GET"}).kind is SpanKind.GENERAL


@pytest.mark.parametrize(
    "attributes",
    [{"gen_ai.request.model": "gpt-4o"}, {"gen_ai.usage.input_tokens": 3}],
)
def test_span_with_a_model_or_usage_but_no_kind_is_an_llm_span(
    attributes: dict[str, object],
) -> None:
    assert map_one(attributes).kind is SpanKind.LLM


@pytest.mark.parametrize(
    ("tags", "expected"),
    [("solo", ["solo"]), ('["a", "b"]', ["a", "b"]), (["x", 7], ["x", "7"])],
)
def test_tags_are_read_from_a_list_a_json_list_or_one_string(
    tags: object, expected: list[str]
) -> None:
    assert map_one({"daytwo.tags": tags}).tags == expected


# Project ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "resource", "expected"),
    [
        (
            "from-header",
            {"daytwo.project.name": "daytwo", "openinference.project.name": "oi"},
            "from-header",
        ),
        (None, {"daytwo.project.name": "daytwo", "openinference.project.name": "oi"}, "daytwo"),
        ("  ", {"openinference.project.name": "oi"}, "oi"),
        (None, {"service.name": "shop"}, "default"),
    ],
)
def test_project_comes_from_header_then_resource_then_default(
    header: str | None, resource: dict[str, object], expected: str
) -> None:
    mapped = map_request(make_request(make_span(), resource=resource), header_project=header)

    assert mapped.spans[0].project == expected


def test_overlong_project_name_rejects_the_spans_of_that_resource() -> None:
    request = make_request(
        make_span(), make_span(span_id="01" * 8), resource={"daytwo.project.name": "p" * 201}
    )
    good = request.resource_spans.add()
    good.scope_spans.add().spans.append(make_span(span_id="02" * 8))

    mapped = map_request(request)

    assert [span.id for span in mapped.spans] == ["02" * 8]
    assert mapped.rejected == 2
    assert "201 characters long; the limit is 200" in mapped.errors[0]


def test_spans_without_any_project_are_rejected() -> None:
    mapped = map_export_request(make_request(make_span()), header_project=None, default_project=" ")

    assert mapped.spans == []
    assert mapped.rejected == 1
    assert "no project" in mapped.errors[0]


# Ids, times and status --------------------------------------------------------------------


def test_invalid_span_id_is_rejected_and_counted_while_siblings_are_kept() -> None:
    request = make_request(
        make_span(span_id="01" * 8, name="first"),
        make_span(span_id="abcd", name="short"),
        make_span(span_id="00" * 8, name="zero"),
        make_span(span_id="02" * 8, trace_id="ab" * 15, name="short trace"),
        make_span(span_id="03" * 8, name="last"),
    )

    mapped = map_request(request)

    assert [span.name for span in mapped.spans] == ["first", "last"]
    assert mapped.rejected == 3
    assert mapped.errors == [
        "span abcd 'short': invalid span id: 2 bytes, expected 8",
        "span 0000000000000000 'zero': invalid span id: all zero",
        "span 0202020202020202 'short trace': invalid trace id: 15 bytes, expected 16",
    ]
    assert mapped.error_message().startswith("rejected 3 span(s): span abcd 'short'")


def test_only_the_first_errors_are_kept_but_all_rejections_are_counted() -> None:
    spans = [make_span(span_id="00" * 8, name=f"bad {index}") for index in range(MAX_ERRORS + 5)]

    mapped = map_request(make_request(*spans))

    assert mapped.rejected == MAX_ERRORS + 5
    assert len(mapped.errors) == MAX_ERRORS
    assert mapped.error_message().endswith("; and 5 more")


def test_parent_id_is_kept_and_an_empty_or_zero_parent_means_a_root() -> None:
    assert map_one(parent_id=PARENT_ID).parent_id == PARENT_ID
    assert map_one(parent_id="").parent_id is None
    assert map_one(parent_id="00" * 8).parent_id is None


def test_times_are_utc_with_microsecond_precision() -> None:
    span = map_one()

    assert span.start_time == datetime(2025, 11, 24, 16, 0, 0, 123456, tzinfo=UTC)
    assert span.end_time == datetime(2025, 11, 24, 16, 0, 1, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (Status.STATUS_CODE_UNSET, SpanStatus.UNSET),
        (Status.STATUS_CODE_OK, SpanStatus.OK),
        (Status.STATUS_CODE_ERROR, SpanStatus.ERROR),
    ],
)
def test_status_code_maps_to_span_status(
    code: "Status.StatusCode.ValueType", status: SpanStatus
) -> None:
    assert map_one(status=Status(code=code)).status is status


def test_exception_event_becomes_the_error() -> None:
    exception = {
        "exception.type": "ValueError",
        "exception.message": "boom",
        "exception.stacktrace": "Traceback ...",
        "exception.escaped": "False",
    }

    span = map_one(
        status=Status(code=Status.STATUS_CODE_ERROR, message="ValueError: boom"),
        events=[make_event("exception", exception)],
    )

    assert span.status is SpanStatus.ERROR
    assert span.error == ErrorInfo(type="ValueError", message="boom", stack="Traceback ...")
    assert "events" not in raw(span)


def test_last_exception_is_the_error_and_earlier_ones_stay_as_events() -> None:
    events = [
        make_event("exception", {"exception.type": "TimeoutError"}),
        make_event("exception", {"exception.type": "RuntimeError", "exception.message": "gave up"}),
    ]

    span = map_one(events=events)

    assert span.error == ErrorInfo(type="RuntimeError", message="gave up")
    assert [event["attributes"] for event in raw(span)["events"]] == [
        {"exception.type": "TimeoutError"}
    ]


def test_events_keep_their_order_around_an_earlier_exception() -> None:
    events = [
        make_event("start", {}),
        make_event("exception", {"exception.type": "TimeoutError"}),
        make_event("retry", {}),
        make_event("exception", {"exception.type": "RuntimeError"}),
    ]

    span = map_one(events=events)

    assert [event["name"] for event in raw(span)["events"]] == ["start", "exception", "retry"]


def test_parent_id_of_the_wrong_length_rejects_the_span() -> None:
    mapped = map_request(make_request(make_span(parent_id="abcdef")))

    assert mapped.rejected == 1
    assert mapped.errors == [f"span {SPAN_ID} 'span': invalid parent span id: 3 bytes, expected 8"]


def test_error_status_without_exception_uses_the_status_message() -> None:
    span = map_one(
        {"error.type": "timeout"}, status=Status(code=Status.STATUS_CODE_ERROR, message="timed out")
    )

    assert span.error == ErrorInfo(type="timeout", message="timed out")


def test_error_status_without_any_detail_has_no_error_info() -> None:
    span = map_one(status=Status(code=Status.STATUS_CODE_ERROR))

    assert (span.status, span.error) == (SpanStatus.ERROR, None)


# Raw attributes -----------------------------------------------------------------------------


def test_raw_attributes_keep_span_resource_scope_events_and_links() -> None:
    link = Span.Link(
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(PARENT_ID),
        attributes=key_values({"kind": "follows"}),
    )

    span = map_one(
        {"http.method": "GET", "llm.token_count.prompt": 3},
        events=[make_event("retry", {"attempt": 2}, time_ns=START_NS + 1_000)],
        links=[link],
    )

    assert span.attributes == {
        "span": {"http.method": "GET", "llm.token_count.prompt": 3},
        "resource": {"service.name": "shop"},
        "scope": {"name": "tests.instrumentation", "version": "0.1"},
        "events": [
            {
                "name": "retry",
                "time": "2025-11-24T16:00:00.123457+00:00",
                "attributes": {"attempt": 2},
            }
        ],
        "links": [{"trace_id": TRACE_ID, "span_id": PARENT_ID, "attributes": {"kind": "follows"}}],
    }


def test_every_attribute_value_type_is_decoded_to_json() -> None:
    span = map_one(
        {
            "text": "hi",
            "flag": True,
            "count": -3,
            "ratio": 0.5,
            "raw": b"\x01\xff",
            "list": ["a", 1, [True]],
            "map": {"nested": {"deep": 1.5}},
            "empty": None,
            "not a number": float("nan"),
            "too big": float("inf"),
        }
    )

    assert raw(span)["span"] == {
        "text": "hi",
        "flag": True,
        "count": -3,
        "ratio": 0.5,
        "raw": "01ff",
        "list": ["a", 1, [True]],
        "map": {"nested": {"deep": 1.5}},
        "empty": None,
        "not a number": "NaN",
        "too big": "Infinity",
    }
    assert orjson.loads(orjson.dumps(raw(span)))["span"] == raw(span)["span"]


def deeply_nested(levels: int) -> AnyValue:
    value = AnyValue(string_value="bottom")
    for _ in range(levels):
        value = AnyValue(array_value=ArrayValue(values=[value]))
    return value


def test_attribute_nested_too_deeply_rejects_only_its_span() -> None:
    deep = make_span(span_id="01" * 8)
    deep.attributes.append(KeyValue(key="deep", value=deeply_nested(MAX_DEPTH + 1)))
    fine = make_span(span_id="02" * 8)
    fine.attributes.append(KeyValue(key="deep", value=deeply_nested(MAX_DEPTH)))

    mapped = map_request(make_request(deep, fine))

    assert [span.id for span in mapped.spans] == ["02" * 8]
    assert mapped.errors == [
        f"span {'01' * 8} 'span': an attribute value nests deeper than {MAX_DEPTH} levels"
    ]


def test_resource_nested_too_deeply_rejects_the_spans_of_that_resource() -> None:
    request = make_request(make_span())
    request.resource_spans[0].resource.attributes.append(
        KeyValue(key="deep", value=deeply_nested(MAX_DEPTH + 1))
    )

    mapped = map_request(request)

    assert (mapped.spans, mapped.rejected) == ([], 1)
    assert mapped.errors[0].endswith(
        f"its resource: an attribute value nests deeper than {MAX_DEPTH} levels"
    )


def test_malformed_convention_values_are_ignored_not_fatal() -> None:
    span = map_one(
        {
            "openinference.span.kind": "LLM",
            "llm.token_count.prompt": "many",
            "llm.token_count.completion": -5,
            "llm.invocation_parameters": "{not json",
            "metadata": "[1, 2]",
            "session.id": {"not": "text"},
            "retrieval.documents.0.document.content": {"structured": True},
            "llm.cost.total": -1.0,
        }
    )

    assert span.usage is None
    assert span.metadata is None
    assert span.thread_id is None
    assert span.cost is None
    assert span.llm is None
    assert span.retrieval is not None
    assert span.retrieval.documents == [Document(content='{"structured":true}')]


def test_long_names_and_ids_are_cut_to_the_model_limits() -> None:
    span = map_one({"session.id": "s" * 600}, name="n" * 1500)

    assert span.name == "n" * 1000
    assert span.thread_id == "s" * 500


def test_mapped_spans_survive_a_full_validation_round_trip() -> None:
    mapped = map_request(
        make_request(
            make_span(openinference_llm_attributes(), span_id="01" * 8),
            make_span(
                {"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.id": "d"},
                span_id="02" * 8,
            ),
            make_span(
                {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}, span_id="03" * 8
            ),
        )
    )

    for span in mapped.spans:
        assert (
            SpanIn.model_validate(orjson.loads(orjson.dumps(span.model_dump(mode="json")))) == span
        )


# The real OpenTelemetry SDK -------------------------------------------------------------------


def sdk_spans() -> tuple[ReadableSpan, ...]:
    exporter = InMemorySpanExporter()
    resource = Resource.create({"service.name": "rag", "openinference.project.name": "handbook"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("openinference.instrumentation.test", "1.0")
    chain = {"openinference.span.kind": "CHAIN"}
    with (
        tracer.start_as_current_span("RAG", attributes=chain) as root,
        tracer.start_as_current_span(
            "ChatOpenAI",
            attributes=openinference_llm_attributes(),
            links=[Link(root.get_span_context(), {"why": "test"})],
        ) as llm,
    ):
        llm.set_attribute("tag.tags", ["beta"])
        try:
            raise ValueError("rate limited")
        except ValueError as error:
            llm.record_exception(error)
            llm.set_status(StatusCode.ERROR, "rate limited")
    provider.shutdown()
    return exporter.get_finished_spans()


def test_spans_from_the_opentelemetry_sdk_map_end_to_end() -> None:
    body = encode_proto(sdk_spans()).SerializeToString()

    mapped = map_request(decode_export_request(body, PROTOBUF, None, 10_000_000))

    assert mapped.rejected == 0
    llm, root = sorted(mapped.spans, key=lambda span: span.name or "")
    assert (root.kind, llm.kind) == (SpanKind.CHAIN, SpanKind.LLM)
    assert llm.parent_id == root.id
    assert llm.trace_id == root.trace_id
    assert llm.project == "handbook"
    assert llm.status is SpanStatus.ERROR
    assert llm.error is not None
    assert (llm.error.type, llm.error.message) == ("ValueError", "rate limited")
    assert llm.usage is not None
    assert llm.usage.input_tokens == 412
    assert llm.tags == ["beta"]
    assert raw(llm)["scope"] == {
        "name": "openinference.instrumentation.test",
        "version": "1.0",
    }
    assert raw(llm)["links"][0]["span_id"] == root.id


def test_sdk_json_export_maps_exactly_like_its_protobuf_export() -> None:
    spans = sdk_spans()
    proto_body = encode_proto(spans).SerializeToString()
    json_body = encode_json(spans).to_json().encode()

    from_proto = map_request(decode_export_request(proto_body, PROTOBUF, None, 10_000_000))
    from_json = map_request(decode_export_request(json_body, JSON, None, 10_000_000))

    assert from_json.spans == from_proto.spans
