"""The web UI benchmark: pages in a real browser over a million stored spans.

A copy of the query benchmark's data set (about a million spans in 208,000
traces; `bench.dataset`) gets one more trace of 30,000 spans, and ``daytwo
serve`` runs on it. Debian's Chromium, driven by Playwright, opens each page
``runs`` times after one warm-up and records when the browser had the whole
document (``responseEnd``), when it had parsed it and run its deferred scripts
(``domContentLoadedEventEnd``) and when everything the page loads at first had
arrived (``loadEventEnd``), all from the navigation's start. For the large
trace it also times a click on a span until its detail is shown, and a scroll
to the end of the first window of rows until the next window has arrived.
Nothing asserts on timing.
"""

import logging
import os
import shutil
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import processes
from bench.dataset import Dataset
from bench.figures import ms, percentile
from bench.report import RunInfo
from bench.targets import serve_daytwo

logger = logging.getLogger(__name__)

PROJECT = "support-bot"
BIG_TRACE = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Spans a request of the large trace carries; a batch of 2,000 is about 1 MB.
BATCH = 2_000
_TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {response: n.responseEnd, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd,
          bytes: n.transferSize};
}"""


@dataclass(frozen=True, slots=True)
class UiSettings:
    runs: int = 10
    big_trace_spans: int = 30_000


@dataclass(slots=True)
class PageResult:
    """The timings of one page over the timed runs, in seconds, and its size."""

    name: str
    path: str
    response: list[float] = field(default_factory=list)
    dom: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    action: list[float] = field(default_factory=list)
    action_name: str | None = None
    kilobytes: float | None = None
    rows: int | None = None
    failure: str | None = None


def big_trace_batches(spans: int, end: datetime) -> Iterator[dict[str, Any]]:
    """Yield ingest batches of one agent trace: a root, 100 steps, and their tool calls."""
    start = end - timedelta(minutes=30)
    steps = 100
    per_step = max(1, (spans - 1 - steps) // steps)
    records = [_span("0" * 15 + "1", None, "agent run", "agent", start, 1_500_000)]
    for step in range(steps):
        step_id = f"{step + 2:016x}"
        step_start = start + timedelta(milliseconds=step * 15_000)
        records.append(
            _span(step_id, records[0]["id"], f"step {step}", "chain", step_start, 14_000)
        )
        for call in range(per_step):
            call_id = f"{(step + 1) * 1_000_000 + call:016x}"
            call_start = step_start + timedelta(milliseconds=call * 14_000 / per_step)
            kind = "llm" if call % 10 == 0 else "tool"
            records.append(_span(call_id, step_id, f"{kind} call {call}", kind, call_start, 40))
    trace = {"id": BIG_TRACE, "name": "agent run (30,000 spans)", "user_id": "bench"}
    for offset in range(0, len(records), BATCH):
        yield {"traces": [trace], "spans": records[offset : offset + BATCH]}


def _span(
    span_id: str, parent: str | None, name: str, kind: str, start: datetime, millis: float
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "trace_id": BIG_TRACE,
        "id": span_id,
        "parent_id": parent,
        "name": name,
        "kind": kind,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(milliseconds=millis)).isoformat(),
        "input": {"step": name},
        "output": f"result of {name}",
    }
    if kind == "llm":
        record["llm"] = {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_messages": [{"role": "user", "content": f"Do {name}."}],
            "output_messages": [{"role": "assistant", "content": "Done."}],
        }
        record["usage"] = {"input_tokens": 120, "output_tokens": 12}
    return record


def run(dataset: Dataset, settings: UiSettings) -> tuple[list[PageResult], str]:
    """Open each page in Chromium against a copy of ``dataset``; return results and load note."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian's chromium is not installed (apt-get install -y chromium)")
    with (
        processes.workspace("ui") as workdir,
        _copy(dataset, workdir) as url,
        serve_daytwo(url, workdir) as server,
    ):
        _add_big_trace(server.base_url, dataset, settings)
        load_before = os.getloadavg()[0]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            results = [
                _time_page(page, server.base_url, name, path, settings)
                for name, path in _pages(dataset)
            ]
            results.append(_time_big_trace(page, server.base_url, settings))
            browser.close()
        note = (
            f"one-minute load average {load_before:.2f} before the pages and "
            f"{os.getloadavg()[0]:.2f} after (the server and the browser count in it)"
        )
    return results, note


@contextmanager
def _copy(dataset: Dataset, workdir: Path) -> Iterator[str]:
    # The server migrates and writes prices; the cached data set must stay as it was.
    target = workdir / "ui.sqlite"
    logger.info("ui: copying the data set (%s) to %s", dataset.path, target)
    shutil.copyfile(dataset.path, target)
    yield f"sqlite:///{target}"


def _add_big_trace(base_url: str, dataset: Dataset, settings: UiSettings) -> None:
    end = datetime.fromtimestamp(dataset.end_us / 1_000_000, UTC)
    logger.info("ui: adding a trace of %d spans", settings.big_trace_spans)
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for batch in big_trace_batches(settings.big_trace_spans, end):
            response = client.post(
                "/api/v1/ingest", json=batch, headers={"X-Daytwo-Project": PROJECT}
            )
            response.raise_for_status()


