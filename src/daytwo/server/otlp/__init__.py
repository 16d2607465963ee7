"""OTLP/HTTP trace ingest: decode export requests and map their spans to daytwo's model.

Pure functions only; the HTTP route and the storage live elsewhere.
"""

from daytwo.server.otlp.decode import (
    JSON,
    PROTOBUF,
    OtlpDecodeError,
    decode_export_request,
    encode_export_response,
    response_media_type,
)
from daytwo.server.otlp.mapping import MAX_ERRORS, MappedSpans, map_export_request, map_span

__all__ = [
    "JSON",
    "MAX_ERRORS",
    "PROTOBUF",
    "MappedSpans",
    "OtlpDecodeError",
    "decode_export_request",
    "encode_export_response",
    "map_export_request",
    "map_span",
    "response_media_type",
]
