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
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import openai
from openai._legacy_response import LegacyAPIResponse
from openai._resource import AsyncAPIResource

from daytwo.sdk.errors import internal_failure
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


def _set_attributes(span: Span | None, attributes: dict[str, Any]) -> None:
    """Add the attributes that have a value (GenAI conventions' names where there is one)."""
    found = {key: value for key, value in attributes.items() if value}
    if span is not None and found:
        span.attributes = {**(span.attributes or {}), **found}


# Messages, in the shape of daytwo's llm spans: role, content, name, tool_calls, tool_call_id.


def _field(item: Any, key: str) -> Any:
    """Return ``key`` of a request dict or of a response object alike."""
    if isinstance(item, dict):
        return item.get(key)
    return getattr(item, key, None)


def _chat_messages(sent: Iterable[Any]) -> list[dict[str, Any]]:
    return [_chat_message(message) for message in sent]


def _chat_message(message: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"role": _field(message, "role")}
    content = _field(message, "content")
    if content is None:
        content = _field(message, "refusal")
    if content is not None:
        # A copy: the caller may change its list of parts after the call.
        found["content"] = list(content) if isinstance(content, list) else content
    for key in ("name", "tool_call_id"):
        value = _field(message, key)
        if value is not None:
            found[key] = value
    calls = _field(message, "tool_calls")
    legacy = _field(message, "function_call")
    if calls:
        found["tool_calls"] = [_tool_call(call) for call in calls]
    elif legacy:
        found["tool_calls"] = [_tool_call({"function": legacy})]
    return found


def _tool_call(call: Any) -> dict[str, Any]:
    function = _field(call, "function") or _field(call, "custom")
    arguments = _field(function, "arguments")
    if arguments is None:
        arguments = _field(function, "input")
    return {"id": _field(call, "id"), "name": _field(function, "name"), "arguments": arguments}


