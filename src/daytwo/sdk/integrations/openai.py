"""Trace the ``openai`` client: every chat completion, response and embedding becomes a span.

``instrument()`` wraps the methods of the client's resource classes, so calls
through any ``OpenAI``, ``AsyncOpenAI`` or Azure client are traced;
``instrument(client)`` wraps one client's resources only. A streamed call
returns a stand-in for the client's stream that passes every chunk through
and ends the span when the stream is exhausted, closed or collected.

    import openai
    from daytwo.sdk.integrations import openai as daytwo_openai

    daytwo_openai.instrument()
    openai.OpenAI().chat.completions.create(model="gpt-4o-mini", messages=[...])
"""

import functools
import importlib
import types
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import openai
from openai._legacy_response import LegacyAPIResponse
from openai._resource import AsyncAPIResource

from daytwo.sdk.errors import internal_failure
from daytwo.sdk.integrations._openai_records import (
    _RECORDERS,
    _chat_messages,
    _response_input,
    _set_attributes,
)
from daytwo.sdk.integrations._openai_streams import TracedAsyncStream, TracedStream, _StreamState
from daytwo.sdk.integrations.calls import ModelCall
from daytwo.sdk.span import Span

# (module, class, method, operation) for every method that calls a model.
_TARGETS = (
    ("openai.resources.chat", "Completions", "create", "chat"),
    ("openai.resources.chat", "Completions", "parse", "chat"),
    ("openai.resources.chat", "AsyncCompletions", "create", "chat"),
    ("openai.resources.chat", "AsyncCompletions", "parse", "chat"),
    ("openai.resources.responses", "Responses", "create", "responses"),
    ("openai.resources.responses", "Responses", "parse", "responses"),
    ("openai.resources.responses", "AsyncResponses", "create", "responses"),
    ("openai.resources.responses", "AsyncResponses", "parse", "responses"),
    ("openai.resources.embeddings", "Embeddings", "create", "embeddings"),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create", "embeddings"),
)
# Where a client keeps the resource of each operation.
_CLIENT_PATHS = {
    "chat": ("chat", "completions"),
    "responses": ("responses",),
    "embeddings": ("embeddings",),
}
_SPAN_NAMES = {"chat": "openai.chat", "responses": "openai.responses"}
_SPAN_NAMES["embeddings"] = "openai.embeddings"

_MARK = "__daytwo_original__"
# The client's "argument not given" markers (Omit is newer than NotGiven).
_UNSET: tuple[type[Any], ...] = tuple(
    kind for kind in (getattr(openai, "NotGiven", None), getattr(openai, "Omit", None)) if kind
)
_PLAIN: tuple[type[Any], ...] = (str, list, tuple, dict, *_UNSET)
_AZURE = (openai.AzureOpenAI, openai.AsyncAzureOpenAI)
# Arguments that are the input, or that steer the client rather than the model.
_NOT_PARAMETERS = frozenset(
    {
        "messages",
        "input",
        "model",
        "instructions",
        "timeout",
        "extra_headers",
        "extra_query",
        "extra_body",
    }
)
# Arguments the client iterates: an iterator would be read once, by the span.
_ITERATED = ("messages", "input", "tools", "functions")

# Set while a traced call runs, so that a traced method calling another makes one span.
_inside: ContextVar[bool] = ContextVar("daytwo_openai_inside", default=False)
_instrumented_resources: list[Any] = []


def instrument(client: Any = None) -> None:
    """Trace calls made through every OpenAI client, or through ``client`` only.

    Calling it again changes nothing: a method is never wrapped twice.

        from daytwo.sdk.integrations import openai as daytwo_openai

        daytwo_openai.instrument()
    """
    for cls, name, operation in _targets():
        if client is None:
            _wrap_class(cls, name, operation)
            continue
        resource = _resource_of(client, operation)
        if isinstance(resource, cls):
            _wrap_instance(resource, cls, name, operation)


def uninstrument(client: Any = None) -> None:
    """Stop tracing: restore the wrapped methods (only those of ``client``, when given)."""
    targets = _targets()
    if client is None:
        for cls, name, _ in targets:
            original = getattr(cls.__dict__.get(name), _MARK, None)
            if original is not None:
                setattr(cls, name, original)
    chosen = None if client is None else [id(r) for r in _client_resources(client)]
    for resource in list(_instrumented_resources):
        if chosen is not None and id(resource) not in chosen:
            continue
        for _, name, _ in targets:
            if hasattr(resource.__dict__.get(name), _MARK):
                delattr(resource, name)
        _instrumented_resources.remove(resource)


def _targets() -> list[tuple[type[Any], str, str]]:
    found = []
    for module_name, class_name, name, operation in _TARGETS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            # Older clients lack the Responses API (and parse); what is missing is skipped.
            continue
        cls = getattr(module, class_name, None)
        if cls is not None and callable(getattr(cls, name, None)):
            found.append((cls, name, operation))
    return found


def _resource_of(client: Any, operation: str) -> Any:
    resource = client
    for attribute in _CLIENT_PATHS[operation]:
        resource = getattr(resource, attribute, None)
    return resource


def _client_resources(client: Any) -> list[Any]:
    return [_resource_of(client, operation) for operation in _CLIENT_PATHS]


