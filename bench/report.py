"""Write the figures of a run into ``docs/benchmarks.md``.

The document keeps one section per benchmark between HTML comment markers. A
run replaces the sections it measured and leaves the others as they were, so
``--only query`` does not erase the last ingest figures. Every section says
when, how and on what its figures were measured.
"""

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench import figures, query, sdk
from bench.dataset import PROFILE, Dataset
from bench.figures import MIB
from bench.ingest import IngestResult, IngestSettings, Workload
from bench.machine import Machine
from bench.query import CaseResult, QueryResult, QuerySettings

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

# In the order they appear in the document.
SECTIONS = ("ingest", "query", "sdk", "experiments", "prompts", "ui")

INGEST_AIM_RATE = 20_000
INGEST_AIM_MEMORY = 500 * MIB

_HEADER = """\
# Benchmarks

Figures from one run on one machine, written by the benchmark harness in
`bench/` (see `bench/README.md`). They are measurements, not guarantees, and
no test asserts on them; rerun them on your own hardware before relying on them.

## How to reproduce

From the repository root, in the project's virtualenv (`pip install -e '.[dev]'`):

```
python -m bench                   # everything: ingest against daytwo on SQLite and
                                  # PostgreSQL and Arize Phoenix, then the query benchmark
python -m bench --skip-phoenix    # the same without Phoenix
python -m bench --quick           # a smoke run: fewer spans, no Phoenix, no PostgreSQL queries
python -m bench --only ingest     # or --only query, or --only sdk
```

PostgreSQL is taken from `BENCH_POSTGRES_URL` (default
`postgresql://postgres@127.0.0.1:5432/test`); the harness creates and drops
its own `daytwo_bench_*` databases there. Phoenix is installed on first use
into `bench/.venvs/phoenix`; the query data set is seeded once and cached in
`bench/.cache/`. Each section below names the exact command that produced it.
"""


@dataclass(frozen=True, slots=True)
class RunInfo:
    command: str
    date: str
    machine: Machine
    versions: Mapping[str, str]

    def preamble(self) -> str:
        versions = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        return (
            f"Measured {self.date} with `{self.command}` on {self.machine.describe()}.\n"
            f"Versions: {versions}.\n"
        )


class OtherLoad:
    """Measure the CPU that processes other than the benchmark's own use while it runs.

    Start it before a run, and call ``note`` after it with the CPU seconds the
    benchmark's own processes used meanwhile.
    """

    # Above this share of the machine, a run's figures are flagged as taken on a busy machine.
    BUSY_SHARE = 0.1

    def __init__(self) -> None:
        self.load = os.getloadavg()[0]
        self._busy = _busy_seconds()
        self._started = time.monotonic()

    def note(self, own_cpu: float) -> str:
        elapsed = time.monotonic() - self._started
        cores = os.cpu_count() or 1
        others = max(0.0, _busy_seconds() - self._busy - own_cpu)
        share = others / (elapsed * cores) if elapsed > 0 else 0.0
        verdict = (
            "**the machine was busy with other work**, so these figures are pessimistic"
            if share >= self.BUSY_SHARE
            else "the machine was otherwise quiet"
        )
        return (
            f"other processes used {others:,.1f} CPU seconds in those {elapsed:,.0f} s, "
            f"{share:.0%} of the {cores} cores (one-minute load average {self.load:.2f} "
            f"before): {verdict}"
        )


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(
        sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    )


def update_document(sections: Mapping[str, str], path: Path = DOCUMENT) -> None:
    """Replace the named sections of the document, creating it if needed."""
    text = path.read_text() if path.exists() else _HEADER
    if not text.startswith("# Benchmarks"):
        text = _HEADER
    for name in SECTIONS:
        start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
        if start not in text:
            text = text.rstrip("\n") + f"\n\n{start}\n_Not measured yet._\n{end}\n"
        if name in sections:
            before, rest = text.split(start, 1)
            _, after = rest.split(end, 1)
            text = f"{before}{start}\n{sections[name].strip()}\n{end}{after}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# Ingest ----------------------------------------------------------------------