def _pages(dataset: Dataset) -> list[tuple[str, str]]:
    end = datetime.fromtimestamp(dataset.end_us / 1_000_000, UTC)
    day = f"from={(end - timedelta(hours=24)).isoformat()}&to={end.isoformat()}".replace("+", "%2B")
    traces = f"/projects/{PROJECT}/traces"
    return [
        ("projects overview (every project, day and week)", "/projects"),
        ("traces, newest 50", traces),
        ("traces, last 24 h, model=gpt-4o", f"{traces}?{day}&model=gpt-4o"),
        ("traces, status=error", f"{traces}?status=error"),
        ("traces, free text 'refund'", f"{traces}?search=refund&{day}"),
        ("threads", f"/projects/{PROJECT}/threads"),
        ("dashboard, last 24 h", f"/projects/{PROJECT}/dashboard?range=24h"),
    ]


def _navigate(page: Any, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load")
    timing: dict[str, float] = page.evaluate(_TIMING)
    return timing


def _time_page(page: Any, base_url: str, name: str, path: str, settings: UiSettings) -> PageResult:
    result = PageResult(name, path)
    try:
        response = page.goto(base_url + path, wait_until="load")  # warm-up
        if response is None or response.status != 200:
            status = None if response is None else response.status
            raise RuntimeError(f"answered {status}")
        for _ in range(settings.runs):
            timing = _navigate(page, base_url + path)
            result.response.append(timing["response"] / 1000)
            result.dom.append(timing["dom"] / 1000)
            result.load.append(timing["load"] / 1000)
            result.kilobytes = timing["bytes"] / 1024
        result.rows = page.locator("tbody tr").count()
    except Exception as error:  # a page that fails is reported, and the others still run
        result.failure = f"{type(error).__name__}: {error}"[:200]
        logger.warning("ui: %s failed: %s", name, result.failure)
    return result


def _time_big_trace(page: Any, base_url: str, settings: UiSettings) -> PageResult:
    path = f"/projects/{PROJECT}/traces/{BIG_TRACE}"
    result = PageResult(f"trace of {settings.big_trace_spans:,} spans", path)
    result.action_name = "click a span until its detail shows"
    try:
        page.goto(base_url + path, wait_until="load")  # warm-up
        for run in range(settings.runs):
            timing = _navigate(page, base_url + path)
            result.response.append(timing["response"] / 1000)
            result.dom.append(timing["dom"] / 1000)
            result.load.append(timing["load"] / 1000)
            result.kilobytes = timing["bytes"] / 1024
            result.action.append(_select_span(page, run))
        result.rows = page.locator("[data-nav-row]").count()
        result.action.sort()
    except Exception as error:
        result.failure = f"{type(error).__name__}: {error}"[:200]
        logger.warning("ui: the large trace failed: %s", result.failure)
    return result


def _select_span(page: Any, run: int) -> float:
    rows = page.locator("[data-nav-row]")
    row = rows.nth(50 + run)
    span_id = row.get_attribute("data-span")
    started = time.perf_counter()
    row.click()
    page.locator(f'#span-detail :text("{span_id}")').first.wait_for()
    return time.perf_counter() - started


def section(info: RunInfo, dataset: Dataset, results: list[PageResult], note: str) -> str:
    """Return the Markdown section of the UI benchmark."""
    lines = [
        "## Web UI",
        "",
        info.preamble(),
        f"{dataset.spans:,} spans in {dataset.traces:,} traces (the query benchmark's data set), "
        f"plus one trace of {results[-1].name.split(' of ')[-1]} in project `{PROJECT}`. "
        "Each page opened once to warm up, then timed in headless Chromium at 1280 x 800; "
        "times are from the start of the navigation, p50 / p95 over the runs. *Document* is "
        "when the whole HTML had arrived, *ready* when it was parsed and its scripts had run, "
        "*loaded* when everything it loads at first had arrived.",
        "",
        "| page | document, ms | ready, ms | loaded, ms | HTML | rows shown |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(_row(result))
    big = results[-1]
    if big.action:
        lines += [
            "",
            f"- {big.name}: {big.action_name}, p50 / p95 (ms) "
            f"{ms(statistics.median(big.action))} / {ms(percentile(big.action, 0.95))}.",
        ]
    lines += [
        f"- Load: {note}.",
        "- Peers, as published (not measured here): Opik takes 20-25 s to open a trace of "
        "3,000 spans; MLflow's UI crashes on a trace of 32,843 spans.",
    ]
    return "\n".join(lines)


def _row(result: PageResult) -> str:
    if result.failure:
        return f"| {result.name} | failed: {result.failure} | | | | |"

    def cell(values: list[float]) -> str:
        return f"{ms(statistics.median(values))} / {ms(percentile(values, 0.95))}"

    size = f"{result.kilobytes:,.0f} KB" if result.kilobytes is not None else ""
    rows = f"{result.rows:,}" if result.rows is not None else ""
    return (
        f"| {result.name} | {cell(result.response)} | {cell(result.dom)} | "
        f"{cell(result.load)} | {size} | {rows} |"
    )
