"""A thread pool whose tasks run under the span that submitted them."""

from collections.abc import Callable
from concurrent import futures
from typing import ParamSpec, TypeVar

from daytwo.sdk.threads import wrap

P = ParamSpec("P")
R = TypeVar("R")


class ThreadPoolExecutor(futures.ThreadPoolExecutor):
    """A ``concurrent.futures.ThreadPoolExecutor`` whose tasks run under the submitter's span."""

    def submit(
        self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> "futures.Future[R]":
        return super().submit(wrap(fn), *args, **kwargs)
