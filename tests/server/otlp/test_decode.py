"""Decoding OTLP/HTTP export bodies: protobuf, JSON, gzip, limits and answers."""

import base64
import gzip
import math
import zlib
from typing import Any

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans as encode_json
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import daytwo.server.otlp
from daytwo.server.otlp import (
    JSON,
    PROTOBUF,
    OtlpDecodeError,
    decode_export_request,
    encode_export_response,
    response_media_type,
)

LIMIT = 1_000_000
TRACE_ID = bytes.fromhex("5bc8f3b82b4973dad0826631b7b6c02c")
SPAN_ID = bytes.fromhex("cfb5bc390120bca2")
PARENT_ID = bytes.fromhex("b35e4fd706cab91e")


def small_request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="shop"))
    )
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id = TRACE_ID
    span.span_id = SPAN_ID
    span.parent_span_id = PARENT_ID
    span.name = "ChatOpenAI"
    span.kind = Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = 1_764_000_000_123_456_789
    span.end_time_unix_nano = 1_764_000_001_000_000_000
    span.status.code = Status.STATUS_CODE_OK
    span.attributes.append(KeyValue(key="llm.token_count.prompt", value=AnyValue(int_value=12)))
    return request


def sdk_spans() -> tuple[ReadableSpan, ...]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("shop.tests", "1.2.3")
    agent_attributes = {"openinference.span.kind": "AGENT"}
    with (
        tracer.start_as_current_span("agent", attributes=agent_attributes),
        tracer.start_as_current_span("llm") as child,
    ):
        child.set_attribute("llm.token_count.prompt", 12)
        child.set_attribute("tag.tags", ["a", "b"])
        child.set_attribute("score", 0.5)
        child.add_event("first token", {"position": 1})
    provider.shutdown()
    return exporter.get_finished_spans()


def decode(
    body: bytes, content_type: str | None = PROTOBUF, encoding: str | None = None
) -> ExportTraceServiceRequest:
    return decode_export_request(body, content_type, encoding, LIMIT)


def test_public_names_are_exactly_these() -> None:
    assert sorted(daytwo.server.otlp.__all__) == [
        "JSON",
        "MAX_ERRORS",
        "MappedSpans",
        "OtlpDecodeError",
        "PROTOBUF",
        "decode_export_request",
        "encode_export_response",
        "map_export_request",
        "map_span",
        "response_media_type",
    ]


# Protobuf ---------------------------------------------------------------------


def test_protobuf_body_decodes_to_the_same_request() -> None:
    request = small_request()

    assert decode(request.SerializeToString()) == request


@pytest.mark.parametrize(
    "content_type",
    ["application/protobuf", "Application/X-Protobuf", "application/x-protobuf; charset=binary"],
)
def test_protobuf_media_type_is_matched_loosely(content_type: str) -> None:
    request = small_request()

    assert decode(request.SerializeToString(), content_type) == request


def test_sdk_protobuf_encoder_output_decodes() -> None:
    spans = sdk_spans()
    body = encode_proto(spans).SerializeToString()

    request = decode(body)

    decoded = request.resource_spans[0].scope_spans[0].spans
    assert sorted(span.name for span in decoded) == ["agent", "llm"]


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_empty_body_is_a_valid_empty_request(content_type: str) -> None:
    assert decode(b"", content_type) == ExportTraceServiceRequest()


def test_truncated_protobuf_is_rejected_with_400() -> None:
    body = small_request().SerializeToString()

    with pytest.raises(OtlpDecodeError) as caught:
        decode(body[:-5])

    assert caught.value.status == 400
    assert str(caught.value).startswith("request body is not valid OTLP protobuf: ")


def test_garbage_bytes_are_rejected_with_400() -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(b"\xff\xff\xff\xff garbage")

    assert caught.value.status == 400


# JSON -------------------------------------------------------------------------


def test_sdk_json_encoder_output_decodes_like_its_protobuf() -> None:
    spans = sdk_spans()
    json_body = encode_json(spans).to_json().encode()
    proto_body = encode_proto(spans).SerializeToString()

    assert decode(json_body, JSON) == decode(proto_body)


