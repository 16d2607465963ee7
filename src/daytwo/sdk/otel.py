"""Interoperation with OpenTelemetry's context, used only once OpenTelemetry is imported.

A daytwo span started inside an OpenTelemetry span becomes its child, and an
OpenTelemetry span started inside a daytwo span becomes a child of that, so
the two keep one trace. daytwo never imports OpenTelemetry itself: the tracer
calls into this module only when ``opentelemetry.trace`` is already loaded.
"""

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from daytwo.sdk.span import NonRecordingSpan, Parent, RemoteParent, Span, TraceState


def innermost_parent(parent: Parent | None) -> Parent | None:
    """Return the parent for a new daytwo span: OpenTelemetry's current span if it is innermost."""
    found = otel_trace.get_current_span().get_span_context()
    if not found.is_valid:
        return parent
    if parent is not None and parent.span_id == found.span_id:
        return parent
    if parent is not None and parent.trace.trace_id == found.trace_id:
        return RemoteParent(parent.trace, found.span_id)
    from daytwo.sdk.tracer import remote_parent

    return remote_parent(found.trace_id, found.span_id, found.trace_flags.sampled, None)


def attach(span: Span | NonRecordingSpan) -> object:
    """Make ``span`` OpenTelemetry's current span too; return the token for ``detach``."""
    trace: TraceState = span.trace
    flags = otel_trace.TraceFlags(
        otel_trace.TraceFlags.SAMPLED if trace.sampled else otel_trace.TraceFlags.DEFAULT
    )
    context = otel_trace.SpanContext(
        trace.trace_id, span.span_id, is_remote=False, trace_flags=flags
    )
    return otel_context.attach(otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(context)))


def detach(token: Any) -> None:
    """Undo ``attach``."""
    otel_context.detach(token)
