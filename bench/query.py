"""Query benchmark: listing and aggregating a million stored spans over HTTP.

The data set (`bench.dataset`) holds about 200,000 traces of about five spans
in three projects over seven days. Against a running ``daytwo serve`` on that
data, each query is sent a few times to warm up, then timed ``runs`` times in
a row from one client; p50 and p95 are of those runs. "Last 24 h" means the
last day of the data set, which ends when it was seeded.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import processes
from bench.dataset import Dataset
from bench.figures import percentile
from bench.processes import MemorySampler
from bench.targets import DaytwoTarget

logger = logging.getLogger(__name__)

PROJECT = "support-bot"
MIN_RUNS = 3
# The aims, as p95: a page of traces within 100 ms, a day's aggregate within 1 s.
PAGE_AIM = 0.100
AGGREGATE_AIM = 1.0


@dataclass(frozen=True, slots=True)
class QuerySettings:
    warmup: int = 3
    runs: int = 30
    # Seconds one query may take in all before its runs are cut short (to `MIN_RUNS`).
    case_budget: float = 60.0


@dataclass(frozen=True, slots=True)
class QueryCase:
    """One request to time; ``after`` names a case whose next page this one reads."""

    name: str
    path: str
    params: dict[str, Any]
    aim: float | None
    after: str | None = None


@dataclass(slots=True)
class CaseResult:
    name: str
    aim: float | None
    p50: float | None = None
    p95: float | None = None
    worst: float | None = None
    runs: int = 0
    returned: int = 0
    failure: str | None = None
    skipped: str | None = None


@dataclass(slots=True)
class QueryResult:
    key: str
    label: str
    cases: list[CaseResult] = field(default_factory=list)
    rss_start: int | None = None
    rss_peak: int | None = None
    failure: str | None = None


def cases(dataset: Dataset) -> list[QueryCase]:
    """Return the queries to time, over the last day (and the whole week) of ``dataset``."""
    end = datetime.fromtimestamp(dataset.end_us / 1_000_000, UTC)
    day = {"from": (end - timedelta(hours=24)).isoformat(), "to": end.isoformat()}
    week = {"from": (end - timedelta(days=7)).isoformat(), "to": end.isoformat()}
    traces = f"/api/v1/projects/{PROJECT}/traces"
    aggregates = f"/api/v1/projects/{PROJECT}/aggregates"
    return [
        QueryCase("traces, last 24 h, newest 50", traces, {**day, "limit": 50}, PAGE_AIM),
        QueryCase(
            "traces, last 24 h, model=gpt-4o, 50",
            traces,
            {**day, "model": "gpt-4o", "limit": 50},
            PAGE_AIM,
        ),
        QueryCase(
            "model=gpt-4o, second page (cursor)",
            traces,
            {**day, "model": "gpt-4o", "limit": 50},
            PAGE_AIM,
            after="traces, last 24 h, model=gpt-4o, 50",
        ),
        QueryCase(
            "traces, last 24 h, status=error, 50",
            traces,
            {**day, "status": "error", "limit": 50},
            PAGE_AIM,
        ),
        QueryCase(
            "status=error, second page (cursor)",
            traces,
            {**day, "status": "error", "limit": 50},
            PAGE_AIM,
            after="traces, last 24 h, status=error, 50",
        ),
        QueryCase(
            "cost by model per hour, 24 h",
            aggregates,
            {**day, "group_by": "model", "bucket": "1h"},
            AGGREGATE_AIM,
        ),
        QueryCase(
            "cost by model per day, 7 days",
            aggregates,
            {**week, "group_by": "model", "bucket": "1d"},
            None,
        ),
    ]


def run_target(
    target: DaytwoTarget, database_url: str, dataset: Dataset, settings: QuerySettings
) -> QueryResult:
    """Start daytwo on ``database_url`` and time every query; failures are reported."""
    result = QueryResult(target.key, target.label)
    with processes.workspace(f"query-{target.key}") as workdir:
        try:
            with (
                target.launch(workdir, database_url) as server,
                MemorySampler(server.pid) as memory,
                httpx.Client(base_url=server.base_url, timeout=120.0) as client,
            ):
                result.rss_start = memory.first
                result.cases = _time_cases(client, cases(dataset), settings)
                result.rss_peak = memory.peak
        except Exception as error:
            logger.exception("query benchmark on %s failed", target.label)
            result.failure = f"{type(error).__name__}: {error}"
    return result


def _time_cases(
    client: httpx.Client, planned: list[QueryCase], settings: QuerySettings
) -> list[CaseResult]:
    cursors: dict[str, str | None] = {}
    results = []
    for case in planned:
        params = dict(case.params)
        if case.after is not None:
            cursor = cursors.get(case.after)
            if cursor is None:
                results.append(CaseResult(case.name, case.aim, skipped="one page only"))
                continue
            params["cursor"] = cursor
        outcome = _time_case(client, case, params, settings)
        cursors[case.name] = outcome.cursor
        results.append(outcome.result)
        logger.info("%s: p50 %.1f ms", case.name, (outcome.result.p50 or 0) * 1000)
    return results


@dataclass(slots=True)
class _Outcome:
    result: CaseResult
    cursor: str | None


def _time_case(
    client: httpx.Client, case: QueryCase, params: dict[str, Any], settings: QuerySettings
) -> _Outcome:
    """Warm up, then time the runs; a slow query stops after its budget and `MIN_RUNS`."""
    result = CaseResult(case.name, case.aim)
    started = time.perf_counter()
    timings: list[float] = []
    body: dict[str, Any] = {}
    for attempt in range(settings.warmup + settings.runs):
        warming = attempt < settings.warmup
        spent = time.perf_counter() - started
        if warming and spent > settings.case_budget:
            continue
        if not warming and spent > settings.case_budget and len(timings) >= MIN_RUNS:
            break
        before = time.perf_counter()
        try:
            response = client.get(case.path, params=params)
        except httpx.HTTPError as error:
            result.failure = f"{type(error).__name__} after {time.perf_counter() - before:.0f} s"
            return _Outcome(result, None)
        elapsed = time.perf_counter() - before
        if response.status_code != 200:
            result.failure = f"HTTP {response.status_code}: {response.text[:300]}"
            return _Outcome(result, None)
        if not warming:
            timings.append(elapsed)
        body = response.json()
    result.p50, result.p95 = percentile(timings, 0.50), percentile(timings, 0.95)
    result.worst = max(timings)
    result.runs = len(timings)
    result.returned = _count(body)
    return _Outcome(result, body.get("next_cursor"))


def _count(body: dict[str, Any]) -> int:
    """Return how many items (a page) or rows (an aggregate) an answer holds."""
    return len(body.get("items") or body.get("rows") or [])
