"""What a span records of its inputs and outputs, decided once per decorated function.

``@track`` keeps a reference to the call's arguments and result on the span;
this module turns them into the values that are sent, on the exporter's
thread: arguments bound to parameter names, ``self`` and ``cls`` left out,
and the user's redaction applied.
"""

from collections.abc import Callable
from typing import Any

Transform = Callable[[Any], Any]


class Capture:
    """Whether and how a span's input and output are recorded."""

    __slots__ = (
        "_function",
        "_names",
        "_rest",
        "input",
        "output",
        "transform_input",
        "transform_output",
    )

    def __init__(
        self,
        *,
        input: bool = True,
        output: bool = True,
        transform_input: Transform | None = None,
        transform_output: Transform | None = None,
        function: Callable[..., Any] | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.transform_input = transform_input
        self.transform_output = transform_output
        # Parameter names are read on the exporter's thread, the first time they are needed.
        self._function = function
        self._names: tuple[str, ...] = ()
        self._rest: str | None = None

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> dict[str, Any]:
        """Return the call's arguments by parameter name, leaving out ``self`` and ``cls``."""
        if self._function is not None:
            self._names, self._rest = _parameters(self._function)
            self._function = None
        names = self._names
        bound = dict(zip(names, args, strict=False))
        if len(args) > len(names):
            bound[self._rest or "args"] = list(args[len(names) :])
        if kwargs:
            bound.update(kwargs)
        bound.pop("self", None)
        bound.pop("cls", None)
        return bound

    def input_value(self, explicit: Any, args: tuple[Any, ...] | None, kwargs: Any) -> Any:
        """Return the input to send: the explicit one, else the bound arguments, redacted."""
        if not self.input:
            return None
        value = explicit
        if value is None and args is not None:
            value = self.bind(args, kwargs)
        if value is not None and self.transform_input is not None:
            value = _transformed(self.transform_input, value, "transform_input")
        return value

    def output_value(self, output: Any) -> Any:
        """Return the output to send, redacted."""
        if not self.output or output is None:
            return None
        if self.transform_output is not None:
            return _transformed(self.transform_output, output, "transform_output")
        return output


def _transformed(transform: Transform, value: Any, which: str) -> Any:
    """Apply the application's redaction; if it fails, send a note instead of the value."""
    try:
        return transform(value)
    except Exception as exc:
        from daytwo.sdk.errors import warn_once

        warn_once(f"{which}-{id(transform)}", "daytwo: %s %r failed: %r", which, transform, exc)
        return f"<{which} failed: {type(exc).__name__}>"


def _parameters(function: Callable[..., Any]) -> tuple[tuple[str, ...], str | None]:
    import inspect

    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return (), None
    names = tuple(p.name for p in signature.parameters.values() if p.kind in positional)
    rest = next((p.name for p in signature.parameters.values() if p.kind is p.VAR_POSITIONAL), None)
    return names, rest


def snapshot(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return ``args`` with top-level lists and dicts copied.

    Serialization happens after the call, so a message list that the function
    appends to would otherwise be recorded with the function's own additions.
    """
    for value in args:
        if type(value) is list or type(value) is dict:
            break
    else:
        return args
    return tuple(v.copy() if type(v) is list or type(v) is dict else v for v in args)


DEFAULT = Capture()
