"""Trace every model call as an llm (or embedding) span, and mark evaluation traffic.

A call's *purpose* says why it was made. Calls made for ``"evaluation"`` (an
LLM judge scoring another model's output) carry the span metadata
``{"daytwo.evaluation": true}`` and the tag ``evaluation``, so that dashboards
and cost reports can keep a judge's tokens apart from the application's. The
purpose comes from the call's ``purpose`` argument, else from the innermost
``purpose(...)`` block, else from the client's default:

    with daytwo.llm.purpose("evaluation"):
        client.complete("Is this answer polite? ...")
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from daytwo.llm.completion import Completion, Usage
from daytwo.sdk.integrations.calls import ModelCall

EVALUATION = "evaluation"
EVALUATION_KEY = "daytwo.evaluation"

_purpose: ContextVar[str | None] = ContextVar("daytwo_llm_purpose", default=None)


@contextmanager
def purpose(name: str | None) -> Iterator[None]:
    """Give the model calls made inside the block a purpose, such as ``"evaluation"``."""
    token = _purpose.set(name)
    try:
        yield
    finally:
        _purpose.reset(token)


def resolve_purpose(explicit: str | None, default: str | None) -> str | None:
    """Return the purpose of a call: its own, the enclosing block's, or the client's."""
    if explicit is not None:
        return explicit
    current = _purpose.get()
    return current if current is not None else default


def start_call(
    operation: str,
    *,
    provider: str,
    model: str,
    parameters: dict[str, Any],
    messages: list[dict[str, Any]] | None = None,
    input: Any = None,
    purpose: str | None = None,
) -> ModelCall:
    """Start the span of one model call; its name follows the OpenTelemetry GenAI convention.

    The GenAI semantic conventions name a span "{operation} {model}" ("chat gpt-4o-mini").
    """
    kind = "embedding" if operation == "embeddings" else "llm"
    call = ModelCall(
        f"{operation} {model}",
        provider=provider,
        model=model,
        parameters=parameters or None,
        input_messages=messages,
        input=input,
        kind=kind,
    )
    span = call.span
    if span is not None and purpose is not None:
        span.metadata = {**(span.metadata or {}), "daytwo.purpose": purpose}
        if purpose == EVALUATION:
            span.metadata[EVALUATION_KEY] = True
            span.tags = [*(span.tags or []), EVALUATION]
    return call


def end_chat(call: ModelCall, completion: Completion[Any]) -> None:
    """End a chat span with the reply's message, model, finish reason and usage."""
    message = {"role": "assistant", "content": completion.text}
    call.set(model=completion.model, output_messages=[message])
    span = call.span
    if span is not None and completion.finish_reason is not None:
        reasons = {"gen_ai.response.finish_reasons": [completion.finish_reason]}
        span.attributes = {**(span.attributes or {}), **reasons}
    end_usage(call, completion.usage, [message])


def end_usage(call: ModelCall, usage: Usage, output: Any) -> None:
    """End a span with token usage and its output."""
    call.usage(**usage.counts())
    call.end(output=output)
