"""Turn ended spans into the JSON records of ``POST /api/v1/ingest``.

This runs on the exporter's thread. Values the application passed in (inputs,
outputs, messages, metadata) may be any Python object: what JSON cannot hold
is converted (Pydantic models, dataclasses, sets, bytes) or shown by its
``repr``, and a value larger than ``max_field_bytes`` is cut to a readable
preview, so one odd object never costs the rest of its span. A spooled body
the server rejects is decoded back into its records here, to be split.
"""

import gzip
import traceback
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from daytwo.sdk.span import ScoreRecord, Span, TraceState

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_UTC_Z
_PREVIEW_CHARS = 10_000
_REPR_CHARS = 2_000

# The server's limits on short text fields (see daytwo.model.spans).
_NAME_CHARS = 1000
_KEY_CHARS = 500


class Encoded:
    """One span's JSON, and the trace record and scores that travel with it."""

    __slots__ = ("scores", "size", "span", "trace", "truncated")

    def __init__(self, span: bytes | None, trace: bytes | None, scores: list[bytes]) -> None:
        self.span = span
        self.trace = trace
        self.scores = scores
        self.size = (len(span) if span else 0) + (len(trace) if trace else 0)
        self.size += sum(len(s) for s in scores)
        self.truncated = 0


def encode(span: Span, max_field_bytes: int) -> Encoded:
    """Return ``span`` as ingest JSON; raise only if even the fallback cannot be encoded."""
    trace = span.trace
    trace_id = f"{trace.trace_id:032x}"
    span_id = f"{span.span_id:016x}"
    record: dict[str, Any] = {
        "trace_id": trace_id,
        "id": span_id,
        "name": span.name[:_NAME_CHARS],
        "kind": span.kind,
        "start_time": _EPOCH + timedelta(microseconds=span.start_ns // 1000),
        "end_time": _EPOCH + timedelta(microseconds=span.end_ns // 1000),
        "status": span.status or "ok",
    }
    if span.parent_id is not None:
        record["parent_id"] = f"{span.parent_id:016x}"
    else:
        _add_trace_keys(record, trace.thread_id, trace.user_id)
    if trace.project is not None:
        record["project"] = trace.project
    truncated = _add_payloads(record, span, max_field_bytes)
    if span.error is not None:
        record["error"] = _error(span.error)
    for field in ("metadata", "tags", "llm", "usage", "cost", "retrieval", "tool", "attributes"):
        value = getattr(span, field)
        if value is not None:
            record[field] = value

    encoded = Encoded(_dumps(record), _trace_record(trace, trace_id), _scores(span, trace_id))
    encoded.truncated = truncated
    return encoded


def encode_score(score: ScoreRecord) -> Encoded:
    """Return a score given on its own (``daytwo.score``) as ingest JSON."""
    return Encoded(None, None, [_dumps(score.record)])


def _add_trace_keys(record: dict[str, Any], thread_id: str | None, user_id: str | None) -> None:
    if thread_id is not None:
        record["thread_id"] = thread_id[:_KEY_CHARS]
    if user_id is not None:
        record["user_id"] = user_id[:_KEY_CHARS]


def _add_payloads(record: dict[str, Any], span: Span, max_field_bytes: int) -> int:
    """Add input and output as pre-encoded JSON; return how many had to be cut."""
    capture = span.capture
    truncated = 0
    value = capture.input_value(span.input, span.args, span.kwargs)
    if value is not None:
        record["input"], cut = _fragment(value, max_field_bytes)
        truncated += cut
    value = capture.output_value(span.output)
    if value is not None:
        record["output"], cut = _fragment(value, max_field_bytes)
        truncated += cut
    return truncated


def _fragment(value: Any, limit: int) -> tuple[orjson.Fragment, int]:
    try:
        data = orjson.dumps(value, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        data = orjson.dumps(_plain(value, 0), default=_repr, option=_OPTIONS)
    if len(data) <= limit:
        return orjson.Fragment(data), 0
    preview = data[: min(limit, _PREVIEW_CHARS)].decode("utf-8", errors="ignore")
    note = f"{preview}… [cut by daytwo: {len(data):,} bytes of JSON]"
    return orjson.Fragment(orjson.dumps(note)), 1


def _error(error: BaseException) -> dict[str, str]:
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return {
        "type": name,
        "message": str(error)[: _REPR_CHARS * 5],
        "stack": "".join(traceback.format_exception(error)),
    }


def encode_trace(trace: TraceState) -> Encoded:
    """Return a trace's waiting updates on their own, for a trace with no local span open."""
    return Encoded(None, _trace_record(trace, f"{trace.trace_id:032x}"), [])


def decode_body(body: bytes) -> list[Encoded]:
    """Return the records of a compressed request body as items again.

    Each span gets back the first record of its trace and its scores, as
    ``encode`` grouped them, so that a batch split in halves keeps them
    together; records with no span in the body become items of their own.
    Raise ``ValueError`` if ``body`` is not an ingest batch.
    """
    try:
        text = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"the body is not gzip: {exc}") from exc
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    spans, traces, scores = (_records(data, key) for key in ("spans", "traces", "scores"))

    first: dict[Any, int] = {}  # trace id: the index of its first span
    own: dict[tuple[Any, Any], int] = {}  # (trace id, span id): the span's index
    for index, span in enumerate(spans):
        first.setdefault(span.get("trace_id"), index)
        own[span.get("trace_id"), span.get("id")] = index

    trace_of: list[bytes | None] = [None] * len(spans)
    scores_of: list[list[bytes]] = [[] for _ in spans]
    loose: list[Encoded] = []
    for trace in traces:
        at = first.get(trace.get("id"))
        if at is None or trace_of[at] is not None:
            loose.append(Encoded(None, orjson.dumps(trace), []))
        else:
            trace_of[at] = orjson.dumps(trace)
    for score in scores:
        at = own.get((score.get("trace_id"), score.get("span_id")))
        if at is None:
            at = first.get(score.get("trace_id"))
        if at is None:
            loose.append(Encoded(None, None, [orjson.dumps(score)]))
        else:
            scores_of[at].append(orjson.dumps(score))

    items = [Encoded(orjson.dumps(span), trace_of[i], scores_of[i]) for i, span in enumerate(spans)]
    return items + loose


def _records(data: Any, key: str) -> list[dict[str, Any]]:
    found = data.get(key, []) if isinstance(data, dict) else None
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise ValueError(f"the body's {key} are not a list of records")
    return found


def _trace_record(trace: TraceState, trace_id: str) -> bytes | None:
    updates = trace.take_updates()
    if updates is None:
        return None
    record = {"id": trace_id, **updates}
    if trace.project is not None:
        record["project"] = trace.project
    _add_trace_keys(record, trace.thread_id, trace.user_id)
    record.pop("scores", None)
    return _dumps(record)


def _scores(span: Span, trace_id: str) -> list[bytes]:
    found: list[bytes] = []
    project = span.trace.project
    for score in span.scores or ():
        record = {**score, "trace_id": trace_id}
        if score.get("target") != "trace":
            record["span_id"] = f"{span.span_id:016x}"
        record.pop("target", None)
        if project is not None:
            record["project"] = project
        found.append(_dumps(record))
    return found


def _dumps(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        # A value nested in metadata or llm detail that even _default cannot take:
        # keep the span and show the value as text.
        safe = {
            k: v if k in _PLAIN else orjson.Fragment(orjson.dumps(_repr(v)))
            for k, v in record.items()
        }
        return orjson.dumps(safe, option=_OPTIONS)


_PLAIN = frozenset(
    [
        "trace_id",
        "id",
        "parent_id",
        "name",
        "kind",
        "start_time",
        "end_time",
        "status",
        "project",
        "thread_id",
        "user_id",
        "input",
        "output",
        "tags",
        "usage",
    ]
)


def _plain(value: Any, depth: int) -> Any:
    """Return ``value`` rebuilt from JSON types: the slow path, for what orjson refused.

    orjson refuses integers beyond 64 bits and nesting deeper than 254 levels;
    those become text here while the rest of the value keeps its shape.
    """
    if depth > 100:
        return _repr(value)
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item, depth + 1) for item in value]
    converted = _default(value)
    if converted is value or isinstance(converted, str):
        return converted
    return _plain(converted, depth + 1)


def _default(value: Any) -> Any:
    """Convert what orjson cannot encode by itself."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            return _repr(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value):,} bytes>"
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_dict()
        except Exception:
            return _repr(value)
    return _repr(value)


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= _REPR_CHARS else text[:_REPR_CHARS] + "…"
