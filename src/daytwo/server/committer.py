"""Group commit: many concurrent ingest requests share one transaction.

Requests hand their batch to the committer and wait; a single writer thread
takes every batch waiting at that moment, writes them in one transaction and
then answers all of their requests. A 2xx therefore always means committed,
and the commit cost is shared by as many requests as arrived meanwhile.

Memory is bounded by ``max_pending`` records: beyond it a request is refused
at once with `OverloadedError` (the route answers 503 with Retry-After) instead of
being queued, so an overloaded server sheds load rather than growing.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from daytwo.storage.writer import Batch, WriteSummary

logger = logging.getLogger(__name__)


class OverloadedError(Exception):
    """Too much is waiting to be committed; retry after ``retry_after`` seconds."""

    def __init__(self, pending: int, retry_after: int) -> None:
        super().__init__(f"{pending} records are waiting to be committed")
        self.retry_after = retry_after


class CommitterClosedError(Exception):
    """The server is shutting down and takes no more batches."""


@dataclass(slots=True)
class _Pending:
    batch: Batch
    future: "asyncio.Future[WriteSummary]"
    loop: asyncio.AbstractEventLoop


@dataclass
class CommitStats:
    """Counters since the server started; the basis of the stats endpoint."""

    committed_records: int = 0
    commits: int = 0
    failed_records: int = 0
    overloaded_requests: int = 0
    largest_group: int = 0
    rate: float = field(default=0.0)  # records per second, smoothed


WriteFunction = Callable[[Sequence[Batch]], WriteSummary]


class Committer:
    """Write batches from many requests in shared transactions on one thread."""

    def __init__(
        self, write: WriteFunction, *, max_pending: int, max_group_records: int = 20_000
    ) -> None:
        self._write = write
        self.max_pending = max_pending
        self.max_group_records = max_group_records
        self.stats = CommitStats()
        self._queue: deque[_Pending] = deque()
        self._pending_records = 0
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="daytwo-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def pending_records(self) -> int:
        return self._pending_records

    async def submit(self, batch: Batch) -> WriteSummary:
        """Return once ``batch`` is committed; raise `OverloadedError` if the queue is full."""
        size = max(batch.size(), 1)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WriteSummary] = loop.create_future()
        with self._condition:
            if self._closed:
                raise CommitterClosedError("the server is shutting down")
            if self._pending_records and self._pending_records + size > self.max_pending:
                self.stats.overloaded_requests += 1
                raise OverloadedError(self._pending_records, self._retry_after())
            self._queue.append(_Pending(batch, future, loop))
            self._pending_records += size
            self._condition.notify()
        return await future

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _retry_after(self) -> int:
        rate = self.stats.rate or 1000.0
        return max(1, min(30, round(self._pending_records / rate)))

    def _run(self) -> None:
        while True:
            group = self._take_group()
            if group is None:
                return
            self._commit(group)

    def _take_group(self) -> list[_Pending] | None:
        with self._condition:
            while not self._queue and not self._closed:
                self._condition.wait()
            if not self._queue:
                return None
            group: list[_Pending] = []
            records = 0
            while self._queue and (not group or records < self.max_group_records):
                item = self._queue.popleft()
                group.append(item)
                records += max(item.batch.size(), 1)
            return group

    def _commit(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        records = sum(max(item.batch.size(), 1) for item in group)
        try:
            self._write([item.batch for item in group])
        except Exception:
            logger.warning("group of %d batches failed; retrying one by one", len(group))
            self._commit_one_by_one(group)
        else:
            for item in group:
                _resolve(item, _summary(item.batch), None)
            self._record(records, time.perf_counter() - started, len(group))
        finally:
            with self._condition:
                self._pending_records -= records

    def _commit_one_by_one(self, group: list[_Pending]) -> None:
        # A group fails as a whole; retrying each batch alone means one bad batch
        # costs only its own request an error and the others are still committed.
        for item in group:
            try:
                self._write([item.batch])
            except Exception as error:
                logger.exception("batch of %d records failed to commit", item.batch.size())
                self.stats.failed_records += item.batch.size()
                _resolve(item, None, error)
            else:
                _resolve(item, _summary(item.batch), None)
                self._record(item.batch.size(), 0.0, 1)

    def _record(self, records: int, seconds: float, batches: int) -> None:
        stats = self.stats
        stats.committed_records += records
        stats.commits += 1
        stats.largest_group = max(stats.largest_group, batches)
        if seconds > 0:
            stats.rate = (
                0.8 * stats.rate + 0.2 * (records / seconds) if stats.rate else records / seconds
            )


def _summary(batch: Batch) -> WriteSummary:
    return WriteSummary(len(batch.traces), len(batch.spans), len(batch.scores))


def _resolve(item: _Pending, result: WriteSummary | None, error: BaseException | None) -> None:
    def settle() -> None:
        if item.future.done():
            return  # the request was cancelled (client went away); the data is committed
        if error is not None:
            item.future.set_exception(error)
        else:
            assert result is not None
            item.future.set_result(result)

    # A closed loop means the server stopped while this batch committed.
    with contextlib.suppress(RuntimeError):
        item.loop.call_soon_threadsafe(settle)
