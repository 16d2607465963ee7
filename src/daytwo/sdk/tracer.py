"""The process-wide tracer: configuration, the sampling decision and span lifecycle.

The functions here are the hot path. Starting a span reads one context
variable and builds one object; ending it reads the clock and appends to the
exporter's queue. Everything else happens on the exporter's thread.
"""

import os
import random
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from daytwo.sdk import config as sdk_config
from daytwo.sdk.capture import Capture
from daytwo.sdk.errors import ConfigError, warn_once
from daytwo.sdk.span import (
    NonRecordingSpan,
    Parent,
    RemoteParent,
    Span,
    TraceState,
    current_span,
    new_span_id,
    new_trace_id,
)

if TYPE_CHECKING:
    from contextvars import Token

    from daytwo.sdk.export.exporter import Exporter


class Tracer:
    """Holds the settings and the exporter that every span of the process goes through."""

    def __init__(self, settings: sdk_config.SdkConfig) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self.sample_rate = settings.sample_rate
        self.project = settings.project
        self._exporter: Exporter | None = None
        self._lock = threading.Lock()

    @property
    def exporter(self) -> "Exporter":
        """Return the exporter, starting its thread on first use."""
        exporter = self._exporter
        if exporter is None:
            with self._lock:
                if self._exporter is None:
                    from daytwo.sdk.export.exporter import Exporter

                    self._exporter = Exporter(self.settings)
                exporter = self._exporter
        return exporter

    @property
    def has_exporter(self) -> bool:
        """Return whether anything has been exported (or queued) yet."""
        return self._exporter is not None

    def forget_exporter(self) -> None:
        """Drop the exporter without flushing (after a fork, its thread is gone)."""
        self._exporter = None


_tracer: Tracer | None = None
_tracer_lock = threading.Lock()


def get_tracer() -> Tracer:
    """Return the process's tracer, configured from the environment on first use."""
    tracer = _tracer
    if tracer is None:
        with _tracer_lock:
            if _tracer is None:
                _install(Tracer(_settings_from_env()))
            tracer = _tracer
            assert tracer is not None
    return tracer


def replace_tracer(settings: sdk_config.SdkConfig) -> Tracer:
    """Install a tracer with ``settings``; the old one is flushed and shut down."""
    global _tracer
    with _tracer_lock:
        old, _tracer = _tracer, Tracer(settings)
    if old is not None and old.has_exporter:
        old.exporter.shutdown(settings.exit_timeout)
    return _tracer


def _settings_from_env() -> sdk_config.SdkConfig:
    """Return the environment's settings; if one is bad, warn once and turn tracing off.

    Tracing starts from the first span, deep inside the program: a typo in a
    ``DAYTWO_*`` variable must not make that span raise. ``configure`` still
    raises, since the program calls it on purpose.
    """
    try:
        return sdk_config.from_env()
    except ConfigError as exc:
        warn_once(
            "bad-environment",
            "daytwo: tracing is off because %s; fix the variable or call daytwo.configure()",
            exc,
        )
        return sdk_config.SdkConfig(enabled=False)


def _install(tracer: Tracer) -> None:
    global _tracer
    _tracer = tracer


def _after_fork_in_child() -> None:
    if _tracer is not None:
        _tracer.forget_exporter()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_sample = random.Random().random


def start_span(
    name: str,
    kind: str,
    capture: Capture,
    *,
    project: str | None = None,
    parent: Parent | None = None,
    new_trace: bool = False,
) -> Span | NonRecordingSpan | None:
    """Start a span under ``parent`` or the current span; None when tracing is off."""
    tracer = _tracer or get_tracer()
    if not tracer.enabled:
        return None
    if parent is None and not new_trace:
        parent = current_span.get()
        if "opentelemetry.trace" in sys.modules:
            from daytwo.sdk import otel

            parent = otel.innermost_parent(parent)
    if parent is None:
        sampled = tracer.sample_rate >= 1.0 or _sample() < tracer.sample_rate
        trace = TraceState(new_trace_id(), project or tracer.project, sampled)
        if not sampled:
            return NonRecordingSpan(trace, new_span_id())
        return Span(trace, None, name, kind, capture)
    if not parent.trace.sampled:
        return NonRecordingSpan(parent.trace, new_span_id())
    return Span(parent.trace, parent.span_id, name, kind, capture)


def activate(span: Span | NonRecordingSpan) -> "Token[Parent | None]":
    """Make ``span`` the current span; return the token that ``deactivate`` needs."""
    token = current_span.set(span)
    if "opentelemetry.trace" in sys.modules:
        from daytwo.sdk import otel

        try:
            span.otel_token = otel.attach(span)
        except BaseException:
            current_span.reset(token)  # leave the context as it was found
            raise
    return token


def deactivate(span: Span | NonRecordingSpan, token: "Token[Parent | None]") -> None:
    """Restore the span that was current before ``activate``."""
    try:
        if span.otel_token is not None:
            from daytwo.sdk import otel

            otel_token, span.otel_token = span.otel_token, None
            otel.detach(otel_token)
    finally:
        current_span.reset(token)


def end_span(span: Span, end_ns: int = 0) -> None:
    """End ``span`` and hand it to the exporter; ending twice does nothing."""
    if span.end_ns:
        return
    span.end_ns = end_ns or time.time_ns()
    tracer = _tracer or get_tracer()
    tracer.exporter.enqueue(span)


def remote_parent(trace_id: int, span_id: int, sampled: bool, project: str | None) -> RemoteParent:
    """Return a parent for spans that continue a trace started elsewhere."""
    tracer = _tracer or get_tracer()
    return RemoteParent(TraceState(trace_id, project or tracer.project, sampled), span_id)


def record_error(span: Span, error: BaseException) -> None:
    """Mark ``span`` as failed with ``error``; the stack is formatted on export."""
    span.status = "error"
    span.error = error


def settings() -> sdk_config.SdkConfig:
    """Return the settings in force."""
    return get_tracer().settings


def set_attribute_dict(span: Span, field: str, values: dict[str, Any]) -> None:
    """Merge ``values`` into one of the span's dictionaries (llm, tool, retrieval, ...)."""
    current = getattr(span, field)
    if current is None:
        setattr(span, field, dict(values))
    else:
        current.update(values)
