"""What every integration needs: one model call as an llm (or embedding) span.

An integration wraps a client library's call in ``ModelCall``: it starts the
span with the request's provider, model, parameters and exact messages, marks
the first streamed token, and ends it with the reply's messages and token
usage. The server prices the span from the model and usage.
"""

import time
from types import TracebackType
from typing import Any

from daytwo.prompts.linking import take_pending as take_pending_prompt
from daytwo.sdk import tracer
from daytwo.sdk.capture import DEFAULT
from daytwo.sdk.errors import internal_failure
from daytwo.sdk.span import NonRecordingSpan, Span


class ModelCall:
    """A model call being traced; every method is safe to call when tracing is off."""

    __slots__ = ("_first_token_ns", "_span", "_start_ns", "_token")

    def __init__(
        self,
        name: str,
        *,
        provider: str | None,
        model: str | None,
        parameters: dict[str, Any] | None = None,
        input_messages: list[dict[str, Any]] | None = None,
        input: Any = None,
        kind: str = "llm",
        activate: bool = False,
    ) -> None:
        """Start the span; with ``activate`` it becomes the current span (for nested work)."""
        self._span: Span | NonRecordingSpan | None = None
        self._token: Any = None
        self._first_token_ns = 0
        self._start_ns = time.time_ns()
        try:
            span = self._span = tracer.start_span(name, kind, DEFAULT)
            # A prompt rendered before this call (daytwo.get_prompt) belongs to it.
            prompt = take_pending_prompt(span) if kind == "llm" else None
            if type(span) is Span:
                llm: dict[str, Any] = dict(prompt) if prompt else {}
                for key, value in (
                    ("provider", provider),
                    ("model", model),
                    ("invocation_parameters", parameters),
                    ("input_messages", input_messages),
                ):
                    if value is not None:
                        llm[key] = value
                span.llm = llm
                span.input = input if input is not None else input_messages
            if activate and span is not None:
                self._token = tracer.activate(span)
        except Exception as exc:
            internal_failure("starting a model call span", exc)

    @property
    def span(self) -> Span | None:
        """Return the span if it is being recorded."""
        return self._span if type(self._span) is Span else None

    def first_token(self) -> None:
        """Mark the arrival of the first streamed token (once)."""
        if not self._first_token_ns:
            self._first_token_ns = time.time_ns()

    def set(self, **llm: Any) -> None:
        """Set llm detail fields (model, output_messages, ...) that are not None."""
        span = self.span
        if span is None:
            return
        if span.llm is None:
            span.llm = {}
        span.llm.update({key: value for key, value in llm.items() if value is not None})

    def usage(self, **counts: int | None) -> None:
        """Set token counts (input_tokens, output_tokens, cache_read_tokens, ...)."""
        span = self.span
        if span is None:
            return
        found = {key: value for key, value in counts.items() if value is not None}
        if found:
            span.usage = {**(span.usage or {}), **found}

    def end(self, output: Any = None, error: BaseException | None = None) -> None:
        """End the span with its output, or with the error that ended the call."""
        span = self._span
        if span is None:
            return
        self._span = None
        try:
            if self._token is not None:
                tracer.deactivate(span, self._token)
            if type(span) is not Span:
                return
            if self._first_token_ns:
                ttft = (self._first_token_ns - span.start_ns) / 1e6
                self.set_on(span, time_to_first_token_ms=round(ttft, 3))
            if output is not None:
                span.output = output
            if error is not None:
                tracer.record_error(span, error)
            tracer.end_span(span)
        except Exception as exc:
            internal_failure("ending a model call span", exc)

    @staticmethod
    def set_on(span: Span, **llm: Any) -> None:
        if span.llm is None:
            span.llm = {}
        span.llm.update(llm)

    def __enter__(self) -> "ModelCall":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None:
            self.end(error=error)
