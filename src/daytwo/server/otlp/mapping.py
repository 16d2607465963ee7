"""Map OTLP spans to daytwo's `SpanIn`, one span at a time and without I/O.

Attributes are read by priority, per field: daytwo's own (``daytwo.*``), then
OpenInference, then the OpenTelemetry GenAI conventions, then vendor keys that
are common in the wild (Traceloop's OpenLLMetry, the Vercel AI SDK, Langfuse).
The raw attributes are always kept in ``SpanIn.attributes``.

A span that cannot be mapped (an id of the wrong length or all zero, a project
name that is too long) is rejected and counted; its siblings are kept.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from daytwo.model import (
    Document,
    ErrorInfo,
    RetrievalDetail,
    SpanIn,
    SpanKind,
    SpanStatus,
    ToolDetail,
)
from daytwo.server.otlp.attributes import (
    IndexedKeys,
    as_list,
    as_number,
    as_object,
    as_text,
    decode_attributes,
    first,
    first_text,
    group,
    indexed,
    maybe_json,
    parse_json,
)
from daytwo.server.otlp.mapping_kind import explicit_kind_of
from daytwo.server.otlp.mapping_llm import given_cost, llm_detail, token_usage

logger = logging.getLogger(__name__)

MAX_ERRORS = 10
"""How many rejection messages `MappedSpans` keeps; the count covers them all."""

_PROJECT_MAX = 200
_NAME_MAX = 1000
_ID_MAX = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_STATUS = {
    Status.STATUS_CODE_UNSET: SpanStatus.UNSET,
    Status.STATUS_CODE_OK: SpanStatus.OK,
    Status.STATUS_CODE_ERROR: SpanStatus.ERROR,
}

_PROJECT_KEYS = ("daytwo.project.name", "openinference.project.name")
_THREAD_KEYS = (
    "daytwo.thread_id",
    "session.id",
    "gen_ai.conversation.id",
    "langfuse.session.id",
    "ai.telemetry.metadata.sessionId",
    "traceloop.association.properties.session_id",
)
_USER_KEYS = (
    "daytwo.user_id",
    "user.id",
    "langfuse.user.id",
    "ai.telemetry.metadata.userId",
    "traceloop.association.properties.user_id",
)
# Keys that tell a span comes from Traceloop's OpenLLMetry.
_TRACELOOP_MARKERS = ("traceloop.span.kind", "traceloop.workflow.name", "llm.request.type")
_TAG_KEYS = ("daytwo.tags", "tag.tags", "langfuse.trace.tags")
_METADATA_KEYS = ("daytwo.metadata", "metadata")
_METADATA_GROUPS = (
    (("ai.operationId",), "ai.telemetry.metadata."),
    (_TRACELOOP_MARKERS, "traceloop.association.properties."),
)

# The first segments of the keys that each detail reads.
_LLM_NAMESPACES = frozenset({"llm", "gen_ai", "ai", "embedding", "reranker", "daytwo", "langfuse"})
_COST_NAMESPACES = frozenset({"daytwo", "llm"})
_RETRIEVAL_NAMESPACES = frozenset({"retrieval", "reranker", "gen_ai"})
_TOOL_NAMESPACES = frozenset({"tool", "tool_call", "gen_ai", "ai"})

# Events whose attributes carry GenAI content: the legacy content events and the
# event that newer GenAI conventions use for inference details.
_GENAI_EVENTS = frozenset(
    {
        "gen_ai.content.prompt",
        "gen_ai.content.completion",
        "gen_ai.client.inference.operation.details",
    }
)


@dataclass(slots=True)
class MappedSpans:
    """The spans of one export request, and how many were rejected and why."""

    spans: list[SpanIn] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, message: str) -> None:
        """Count one rejected span, keeping the first `MAX_ERRORS` messages."""
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
        logger.debug("rejected an OTLP span: %s", message)

    def error_message(self) -> str:
        """Return one line for the OTLP partial-success answer, or "" if none was rejected."""
        if not self.rejected:
            return ""
        shown = "; ".join(self.errors)
        more = self.rejected - len(self.errors)
        suffix = f"; and {more} more" if more > 0 else ""
        return f"rejected {self.rejected} span(s): {shown}{suffix}"


class _SpanRejectedError(ValueError):
    """A span that cannot be stored, with the reason."""


@dataclass(slots=True, frozen=True)
class _Origin:
    project: str
    resource: dict[str, Any]
    scope: dict[str, str]


@dataclass(slots=True)
class _Events:
    exception: dict[str, Any] | None
    genai: dict[str, Any]
    raw: list[dict[str, Any]]


def map_export_request(
    request: ExportTraceServiceRequest, *, header_project: str | None, default_project: str
) -> MappedSpans:
    """Map every span of an export request, rejecting and counting those that cannot be.

    The project comes from ``header_project`` (the ``X-Daytwo-Project`` header),
    else the resource attribute ``daytwo.project.name``, else
    ``openinference.project.name``, else ``default_project``.
    """
    mapped = MappedSpans()
    for resource_spans in request.resource_spans:
        try:
            resource = _resource_attributes(resource_spans.resource.attributes)
            project = _choose_project(header_project, resource, default_project)
        except _SpanRejectedError as error:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    mapped.reject(_describe(span, error))
            continue
        for scope_spans in resource_spans.scope_spans:
            scope = {"name": scope_spans.scope.name, "version": scope_spans.scope.version}
            origin = _Origin(project, resource, scope)
            for span in scope_spans.spans:
                _map_into(mapped, span, origin)
    return mapped


def _resource_attributes(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    try:
        return decode_attributes(key_values)
    except ValueError as error:
        raise _SpanRejectedError(f"its resource: {error}") from None


def _choose_project(header: str | None, resource: Mapping[str, Any], default: str) -> str:
    """Return the first non-blank project name among the header, resource and default."""
    candidates = (header, *(resource.get(key) for key in _PROJECT_KEYS), default)
    for candidate in candidates:
        name = candidate.strip() if isinstance(candidate, str) else ""
        if not name:
            continue
        if len(name) > _PROJECT_MAX:
            raise _SpanRejectedError(
                f"project name {name[:40]!r}... is {len(name)} characters long; "
                f"the limit is {_PROJECT_MAX}"
            )
        return name
    raise _SpanRejectedError("no project: send the X-Daytwo-Project header or daytwo.project.name")


def _map_into(mapped: MappedSpans, span: Span, origin: _Origin) -> None:
    try:
        mapped.spans.append(map_span(span, origin.project, origin.resource, origin.scope))
    except ValueError as error:  # _SpanRejectedError, or pydantic's ValidationError
        mapped.reject(_describe(span, error))


def _describe(span: Span, error: Exception) -> str:
    span_id = span.span_id.hex() or "(empty)"
    return f"span {span_id} {span.name[:80]!r}: {error}"


def map_span(span: Span, project: str, resource: dict[str, Any], scope: dict[str, str]) -> SpanIn:
    """Return one OTLP span as a `SpanIn`, or raise ValueError if it cannot be stored."""
    values = decode_attributes(span.attributes)
    events = _read_events(span.events)
    explicit_kind = explicit_kind_of(values)

    fields: dict[str, Any] = {
        "trace_id": _hex_id(span.trace_id, 16, "trace id"),
        "id": _hex_id(span.span_id, 8, "span id"),
        "parent_id": _parent_id(span.parent_span_id),
        "project": project,
        "name": span.name[:_NAME_MAX] or None,
        "start_time": _time(span.start_time_unix_nano),
        "end_time": _time(span.end_time_unix_nano),
        "status": _STATUS.get(span.status.code),
        "error": _error(span.status, events.exception, values),
        "thread_id": _short_text(values, _THREAD_KEYS),
        "user_id": _short_text(values, _USER_KEYS),
        "tags": _tags(values),
        "metadata": _metadata(values),
        "attributes": _raw_attributes(values, resource, scope, events, span.links),
    }
    _add_payloads(fields, values)
    _add_details(fields, values, events, explicit_kind)
    return SpanIn(**{key: value for key, value in fields.items() if value is not None})


def _add_payloads(fields: dict[str, Any], values: Mapping[str, Any]) -> None:
    fields["input"] = _payload(values, "daytwo.input", "input.value", "input.mime_type")
    if fields["input"] is None:
        fields["input"] = parse_json(first(values, ("traceloop.entity.input", "ai.prompt")))
    fields["output"] = _payload(values, "daytwo.output", "output.value", "output.mime_type")
    if fields["output"] is None:
        fields["output"] = _vendor_output(values)


def _add_details(
    fields: dict[str, Any],
    values: Mapping[str, Any],
    events: _Events,
    kind: SpanKind | None,
) -> None:
    # Each detail is looked for only when an attribute namespace it reads from is
    # present: a chain span then skips some sixty lookups for model fields it lacks.
    namespaces = {key.partition(".")[0] for key in values}
    llm = usage = None
    if events.genai or not namespaces.isdisjoint(_LLM_NAMESPACES):
        llm = llm_detail(values, events.genai)
        usage = token_usage(values)
    if kind is None:
        # No convention names the kind: a model or token counts make it a model call.
        has_model = llm is not None and llm.model is not None
        kind = SpanKind.LLM if usage is not None or has_model else SpanKind.GENERAL
    fields["kind"] = kind
    fields["llm"] = llm
    fields["usage"] = usage
    if not namespaces.isdisjoint(_COST_NAMESPACES):
        fields["cost"] = given_cost(values)
    if kind is SpanKind.RETRIEVAL or not namespaces.isdisjoint(_RETRIEVAL_NAMESPACES):
        fields["retrieval"] = _retrieval(values, kind, fields["input"])
    if not namespaces.isdisjoint(_TOOL_NAMESPACES):
        fields["tool"] = _tool(values)


# Identity and time -----------------------------------------------------------


def _hex_id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise _SpanRejectedError(f"invalid {what}: {len(raw)} bytes, expected {size}")
    if not any(raw):
        raise _SpanRejectedError(f"invalid {what}: all zero")
    return raw.hex()


def _parent_id(raw: bytes) -> str | None:
    # Some SDKs write eight zero bytes instead of leaving a root's parent empty.
    if not any(raw):
        return None
    return _hex_id(raw, 8, "parent span id")


def _time(unix_nanos: int) -> datetime | None:
    if not unix_nanos:
        return None
    # Integer microseconds: a float of the seconds would lose the last digit.
    return _EPOCH + timedelta(microseconds=unix_nanos // 1000)


# Status and error ------------------------------------------------------------


def _error(
    status: Status, exception: dict[str, Any] | None, values: Mapping[str, Any]
) -> ErrorInfo | None:
    status_message = status.message or None
    if exception is not None:
        return ErrorInfo(
            type=as_text(exception.get("exception.type")),
            message=as_text(exception.get("exception.message")) or status_message,
            stack=as_text(exception.get("exception.stacktrace")),
        )
    if status.code != Status.STATUS_CODE_ERROR:
        return None
    # error.type is the general OpenTelemetry attribute for the class of an error.
    error_type = as_text(values.get("error.type"))
    if status_message is None and error_type is None:
        return None
    return ErrorInfo(type=error_type, message=status_message)


def _read_events(span_events: Iterable[Span.Event]) -> _Events:
    genai: dict[str, Any] = {}
    raw: list[dict[str, Any]] = []
    last_exception = -1
    for event in span_events:
        attributes = decode_attributes(event.attributes)
        if event.name == "exception":
            last_exception = len(raw)
        elif event.name in _GENAI_EVENTS:
            genai.update(attributes)
        raw.append(
            {"name": event.name, "time": _iso(event.time_unix_nano), "attributes": attributes}
        )
    # The last exception is the one that ended the span and becomes its error; any
    # earlier ones stay among the events.
    exception = raw.pop(last_exception)["attributes"] if last_exception >= 0 else None
    return _Events(exception, genai, raw)


def _iso(unix_nanos: int) -> str | None:
    moment = _time(unix_nanos)
    return moment.isoformat() if moment is not None else None


# Payloads --------------------------------------------------------------------


def _payload(values: Mapping[str, Any], own: str, value_key: str, mime_key: str) -> Any:
    mine = values.get(own)
    if mine is not None:
        return maybe_json(mine)
    value = values.get(value_key)
    if value is None:
        return None
    # OpenInference: input.value is plain text unless input.mime_type says JSON.
    if values.get(mime_key) == "application/json":
        return parse_json(value)
    return value


def _vendor_output(values: Mapping[str, Any]) -> Any:
    traceloop = values.get("traceloop.entity.output")
    if traceloop is not None:
        return parse_json(traceloop)
    vercel_object = values.get("ai.response.object")
    if vercel_object is not None:
        return parse_json(vercel_object)
    return values.get("ai.response.text")


def _metadata(values: Mapping[str, Any]) -> dict[str, Any] | None:
    for key in _METADATA_KEYS:
        metadata = as_object(values.get(key))
        if metadata is not None:
            return metadata
    # Vendor metadata is a group of keys, scanned only on spans of that vendor.
    for markers, prefix in _METADATA_GROUPS:
        if any(marker in values for marker in markers):
            metadata = group(values, prefix)
            if metadata:
                return metadata
    return None


def _tags(values: Mapping[str, Any]) -> list[str] | None:
    for key in _TAG_KEYS:
        value = values.get(key)
        if value is None:
            continue
        items = as_list(value)
        if items is None:
            items = [value]
        tags = [tag for tag in (as_text(item) for item in items) if tag is not None]
        if tags:
            return tags
    return None


def _short_text(values: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    text = first_text(values, keys)
    return text[:_ID_MAX] if text is not None else None


# Retrieval and tools ---------------------------------------------------------


def _retrieval(
    values: Mapping[str, Any], kind: SpanKind, span_input: Any
) -> RetrievalDetail | None:
    documents = _documents(values)
    query = first_text(values, ("reranker.query", "gen_ai.retrieval.query.text"))
    if query is None and kind is SpanKind.RETRIEVAL and isinstance(span_input, str):
        # OpenInference retriever spans carry their query as input.value.
        query = span_input
    if documents is None and query is None:
        return None
    return RetrievalDetail(query=query, documents=documents)


_DOCUMENT = ("document.id", "document.content", "document.score", "document.metadata")
# A reranker's result is its output documents; a retriever's, its documents.
_DOCUMENT_LISTS = (
    IndexedKeys("reranker.output_documents.", _DOCUMENT),
    IndexedKeys("retrieval.documents.", _DOCUMENT),
)


def _documents(values: Mapping[str, Any]) -> list[Document] | None:
    for keys in _DOCUMENT_LISTS:
        items = indexed(values, keys)
        if items:
            return [_document(item, "document.") for item in items]
    # GenAI: gen_ai.retrieval.documents is a JSON list of {"id", "score", ...}.
    documents = as_list(values.get("gen_ai.retrieval.documents"))
    if documents:
        return [_document(item, "") for item in documents if isinstance(item, dict)]
    return None


def _document(item: Mapping[str, Any], prefix: str) -> Document:
    content = item.get(prefix + "content")
    if content is not None and not isinstance(content, str):
        content = orjson.dumps(content).decode()
    return Document(
        id=as_text(item.get(prefix + "id")),
        content=content,
        score=as_number(item.get(prefix + "score")),
        metadata=as_object(item.get(prefix + "metadata")),
    )


def _tool(values: Mapping[str, Any]) -> ToolDetail | None:
    name = first_text(values, ("tool.name", "gen_ai.tool.name", "ai.toolCall.name"))
    description = first_text(values, ("tool.description", "gen_ai.tool.description"))
    # GenAI: arguments and result "SHOULD" be objects, a string being parsed at best
    # effort; so a string that is not a JSON object or array stays as it is. The Vercel
    # AI SDK always writes them as JSON.
    arguments = maybe_json(
        first(values, ("tool_call.function.arguments", "gen_ai.tool.call.arguments"))
    )
    if arguments is None:
        arguments = parse_json(values.get("ai.toolCall.args"))
    result = maybe_json(values.get("gen_ai.tool.call.result"))
    if result is None:
        result = parse_json(values.get("ai.toolCall.result"))
    if name is None and description is None and arguments is None and result is None:
        return None
    return ToolDetail(name=name, description=description, arguments=arguments, result=result)


def _raw_attributes(
    values: dict[str, Any],
    resource: dict[str, Any],
    scope: dict[str, str],
    events: _Events,
    links: Iterable[Span.Link],
) -> dict[str, Any]:
    raw: dict[str, Any] = {"span": values, "resource": resource, "scope": scope}
    if events.raw:
        raw["events"] = events.raw
    link_records = [
        {
            "trace_id": link.trace_id.hex(),
            "span_id": link.span_id.hex(),
            "attributes": decode_attributes(link.attributes),
        }
        for link in links
    ]
    if link_records:
        raw["links"] = link_records
    return raw
