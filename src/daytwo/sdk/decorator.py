"""``@daytwo.track``: trace functions, methods, coroutines and generators.

The wrapper chosen at decoration time matches the function's kind, so a call
pays only for what its kind needs. A generator's span stays open while it is
consumed and ends when it is exhausted, closed or fails; what it yielded
becomes the span's output (joined when every item is a string).
"""

import functools
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar, overload

from daytwo.sdk.capture import Capture, Transform, snapshot
from daytwo.sdk.errors import ConfigError, internal_failure
from daytwo.sdk.span import SPAN_KINDS, NonRecordingSpan, Parent, Span
from daytwo.sdk.tracer import activate, deactivate, end_span, record_error, start_span

if TYPE_CHECKING:
    from contextvars import Token

F = TypeVar("F", bound=Callable[..., Any])

# A stream's output keeps at most this many items; the count is recorded beside them.
MAX_STREAM_ITEMS = 1000


@overload
def track(function: F, /) -> F: ...


@overload
def track(
    function: None = None,
    /,
    *,
    name: str | None = None,
    kind: str = "general",
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    project: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    transform_input: Transform | None = None,
    transform_output: Transform | None = None,
) -> Callable[[F], F]: ...


def track(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    kind: str = "general",
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    project: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    transform_input: Transform | None = None,
    transform_output: Transform | None = None,
) -> Any:
    """Trace every call of the decorated function as a span.

    Use it bare or with options; ``project`` applies when the call starts a
    new trace. ``transform_input`` receives the arguments as a dict by
    parameter name and ``transform_output`` the return value; what they
    return is what is sent (use them to redact).

        @daytwo.track
        def answer(question: str) -> str: ...

        @daytwo.track(kind="retrieval", transform_input=lambda args: {"q": "<redacted>"})
        async def search(query: str) -> list[str]: ...
    """
    if kind not in SPAN_KINDS:
        raise ConfigError(f"unknown span kind {kind!r}; expected one of: {', '.join(SPAN_KINDS)}")
    options = _Options(name, kind, tags, metadata, project)

    def decorate(target: Callable[..., Any]) -> Callable[..., Any]:
        if isinstance(target, (classmethod, staticmethod)):
            return type(target)(decorate(target.__func__))
        if not callable(target):
            raise ConfigError(f"@track needs a function, not {type(target).__name__}")
        capture = Capture(
            input=capture_input,
            output=capture_output,
            transform_input=transform_input,
            transform_output=transform_output,
            function=target,
        )
        return _wrap(target, options.named(target), capture)

    return decorate if function is None else decorate(function)


