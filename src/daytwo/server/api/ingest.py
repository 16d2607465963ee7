"""Ingest: the native batch API and OTLP/HTTP ``POST /v1/traces``.

Both answer 2xx only once the data is committed. When too much is waiting to
be committed they answer 503 with Retry-After, which OpenTelemetry exporters
and daytwo's SDK honour.
"""

import logging
from typing import TypeVar

import orjson
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ValidationError

from daytwo.model import IngestBatch, ScoreIn
from daytwo.server.body import read_body
from daytwo.server.committer import CommitterClosedError, OverloadedError
from daytwo.server.compression import BodyEncodingError, decompress
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError, ErrorDetail
from daytwo.server.otlp import (
    OtlpDecodeError,
    decode_export_request,
    encode_export_response,
    map_export_request,
)
from daytwo.storage.writer import Batch, WriteSummary

logger = logging.getLogger(__name__)

router = APIRouter(tags=["ingest"], responses=ERROR_RESPONSES)

ModelT = TypeVar("ModelT", bound=BaseModel)


class IngestResult(BaseModel):
    """What was committed."""

    traces: int
    spans: int
    scores: int


class ScoresIn(BaseModel):
    scores: list[ScoreIn]


@router.post(
    "/api/v1/ingest",
    response_model=IngestResult,
    summary="Create or update traces, spans and scores",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": IngestBatch.model_json_schema()}},
        }
    },
)
async def ingest(
    request: Request,
    services: ServicesDep,
    x_daytwo_project: str | None = Header(default=None, description="Default project"),
) -> IngestResult:
    """Merge a batch into storage; answer once it is committed.

    A span or trace may be sent several times (for example when it starts and
    again when it ends, in either order): fields left out keep their stored
    values, tags are added and metadata is merged. A record without a
    ``project`` goes to the project named by the ``X-Daytwo-Project`` header,
    or the server's default project.
    """
    body = await _json_body(request, services)
    batch = _validate(IngestBatch, body)
    project = x_daytwo_project or services.settings.default_project
    summary = await _commit(services, Batch(project, batch.traces, batch.spans, batch.scores))
    return IngestResult(traces=summary.traces, spans=summary.spans, scores=summary.scores)


@router.post("/api/v1/scores", response_model=IngestResult, summary="Add scores")
async def add_scores(
    request: Request,
    services: ServicesDep,
    x_daytwo_project: str | None = Header(default=None, description="Default project"),
) -> IngestResult:
    """Store scores on spans, traces or threads; a score sent again with its ``id`` replaces it."""
    scores = _validate(ScoresIn, await _json_body(request, services)).scores
    project = x_daytwo_project or services.settings.default_project
    summary = await _commit(services, Batch(project, scores=scores))
    return IngestResult(traces=0, spans=0, scores=summary.scores)


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace export (protobuf or JSON, optionally gzip)",
    response_class=Response,
    responses={200: {"content": {"application/x-protobuf": {}, "application/json": {}}}},
)
async def otlp_traces(
    request: Request,
    services: ServicesDep,
    content_type: str | None = Header(default=None),
    content_encoding: str | None = Header(default=None),
    x_daytwo_project: str | None = Header(default=None, description="Project for every span"),
) -> Response:
    """Accept an OTLP ExportTraceServiceRequest, as any OpenTelemetry exporter sends.

    Attributes are mapped by priority (daytwo's own, then OpenInference, then
    the OpenTelemetry GenAI conventions, then common vendor keys) and kept raw.
    Spans that cannot be stored (such as an invalid id) are counted in the
    response's ``partial_success`` and the rest are committed.
    """
    settings = services.settings
    body = await read_body(request, settings.max_request_bytes)
    try:
        export = decode_export_request(
            body, content_type, content_encoding, settings.max_decompressed_bytes
        )
    except OtlpDecodeError as error:
        raise ApiError(error.status, str(error)) from None
    mapped = map_export_request(
        export, header_project=x_daytwo_project, default_project=settings.default_project
    )
    if mapped.rejected:
        services.counters.rejected_spans += mapped.rejected
        logger.info("%s", mapped.error_message())
    if mapped.spans:
        await _commit(services, Batch(settings.default_project, spans=mapped.spans))
    payload, media_type = encode_export_response(
        content_type, mapped.rejected, mapped.error_message()
    )
    return Response(payload, media_type=media_type)


async def _json_body(request: Request, services: Services) -> object:
    settings = services.settings
    raw = await read_body(request, settings.max_request_bytes)
    encoding = request.headers.get("content-encoding")
    try:
        raw = decompress(raw, encoding, settings.max_decompressed_bytes)
    except BodyEncodingError as error:
        raise ApiError(error.status, error.message) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, f"request body is not valid JSON: {error}") from None


def _validate(model: type[ModelT], body: object) -> ModelT:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        details = [
            ErrorDetail(location=".".join(str(p) for p in item["loc"]), message=item["msg"])
            for item in error.errors()[:50]
        ]
        first = details[0]
        raise ApiError(
            422,
            f"invalid batch, nothing was stored: {first.location}: {first.message}",
            details=details,
        ) from None


async def _commit(services: Services, batch: Batch) -> WriteSummary:
    try:
        return await services.committer.submit(batch)
    except OverloadedError as error:
        raise ApiError(
            503,
            f"the server is busy committing ({error}); retry after {error.retry_after} s",
            headers={"Retry-After": str(error.retry_after)},
        ) from None
    except CommitterClosedError:
        raise ApiError(503, "the server is shutting down", headers={"Retry-After": "5"}) from None
