"""Spans as the SDK holds them while they run, and the context that nests them.

A ``Span`` is a plain slotted object: starting one costs a few attribute
stores, two random numbers and a clock read. Everything that can wait (id
formatting, binding arguments to parameter names, serialization) waits for
the exporter's thread.
"""

import random
import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daytwo.sdk.capture import Capture

SPAN_KINDS = (
    "llm",
    "retrieval",
    "embedding",
    "reranker",
    "tool",
    "agent",
    "chain",
    "guardrail",
    "evaluator",
    "general",
)

_random = random.Random()
_getrandbits = _random.getrandbits


def new_span_id() -> int:
    """Return a random, non-zero 64-bit span id."""
    return _getrandbits(64) or 1


def new_trace_id() -> int:
    """Return a 128-bit UUIDv7: milliseconds since the epoch, then random bits (RFC 9562)."""
    millis = time.time_ns() // 1_000_000
    return (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | _getrandbits(12) << 64
        | 0b10 << 62
        | _getrandbits(62)
    )


# Guards every trace's pending updates: callers merge into them while the exporter's
# thread takes them, and neither may lose what the other wrote. Updates are rare, so
# one lock for the process costs less than one per trace.
_updates_lock = threading.Lock()


class TraceState:
    """What the spans of one trace share: ids, project, sampling and trace-level fields."""

    __slots__ = ("project", "sampled", "thread_id", "trace_id", "updates", "user_id")

    def __init__(self, trace_id: int, project: str | None, sampled: bool) -> None:
        self.trace_id = trace_id
        self.project = project
        self.sampled = sampled
        self.thread_id: str | None = None
        self.user_id: str | None = None
        # Trace-level fields not sent yet; they leave with the next span of the trace to end.
        self.updates: dict[str, Any] | None = None

    def update(self, fields: dict[str, Any]) -> None:
        """Merge trace-level ``fields`` into those waiting to be sent.

        ``thread_id`` and ``user_id`` are kept as attributes too, so that the
        trace's root span carries them.
        """
        with _updates_lock:
            if "thread_id" in fields:
                self.thread_id = fields["thread_id"]
            if "user_id" in fields:
                self.user_id = fields["user_id"]
            self.updates = {**(self.updates or {}), **fields}

    def take_updates(self) -> dict[str, Any] | None:
        """Return the fields waiting to be sent, or None, and forget them."""
        if self.updates is None:
            return None  # a read without the lock: an update made now leaves with a later span
        with _updates_lock:
            updates, self.updates = self.updates, None
        return updates


class RemoteParent:
    """A parent span that lives elsewhere: another service, or an OpenTelemetry span."""

    __slots__ = ("span_id", "trace")

    def __init__(self, trace: TraceState, span_id: int) -> None:
        self.trace = trace
        self.span_id = span_id


class Span:
    """One unit of work: a function call, a model call, a retrieval."""

    __slots__ = (
        "args",
        "attributes",
        "capture",
        "cost",
        "end_ns",
        "error",
        "input",
        "kind",
        "kwargs",
        "llm",
        "metadata",
        "name",
        "otel_token",
        "output",
        "parent_id",
        "retrieval",
        "scores",
        "span_id",
        "start_ns",
        "status",
        "tags",
        "tool",
        "trace",
        "usage",
    )

    def __init__(
        self, trace: TraceState, parent_id: int | None, name: str, kind: str, capture: "Capture"
    ) -> None:
        self.trace = trace
        self.span_id = _getrandbits(64) or 1
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.capture = capture
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.args: tuple[Any, ...] | None = None
        self.kwargs: dict[str, Any] | None = None
        self.input: Any = None
        self.output: Any = None
        self.error: BaseException | None = None
        self.status: str | None = None
        self.metadata: dict[str, Any] | None = None
        self.tags: list[str] | None = None
        self.llm: dict[str, Any] | None = None
        self.usage: dict[str, int] | None = None
        self.cost: dict[str, float] | None = None
        self.retrieval: dict[str, Any] | None = None
        self.tool: dict[str, Any] | None = None
        self.attributes: dict[str, Any] | None = None
        self.scores: list[dict[str, Any]] | None = None
        self.otel_token: object = None

    @property
    def trace_id(self) -> str:
        """Return the trace id as 32 hexadecimal digits."""
        return f"{self.trace.trace_id:032x}"

    @property
    def id(self) -> str:
        """Return the span id as 16 hexadecimal digits."""
        return f"{self.span_id:016x}"

    @property
    def ended(self) -> bool:
        """Return whether the span has ended and been handed to the exporter."""
        return self.end_ns != 0

    def __repr__(self) -> str:
        return f"<Span {self.name!r} kind={self.kind} trace={self.trace_id} id={self.id}>"


class NonRecordingSpan:
    """Stands in for a span of a trace that sampling left out, so children nest the same."""

    __slots__ = ("otel_token", "span_id", "trace")

    def __init__(self, trace: TraceState, span_id: int) -> None:
        self.trace = trace
        self.span_id = span_id
        self.otel_token: object = None


class ScoreRecord:
    """A score sent on its own, after the fact (``daytwo.score``), as an ingest record."""

    __slots__ = ("record",)

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record


Parent = Span | NonRecordingSpan | RemoteParent

current_span: ContextVar[Parent | None] = ContextVar("daytwo_current_span", default=None)
