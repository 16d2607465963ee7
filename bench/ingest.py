"""Ingest benchmark: OTLP spans in, how fast they are accepted and become queryable.

For each target: start its server on an empty store, send the same pre-encoded
OTLP protobuf requests from several client threads, and measure

- spans/s accepted: from the first request sent until the last 2xx received;
- spans/s queryable: from the first request sent until the target's own query
  API counts every span (bounded by a deadline; a partial figure past it);
- the server's peak resident memory, its process tree sampled every 50 ms;
- p50 and p99 latency of the requests that succeeded;
- every non-2xx answer, and how many requests were resent.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import processes, profiling, workload
from bench.figures import percentile
from bench.processes import MemorySampler, Server
from bench.sender import SendReport, send_all
from bench.targets import Target

logger = logging.getLogger(__name__)

PROJECT = "bench-ingest"
PROFILE = workload.Profile(
    projects=(
        workload.Project(
            PROJECT,
            1.0,
            (workload.GPT_4O, workload.GPT_4O_MINI, workload.SONNET, workload.HAIKU),
        ),
    ),
    users=500,
    threads=2_000,
    error_rate=0.03,
)


@dataclass(frozen=True, slots=True)
class IngestSettings:
    spans: int = 20_000
    spans_per_request: int = 100
    clients: int = 4
    seed: int = 20261203
    send_timeout: float = 600.0
    # Measured from the first request; Phoenix took 321 s for 20,000 spans here before.
    queryable_timeout: float = 420.0


@dataclass(frozen=True, slots=True)
class Workload:
    """The requests to send, encoded once before any timing."""

    bodies: list[bytes]
    spans: int
    traces: int
    span_bytes: float

    @property
    def request_bytes(self) -> int:
        return sum(len(body) for body in self.bodies)


@dataclass(slots=True)
class IngestResult:
    key: str
    label: str
    version: str
    spans: int
    accepted_seconds: float | None = None
    queryable_seconds: float | None = None
    seen_spans: int = 0
    elapsed_seconds: float | None = None
    rss_start: int | None = None
    rss_peak: int | None = None
    p50: float | None = None
    p99: float | None = None
    requests: int = 0
    retries: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    lost_requests: int = 0
    server_stats: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None
    failure: str | None = None
    # Accepted spans/s of every run when the target ran several times (this is the median).
    run_rates: list[float] = field(default_factory=list)

    @property
    def accepted_rate(self) -> float | None:
        return self.spans / self.accepted_seconds if self.accepted_seconds else None

    @property
    def timed_out(self) -> bool:
        return self.queryable_seconds is None and self.failure is None


def build_workload(settings: IngestSettings) -> Workload:
    """Generate the spans of one run and encode them as OTLP requests."""
    now = time.time_ns()
    hour = 3_600_000_000_000
    # About five spans a trace, spread over the hour before now.
    gap = hour * 5 // settings.spans
    traces = workload.take_spans(
        workload.generate(PROFILE, settings.seed, now - hour, gap), settings.spans
    )
    spans = [span for trace in traces for span in trace.spans]
    bodies = workload.encode_requests(traces, settings.spans_per_request)
    mean_size = sum(span.ByteSize() for span in spans) / len(spans)
    return Workload(bodies, len(spans), len(traces), mean_size)


def run_target(
    target: Target, load: Workload, settings: IngestSettings, profile_dir: Path | None = None
) -> IngestResult:
    """Benchmark one target; a target that fails is reported, not raised."""
    result = IngestResult(target.key, target.label, target.version(), load.spans)
    with processes.workspace(f"ingest-{target.key}") as workdir:
        try:
            with target.launch(workdir) as server:
                _measure(target, server, load, settings, result, profile_dir)
        except Exception as error:
            logger.exception("%s failed", target.label)
            result.failure = f"{type(error).__name__}: {error}"
    return result


def median_run(runs: list[IngestResult]) -> IngestResult:
    """Return the run with the median accepted rate, carrying the rates of all runs."""
    ranked = sorted(runs, key=lambda run: run.accepted_rate or 0.0)
    chosen = ranked[(len(ranked) - 1) // 2]
    chosen.run_rates = [run.accepted_rate or 0.0 for run in runs]
    return chosen


def _measure(
    target: Target,
    server: Server,
    load: Workload,
    settings: IngestSettings,
    result: IngestResult,
    profile_dir: Path | None,
) -> None:
    recorder = profiling.start(server.pid, profile_dir, target.key) if profile_dir else None
    try:
        with (
            httpx.Client(base_url=server.base_url, timeout=30.0) as api,
            MemorySampler(server.pid) as memory,
        ):
            result.rss_start = memory.first
            report = send_all(
                server.base_url,
                "/v1/traces",
                target.ingest_headers(PROJECT),
                load.bodies,
                clients=settings.clients,
                timeout=settings.send_timeout,
            )
            _record_sending(result, report, load)
            logger.info("%s: sent in %.1f s", target.label, result.accepted_seconds or 0)
            _wait_queryable(target, api, report.first_send, load.spans, settings, result)
            result.rss_peak = memory.peak
            result.server_stats = target.server_stats(api)
    finally:
        if recorder is not None:
            result.profile = profiling.finish(recorder)


def _record_sending(result: IngestResult, report: SendReport, load: Workload) -> None:
    result.requests = len(load.bodies)
    if report.last_ack:
        result.accepted_seconds = report.last_ack - report.first_send
    result.p50 = percentile(report.latencies, 0.50)
    result.p99 = percentile(report.latencies, 0.99)
    result.retries = report.retries
    result.refusals = dict(report.refusals)
    result.lost_requests = report.lost


def _wait_queryable(
    target: Target,
    api: httpx.Client,
    first_send: float,
    expected: int,
    settings: IngestSettings,
    result: IngestResult,
) -> None:
    """Poll the target's query API until it counts ``expected`` spans or the deadline passes."""
    deadline = first_send + settings.queryable_timeout
    last_error = ""
    while True:
        try:
            result.seen_spans = target.count_spans(api, PROJECT)
        except (httpx.HTTPError, RuntimeError, KeyError) as error:
            last_error = f"{type(error).__name__}: {error}"
        now = time.perf_counter()
        result.elapsed_seconds = now - first_send
        if result.seen_spans >= expected:
            result.queryable_seconds = now - first_send
            return
        if now >= deadline:
            logger.warning(
                "%s: %d of %d spans queryable after %.0f s %s",
                target.label,
                result.seen_spans,
                expected,
                now - first_send,
                last_error,
            )
            return
        time.sleep(target.poll_interval)