def ingest_section(
    info: RunInfo, settings: IngestSettings, load: Workload, results: Sequence[IngestResult]
) -> str:
    lines = [
        "## Ingest",
        "",
        info.preamble(),
        f"{load.spans:,} OpenInference spans ({load.traces:,} traces of chain, agent, llm, "
        f"retrieval, embedding and tool spans; {load.span_bytes:,.0f} bytes a span on average, "
        f"seed {settings.seed}) as {len(load.bodies)} OTLP/HTTP protobuf requests of "
        f"{settings.spans_per_request} spans ({load.request_bytes / MIB:,.1f} MiB in all), "
        f"sent by {settings.clients} client threads; daytwo's figures are of the run with the "
        "median accepted rate. *Accepted* runs from the first request to "
        "the last 2xx; *queryable* from the first request until the server's own query API "
        f"counts every span (given up after {settings.queryable_timeout:.0f} s). Memory is the "
        "server's process tree, sampled every 50 ms (PostgreSQL's own processes are not "
        "counted). Refused requests are resent after their Retry-After delay.",
        "",
        "| server | accepted spans/s | queryable spans/s | queryable after | request p50 / p99 "
        "| memory at start → peak | non-2xx answers | resent |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    lines += [_ingest_row(result) for result in results]
    lines += ["", *_ingest_notes(results)]
    return "\n".join(lines)


def _ingest_row(result: IngestResult) -> str:
    if result.failure and result.accepted_seconds is None:
        return f"| {result.label} | failed: {result.failure} | | | | | | |"
    queryable = figures.rate(result.spans, result.queryable_seconds)
    after = f"{figures.secs(result.queryable_seconds)} s"
    if result.queryable_seconds is None:
        queryable = f"{figures.rate(result.seen_spans, result.elapsed_seconds)} (partial)"
        elapsed = figures.secs(result.elapsed_seconds)
        after = f"{result.seen_spans:,} of {result.spans:,} after {elapsed} s"
    refusals = ", ".join(f"{count} x {kind}" for kind, count in result.refusals.items()) or "none"
    if result.lost_requests:
        refusals += f"; {result.lost_requests} requests lost"
    accepted = figures.rate(result.spans, result.accepted_seconds)
    if len(result.run_rates) > 1:
        low, high = min(result.run_rates), max(result.run_rates)
        accepted += f" (median of {len(result.run_rates)}: {low:,.0f} to {high:,.0f})"
    return (
        f"| {result.label} "
        f"| {accepted} "
        f"| {queryable} | {after} "
        f"| {figures.ms(result.p50)} / {figures.ms(result.p99)} ms "
        f"| {figures.mib(result.rss_start)} → {figures.mib(result.rss_peak)} MiB "
        f"| {refusals} | {result.retries} |"
    )


def _ingest_notes(results: Sequence[IngestResult]) -> list[str]:
    by_key = {result.key: result for result in results}
    notes = _ratios(by_key)
    sqlite = by_key.get("daytwo-sqlite")
    if sqlite is not None and sqlite.accepted_seconds:
        rate = sqlite.spans / sqlite.accepted_seconds
        peak = sqlite.rss_peak or 0
        met = rate >= INGEST_AIM_RATE and peak < INGEST_AIM_MEMORY
        notes.append(
            f"- Aim for daytwo on SQLite: at least {INGEST_AIM_RATE:,} spans/s in under "
            f"{INGEST_AIM_MEMORY // MIB} MiB. Measured {rate:,.0f} spans/s "
            f"({rate / INGEST_AIM_RATE:.0%} of the aim) and {figures.mib(peak)} MiB: "
            f"**{'met' if met else 'not met'}**."
        )
    for result in results:
        if result.server_stats:
            stats = ", ".join(f"{key} {value}" for key, value in result.server_stats.items())
            notes.append(f"- {result.label} counters after the run: {stats}.")
        if result.failure:
            notes.append(f"- {result.label}: {result.failure}")
    return notes


def _ratios(by_key: Mapping[str, IngestResult]) -> list[str]:
    phoenix = by_key.get("phoenix")
    if phoenix is None or not phoenix.accepted_seconds:
        return []
    notes = []
    phoenix_queryable = phoenix.queryable_seconds or phoenix.elapsed_seconds
    phoenix_seen = phoenix.spans if phoenix.queryable_seconds else phoenix.seen_spans
    for key in ("daytwo-sqlite", "daytwo-postgresql"):
        ours = by_key.get(key)
        if ours is None or not ours.accepted_seconds or not ours.queryable_seconds:
            continue
        accepted = phoenix.accepted_seconds / ours.accepted_seconds
        line = f"- {ours.label} / Phoenix: {accepted:.1f}x the accepted rate"
        if phoenix_queryable and phoenix_seen:
            ours_rate = ours.spans / ours.queryable_seconds
            ratio = ours_rate / (phoenix_seen / phoenix_queryable)
            partial = " (against Phoenix's partial figure)" if not phoenix.queryable_seconds else ""
            line += f", {ratio:.1f}x the queryable rate{partial}"
        if phoenix.rss_peak and ours.rss_peak:
            line += f", {ours.rss_peak / phoenix.rss_peak:.2f}x the peak memory"
        notes.append(line + ".")
    return notes


# Query -----------------------------------------------------------------------


def query_section(
    info: RunInfo, dataset: Dataset, settings: QuerySettings, results: Sequence[QueryResult]
) -> str:
    projects = ", ".join(f"{name} {count:,}" for name, count in dataset.projects.items())
    models = ", ".join(dataset.models)
    days = (dataset.end_us - dataset.start_us) / 86_400_000_000
    lines = [
        "## Query",
        "",
        info.preamble(),
        f"{dataset.spans:,} spans in {dataset.traces:,} traces over {days:.0f} days, in "
        f"{len(dataset.projects)} projects "
        f"(traces: {projects}), with {len(dataset.models)} models ({models}), "
        f"{PROFILE.users:,} users, {PROFILE.threads:,} threads and tags; SQLite file "
        f"{dataset.size_bytes / 2**30:.1f} GiB, seeded through daytwo's OTLP mapping and "
        f"writer in {dataset.seed_seconds:,.0f} s (cached). "
        f"Queries read project `{query.PROJECT}`; each ran {settings.warmup} times to warm up, "
        f"then {settings.runs} times timed, one at a time over HTTP (a query still running "
        f"after {settings.case_budget:.0f} s in all stops after {query.MIN_RUNS} timed runs).",
        "",
        _query_table(results, settings.runs),
        "",
        *_query_notes(results),
    ]
    return "\n".join(lines)


def _query_table(results: Sequence[QueryResult], runs: int) -> str:
    ran = [result for result in results if result.cases]
    header = "| query | rows | " + " | ".join(f"{r.label} p50 / p95" for r in ran) + " |"
    rule = "| --- | ---: | " + " | ".join("---:" for _ in ran) + " |"
    rows = [header, rule]
    if not ran:
        return "\n".join(rows)
    for index, case in enumerate(ran[0].cases):
        cells = [_case_cell(result.cases[index], runs) for result in ran]
        rows.append(f"| {case.name} | {case.returned} | " + " | ".join(cells) + " |")
    memory = [f"{figures.mib(r.rss_start)} → {figures.mib(r.rss_peak)} MiB" for r in ran]
    rows.append("| server memory at start → peak | | " + " | ".join(memory) + " |")
    return "\n".join(rows)


def _case_cell(case: CaseResult, runs: int) -> str:
    if case.skipped:
        return f"not run: {case.skipped}"
    if case.failure:
        return f"failed: {case.failure[:120]}"
    cut = f" ({case.runs} runs)" if case.runs < runs else ""
    return f"{figures.ms(case.p50)} / {figures.ms(case.p95)} ms{cut}"


def _query_notes(results: Sequence[QueryResult]) -> list[str]:
    notes = [
        "- Aims, as p95: a page of traces within "
        f"{query.PAGE_AIM * 1000:.0f} ms, cost by model per hour over a day within "
        f"{query.AGGREGATE_AIM:.0f} s; the seven-day aggregate has no aim. Memory is "
        "daytwo's process tree; PostgreSQL's own processes are not counted."
    ]
    for result in results:
        if result.failure:
            notes.append(f"- {result.label}: {result.failure}")
            continue
        missed = [case.name for case in result.cases if _missed(case)]
        verdict = "all met" if not missed else "missed by " + "; ".join(missed)
        notes.append(f"- {result.label}: aims {verdict}.")
    return notes


def _missed(case: CaseResult) -> bool:
    if case.aim is None or case.skipped:
        return False
    return case.failure is not None or case.p95 is None or case.p95 >= case.aim


# SDK -------------------------------------------------------------------------

SDK_AIM_CALLER_US = 10.0
SDK_AIM_CPU_US = 20.0


def sdk_section(
    info: RunInfo,
    settings: "sdk.SdkSettings",
    results: Sequence["sdk.TracerResult"],
    e2e: "sdk.EndToEnd",
) -> str:
    lines = [
        "## SDK overhead",
        "",
        info.preamble(),
        f"Each tracer runs alone in a fresh process, {settings.runs} times; the table shows "
        "the median run. *Caller µs* is the median wall time of one call on the caller's "
        f"thread over {settings.calls:,} calls of a trivial function (*flat*, one span) and "
        f"{settings.calls // 4:,} calls of a parent that calls three children (*nested*, four "
        "spans). *CPU µs per span* is the whole process's CPU time (all threads, so export "
        "included) over the same calls and the flush after them, less the CPU of the calls "
        "undecorated, divided by the spans made. Exporters send to a local sink process "
        "that accepts everything. *Import* is the median of "
        f"{settings.import_runs} fresh interpreters importing the tracer's package. daytwo "
        "records each call's arguments and return value; OpenTelemetry's decorator records "
        "neither.",
        "",
        "| tracer | versions | import ms | caller µs flat | caller µs nested (4 spans) "
        "| CPU µs per span, flat | CPU µs per span, nested |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        if result.failure:
            lines.append(
                f"| {result.label} | {result.version} | failed: {result.failure} | | | | |"
            )
            continue
        lines.append(
            f"| {result.label} | {result.version or '-'} | {_num(result.import_ms)} "
            f"| {_num(result.flat_us)} | {_num(result.nested_us)} "
            f"| {_num(result.cpu_flat_us)} | {_num(result.cpu_nested_us)} |"
        )
    lines += ["", *_sdk_notes(results, e2e)]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _sdk_notes(results: Sequence["sdk.TracerResult"], e2e: "sdk.EndToEnd") -> list[str]:
    notes = []
    ours = next((r for r in results if r.key == "daytwo" and not r.failure), None)
    if ours is not None and ours.flat_us is not None and ours.nested_us is not None:
        caller = max(ours.flat_us, ours.nested_us / 4)
        cpu = max(ours.cpu_flat_us or 0.0, ours.cpu_nested_us or 0.0)
        met = caller <= SDK_AIM_CALLER_US and cpu <= SDK_AIM_CPU_US
        notes.append(
            f"- Aim for daytwo: at most {SDK_AIM_CALLER_US:.0f} µs per span on the caller's "
            f"thread and {SDK_AIM_CPU_US:.0f} µs of process CPU per span with export. "
            f"Measured {caller:.1f} µs and {cpu:.1f} µs (the worse of flat and nested): "
            f"**{'met' if met else 'not met'}**."
        )
        for peer in results:
            if peer.key in ("daytwo", "undecorated") or peer.failure or not peer.flat_us:
                continue
            notes.append(
                f"- {peer.label} / daytwo: {peer.flat_us / ours.flat_us:.1f}x the caller time "
                f"flat, {(peer.nested_us or 0) / ours.nested_us:.1f}x nested, "
                f"{(peer.cpu_flat_us or 0) / (ours.cpu_flat_us or 1):.1f}x the CPU per span."
            )
    if e2e.failure:
        notes.append(f"- End to end: failed: {e2e.failure}")
    elif e2e.queryable_seconds:
        notes.append(
            f"- End to end: {e2e.spans:,} spans (traces of an agent span with tool, retrieval "
            f"and llm children) from one process into `daytwo serve` on SQLite: the SDK "
            f"flushed them in {e2e.sdk_seconds:.1f} s and all were queryable after "
            f"{e2e.queryable_seconds:.1f} s, {e2e.spans / e2e.queryable_seconds:,.0f} spans/s "
            f"delivered ({e2e.extra})."
        )
    return notes
