"""Trace LiteLLM calls as daytwo spans, through LiteLLM's callback hooks.

Every ``litellm.completion``/``acompletion`` becomes an ``llm`` span and every
``litellm.embedding``/``aembedding`` an ``embedding`` span, with LiteLLM's
provider (``custom_llm_provider``), the model, the parameters, the exact
messages, the reply's messages and tool calls, token usage and LiteLLM's own
start, end and first-token times. Failed calls end their span with the error.

LiteLLM reports success from a pool of logging threads, or later on the event
loop, where the caller's daytwo span is no longer current. So the parent is
taken when the call starts (LiteLLM's pre-call hook runs on the caller's
thread) and carried in the call's logging details to the span made at the end.

    import litellm
    from daytwo.sdk.integrations import litellm as daytwo_litellm

    daytwo_litellm.instrument()
    litellm.completion(model="openai/gpt-4o-mini", messages=[...])
"""

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

from daytwo.sdk import tracer
from daytwo.sdk.capture import DEFAULT
from daytwo.sdk.errors import internal_failure
from daytwo.sdk.span import Parent, Span, current_span

# Where the call's parent travels in LiteLLM's per-call logging details.
_CALL_KEY = "daytwo_call"
_EMBEDDING_CALLS = frozenset(("embedding", "aembedding"))


class _Call:
    """What the start of a call leaves for its end: the parent, and whether it was recorded."""

    __slots__ = ("_lock", "parent", "recorded")

    def __init__(self, parent: Parent | None) -> None:
        self.parent = parent
        self.recorded = False
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """Return True the first time only, so that one call never makes two spans."""
        with self._lock:
            first, self.recorded = not self.recorded, True
            return first


class DaytwoLogger(CustomLogger):
    """A LiteLLM callback that records each call as a daytwo span; see ``instrument``."""

    def log_pre_api_call(self, model: str, messages: Any, kwargs: dict[str, Any]) -> None:
        # A retried call starts again; the parent of its first attempt is kept.
        if _CALL_KEY not in kwargs:
            kwargs[_CALL_KEY] = _Call(current_span.get())

    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time, _exception(kwargs))

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, response_obj, start_time, end_time, None)

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time, _exception(kwargs))

    def _record(
        self,
        kwargs: Mapping[str, Any],
        response: Any,
        start_time: Any,
        end_time: Any,
        error: BaseException | None,
    ) -> None:
        try:
            call = kwargs.get(_CALL_KEY)
            if isinstance(call, _Call) and not call.claim():
                return
            parent = call.parent if isinstance(call, _Call) else None
            embedding = kwargs.get("call_type") in _EMBEDDING_CALLS
            name = f"litellm.{kwargs.get('call_type') or 'completion'}"
            span = tracer.start_span(
                name, "embedding" if embedding else "llm", DEFAULT, parent=parent
            )
            if type(span) is not Span:
                return
            start_ns = _ns(start_time)
            if start_ns:
                span.start_ns = start_ns
            _describe_request(span, kwargs, embedding)
            if response is not None:
                _describe_response(span, kwargs, response, start_time, embedding)
            if error is not None:
                tracer.record_error(span, error)
            tracer.end_span(span, _ns(end_time))
        except Exception as exc:
            internal_failure("recording a LiteLLM call", exc)


def _describe_request(span: Span, kwargs: Mapping[str, Any], embedding: bool) -> None:
    llm: dict[str, Any] = {}
    if kwargs.get("custom_llm_provider"):
        llm["provider"] = kwargs["custom_llm_provider"]
    if kwargs.get("model"):
        llm["model"] = kwargs["model"]
    parameters = {
        key: value
        for key, value in (kwargs.get("optional_params") or {}).items()
        if value is not None and value != {}
    }
    if parameters:
        llm["invocation_parameters"] = parameters
    if embedding:
        span.input = kwargs.get("input")
    else:
        messages = kwargs.get("messages")
        if isinstance(messages, list):
            llm["input_messages"] = [_plain(message) for message in messages]
            span.input = llm["input_messages"]
    span.llm = llm


