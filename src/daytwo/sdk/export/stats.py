"""What the exporter did: counters that ``daytwo.stats()`` and ``daytwo.flush()`` report."""

import threading
from typing import NamedTuple

# Why a span was dropped, as counted in ``ExportStats.dropped``.
QUEUE_FULL = "queue_full"
SPOOL_FULL = "spool_full"
UNREACHABLE = "unreachable"
REJECTED = "rejected"
ENCODING = "encoding"
SHUTDOWN = "shutdown"
INTERNAL = "internal_error"


class ExportStats(NamedTuple):
    """Everything the exporter has done since the process started."""

    sent: int
    spooled: int
    replayed: int
    dropped: dict[str, int]
    pending: int
    spool_pending: int
    retries: int
    requests: int
    truncated_fields: int
    internal_failures: dict[str, int] | None = None

    @property
    def dropped_total(self) -> int:
        """Return how many spans were dropped for any reason."""
        return sum(self.dropped.values())


class FlushResult(NamedTuple):
    """What happened to the spans that were waiting when ``flush`` was called."""

    sent: int
    spooled: int
    failed: int
    pending: int

    @property
    def ok(self) -> bool:
        """Return whether everything reached the server."""
        return self.failed == 0 and self.pending == 0 and self.spooled == 0


class Counters:
    """Mutable counters, updated by the exporter's thread and, for drops, by callers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.spooled = 0
        self.replayed = 0
        self.retries = 0
        self.requests = 0
        self.truncated = 0
        self.dropped: dict[str, int] = {}

    def drop(self, reason: str, count: int) -> None:
        with self.lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def failed(self) -> int:
        with self.lock:
            return sum(self.dropped.values())