def test_json_ids_are_read_as_hex_not_base64() -> None:
    body = orjson.dumps(
        {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": TRACE_ID.hex(),
                                    "spanId": SPAN_ID.hex(),
                                    "parentSpanId": PARENT_ID.hex(),
                                    "links": [{"traceId": TRACE_ID.hex(), "spanId": "01" * 8}],
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )

    span = decode(body, JSON).resource_spans[0].scope_spans[0].spans[0]

    assert span.trace_id == TRACE_ID
    assert span.span_id == SPAN_ID
    assert span.parent_span_id == PARENT_ID
    assert span.links[0].span_id == bytes.fromhex("01" * 8)


def test_json_accepts_snake_case_names_int64_strings_and_enum_numbers() -> None:
    body = orjson.dumps(
        {
            "resource_spans": [
                {
                    "scope_spans": [
                        {
                            "spans": [
                                {
                                    "trace_id": TRACE_ID.hex(),
                                    "span_id": SPAN_ID.hex(),
                                    "kind": 3,
                                    "startTimeUnixNano": "1764000000123456789",
                                    "endTimeUnixNano": 1764000001000000000,
                                    "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                                    "attributes": [
                                        {"key": "n", "value": {"intValue": "42"}},
                                        {"key": "b", "value": {"bytesValue": "AQI="}},
                                    ],
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    )

    span = decode(body, JSON).resource_spans[0].scope_spans[0].spans[0]

    assert span.span_id == SPAN_ID
    assert span.kind == Span.SPAN_KIND_CLIENT
    assert span.start_time_unix_nano == 1_764_000_000_123_456_789
    assert span.end_time_unix_nano == 1_764_000_001_000_000_000
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert span.attributes[0].value.int_value == 42
    assert span.attributes[1].value.bytes_value == b"\x01\x02"


def test_json_ignores_unknown_fields() -> None:
    body = orjson.dumps({"resourceSpans": [{"futureField": 1, "scopeSpans": []}], "other": True})

    assert len(decode(body, JSON).resource_spans) == 1


def test_json_ids_in_base64_are_still_accepted() -> None:
    # Some clients print OTLP with the generic protobuf JSON printer, which writes base64.
    body = orjson.dumps(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "z7W8OQEgvKI="}]}]}]}
    )

    span = decode(body, JSON).resource_spans[0].scope_spans[0].spans[0]

    assert span.span_id == SPAN_ID


def full_otlp_json() -> dict[str, Any]:
    attributes = [
        {"key": "s", "value": {"stringValue": "text"}},
        {"key": "b", "value": {"boolValue": False}},
        {"key": "i", "value": {"intValue": "-7"}},
        {"key": "d", "value": {"doubleValue": 2.5}},
        {"key": "raw", "value": {"bytesValue": "AQL/"}},
        {"key": "empty", "value": {}},
        {
            "key": "list",
            "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 3}]}},
        },
        {
            "key": "map",
            "value": {"kvlistValue": {"values": [{"key": "k", "value": {"arrayValue": {}}}]}},
        },
    ]
    span = {
        "traceId": TRACE_ID.hex(),
        "spanId": SPAN_ID.hex(),
        "parentSpanId": PARENT_ID.hex(),
        "traceState": "vendor=1",
        "flags": 257,
        "name": "full",
        "kind": 3,
        "startTimeUnixNano": "1764000000123456789",
        "endTimeUnixNano": "1764000001000000000",
        "attributes": attributes,
        "droppedAttributesCount": 1,
        "events": [
            {
                "timeUnixNano": "1764000000500000000",
                "name": "retry",
                "attributes": attributes[:2],
                "droppedAttributesCount": 2,
            }
        ],
        "droppedEventsCount": 3,
        "links": [
            {
                "traceId": TRACE_ID.hex(),
                "spanId": PARENT_ID.hex(),
                "traceState": "x=y",
                "attributes": attributes[2:4],
                "droppedAttributesCount": 4,
                "flags": 256,
            }
        ],
        "droppedLinksCount": 5,
        "status": {"message": "boom", "code": 2},
    }
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attributes[:1], "droppedAttributesCount": 6},
                "scopeSpans": [
                    {
                        "scope": {
                            "name": "lib",
                            "version": "1.0",
                            "attributes": attributes[1:2],
                            "droppedAttributesCount": 7,
                        },
                        "spans": [span],
                        "schemaUrl": "https://opentelemetry.io/schemas/1.30.0",
                    }
                ],
                "schemaUrl": "https://opentelemetry.io/schemas/1.29.0",
            }
        ]
    }


