"""The public calls of the SDK, re-exported by the ``daytwo`` package.

Arguments are checked here, at the boundary, and misuse raises at once with a
sentence saying what to fix; below this module, failures are caught and
counted instead (see ``daytwo.sdk.errors``).
"""

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from daytwo.sdk import capture as sdk_capture
from daytwo.sdk import config as sdk_config
from daytwo.sdk import tracer as sdk_tracer
from daytwo.sdk.errors import ConfigError, failure_counts, internal_failure, warn_once
from daytwo.sdk.export.stats import ExportStats, FlushResult
from daytwo.sdk.propagation import extract
from daytwo.sdk.span import (
    SPAN_KINDS,
    NonRecordingSpan,
    Parent,
    RemoteParent,
    ScoreRecord,
    Span,
    current_span,
)

_USAGE_KEYS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_tokens": "cache_write_tokens",
    "reasoning_tokens": "reasoning_tokens",
    "total_tokens": "total_tokens",
    # The names the OpenAI API uses.
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
}
_TRACE_FIELDS = ("name", "input", "output", "metadata", "tags")


def configure(**settings: Any) -> sdk_config.SdkConfig:
    """Set how spans are exported, over the ``DAYTWO_*`` environment variables.

    Settings: ``url``, ``api_key``, ``project``, ``enabled``, ``sample_rate``,
    ``batch_size``, ``flush_interval``, ``max_queue``, ``spool``, ``spool_dir``,
    ``exit_timeout`` and more (see ``daytwo.sdk.config.SdkConfig``). Spans
    queued under the previous settings are flushed first.

        daytwo.configure(url="http://localhost:7700", project="support-bot")
    """
    chosen = sdk_config.from_env().with_changes(**settings)
    sdk_tracer.replace_tracer(chosen)
    return chosen


class SpanBlock:
    """A span around a block of code: ``with daytwo.span(...) as span:``."""

    __slots__ = ("_fields", "_span", "_start", "_token", "_trace_fields")

    def __init__(
        self,
        start: Callable[[], Span | NonRecordingSpan | None],
        fields: dict[str, Any],
        trace_fields: dict[str, Any] | None = None,
    ):
        self._start = start
        self._fields = fields
        self._trace_fields = trace_fields
        self._span: Span | NonRecordingSpan | None = None
        self._token: Any = None

    def __enter__(self) -> "SpanBlock":
        try:
            span = self._span = self._start()
            if type(span) is Span and self._fields:
                _apply(span, self._fields)
            if type(span) is Span and self._trace_fields:
                span.trace.update(self._trace_fields)
            if span is not None:
                self._token = sdk_tracer.activate(span)
        except Exception as exc:
            internal_failure("starting a span", exc)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            return
        try:
            if self._token is not None:
                sdk_tracer.deactivate(span, self._token)
            if type(span) is Span:
                if error is not None:
                    sdk_tracer.record_error(span, error)
                sdk_tracer.end_span(span)
        except Exception as exc:
            internal_failure("ending a span", exc)

    async def __aenter__(self) -> "SpanBlock":
        return self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(kind, error, traceback)

    def update(self, **fields: Any) -> None:
        """Set fields of this span; takes what ``update_current_span`` takes."""
        _check_span_fields(fields)
        if type(self._span) is Span and not self._span.ended:
            _apply(self._span, fields)

    @property
    def recording(self) -> bool:
        """Return whether this span is sent (False when tracing is off or sampled out)."""
        return type(self._span) is Span

    @property
    def trace_id(self) -> str | None:
        """Return the trace id as 32 hexadecimal digits, or None when tracing is off."""
        span = self._span
        return None if span is None else f"{span.trace.trace_id:032x}"

    @property
    def span_id(self) -> str | None:
        """Return the span id as 16 hexadecimal digits, or None when tracing is off."""
        span = self._span
        return None if span is None else f"{span.span_id:016x}"


