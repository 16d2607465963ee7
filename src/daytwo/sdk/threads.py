"""Carry the current span into other threads.

Context variables follow ``asyncio`` tasks by themselves (and
``asyncio.to_thread``), but a plain thread or executor starts with an empty
context. ``wrap`` (and ``daytwo.sdk.executor.ThreadPoolExecutor``) binds work to the span that is
current where it is handed over, so spans it starts nest under that span.
"""

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from daytwo.sdk.span import current_span

P = ParamSpec("P")
R = TypeVar("R")


def wrap(function: Callable[P, R]) -> Callable[P, R]:
    """Return ``function`` bound to the current span, to run on another thread.

    threading.Thread(target=daytwo.wrap(work)).start()
    """
    parent = current_span.get()
    otel_context = _otel_context()

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = current_span.set(parent)
        otel_token = _attach_otel(otel_context)
        try:
            return function(*args, **kwargs)
        finally:
            if otel_token is not None:
                from opentelemetry import context

                context.detach(otel_token)  # type: ignore[arg-type]
            current_span.reset(token)

    return run


def _otel_context() -> object:
    if "opentelemetry.context" not in sys.modules:
        return None
    from opentelemetry import context

    return context.get_current()


def _attach_otel(saved: object) -> object:
    if saved is None:
        return None
    from opentelemetry import context

    return context.attach(saved)  # type: ignore[arg-type]