def _response_input(instructions: Any, input: Any) -> list[dict[str, Any]]:
    """Return the Responses API's instructions and input items as chat messages."""
    found: list[dict[str, Any]] = []
    if isinstance(instructions, str):
        found.append({"role": "system", "content": instructions})
    if isinstance(input, str):
        found.append({"role": "user", "content": input})
        return found
    for item in input or ():
        kind = _field(item, "type")
        if kind == "function_call":
            call = {"id": _field(item, "call_id"), "name": _field(item, "name")}
            call["arguments"] = _field(item, "arguments")
            found.append({"role": "assistant", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = _field(item, "output")
            found.append(
                {"role": "tool", "tool_call_id": _field(item, "call_id"), "content": output}
            )
        elif _field(item, "role") is not None:
            found.append(_chat_message(item))
        # Other items (reasoning, built-in tool calls) have no place in a chat message.
    return found


# What a call's result adds to its span; each returns the span's output.


def _record_chat(call: ModelCall, completion: Any) -> Any:
    output = [_chat_message(choice.message) for choice in completion.choices]
    call.set(model=completion.model, output_messages=output)
    _chat_usage(call, completion.usage)
    reasons = [choice.finish_reason for choice in completion.choices if choice.finish_reason]
    _set_attributes(
        call.span,
        {"gen_ai.response.id": completion.id, "gen_ai.response.finish_reasons": reasons},
    )
    return output


def _chat_usage(call: ModelCall, usage: Any) -> None:
    if usage is None:
        return
    prompt = _field(usage, "prompt_tokens_details")
    completion = _field(usage, "completion_tokens_details")
    call.usage(
        input_tokens=_field(usage, "prompt_tokens"),
        output_tokens=_field(usage, "completion_tokens"),
        total_tokens=_field(usage, "total_tokens"),
        cache_read_tokens=_field(prompt, "cached_tokens"),
        cache_write_tokens=_field(prompt, "cache_write_tokens"),
        reasoning_tokens=_field(completion, "reasoning_tokens"),
    )


def _record_response(call: ModelCall, response: Any) -> Any:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.output or ():
        if item.type == "message":
            texts.extend(
                _field(part, "text") or _field(part, "refusal") or "" for part in item.content
            )
        elif item.type == "function_call":
            calls.append({"id": item.call_id, "name": item.name, "arguments": item.arguments})
    output = [_assistant_message("".join(texts) if texts else None, calls)]
    call.set(model=response.model, output_messages=output)
    _response_usage(call, response.usage)
    status = response.status if response.status != "completed" else None
    _set_attributes(
        call.span, {"gen_ai.response.id": response.id, "openai.response.status": status}
    )
    return output


def _response_usage(call: ModelCall, usage: Any) -> None:
    if usage is None:
        return
    input = _field(usage, "input_tokens_details")
    call.usage(
        input_tokens=_field(usage, "input_tokens"),
        output_tokens=_field(usage, "output_tokens"),
        total_tokens=_field(usage, "total_tokens"),
        cache_read_tokens=_field(input, "cached_tokens"),
        cache_write_tokens=_field(input, "cache_write_tokens"),
        reasoning_tokens=_field(_field(usage, "output_tokens_details"), "reasoning_tokens"),
    )


def _record_embeddings(call: ModelCall, result: Any) -> Any:
    call.set(model=result.model)
    usage = result.usage
    if usage is not None:
        call.usage(input_tokens=usage.prompt_tokens, total_tokens=usage.total_tokens)
    data = result.data
    # The vectors themselves are left out: thousands of numbers each, read by no one.
    return {"embeddings": len(data), "dimensions": len(data[0].embedding) if data else 0}


_RECORDERS: dict[str, Callable[[ModelCall, Any], Any]] = {
    "chat": _record_chat,
    "responses": _record_response,
    "embeddings": _record_embeddings,
}


def _assistant_message(content: str | None, calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        message["content"] = content
    if calls:
        message["tool_calls"] = calls
    return message


# Streams.


class _StreamState:
    """What a stream's chunks add up to, and the span they end."""

    __slots__ = ("call", "calls", "done", "model", "operation", "reasons", "response", "texts")

    def __init__(self, call: ModelCall, operation: str) -> None:
        self.call = call
        self.operation = operation
        self.texts: dict[int, list[str]] = {}
        self.calls: dict[tuple[int, int], dict[str, Any]] = {}
        self.reasons: list[str] = []
        self.model: str | None = None
        self.response: Any = None
        self.done = False

    def observe(self, item: Any) -> None:
        try:
            if self.operation == "chat":
                self._chunk(item)
            else:
                self._event(item)
        except Exception as exc:
            internal_failure("reading an OpenAI stream", exc)

    def _chunk(self, chunk: Any) -> None:
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            _chat_usage(self.call, chunk.usage)
        for choice in chunk.choices:
            delta = choice.delta
            text = delta.content or delta.refusal
            if text:
                self.call.first_token()
                self.texts.setdefault(choice.index, []).append(text)
            for part in delta.tool_calls or ():
                self.call.first_token()
                slot = self.calls.setdefault(
                    (choice.index, part.index), {"id": None, "name": None, "arguments": ""}
                )
                slot["id"] = part.id or slot["id"]
                if part.function is not None:
                    slot["name"] = part.function.name or slot["name"]
                    slot["arguments"] += part.function.arguments or ""
            if choice.finish_reason:
                self.reasons.append(choice.finish_reason)

    def _event(self, event: Any) -> None:
        kind = event.type
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self.call.first_token()
            self.texts.setdefault(0, []).append(event.delta)
        elif kind == "response.function_call_arguments.delta":
            self.call.first_token()
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.response = event.response
        elif kind == "response.created":
            self.model = event.response.model

    def finish(self, error: BaseException | None = None) -> None:
        """End the span with what was streamed so far (once)."""
        if self.done:
            return
        self.done = True
        call = self.call
        try:
            if self.response is not None:
                output = _record_response(call, self.response)
            else:
                output = self._messages()
                call.set(model=self.model, output_messages=output)
                _set_attributes(call.span, {"gen_ai.response.finish_reasons": self.reasons})
        except Exception as exc:
            call.end(error=error)
            internal_failure("ending an OpenAI stream's span", exc)
            return
        call.end(output=output, error=error)

    def _messages(self) -> list[dict[str, Any]]:
        indexes = sorted(set(self.texts) | {choice for choice, _ in self.calls})
        messages = []
        for index in indexes or [0]:
            texts = self.texts.get(index)
            calls = [call for (choice, _), call in sorted(self.calls.items()) if choice == index]
            messages.append(_assistant_message("".join(texts) if texts else None, calls))
        return messages


class TracedStream:
    """Stands in for an ``openai.Stream``: the same chunks, attributes and ``isinstance``."""

    __slots__ = ("_daytwo_state", "_daytwo_stream")

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._daytwo_stream = stream
        self._daytwo_state = state

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        return type(self._daytwo_stream)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_daytwo_"):
            raise AttributeError(name)
        return getattr(self._daytwo_stream, name)

    def __iter__(self) -> "TracedStream":
        return self

    def __next__(self) -> Any:
        try:
            item = self._daytwo_stream.__next__()
        except StopIteration:
            self._daytwo_state.finish()
            raise
        except BaseException as error:
            self._daytwo_state.finish(error)
            raise
        self._daytwo_state.observe(item)
        return item

    def __enter__(self) -> "TracedStream":
        self._daytwo_stream.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._daytwo_stream.__exit__(*exc_info)
        finally:
            self._daytwo_state.finish()

    def close(self) -> None:
        try:
            self._daytwo_stream.close()
        finally:
            self._daytwo_state.finish()

    def __del__(self) -> None:
        # A stream dropped half read still ends its span, with what was read.
        state = getattr(self, "_daytwo_state", None)
        if state is not None:
            state.finish()


class TracedAsyncStream:
    """Stands in for an ``openai.AsyncStream``: the same chunks, attributes and ``isinstance``."""

    __slots__ = ("_daytwo_state", "_daytwo_stream")

    def __init__(self, stream: Any, state: _StreamState) -> None:
        self._daytwo_stream = stream
        self._daytwo_state = state

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        return type(self._daytwo_stream)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_daytwo_"):
            raise AttributeError(name)
        return getattr(self._daytwo_stream, name)

    def __aiter__(self) -> "TracedAsyncStream":
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._daytwo_stream.__anext__()
        except StopAsyncIteration:
            self._daytwo_state.finish()
            raise
        except BaseException as error:
            self._daytwo_state.finish(error)
            raise
        self._daytwo_state.observe(item)
        return item

    async def __aenter__(self) -> "TracedAsyncStream":
        await self._daytwo_stream.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._daytwo_stream.__aexit__(*exc_info)
        finally:
            self._daytwo_state.finish()

    async def close(self) -> None:
        try:
            await self._daytwo_stream.close()
        finally:
            self._daytwo_state.finish()

    def __del__(self) -> None:
        state = getattr(self, "_daytwo_state", None)
        if state is not None:
            state.finish()