def span(
    name: str,
    *,
    kind: str = "general",
    input: Any = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    project: str | None = None,
    parent: Parent | None = None,
) -> SpanBlock:
    """Trace a block of code as a span, nested under the current one.

    with daytwo.span("rerank", kind="reranker", input=docs) as span:
        ranked = rerank(docs)
        span.update(output=ranked)
    """
    _check_kind(kind)
    fields = _present(input=input, metadata=metadata, tags=tags)
    _check_span_fields(fields)
    capture = sdk_capture.DEFAULT

    def start() -> Span | NonRecordingSpan | None:
        return sdk_tracer.start_span(name, kind, capture, project=project, parent=parent)

    return SpanBlock(start, fields)


def trace(
    name: str,
    *,
    kind: str = "chain",
    input: Any = None,
    metadata: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    project: str | None = None,
    thread_id: str | None = None,
    user_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> SpanBlock:
    """Start a new trace whose root span covers the block.

    With ``headers``, the trace continues the caller's (W3C ``traceparent``)
    instead. ``thread_id`` groups traces into a conversation.

        with daytwo.trace("chat turn", thread_id=session_id, user_id=user):
            reply = bot.answer(message)
    """
    _check_kind(kind)
    fields = _present(input=input, metadata=metadata, tags=tags)
    fields.update(_present(thread_id=thread_id, user_id=user_id))
    _check_span_fields(fields)
    capture = sdk_capture.DEFAULT

    def start() -> Span | NonRecordingSpan | None:
        parent = extract(headers, project) if headers is not None else None
        return sdk_tracer.start_span(
            name, kind, capture, project=project, parent=parent, new_trace=parent is None
        )

    # Tags and metadata given here describe the whole trace, not only its root span.
    return SpanBlock(start, fields, _present(tags=fields.get("tags"), metadata=metadata))


def update_current_span(**fields: Any) -> None:
    """Set fields of the current span.

    Fields: ``name``, ``input``, ``output``, ``metadata`` (merged), ``tags``
    (added), ``usage`` (token counts; OpenAI's names are accepted), ``model``,
    ``provider``, ``parameters``, ``input_messages``, ``output_messages``,
    ``time_to_first_token_ms``, ``cost`` (dollars, or a dict with input, output
    and total), ``thread_id``, ``user_id``, ``scores`` (a dict of name to value,
    or a list of dicts with name, value and reason) and ``attributes``.

        daytwo.update_current_span(model="gpt-4o-mini", usage={"input_tokens": 812})
    """
    _check_span_fields(fields)
    found = current_span.get()
    if type(found) is Span:
        _apply(found, fields)
    elif found is None:
        warn_once("no-span", "daytwo: update_current_span was called outside any span")


def update_current_trace(**fields: Any) -> None:
    """Set fields of the current trace: ``name``, ``input``, ``output``, ``metadata``,
    ``tags``, ``thread_id``, ``user_id`` and ``scores``.

    The fields leave with the next span of the trace to end; in a service that
    continued a caller's trace and has no span of its own open, at once.

        daytwo.update_current_trace(user_id="u-42", tags=["beta"])
    """
    unknown = set(fields) - {*_TRACE_FIELDS, "thread_id", "user_id", "scores"}
    if unknown:
        raise ConfigError(
            f"unknown trace field {', '.join(sorted(unknown))}; expected one of: "
            f"{', '.join((*_TRACE_FIELDS, 'thread_id', 'user_id', 'scores'))}"
        )
    scores = _scores(fields.pop("scores"), "trace") if "scores" in fields else None
    for key in ("thread_id", "user_id"):
        if fields.get(key) is not None:
            _text(key, fields[key])
    if fields.get("tags") is not None:
        fields["tags"] = _tags(fields["tags"])
    if fields.get("metadata") is not None and not isinstance(fields["metadata"], Mapping):
        raise ConfigError(f"metadata must be a dict, not {type(fields['metadata']).__name__}")
    found = current_span.get()
    if found is None:
        warn_once("no-trace", "daytwo: update_current_trace was called outside any trace")
        return
    try:
        _update_trace(found, _present(**fields), scores)
    except Exception as exc:
        internal_failure("updating a trace", exc)


def _update_trace(
    found: Parent, fields: dict[str, Any], scores: list[dict[str, Any]] | None
) -> None:
    trace = found.trace
    if fields:
        trace.update(fields)
    if scores and type(found) is Span:
        found.scores = (found.scores or []) + scores
    if type(found) is not RemoteParent or not trace.sampled:
        return

    # No span of this process is open to carry the fields: send them on their own.
    exporter = sdk_tracer.get_tracer().exporter
    if fields:
        exporter.enqueue(trace)
    for score in scores or ():
        record = {key: value for key, value in score.items() if key != "target"}
        record["trace_id"] = f"{trace.trace_id:032x}"
        exporter.enqueue(ScoreRecord(_present(**record, project=trace.project)))


def score(
    name: str,
    value: bool | float | str,
    *,
    trace_id: str | None = None,
    span_id: str | None = None,
    thread_id: str | None = None,
    reason: str | None = None,
    author: str | None = None,
    project: str | None = None,
    source: str = "sdk",
) -> None:
    """Score a trace, a span or a thread after the fact, for example with user feedback.

    Give ``trace_id`` (and ``span_id`` for a span) or ``thread_id``; the ids
    are those of ``daytwo.trace(...)`` blocks or the query API. ``source``
    says who scored: ``sdk`` (default), ``human``, ``judge`` or ``rule``.

        with daytwo.trace("chat turn") as turn:
            reply = bot.answer(message)
        ...
        daytwo.score("thumbs up", True, trace_id=turn.trace_id, reason="user feedback")
    """
    if (trace_id is None) == (thread_id is None):
        raise ConfigError("score needs either trace_id (with span_id for a span) or thread_id")
    if span_id is not None and trace_id is None:
        raise ConfigError("a span's score needs its trace_id too")
    if source not in ("sdk", "human", "judge", "rule"):
        raise ConfigError(f"unknown score source {source!r}; expected sdk, human, judge or rule")
    given = _present(name=name, value=value, reason=reason, author=author)
    [checked] = _scores([given], "")
    checked.pop("target")
    record = {
        **checked,
        **_present(trace_id=trace_id, span_id=span_id, thread_id=thread_id),
        "project": project or sdk_tracer.get_tracer().project,
        "source": None if source == "sdk" else source,
    }
    try:
        tracer = sdk_tracer.get_tracer()
        if tracer.enabled:
            tracer.exporter.enqueue(ScoreRecord(_present(**record)))
    except Exception as exc:
        internal_failure("sending a score", exc)


def get_current_span() -> Span | None:
    """Return the current span if it is being recorded, else None."""
    found = current_span.get()
    return found if type(found) is Span else None


def flush(timeout: float = 10.0) -> FlushResult:
    """Send every span ended so far; wait at most ``timeout`` seconds.

    result = daytwo.flush()
    assert result.ok, result
    """
    tracer = sdk_tracer.get_tracer()
    if not tracer.has_exporter:
        return FlushResult(0, 0, 0, 0)
    try:
        return tracer.exporter.flush(timeout)
    except Exception as exc:
        internal_failure("flushing", exc)
        return FlushResult(0, 0, 0, 0)


def shutdown(timeout: float | None = None) -> FlushResult:
    """Flush, spool what could not be sent, and stop the exporter's thread."""
    tracer = sdk_tracer.get_tracer()
    if not tracer.has_exporter:
        return FlushResult(0, 0, 0, 0)
    try:
        return tracer.exporter.shutdown(timeout or tracer.settings.exit_timeout)
    except Exception as exc:
        internal_failure("shutting down", exc)
        return FlushResult(0, 0, 0, 0)
    finally:
        tracer.forget_exporter()


def stats() -> ExportStats:
    """Return what the exporter has sent, spooled and dropped (by reason) so far."""
    tracer = sdk_tracer.get_tracer()
    if tracer.has_exporter:
        try:
            return tracer.exporter.stats()
        except Exception as exc:
            internal_failure("reading the export counters", exc)
    return ExportStats(0, 0, 0, {}, 0, 0, 0, 0, 0, failure_counts() or None)


# Applying fields to a span.

_SPAN_FIELDS = frozenset(
    (
        "name",
        "kind",
        "input",
        "output",
        "metadata",
        "tags",
        "usage",
        "model",
        "provider",
        "parameters",
        "input_messages",
        "output_messages",
        "time_to_first_token_ms",
        "cost",
        "thread_id",
        "user_id",
        "scores",
        "attributes",
        "retrieval",
        "tool",
    )
)
_LLM_FIELDS = {
    "model": "model",
    "provider": "provider",
    "parameters": "invocation_parameters",
    "input_messages": "input_messages",
    "output_messages": "output_messages",
    "time_to_first_token_ms": "time_to_first_token_ms",
}


def _check_span_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - _SPAN_FIELDS
    if unknown:
        raise ConfigError(
            f"unknown span field {', '.join(sorted(unknown))}; expected one of: "
            f"{', '.join(sorted(_SPAN_FIELDS))}"
        )
    if "kind" in fields:
        _check_kind(fields["kind"])
    if fields.get("usage") is not None:
        fields["usage"] = _usage(fields["usage"])
    if fields.get("cost") is not None:
        fields["cost"] = _cost(fields["cost"])
    if fields.get("scores") is not None:
        fields["scores"] = _scores(fields["scores"], "span")
    for key in ("metadata", "attributes", "parameters", "retrieval", "tool"):
        if fields.get(key) is not None and not isinstance(fields[key], Mapping):
            raise ConfigError(f"{key} must be a dict, not {type(fields[key]).__name__}")
    if fields.get("tags") is not None:
        fields["tags"] = _tags(fields["tags"])
    for key in ("thread_id", "user_id"):
        if fields.get(key) is not None:
            _text(key, fields[key])


def _apply(span: Span, fields: dict[str, Any]) -> None:
    """Set checked ``fields`` on a recording span."""
    for key, value in fields.items():
        if value is None:
            continue
        if key in _LLM_FIELDS:
            sdk_tracer.set_attribute_dict(span, "llm", {_LLM_FIELDS[key]: value})
        elif key in ("metadata", "attributes", "retrieval", "tool"):
            sdk_tracer.set_attribute_dict(span, key, value)
        elif key == "tags":
            span.tags = list(dict.fromkeys([*(span.tags or ()), *value]))
        elif key == "usage":
            span.usage = {**(span.usage or {}), **value}
        elif key == "scores":
            span.scores = (span.scores or []) + value
        elif key in ("thread_id", "user_id"):
            span.trace.update({key: value})
        else:
            setattr(span, key, value)


def _check_kind(kind: str) -> None:
    if kind not in SPAN_KINDS:
        raise ConfigError(f"unknown span kind {kind!r}; expected one of: {', '.join(SPAN_KINDS)}")


def _usage(usage: Any) -> dict[str, int]:
    if not isinstance(usage, Mapping):
        usage = getattr(usage, "model_dump", lambda: usage)()
    if not isinstance(usage, Mapping):
        raise ConfigError(f"usage must be a dict of token counts, not {type(usage).__name__}")
    found: dict[str, int] = {}
    for key, value in usage.items():
        name = _USAGE_KEYS.get(key)
        if name is None or value is None:
            continue  # other providers' extra fields (details objects) are not counts
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"usage {key}={value!r} must be a non-negative integer")
        found[name] = value
    return found


def _cost(cost: Any) -> dict[str, float]:
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return {"total": float(cost)}
    if isinstance(cost, Mapping) and set(cost) <= {"input", "output", "total"}:
        return {key: float(value) for key, value in cost.items() if value is not None}
    raise ConfigError("cost must be dollars as a number, or a dict with input, output and total")


def _scores(scores: Any, target: str) -> list[dict[str, Any]]:
    if isinstance(scores, Mapping):
        scores = [{"name": name, "value": value} for name, value in scores.items()]
    if not isinstance(scores, list):
        raise ConfigError("scores must be a dict of name to value, or a list of dicts")
    found = []
    for score in scores:
        if not isinstance(score, Mapping) or "name" not in score or "value" not in score:
            raise ConfigError(f"score {score!r} needs a name and a value")
        value = score["value"]
        if not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"score {score['name']!r} must be a number, boolean or label")
        extra = set(score) - {"name", "value", "reason", "data_type", "author", "source"}
        if extra:
            raise ConfigError(f"score {score['name']!r} has unknown keys: {sorted(extra)}")
        found.append({**score, "target": target})
    return found


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ConfigError("tags must be a list of strings")
    return list(tags)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