class _Options:
    __slots__ = ("kind", "metadata", "name", "project", "tags")

    def __init__(
        self,
        name: str | None,
        kind: str,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        project: str | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.tags = list(tags) if tags else None
        self.metadata = dict(metadata) if metadata else None
        self.project = project

    def named(self, function: Callable[..., Any]) -> "_Options":
        if self.name is None:
            self.name = getattr(function, "__name__", None) or type(function).__name__
        return self


# Code flags (the ``inspect`` module's CO_* constants), read here to keep ``inspect`` unimported.
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200


def _wrap(function: Callable[..., Any], options: _Options, capture: Capture) -> Callable[..., Any]:
    flags = _code_flags(function)
    if flags & _CO_ASYNC_GENERATOR:
        wrapper = _async_generator_wrapper(function, options, capture)
    elif flags & _CO_GENERATOR:
        wrapper = _generator_wrapper(function, options, capture)
    elif flags & _CO_COROUTINE or _marked_coroutine(function):
        wrapper = _coroutine_wrapper(function, options, capture)
    else:
        wrapper = _function_wrapper(function, options, capture)
    return functools.wraps(function)(wrapper)


def _code_flags(function: Callable[..., Any]) -> int:
    while isinstance(function, functools.partial):
        function = function.func
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return int(code.co_flags) if code is not None else 0


def _marked_coroutine(function: Callable[..., Any]) -> bool:
    # inspect.markcoroutinefunction (Python 3.12) marks sync callables that return awaitables.
    return getattr(function, "_is_coroutine_marker", None) is not None


def _begin(
    options: _Options, capture: Capture, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Span | NonRecordingSpan | None:
    """Start the span of one call; None when tracing is off or failed."""
    try:
        span = start_span(options.name or "", options.kind, capture, project=options.project)
        if type(span) is Span:
            if capture.input:
                span.args = snapshot(args)
                span.kwargs = kwargs
            if options.tags is not None:
                span.tags = list(options.tags)
            if options.metadata is not None:
                span.metadata = dict(options.metadata)
        return span
    except Exception as exc:
        internal_failure("starting a span", exc)
        return None


def _activate(span: Span | NonRecordingSpan) -> "Token[Parent | None] | None":
    """Make ``span`` current; None when that failed (the call then runs outside it)."""
    try:
        return activate(span)
    except Exception as exc:
        internal_failure("activating a span", exc)
        return None


def _deactivate(span: Span | NonRecordingSpan, token: "Token[Parent | None] | None") -> None:
    if token is None:
        return
    try:
        deactivate(span, token)
    except Exception as exc:
        internal_failure("deactivating a span", exc)


def _finish(span: Span | NonRecordingSpan, output: Any) -> None:
    try:
        if type(span) is Span:
            if span.output is None:
                span.output = output
            end_span(span)
    except Exception as exc:
        internal_failure("ending a span", exc)


def _fail(span: Span | NonRecordingSpan, error: BaseException, output: Any = None) -> None:
    try:
        if type(span) is Span:
            record_error(span, error)
            if span.output is None:
                span.output = output
            end_span(span)
    except Exception as exc:
        internal_failure("ending a span", exc)


def _function_wrapper(
    function: Callable[..., Any], options: _Options, capture: Capture
) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Any:
        span = _begin(options, capture, args, kwargs)
        if span is None:
            return function(*args, **kwargs)
        token = _activate(span)
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            _deactivate(span, token)
            _fail(span, error)
            raise
        _deactivate(span, token)
        _finish(span, result)
        return result

    return traced


def _coroutine_wrapper(
    function: Callable[..., Any], options: _Options, capture: Capture
) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        span = _begin(options, capture, args, kwargs)
        if span is None:
            return await function(*args, **kwargs)
        token = _activate(span)
        try:
            result = await function(*args, **kwargs)
        except BaseException as error:
            _deactivate(span, token)
            _fail(span, error)
            raise
        _deactivate(span, token)
        _finish(span, result)
        return result

    return traced


class _Stream:
    """Collects what a generator yields, for the span's output."""

    __slots__ = ("count", "items")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.count = 0

    def add(self, item: Any) -> None:
        self.count += 1
        if self.count <= MAX_STREAM_ITEMS:
            self.items.append(item)

    def partial(self) -> Any:
        """Return what was yielded before a failure, or None if nothing was."""
        return self.output(None) if self.count else None

    def output(self, returned: Any) -> Any:
        if returned is not None:
            return returned
        if self.items and all(type(item) is str for item in self.items):
            return "".join(self.items)
        if self.count > MAX_STREAM_ITEMS:
            return {"items": self.items, "count": self.count}
        return self.items


def _generator_wrapper(
    function: Callable[..., Any], options: _Options, capture: Capture
) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span = _begin(options, capture, args, kwargs)
        generator = function(*args, **kwargs)
        if span is None:
            return (yield from generator)
        stream = _Stream()
        sending: Any = None
        throwing: BaseException | None = None
        while True:
            token = _activate(span)
            try:
                if throwing is not None:
                    item = generator.throw(throwing)
                else:
                    item = generator.send(sending)
            except StopIteration as stop:
                _deactivate(span, token)
                _finish(span, stream.output(stop.value))
                return stop.value
            except BaseException as error:
                _deactivate(span, token)
                _fail(span, error, stream.partial())
                raise
            _deactivate(span, token)
            stream.add(item)
            throwing = None
            try:
                sending = yield item
            except GeneratorExit:
                _close(generator, span, stream)
                raise
            except BaseException as thrown:
                throwing = thrown

    return traced


def _async_generator_wrapper(
    function: Callable[..., Any], options: _Options, capture: Capture
) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = _begin(options, capture, args, kwargs)
        generator = function(*args, **kwargs)
        stream = _Stream()
        sending: Any = None
        throwing: BaseException | None = None
        while True:
            token = _activate(span) if span is not None else None
            try:
                if throwing is not None:
                    item = await generator.athrow(throwing)
                else:
                    item = await generator.asend(sending)
            except StopAsyncIteration:
                if span is not None:
                    _deactivate(span, token)
                    _finish(span, stream.output(None))
                return
            except BaseException as error:
                if span is not None:
                    _deactivate(span, token)
                    _fail(span, error, stream.partial())
                raise
            if span is not None:
                _deactivate(span, token)
            stream.add(item)
            throwing = None
            try:
                sending = yield item
            except GeneratorExit:
                await _aclose(generator, span, stream)
                raise
            except BaseException as thrown:
                throwing = thrown

    return traced


def _close(
    generator: Generator[Any, Any, Any], span: Span | NonRecordingSpan, stream: _Stream
) -> None:
    """Close a generator its consumer left; its span ends either way."""
    try:
        generator.close()
    except BaseException as error:
        _fail(span, error, stream.partial())
        raise
    _finish(span, stream.output(None))


async def _aclose(
    generator: AsyncGenerator[Any, Any], span: Span | NonRecordingSpan | None, stream: _Stream
) -> None:
    """Close an async generator its consumer left; its span ends either way."""
    try:
        await generator.aclose()
    except BaseException as error:
        if span is not None:
            _fail(span, error, stream.partial())
        raise
    if span is not None:
        _finish(span, stream.output(None))