def with_base64_ids(document: Any) -> Any:
    if isinstance(document, list):
        return [with_base64_ids(item) for item in document]
    if not isinstance(document, dict):
        return document
    converted = {key: with_base64_ids(value) for key, value in document.items()}
    for key in ("traceId", "spanId", "parentSpanId"):
        if key in converted:
            converted[key] = base64.b64encode(bytes.fromhex(converted[key])).decode()
    return converted


def test_json_decodes_every_field_as_the_protobuf_json_mapping_does() -> None:
    document = full_otlp_json()
    expected = json_format.ParseDict(with_base64_ids(document), ExportTraceServiceRequest())

    assert decode(orjson.dumps(document), JSON) == expected


def test_json_accepts_special_doubles_and_whole_number_floats() -> None:
    attributes = [
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "-Infinity"}},
        {"key": "whole", "value": {"intValue": 5.0}},
        {"key": "url-safe", "value": {"bytesValue": "_-8"}},
    ]
    body = orjson.dumps(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": attributes}]}]}]}
    )

    values = decode(body, JSON).resource_spans[0].scope_spans[0].spans[0].attributes

    assert math.isnan(values[0].value.double_value)
    assert values[1].value.double_value == -math.inf
    assert values[2].value.int_value == 5
    assert values[3].value.bytes_value == b"\xff\xef"


def test_json_unknown_enum_names_are_ignored() -> None:
    body = orjson.dumps(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": "SPAN_KIND_TELEPATHY"}]}]}]}
    )

    assert decode(body, JSON).resource_spans[0].scope_spans[0].spans[0].kind == 0


def test_json_id_that_is_neither_hex_nor_base64_is_left_empty() -> None:
    body = orjson.dumps(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "not an id!"}]}]}]}
    )

    assert decode(body, JSON).resource_spans[0].scope_spans[0].spans[0].span_id == b""


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"resourceSpans": {}}, "resourceSpans must be a list, not dict"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}, "span must be an object"),
        (
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": 1}]}]}]}]},
            "an attribute key must be a string",
        ),
        (
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]},
            "startTimeUnixNano must be an integer, not 'soon'",
        ),
        (
            {
                "resourceSpans": [
                    {
                        "scopeSpans": [
                            {"spans": [{"attributes": [{"key": "k", "value": {"stringValue": 3}}]}]}
                        ]
                    }
                ]
            },
            "stringValue must be a string",
        ),
        (
            {
                "resourceSpans": [
                    {
                        "scopeSpans": [
                            {
                                "spans": [
                                    {"attributes": [{"key": "k", "value": {"bytesValue": "%"}}]}
                                ]
                            }
                        ]
                    }
                ]
            },
            "bytesValue '%' is not base64",
        ),
    ],
)
def test_json_of_the_wrong_shape_names_the_field(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(orjson.dumps(document), JSON)

    assert caught.value.status == 400
    assert problem in str(caught.value)


def test_garbage_json_is_rejected_with_400() -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(b'{"resourceSpans": [', JSON)

    assert caught.value.status == 400
    assert str(caught.value).startswith("request body is not valid JSON: ")


def test_json_that_is_not_an_object_is_rejected_with_400() -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(b"[1, 2]", JSON)

    assert caught.value.status == 400
    assert "not a list" in str(caught.value)


def test_json_of_the_wrong_shape_is_rejected_with_400() -> None:
    body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]})

    with pytest.raises(OtlpDecodeError) as caught:
        decode(body, JSON)

    assert caught.value.status == 400
    assert str(caught.value).startswith("request body is not valid OTLP JSON: ")


# Content types and encodings ---------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/grpc", None, ""])
def test_unsupported_content_type_is_rejected_with_415(content_type: str | None) -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(b"", content_type)

    assert caught.value.status == 415
    assert "expected application/x-protobuf or application/json" in str(caught.value)