def _describe_response(
    span: Span, kwargs: Mapping[str, Any], response: Any, start_time: Any, embedding: bool
) -> None:
    llm: dict[str, Any] = {}
    # The model that answered (often a dated snapshot) is what the server prices.
    model = getattr(response, "model", None)
    if isinstance(model, str) and model:
        llm["model"] = model
    usage = usage_counts(getattr(response, "usage", None))
    if usage:
        span.usage = usage

    if embedding:
        vectors = getattr(response, "data", None) or []
        first = vectors[0] if vectors else None
        vector = first.get("embedding") if isinstance(first, Mapping) else None
        span.output = {"count": len(vectors), "dimensions": len(vector or ())}
    else:
        messages = [
            message_dict(choice.message) for choice in getattr(response, "choices", None) or ()
        ]
        llm["output_messages"] = messages
        span.output = messages[0] if len(messages) == 1 else messages
        first_token = kwargs.get("completion_start_time")
        if kwargs.get("stream") and first_token is not None:
            seconds = _seconds(first_token) - _seconds(start_time)
            if seconds >= 0:
                llm["time_to_first_token_ms"] = round(seconds * 1000, 3)
    tracer.set_attribute_dict(span, "llm", llm)


def message_dict(message: Any) -> dict[str, Any]:
    """Return a reply message as a daytwo message; tool arguments stay the JSON text sent."""
    found: dict[str, Any] = {
        "role": getattr(message, "role", None) or "assistant",
        "content": getattr(message, "content", None),
    }
    calls = getattr(message, "tool_calls", None) or ()
    if calls:
        found["tool_calls"] = [
            {
                "id": getattr(call, "id", None),
                "name": getattr(call.function, "name", None),
                "arguments": getattr(call.function, "arguments", None),
            }
            for call in calls
        ]
    return found


def usage_counts(usage: Any) -> dict[str, int]:
    """Return token counts from LiteLLM's OpenAI-shaped ``Usage``.

    LiteLLM's prompt tokens already include cached ones and its completion
    tokens reasoning ones, as the OpenTelemetry GenAI conventions count them.
    """
    if usage is None:
        return {}
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion = getattr(usage, "completion_tokens_details", None)
    counts = {
        "input_tokens": getattr(usage, "prompt_tokens", None),
        "output_tokens": getattr(usage, "completion_tokens", None),
        "total_tokens": getattr(usage, "total_tokens", None),
        "cache_read_tokens": getattr(prompt, "cached_tokens", None)
        or getattr(usage, "cache_read_input_tokens", None),
        # Anthropic's prompt caching, as LiteLLM passes it on.
        "cache_write_tokens": getattr(usage, "cache_creation_input_tokens", None),
        "reasoning_tokens": getattr(completion, "reasoning_tokens", None),
    }
    return {key: value for key, value in counts.items() if isinstance(value, int) and value >= 0}


def _plain(message: Any) -> Any:
    dump = getattr(message, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else message


def _exception(kwargs: Mapping[str, Any]) -> BaseException | None:
    error = kwargs.get("exception")
    return error if isinstance(error, BaseException) else None


def _seconds(moment: Any) -> float:
    if isinstance(moment, datetime):
        # LiteLLM's times are naive local times from datetime.now(); timestamp() reads them so.
        return moment.timestamp()
    if isinstance(moment, int | float):
        return float(moment)
    raise TypeError(f"unexpected LiteLLM time {moment!r}")


def _ns(moment: Any) -> int:
    return 0 if moment is None else int(_seconds(moment) * 1e9)


_installed: DaytwoLogger | None = None
_install_lock = threading.Lock()


def instrument() -> DaytwoLogger:
    """Trace every LiteLLM call of the process; calling it again changes nothing.

    from daytwo.sdk.integrations import litellm as daytwo_litellm

    daytwo_litellm.instrument()
    """
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = DaytwoLogger()
        if _installed not in litellm.callbacks:
            litellm.callbacks.append(_installed)
        return _installed


# LiteLLM copies each entry of ``litellm.callbacks`` into these lists on first use.
_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def uninstrument() -> None:
    """Stop tracing LiteLLM calls."""
    with _install_lock:
        if _installed is None:
            return
        for name in _CALLBACK_LISTS:
            found = getattr(litellm, name, None)
            if isinstance(found, list):
                found[:] = [callback for callback in found if callback is not _installed]
