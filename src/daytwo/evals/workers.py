"""Threads for synchronous tasks and metrics, as many as the run's concurrency allows.

``asyncio.to_thread`` hands work to the event loop's default executor, which
has ``min(32, os.cpu_count() + 4)`` threads (the ``concurrent.futures``
documentation): six on a two-core machine, so a run with ``concurrency=16``
would run only six synchronous tasks at once. A run therefore opens a pool of
its own, sized to its concurrency, with ``workers``; inside the block
``run_sync`` uses that pool, and outside any run it falls back to
``asyncio.to_thread``.

    with workers(16):
        output = await run_sync(task, item_input)
"""

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_pool: contextvars.ContextVar[ThreadPoolExecutor | None] = contextvars.ContextVar(
    "daytwo_eval_workers", default=None
)


@contextmanager
def workers(size: int) -> Iterator[None]:
    """Run the block's ``run_sync`` calls on a pool of ``size`` threads, shut down on exit."""
    if size < 1:
        raise ValueError(f"a worker pool needs at least 1 thread, not {size}")
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="daytwo-eval")
    token = _pool.set(pool)
    try:
        yield
    finally:
        _pool.reset(token)
        # Work still queued (an interrupted run) is dropped; calls already running finish,
        # as they would in asyncio's default executor when the loop closes.
        pool.shutdown(wait=True, cancel_futures=True)


async def run_sync(function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Call ``function`` on the run's pool (or asyncio's default one) and await its result.

    The call runs in a copy of the caller's context, as with ``asyncio.to_thread``,
    so every context variable follows it: the current span (spans the call starts
    nest under the item's trace) and ``daytwo.llm.purpose`` alike, which
    ``daytwo.wrap`` alone, carrying only the span, would lose.
    """
    pool = _pool.get()
    if pool is None:
        return await asyncio.to_thread(function, *args, **kwargs)
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool, call)


def run_to_end(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run ``coroutine`` to completion from synchronous code, and return its result.

    ``asyncio.run`` refuses to start inside a thread whose event loop is running,
    as in a Jupyter notebook or under a library that drives a loop of its own;
    there the coroutine runs on a new loop in a helper thread, in a copy of the
    caller's context, while the caller waits for it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="daytwo-eval-loop") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
