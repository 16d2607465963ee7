"""Time ``daytwo.get_prompt``: cached, with a sticky split, uncached (one request), and rendering.

    python -m bench --only prompts           # writes its section of docs/benchmarks.md
    python -m bench.prompts [--calls 20000] [--fetches 200]   # prints the table only

Starts ``daytwo serve`` on 127.0.0.1 with a throw-away SQLite database, pushes
a chat prompt with a production label that splits 10% of keys to a second
version, and times each call on the calling thread. Nothing asserts on timing.
"""

import argparse
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import psutil

import daytwo
import daytwo.prompts
from bench import figures, processes
from bench.report import OtherLoad, RunInfo
from bench.targets import DaytwoTarget
from daytwo.prompts.client import PromptClient

logger = logging.getLogger(__name__)

PROJECT = "bench"
PROMPT = "support"
SPLIT_PERCENT = 10
CALLS = 20_000
FETCHES = 200
TEMPLATE = [
    {"role": "system", "content": "You support {{ product }} customers. Answer {{ tone }}."},
    {"role": "user", "content": "{{ question }}"},
]


@dataclass(frozen=True, slots=True)
class PromptSettings:
    calls: int = CALLS
    fetches: int = FETCHES


@dataclass(frozen=True, slots=True)
class Timing:
    """One way of getting a prompt, timed call by call."""

    name: str
    calls: int
    median_us: float
    p99_us: float


@dataclass(frozen=True, slots=True)
class PromptResult:
    timings: list[Timing]
    split_share: float
    machine: str


def run(settings: PromptSettings) -> PromptResult:
    """Start a server with the prompt stored and time every way of getting it."""
    with processes.workspace("prompts") as workdir, DaytwoTarget().launch(workdir) as server:
        _seed(server.base_url)
        daytwo.configure(url=server.base_url, project=PROJECT, spool=False)
        client = daytwo.prompts.configure()
        server_process = psutil.Process(server.pid)
        others, cpu_before, server_before = OtherLoad(), time.process_time(), _cpu(server_process)
        try:
            timings, split_share = _measure(client, settings)
        finally:
            client.close()
        own = time.process_time() - cpu_before + _cpu(server_process) - server_before
        return PromptResult(timings, split_share, others.note(own))


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _seed(url: str) -> None:
    base = f"{url}/api/v1/projects/{PROJECT}/prompts/{PROMPT}"
    with httpx.Client(timeout=10) as http:
        for model in ("gpt-4o-mini", "gpt-4o"):
            body = {"template": TEMPLATE, "model": model}
            http.post(f"{base}/versions", json=body).raise_for_status()
        label = {"version": 1, "split_version": 2, "split_percent": SPLIT_PERCENT}
        http.put(f"{base}/labels/production", json=label).raise_for_status()


def _measure(client: PromptClient, settings: PromptSettings) -> tuple[list[Timing], float]:
    logger.info("prompts: %d fetches, then %d calls of each kind", settings.fetches, settings.calls)
    timings = [
        _timed("uncached (one HTTP request)", settings.fetches, _get, before=client.clear),
        _timed("cached, no key", settings.calls, _get),
    ]
    # The keys are made beforehand, so that formatting them is not timed.
    keys = [f"user-{number}" for number in range(settings.calls)]
    served: list[bool] = []
    timings.append(
        _timed(
            "cached, sticky key (split)",
            settings.calls,
            lambda n: served.append(daytwo.get_prompt(PROMPT, key=keys[n]).from_split),
        )
    )
    prompt = daytwo.get_prompt(PROMPT)
    timings.append(
        _timed(
            "render (chat, 3 variables)",
            settings.calls,
            lambda _: prompt.render(product="Acme", tone="briefly", question="Refund?"),
        )
    )
    return timings, sum(served) / len(served)


def _get(_: int) -> object:
    return daytwo.get_prompt(PROMPT)


def _timed(
    name: str,
    calls: int,
    call: Callable[[int], object],
    before: Callable[[], object] | None = None,
) -> Timing:
    """Time ``call`` ``calls`` times, after a few untimed calls; ``before`` runs untimed."""
    for number in range(max(1, calls // 50)):
        if before is not None:
            before()
        call(number)
    clock = time.perf_counter_ns
    nanoseconds: list[float] = []
    for number in range(calls):
        if before is not None:
            before()
        started = clock()
        call(number)
        nanoseconds.append(clock() - started)
    p99 = figures.percentile(nanoseconds, 0.99) or 0.0
    return Timing(name, calls, statistics.median(nanoseconds) / 1000, p99 / 1000)


# The document's section ------------------------------------------------------


def section(info: RunInfo, settings: PromptSettings, result: PromptResult) -> str:
    """Return the Markdown section of the prompt benchmark."""
    lines = [
        "## Prompts",
        "",
        info.preamble(),
        "`daytwo.get_prompt` against `daytwo serve` on a new SQLite database on loopback, "
        "for a chat prompt of two versions whose `production` label sends "
        f"{SPLIT_PERCENT}% of keys to the second. Each figure is the wall time of one call on "
        "the calling thread (`time.perf_counter_ns` around it), after a few untimed calls. "
        "*Uncached* empties the process's cache before each call (not timed), so the call "
        "makes one HTTP request (on a kept-alive connection); *cached* calls never wait for "
        "the server; the sticky key is a different user id on every call, hashed to pick the "
        "version; *render* fills the two chat messages of a fetched prompt.",
        "",
        "| call | calls | median µs | p99 µs |",
        "| --- | ---: | ---: | ---: |",
        *_rows(result.timings),
        "",
        f"- With the sticky key, {result.split_share:.1%} of {settings.calls:,} keys were "
        f"served the split version (the label asks for {SPLIT_PERCENT}%).",
        f"- While the calls were timed, {result.machine}.",
    ]
    return "\n".join(lines)


def _rows(timings: Sequence[Timing]) -> list[str]:
    return [
        f"| {timing.name} | {timing.calls:,} | {_us(timing.median_us)} | {_us(timing.p99_us)} |"
        for timing in timings
    ]


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--fetches", type=int, default=FETCHES)
    args = parser.parse_args()
    result = run(PromptSettings(calls=args.calls, fetches=args.fetches))
    print("\n".join(["| call | calls | median µs | p99 µs |", *_rows(result.timings)]))
    print(f"split share {result.split_share:.1%}")


if __name__ == "__main__":
    main()
