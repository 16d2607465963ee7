"""Decode OTLP/HTTP trace export bodies and encode the answers to them.

OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp) carries an
``ExportTraceServiceRequest`` as binary protobuf or as its OTLP/JSON form,
optionally gzip-compressed. Everything here is pure: bytes in, messages out.

Every failure raises `OtlpDecodeError`, whose ``status`` is the HTTP status to
answer with: 400 for a malformed body, 413 for one too large once
decompressed, 415 for an unsupported content type or encoding.
"""

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from daytwo.server.compression import BodyEncodingError, decompress
from daytwo.server.otlp.decode_json import build_request

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_MEDIA_TYPES = {
    "application/x-protobuf": PROTOBUF,
    "application/protobuf": PROTOBUF,
    "application/json": JSON,
}


class OtlpDecodeError(ValueError):
    """A request body that cannot be decoded, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_export_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    max_decompressed_bytes: int,
) -> ExportTraceServiceRequest:
    """Return the export request in ``body``, or raise `OtlpDecodeError`.

    An empty body is a valid, empty request. A gzip body is never inflated past
    ``max_decompressed_bytes``.
    """
    media_type = _request_media_type(content_type)
    try:
        payload = decompress(body, content_encoding, max_decompressed_bytes)
    except BodyEncodingError as error:
        raise OtlpDecodeError(error.status, error.message) from None
    if media_type == JSON:
        return _parse_json(payload)
    return _parse_protobuf(payload)


def encode_export_response(
    content_type: str | None, rejected_spans: int, error_message: str
) -> tuple[bytes, str]:
    """Return an ``ExportTraceServiceResponse`` body and its media type.

    The answer uses the request's encoding. ``partial_success`` is set when spans
    were rejected or when there is a message to pass on, as the OTLP spec asks
    ("Partial Success"); a full success leaves it unset.
    """
    response = ExportTraceServiceResponse()
    if rejected_spans > 0 or error_message:
        response.partial_success.rejected_spans = rejected_spans
        response.partial_success.error_message = error_message
    if response_media_type(content_type) == JSON:
        return orjson.dumps(json_format.MessageToDict(response)), JSON
    return response.SerializeToString(), PROTOBUF


def response_media_type(content_type: str | None) -> str:
    """Return the media type to answer a request with; protobuf unless it sent JSON."""
    return _MEDIA_TYPES.get(_bare_media_type(content_type), PROTOBUF)


def _bare_media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _request_media_type(content_type: str | None) -> str:
    bare = _bare_media_type(content_type)
    media_type = _MEDIA_TYPES.get(bare)
    if media_type is None:
        shown = f"Content-Type {content_type!r}" if bare else "a missing Content-Type"
        raise OtlpDecodeError(
            415, f"unsupported {shown}; expected application/x-protobuf or application/json"
        )
    return media_type


def _parse_protobuf(payload: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(payload)
    except DecodeError as error:
        raise OtlpDecodeError(400, f"request body is not valid OTLP protobuf: {error}") from None
    return request


def _parse_json(payload: bytes) -> ExportTraceServiceRequest:
    if not payload.strip():
        return ExportTraceServiceRequest()
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise OtlpDecodeError(400, f"request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise OtlpDecodeError(400, f"request body is OTLP JSON only as an object, not a {kind}")
    try:
        return build_request(document)
    except (ValueError, TypeError, RecursionError) as error:
        raise OtlpDecodeError(400, f"request body is not valid OTLP JSON: {error}") from None