def test_unknown_content_encoding_is_rejected_with_415() -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(b"", PROTOBUF, "br")

    assert caught.value.status == 415
    assert str(caught.value) == "unsupported Content-Encoding 'br'; expected gzip or identity"


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_identity_encoding_passes_the_body_through(encoding: str | None) -> None:
    request = small_request()

    assert decode(request.SerializeToString(), PROTOBUF, encoding) == request


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
def test_gzip_body_is_inflated(content_type: str) -> None:
    request = small_request()
    raw = request.SerializeToString() if content_type == PROTOBUF else encoded_json(request)

    assert decode(gzip.compress(raw), content_type, "gzip") == request


def encoded_json(request: ExportTraceServiceRequest) -> bytes:
    spans = request.resource_spans[0].scope_spans[0].spans
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": span.trace_id.hex(),
                                "spanId": span.span_id.hex(),
                                "parentSpanId": span.parent_span_id.hex(),
                                "name": span.name,
                                "kind": span.kind,
                                "startTimeUnixNano": str(span.start_time_unix_nano),
                                "endTimeUnixNano": str(span.end_time_unix_nano),
                                "status": {"code": span.status.code},
                                "attributes": [
                                    {"key": "llm.token_count.prompt", "value": {"intValue": "12"}}
                                ],
                            }
                            for span in spans
                        ]
                    }
                ],
            }
        ]
    }
    return orjson.dumps(document)


def test_gzip_members_back_to_back_are_all_inflated() -> None:
    raw = small_request().SerializeToString()
    half = len(raw) // 2

    body = gzip.compress(raw[:half]) + gzip.compress(raw[half:])

    assert decode(body, PROTOBUF, "gzip") == small_request()


def test_gzip_bomb_is_rejected_with_413_before_it_is_inflated() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)

    with pytest.raises(OtlpDecodeError) as caught:
        decode_export_request(bomb, PROTOBUF, "gzip", max_decompressed_bytes=1_000_000)

    assert caught.value.status == 413
    assert "larger than 1000000 bytes once decompressed" in str(caught.value)


def test_body_exactly_at_the_limit_is_accepted() -> None:
    raw = small_request().SerializeToString()

    request = decode_export_request(gzip.compress(raw), PROTOBUF, "gzip", len(raw))

    assert request == small_request()


def test_identity_body_over_the_limit_is_rejected_with_413() -> None:
    raw = small_request().SerializeToString()

    with pytest.raises(OtlpDecodeError) as caught:
        decode_export_request(raw, PROTOBUF, None, len(raw) - 1)

    assert caught.value.status == 413


def test_truncated_gzip_is_rejected_with_400() -> None:
    body = gzip.compress(small_request().SerializeToString())

    with pytest.raises(OtlpDecodeError) as caught:
        decode(body[:-12], PROTOBUF, "gzip")

    assert caught.value.status == 400
    assert "truncated" in str(caught.value)


def test_body_that_is_not_gzip_is_rejected_with_400() -> None:
    with pytest.raises(OtlpDecodeError) as caught:
        decode(zlib.compress(b"not gzip framing"), PROTOBUF, "gzip")

    assert caught.value.status == 400
    assert str(caught.value).startswith("request body is not valid gzip: ")


# Answers -------------------------------------------------------------------------


def test_full_success_leaves_partial_success_unset() -> None:
    body, media_type = encode_export_response(PROTOBUF, 0, "")

    assert media_type == PROTOBUF
    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")


def test_rejected_spans_are_reported_as_partial_success_in_protobuf() -> None:
    body, _ = encode_export_response(PROTOBUF, 3, "rejected 3 span(s): bad ids")

    response = ExportTraceServiceResponse.FromString(body)

    assert response.partial_success.rejected_spans == 3
    assert response.partial_success.error_message == "rejected 3 span(s): bad ids"


def test_rejected_spans_are_reported_as_partial_success_in_json() -> None:
    body, media_type = encode_export_response("application/json; charset=utf-8", 2, "bad ids")

    assert media_type == JSON
    assert orjson.loads(body) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "bad ids"}
    }


def test_full_success_in_json_is_an_empty_object() -> None:
    body, _ = encode_export_response(JSON, 0, "")

    assert orjson.loads(body) == {}


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (JSON, JSON),
        ("application/json;charset=utf-8", JSON),
        (PROTOBUF, PROTOBUF),
        (None, PROTOBUF),
    ],
)
def test_answers_use_protobuf_unless_the_request_was_json(
    content_type: str | None, expected: str
) -> None:
    assert response_media_type(content_type) == expected
