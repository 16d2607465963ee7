"""The exporter's thread: batch, compress, send, retry, spool and replay.

Callers only append ended spans to a bounded queue. This thread encodes them,
groups them into batches (by count and by bytes), and posts each batch with
retries and exponential backoff, honouring Retry-After. A batch the server
rejects as malformed or too large is split in halves until the one bad span
is isolated and dropped. When the server cannot be reached the exporter goes
offline: batches go to the on-disk spool, and the server is probed with
growing pauses; once it answers, the spool is replayed oldest first, and a
replayed batch the server rejects is split the same way.

Every span that is not delivered is counted by reason and logged once, including
spans that end after the exporter has shut down and spans lost to a bug here.
"""

import atexit
import contextlib
import gzip
import logging
import random
import threading
import time
from collections import deque
from typing import Any

from daytwo.sdk.config import SdkConfig
from daytwo.sdk.errors import failure_counts, internal_failure, warn_once
from daytwo.sdk.export import stats as _stats
from daytwo.sdk.export.encode import Encoded, decode_body, encode, encode_score, encode_trace
from daytwo.sdk.export.spool import Spool, SpooledBatch
from daytwo.sdk.export.transport import Reply, Transport, TransportError
from daytwo.sdk.span import ScoreRecord, Span, TraceState

logger = logging.getLogger("daytwo")

_MAX_PAUSE = 30.0
_MAX_PROBE_DELAY = 30.0
_REPLAY_PER_PASS = 20
_SPOOL_CHECK_INTERVAL = 5.0


class _Marker:
    """Put in the queue by ``flush``: set once everything queued before it is dealt with."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Batch:
    """Encoded spans, with their trace records and scores, that leave in one request.

    A batch split in halves keeps its first whole as ``root``; each part notes
    there how many of its spans were settled (sent, spooled or dropped), so that
    a failure halfway can count exactly the spans that were not.
    """

    __slots__ = ("items", "root", "settled", "size", "spans")

    def __init__(self, items: list[Encoded] | None = None, root: "Batch | None" = None) -> None:
        self.items: list[Encoded] = items or []
        self.size = sum(item.size for item in self.items)
        self.spans = sum(1 for item in self.items if item.span is not None)
        self.root = self if root is None else root
        self.settled = 0

    def add(self, item: Encoded) -> None:
        self.items.append(item)
        self.size += item.size
        if item.span is not None:
            self.spans += 1

    def halves(self) -> tuple["Batch", "Batch"]:
        middle = len(self.items) // 2
        return Batch(self.items[:middle], self.root), Batch(self.items[middle:], self.root)

    def settle(self) -> None:
        """Note that this batch's spans have been counted as sent, spooled or dropped."""
        self.root.settled += self.spans

    def body(self) -> bytes:
        spans = b",".join(item.span for item in self.items if item.span is not None)
        traces = b",".join(item.trace for item in self.items if item.trace is not None)
        scores = b",".join(score for item in self.items for score in item.scores)
        data = b'{"spans":[%b],"traces":[%b],"scores":[%b]}' % (spans, traces, scores)
        return gzip.compress(data, compresslevel=1, mtime=0)