def _wrap_class(cls: type[Any], name: str, operation: str) -> None:
    method = cls.__dict__.get(name)
    if method is None or hasattr(method, _MARK):
        return
    setattr(cls, name, _wrapper(method, operation, issubclass(cls, AsyncAPIResource)))


def _wrap_instance(resource: Any, cls: type[Any], name: str, operation: str) -> None:
    method = getattr(cls, name)
    # When the class is wrapped, every client is traced already.
    if hasattr(method, _MARK) or hasattr(resource.__dict__.get(name), _MARK):
        return
    wrapper = _wrapper(method, operation, issubclass(cls, AsyncAPIResource))
    setattr(resource, name, types.MethodType(wrapper, resource))
    if all(known is not resource for known in _instrumented_resources):
        _instrumented_resources.append(resource)


def _wrapper(method: Callable[..., Any], operation: str, is_async: bool) -> Callable[..., Any]:
    """Return ``method`` traced, as a coroutine function when ``is_async``.

    The client's async methods are not always coroutine functions themselves (a
    decorator wraps them), so the resource's class decides.
    """
    wrapper: Callable[..., Any]
    if is_async:

        async def traced_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _inside.get() or _untraced(kwargs):
                return await method(self, *args, **kwargs)
            call = _start(operation, self, kwargs)
            token = _inside.set(True)
            try:
                result = await method(self, *args, **kwargs)
            except BaseException as error:
                if call is not None:
                    call.end(error=error)
                raise
            finally:
                _inside.reset(token)
            return _finish(call, operation, result)

        wrapper = traced_async
    else:

        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _inside.get() or _untraced(kwargs):
                return method(self, *args, **kwargs)
            call = _start(operation, self, kwargs)
            token = _inside.set(True)
            try:
                result = method(self, *args, **kwargs)
            except BaseException as error:
                if call is not None:
                    call.end(error=error)
                raise
            finally:
                _inside.reset(token)
            return _finish(call, operation, result)

        wrapper = traced
    functools.update_wrapper(wrapper, method)
    setattr(wrapper, _MARK, method)
    return wrapper


def _untraced(kwargs: dict[str, Any]) -> bool:
    # with_streaming_response defers the request to a context manager the span cannot see.
    headers = kwargs.get("extra_headers")
    return isinstance(headers, Mapping) and headers.get("X-Stainless-Raw-Response") == "stream"


def _start(operation: str, resource: Any, kwargs: dict[str, Any]) -> ModelCall | None:
    """Start the span of a call; ``kwargs`` iterators become lists, sent as they are read."""
    try:
        client = getattr(resource, "_client", None)
        call = ModelCall(
            _SPAN_NAMES[operation],
            provider="azure" if isinstance(client, _AZURE) else "openai",
            model=_model(kwargs),
            kind="embedding" if operation == "embeddings" else "llm",
        )
        span = call.span
        if span is None:
            # Not recorded (tracing off, or sampled out): nothing more to pay for.
            return call

        for key in _ITERATED:
            value = kwargs.get(key)
            if value is not None and not isinstance(value, _PLAIN):
                kwargs[key] = list(value)
        input = _given(kwargs.get("input"))
        if operation == "chat":
            span.input = messages = _chat_messages(kwargs.get("messages") or ())
        elif operation == "responses":
            span.input = messages = _response_input(_given(kwargs.get("instructions")), input)
        else:
            span.input, messages = input, None
        call.set(invocation_parameters=_parameters(kwargs), input_messages=messages)
        _set_server(span, client)
        return call
    except Exception as exc:
        internal_failure("starting an OpenAI span", exc)
        return None


def _finish(call: ModelCall | None, operation: str, result: Any) -> Any:
    """End the span with ``result``, or hand it to a stream wrapper; return what the caller gets."""
    if call is None:
        return result
    try:
        if call.span is None:
            call.end()
        elif isinstance(result, openai.Stream):
            return TracedStream(result, _StreamState(call, operation))
        elif isinstance(result, openai.AsyncStream):
            return TracedAsyncStream(result, _StreamState(call, operation))
        else:
            # with_raw_response: parse() caches its result, so the caller gets the same object.
            parsed = result.parse() if isinstance(result, LegacyAPIResponse) else result
            if isinstance(parsed, openai.Stream | openai.AsyncStream):
                call.end()
            else:
                call.end(output=_RECORDERS[operation](call, parsed))
    except Exception as exc:
        call.end()
        internal_failure("ending an OpenAI span", exc)
    return result


def _given(value: Any) -> Any:
    return None if isinstance(value, _UNSET) else value


def _model(kwargs: dict[str, Any]) -> str | None:
    model = kwargs.get("model")
    return model if isinstance(model, str) else None


def _parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return the request's model parameters: those given, without the input or client options."""
    found = {}
    for key, value in kwargs.items():
        if key in _NOT_PARAMETERS or value is None or isinstance(value, _UNSET):
            continue
        if isinstance(value, type):
            # parse(response_format=Answer): the schema's name says what was asked for.
            value = {"type": "json_schema", "name": value.__name__}
        found[key] = value
    return found


def _set_server(span: Span, client: Any) -> None:
    """Record the API's host and port (GenAI conventions: ``server.address``, ``server.port``)."""
    base_url = getattr(client, "base_url", None)
    if base_url is not None:
        _set_attributes(span, {"server.address": base_url.host, "server.port": base_url.port})
