"""Send pre-encoded OTLP requests from several client threads, resending refused ones.

Each client thread takes the next body from a shared queue and posts it until
it gets a 2xx. A 429 or 5xx answer is resent after its Retry-After delay (one
second when it gives none), as OpenTelemetry exporters do; so is a connection
error. Any other 4xx is not resent: it would fail the same way again. Nothing
is dropped silently: what could not be delivered within the attempts and the
deadline is counted as lost.
"""

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

MAX_ATTEMPTS = 50
DEFAULT_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 30.0


@dataclass(slots=True)
class SendReport:
    """What the clients saw; times are `time.perf_counter` readings."""

    first_send: float = float("inf")
    last_ack: float = 0.0
    latencies: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    lost: int = 0

    def merge(self, other: "SendReport") -> None:
        self.first_send = min(self.first_send, other.first_send)
        self.last_ack = max(self.last_ack, other.last_ack)
        self.latencies.extend(other.latencies)
        self.refusals.update(other.refusals)
        self.retries += other.retries
        self.lost += other.lost


def send_all(
    base_url: str,
    path: str,
    headers: dict[str, str],
    bodies: Sequence[bytes],
    *,
    clients: int,
    timeout: float,
) -> SendReport:
    """Post every body once successfully, from ``clients`` threads; give up after ``timeout`` s."""
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in bodies:
        work.put(body)
    deadline = time.perf_counter() + timeout
    reports = [SendReport() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=_client, args=(base_url, path, headers, work, deadline, report), daemon=True
        )
        for report in reports
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()) + 60)
    total = SendReport()
    for report in reports:
        total.merge(report)
    total.lost += work.qsize()  # bodies no client took before the deadline
    return total


def _client(
    base_url: str,
    path: str,
    headers: dict[str, str],
    work: "queue.SimpleQueue[bytes]",
    deadline: float,
    report: SendReport,
) -> None:
    with httpx.Client(base_url=base_url, headers=headers, timeout=120.0) as client:
        while time.perf_counter() < deadline:
            try:
                body = work.get_nowait()
            except queue.Empty:
                return
            if not _deliver(client, path, body, deadline, report):
                report.lost += 1


def _deliver(
    client: httpx.Client, path: str, body: bytes, deadline: float, report: SendReport
) -> bool:
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            report.retries += 1
        started = time.perf_counter()
        report.first_send = min(report.first_send, started)
        try:
            response = client.post(path, content=body)
        except httpx.TransportError as error:
            report.refusals[type(error).__name__] += 1
            delay = DEFAULT_RETRY_DELAY
        else:
            finished = time.perf_counter()
            if response.is_success:
                report.latencies.append(finished - started)
                report.last_ack = max(report.last_ack, finished)
                return True
            report.refusals[_describe(response)] += 1
            if not _retryable(response.status_code):
                return False
            delay = retry_delay(response)
        if time.perf_counter() + delay > deadline:
            return False
        time.sleep(delay)
    return False


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _describe(response: httpx.Response) -> str:
    suffix = " with Retry-After" if "retry-after" in response.headers else ""
    return f"{response.status_code}{suffix}"


def retry_delay(response: httpx.Response) -> float:
    """Return the seconds to wait before resending, from Retry-After (RFC 9110, 10.2.3)."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return DEFAULT_RETRY_DELAY
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_RETRY_DELAY  # an HTTP-date; no server here sends one
    return min(max(seconds, 0.0), MAX_RETRY_DELAY)