class Exporter:
    """Sends the process's spans to the server from one background thread."""

    def __init__(self, settings: SdkConfig) -> None:
        self.settings = settings
        self.queue: deque[Any] = deque()
        self.counters = _stats.Counters()
        self._max_queue = settings.max_queue
        self._batch_size = settings.batch_size
        self._transport = Transport(settings.url, settings.api_key, settings.request_timeout)
        self._spool = (
            Spool(settings.resolved_spool_dir, settings.url, settings.spool_max_bytes)
            if settings.spool
            else None
        )
        self._spool_checked = 0.0
        self._spool_has_batches = self._spool is not None
        self._offline_until = 0.0
        self._probe_delay = 0.5
        self._deadline = float("inf")
        self._in_flight: Batch | None = None
        self._stopped = False  # set once shutdown has taken what was queued
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daytwo-exporter", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    # The caller's side.

    def enqueue(self, span: Span | ScoreRecord | TraceState) -> None:
        """Queue an ended span for export, or count it dropped (queue full, or shut down).

        A ``TraceState`` stands for its trace's waiting updates, sent on their own.
        """
        if self._stopped:
            self._drop(_stats.SHUTDOWN, 1)  # ended during or after the exit flush
            return
        queue = self.queue
        if len(queue) >= self._max_queue:
            self._drop(_stats.QUEUE_FULL, 1)
            return
        queue.append(span)
        if self._stopped:
            self._discard_queue()  # shutdown took the queue while this span was added
            return
        if len(queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float) -> _stats.FlushResult:
        """Send everything queued now; wait at most ``timeout`` seconds."""
        if threading.current_thread() is self._thread or self._finished.is_set():
            return _stats.FlushResult(0, 0, 0, self._pending())
        before = self._totals()
        marker = _Marker()
        self.queue.append(marker)
        self._wake.set()
        done = marker.done.wait(timeout)
        sent, spooled, failed = (a - b for a, b in zip(self._totals(), before, strict=True))
        return _stats.FlushResult(sent, spooled, failed, 0 if done else self._pending())

    def shutdown(self, timeout: float) -> _stats.FlushResult:
        """Flush within ``timeout``, spool what is left, and stop the thread."""
        if self._finished.is_set():
            return _stats.FlushResult(0, 0, 0, 0)
        atexit.unregister(self._at_exit)
        self._deadline = time.monotonic() + timeout
        self._closing.set()
        result = self.flush(timeout)
        self._finished.set()
        self._wake.set()
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 0.1)

        # From here on no thread sends: what is queued goes to the spool, and a span
        # that ends later is counted as dropped by enqueue.
        self._stopped = True
        result = self._spool_leftovers(result)
        self._discard_queue()
        self._transport.close()
        return result

    def stats(self) -> _stats.ExportStats:
        """Return the counters so far."""
        counters = self.counters
        spooled_spans = 0
        if self._spool is not None:
            try:
                spooled_spans = self._spool.pending()[1]
            except OSError:
                spooled_spans = 0
        with counters.lock:
            return _stats.ExportStats(
                sent=counters.sent,
                spooled=counters.spooled,
                replayed=counters.replayed,
                dropped=dict(counters.dropped),
                pending=self._pending(),
                spool_pending=spooled_spans,
                retries=counters.retries,
                requests=counters.requests,
                truncated_fields=counters.truncated,
                internal_failures=failure_counts(),
            )

    def _at_exit(self) -> None:
        try:
            result = self.shutdown(self.settings.exit_timeout)
            if result.spooled or result.failed:
                logger.warning(
                    "daytwo: %d spans could not be sent at exit within %.1f s: "
                    "%d spooled for the next run, %d dropped",
                    result.spooled + result.failed,
                    self.settings.exit_timeout,
                    result.spooled,
                    result.failed,
                )
        except Exception as exc:
            internal_failure("flushing at exit", exc)

    # The exporter's thread.

    def _run(self) -> None:
        interval = self.settings.flush_interval
        while not self._finished.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self._export_queue()
                self._replay_spool()
            except Exception as exc:
                internal_failure("exporting spans", exc)

    def _export_queue(self) -> None:
        queue = self.queue
        limit_bytes = self.settings.batch_bytes
        batch = Batch()
        marker: _Marker | None = None
        try:
            while queue:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                if type(item) is _Marker:
                    marker = item
                    batch = self._deliver(batch)
                    marker.done.set()
                    marker = None
                    continue
                encoded = self._encode(item)
                if encoded is None:
                    continue
                if batch.items and batch.size + encoded.size > limit_bytes:
                    batch = self._deliver(batch)
                batch.add(encoded)
                if len(batch.items) >= self._batch_size:
                    batch = self._deliver(batch)
            batch = self._deliver(batch)
        except Exception:
            # The batch being filled or sent is lost with this failure: count what of it
            # was not yet counted, and let _run report the failure.
            self._drop(_stats.INTERNAL, batch.spans - batch.settled)
            if marker is not None:
                marker.done.set()  # after the count, so that flush reports the loss
            raise

    def _encode(self, item: Span | ScoreRecord | TraceState) -> Encoded | None:
        """Return ``item`` encoded, or None when there is nothing to send or it failed."""
        try:
            if isinstance(item, Span):
                encoded = encode(item, self.settings.max_field_bytes)
            elif isinstance(item, ScoreRecord):
                encoded = encode_score(item)
            else:
                encoded = encode_trace(item)
        except Exception as exc:
            self._drop(_stats.ENCODING, 1)
            internal_failure("encoding a span", exc)
            return None
        if encoded.truncated:
            with self.counters.lock:
                self.counters.truncated += encoded.truncated
        return encoded if encoded.size else None

    def _deliver(self, batch: Batch) -> Batch:
        """Send ``batch`` (or spool it when offline); return a fresh, empty batch."""
        if not batch.items:
            return batch
        self._in_flight = batch
        try:
            if self._offline() and self._spool is not None:
                self._to_spool(batch.body(), batch.spans)
                batch.settle()
            else:
                self._send(batch)
        finally:
            self._in_flight = None
        return Batch()

    def _send(self, batch: Batch, replayed: bool = False) -> None:
        """Post ``batch``, splitting it when rejected; spool it when the server is down.

        ``replayed`` counts delivered spans as replayed from the spool, not sent.
        """
        body = batch.body()
        attempts = 1 if self._offline_until else self.settings.max_retries + 1
        for attempt in range(attempts):
            try:
                reply = self._transport.post(body, self._timeout())
            except TransportError as exc:
                warn_once("unreachable", "daytwo: cannot reach %s (%s)", self.settings.url, exc)
                if attempt + 1 < attempts and self._pause(attempt, None):
                    continue
                break
            self._count_request()
            if reply.ok:
                self._online()
                with self.counters.lock:
                    if replayed:
                        self.counters.replayed += batch.spans
                    else:
                        self.counters.sent += batch.spans
                batch.settle()
                return
            if reply.status in (400, 413, 422) and len(batch.items) > 1:
                for half in batch.halves():
                    self._send(half, replayed)
                return
            if reply.status in (429, 503) or reply.status >= 500:
                if attempt + 1 < attempts and self._pause(attempt, reply.retry_after):
                    continue
                break
            self._reject(batch.spans, reply)
            batch.settle()
            return
        self._go_offline()
        self._to_spool(body, batch.spans)
        batch.settle()

    def _replay_spool(self) -> None:
        spool = self._spool
        if spool is None or self._offline() or self._closing.is_set():
            return  # at shutdown the time left is for fresh spans; the spool waits
        if not self._spool_has_batches:
            if time.monotonic() - self._spool_checked < _SPOOL_CHECK_INTERVAL:
                return
            self._spool_checked = time.monotonic()
        for _ in range(_REPLAY_PER_PASS):
            claimed = spool.claim_oldest()
            if claimed is None:
                self._spool_has_batches = False
                return
            self._spool_has_batches = True
            try:
                online = self._replay(spool, claimed)
            except Exception:
                with contextlib.suppress(OSError):  # already released or done
                    spool.release(claimed)  # not lost: a later pass replays it
                raise
            if not online:
                return
            if self.queue and len(self.queue) >= self._batch_size:
                return  # fresh spans first; the rest of the spool waits for the next pass

    def _replay(self, spool: Spool, claimed: SpooledBatch) -> bool:
        """Send one spooled batch; return False when the server cannot take more now."""
        body = claimed.read()
        try:
            reply = self._transport.post(body, self._timeout())
        except TransportError:
            spool.release(claimed)
            self._go_offline()
            return False
        self._count_request()
        if reply.ok:
            spool.done(claimed)
            self._online()
            with self.counters.lock:
                self.counters.replayed += claimed.spans
        elif reply.status in (429, 503) or reply.status >= 500:
            spool.release(claimed)
            self._go_offline(reply.retry_after)
            return False
        elif reply.status in (400, 413, 422):
            self._replay_in_halves(body, claimed.spans, reply)
            spool.done(claimed)  # after the halves: a crash before this replays it again
        else:
            spool.done(claimed)
            self._reject(claimed.spans, reply)
        return not self._offline()

    def _replay_in_halves(self, body: bytes, spans: int, reply: Reply) -> None:
        """Send a rejected spooled batch in halves, as the live path does, to isolate bad spans."""
        try:
            items = decode_body(body)
        except ValueError:
            items = []  # not a batch this SDK wrote: nothing in it can be saved
        if len(items) < 2:
            self._reject(spans, reply)
            return
        for half in Batch(items).halves():
            self._send(half, replayed=True)

    def _to_spool(self, body: bytes, spans: int) -> None:
        if self._spool is None:
            self._drop(_stats.UNREACHABLE, spans)
            return
        try:
            stored = self._spool.put(body, spans)
        except OSError as exc:
            warn_once("spool-error", "daytwo: cannot write the spool: %s", exc)
            stored = False
        if not stored:
            self._drop(_stats.SPOOL_FULL, spans)
            return
        self._spool_has_batches = True
        with self.counters.lock:
            self.counters.spooled += spans

    def _spool_leftovers(self, result: _stats.FlushResult) -> _stats.FlushResult:
        """At shutdown, write what the thread could not send in time to the spool."""
        items: list[Encoded] = []
        in_flight = self._in_flight
        if in_flight is not None:
            items.extend(in_flight.items)  # may arrive twice; the server merges by id
        while self.queue:
            try:
                item = self.queue.popleft()
            except IndexError:
                break
            if type(item) is _Marker:
                item.done.set()
                continue
            encoded = self._encode(item)
            if encoded is not None:
                items.append(encoded)
        if not items:
            return result
        batch = Batch(items)
        spooled_before = self.counters.spooled
        self._to_spool(batch.body(), batch.spans)
        spooled = self.counters.spooled - spooled_before
        dropped = batch.spans - spooled
        return _stats.FlushResult(result.sent, result.spooled + spooled, result.failed + dropped, 0)

    def _discard_queue(self) -> None:
        """Count what is queued after shutdown as dropped: no thread is left to send it."""
        dropped = 0
        while self.queue:
            try:
                item = self.queue.popleft()
            except IndexError:
                break
            if type(item) is _Marker:
                item.done.set()
            else:
                dropped += 1
        if dropped:
            self._drop(_stats.SHUTDOWN, dropped)

    # Small steps.

    def _pause(self, attempt: int, retry_after: float | None) -> bool:
        """Wait before the next attempt; return False if that would pass the shutdown deadline."""
        if retry_after is not None:
            delay = min(retry_after, _MAX_PAUSE)
        else:
            delay = min(0.2 * 2**attempt, 5.0) * (0.5 + random.random())
        if time.monotonic() + delay > self._deadline:
            return False
        with self.counters.lock:
            self.counters.retries += 1
        if self._closing.is_set():
            time.sleep(delay)  # shutting down: the deadline above bounds this
        else:
            self._closing.wait(delay)  # cut short when shutdown begins
        return True

    def _timeout(self) -> float:
        remaining = self._deadline - time.monotonic()
        return max(0.05, min(self.settings.request_timeout, remaining))

    def _offline(self) -> bool:
        return time.monotonic() < self._offline_until

    def _go_offline(self, retry_after: float | None = None) -> None:
        delay = retry_after if retry_after is not None else self._probe_delay
        self._offline_until = time.monotonic() + min(delay, _MAX_PROBE_DELAY)
        self._probe_delay = min(self._probe_delay * 2, _MAX_PROBE_DELAY)

    def _online(self) -> None:
        self._offline_until = 0.0
        self._probe_delay = 0.5

    def _reject(self, spans: int, reply: Reply) -> None:
        hint = " (check DAYTWO_API_KEY)" if reply.status in (401, 403) else ""
        warn_once(
            f"rejected-{reply.status}",
            "daytwo: the server rejected %d spans with %d: %s%s",
            spans,
            reply.status,
            reply.message(),
            hint,
        )
        self._drop(_stats.REJECTED, spans)

    def _drop(self, reason: str, count: int) -> None:
        self.counters.drop(reason, count)
        warn_once(
            f"drop-{reason}",
            "daytwo: dropped %d spans (%s); daytwo.stats() counts every drop",
            count,
            reason.replace("_", " "),
        )

    def _count_request(self) -> None:
        with self.counters.lock:
            self.counters.requests += 1

    def _totals(self) -> tuple[int, int, int]:
        counters = self.counters
        with counters.lock:
            return counters.sent, counters.spooled, sum(counters.dropped.values())

    def _pending(self) -> int:
        return sum(1 for item in list(self.queue) if type(item) is not _Marker)
