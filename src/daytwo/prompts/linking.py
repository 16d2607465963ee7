"""Link a rendered prompt to the llm span that uses it.

Rendering records the prompt on the current span when that span is an llm
span. Otherwise the prompt waits in a context variable, and the next llm span
started in the same context (by ``daytwo.sdk.integrations.calls.ModelCall``)
takes it. The server stores the reference in the span's ``prompt_name`` and
``prompt_version`` columns, which per-version metrics read. Facts about how
the version was chosen (``daytwo.prompt.from_split``) go in the span's
attributes, which every server version keeps as they come.

This module is imported by every traced model call, so it imports nothing
heavier than the SDK's span module.
"""

from contextvars import ContextVar
from typing import Any

from daytwo.sdk.span import NonRecordingSpan, Span, TraceState, current_span

_Attributes = dict[str, Any] | None
# The detail and attributes waiting for an llm span, and the trace they were
# rendered in (None outside one).
_pending: ContextVar[tuple[dict[str, Any], _Attributes, TraceState | None] | None] = ContextVar(
    "daytwo_pending_prompt", default=None
)


def link(detail: dict[str, Any], attributes: _Attributes = None) -> None:
    """Record llm ``detail`` (prompt, prompt_template, prompt_variables) and ``attributes``.

    The current span takes them if it is an llm span that has not ended;
    otherwise the next llm span started in this context does.
    """
    span = current_span.get()
    if type(span) is Span and span.kind == "llm" and not span.ended:
        if span.llm is None:
            span.llm = {}
        span.llm.update(detail)
        _add_attributes(span, attributes)
        _pending.set(None)
    else:
        _pending.set((detail, attributes, None if span is None else span.trace))


def take_pending(span: Span | NonRecordingSpan | None) -> dict[str, Any] | None:
    """Return the prompt detail waiting for ``span``, an llm span just started, and clear it.

    The prompt's attributes are added to ``span`` here. A prompt rendered
    inside a trace goes only to an llm span of that trace, so a thread reused
    for another request cannot pass it on to a stranger.
    """
    pending = _pending.get()
    if pending is None:
        return None
    _pending.set(None)
    detail, attributes, trace = pending
    if trace is not None and (span is None or span.trace is not trace):
        return None
    if type(span) is Span:
        _add_attributes(span, attributes)
    return detail


def _add_attributes(span: Span, attributes: _Attributes) -> None:
    if attributes:
        span.attributes = {**(span.attributes or {}), **attributes}
