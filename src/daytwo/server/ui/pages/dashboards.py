"""The project dashboard: traffic, errors, latency, tokens and cost over time, and cost by group.

Every chart is drawn in the browser from numbers the page carries in a JSON
block, shows the same numbers in a table beneath it, and downloads them as CSV
from ``dashboard.csv?chart=NAME`` with the same range parameters.
"""

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from starlette.datastructures import QueryParams

from daytwo.model import SpanKind
from daytwo.model.views import AggregateRow
from daytwo.server.deps import ServicesDep
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.templating import render
from daytwo.storage import aggregates
from daytwo.storage.aggregates import AggregateQuery, GroupBy, parse_bucket
from daytwo.storage.filters import InvalidQueryError, SpanFilter

router = APIRouter(include_in_schema=False)

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_RANGE = "24h"
# Bucket widths to choose from, narrowest first; the first that cuts the range
# into at most MOST_BUCKETS is the default (24 h: 30 min, 7 d: 3 h, 30 d: 12 h).
WIDTHS: tuple[str, ...] = ("1s", "5s", "10s", "15s", "30s", "1m", "5m", "10m", "15m", "30m")
WIDTHS += ("1h", "2h", "3h", "6h", "12h", "1d", "2d", "7d", "30d")
MOST_BUCKETS = 60
# A page draws one point per bucket; past this a chart is unreadable anyway.
MAX_PAGE_BUCKETS = 1500
# Times a range may start or end at, far enough inside what datetime holds to add a bucket.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TOP_GROUPS = 5
SHOWN_GROUPS = 100


@dataclass(frozen=True, slots=True)
class Window:
    """The range a dashboard shows, its bucket, and the URL parameters that chose them."""

    start: datetime
    end: datetime
    bucket: str
    preset: str | None
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: list[float | None]


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: a value per bucket for each series, in ``unit`` ($, ms or a count)."""

    name: str
    title: str
    unit: str
    times: list[datetime]
    series: list[Series]

    def spec(self) -> dict[str, Any]:
        """Return the chart as ``static/daytwo.js`` draws it."""
        return {
            "x": [int(moment.timestamp()) for moment in self.times],
            "series": [{"label": s.label, "values": s.values} for s in self.series],
            "unit": self.unit,
        }

    def table(self) -> list[tuple[datetime, list[float | None]]]:
        """Return one row per bucket: its start and each series' value."""
        return [
            (moment, [s.values[index] for s in self.series])
            for index, moment in enumerate(self.times)
        ]


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Cost by one grouping: the top groups over time, and every group's totals."""

    name: str
    title: str
    label: str
    chart: Chart
    totals: list[AggregateRow]
    counts: str


@dataclass(slots=True)
class Dashboard:
    totals: AggregateRow | None = None
    charts: list[Chart] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Grouping:
    """How to break cost down: by what, and which spans or traces count."""

    by: GroupBy
    title: str
    label: str
    counts: str
    filter: SpanFilter | None = None


GROUPINGS = {
    "model": Grouping(
        GroupBy.MODEL, "Cost by model", "Model", "LLM calls", SpanFilter(kind=SpanKind.LLM)
    ),
    "span_name": Grouping(GroupBy.SPAN_NAME, "Cost by span name", "Span name", "Spans"),
    "tag": Grouping(GroupBy.TAG, "Cost by tag", "Tag", "Traces"),
    "user": Grouping(GroupBy.USER, "Cost by user", "User", "Traces"),
}
OVERVIEW = ("requests", "errors", "latency", "tokens", "cost")


def parse_window(params: QueryParams, now: datetime) -> Window:
    """Read the range and bucket of a dashboard URL; a value that cannot be used is an error."""
    start_text, end_text = params.get("start") or "", params.get("end") or ""
    preset = None if start_text or end_text else params.get("range") or DEFAULT_RANGE
    if preset is not None and preset not in RANGES:
        known = ", ".join(RANGES)
        raise InvalidQueryError(f"unknown range {preset!r}; expected one of: {known}")
    bucket = params.get("bucket") or None
    if bucket is not None:
        parse_bucket(bucket)
    if preset is not None:
        start, end, bucket = _preset(RANGES[preset], bucket, now)
    else:
        end = _time(end_text, "end") if end_text else now
        start = _time(start_text, "start") if start_text else end - RANGES[DEFAULT_RANGE]
        if start >= end:
            raise InvalidQueryError(f"start {start_text!r} is not before end {end_text!r}")
        bucket = bucket or default_bucket(end - start)
    _check_buckets(start, end, bucket)
    chosen = {"range": preset} if preset else {"start": start_text, "end": end_text}
    given = {"bucket": params["bucket"]} if params.get("bucket") else {}
    return Window(start, end, bucket, preset, {k: v for k, v in {**chosen, **given}.items() if v})


def _preset(length: timedelta, bucket: str | None, now: datetime) -> tuple[datetime, datetime, str]:
    """Return a range of ``length`` ending at the end of the current bucket."""
    bucket = bucket or default_bucket(length)
    width = timedelta(microseconds=parse_bucket(bucket) or 1)
    since_epoch = now - datetime(1970, 1, 1, tzinfo=UTC)
    end = now + (width - since_epoch % width) % width
    return end - length, end, bucket


def default_bucket(length: timedelta) -> str:
    """Return the narrowest bucket that cuts ``length`` into at most 60 buckets."""
    for width in WIDTHS:
        if length / timedelta(microseconds=parse_bucket(width) or 1) <= MOST_BUCKETS:
            return width
    return WIDTHS[-1]


def _time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidQueryError(
            f"invalid {name} time {text!r}; expected ISO-8601 such as 2026-12-01T09:00"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise InvalidQueryError(f"the {name} time {text!r} is not between 1970 and 9000")
    return moment


def _check_buckets(start: datetime, end: datetime, bucket: str) -> None:
    count = math.ceil((end - start) / timedelta(microseconds=parse_bucket(bucket) or 1))
    if count > MAX_PAGE_BUCKETS:
        raise InvalidQueryError(
            f"bucket {bucket!r} cuts the range into {count} buckets, more than "
            f"{MAX_PAGE_BUCKETS}; choose a wider bucket or a shorter range"
        )


def overview(
    engine: Engine, project_id: int, window: Window
) -> tuple[AggregateRow | None, list[Chart]]:
    """Return the range's totals and the charts of traces, errors, latency, tokens and cost."""
    query = _query(project_id, window)
    rows = aggregates.aggregate(engine, query).rows
    whole = aggregates.aggregate(engine, _query(project_id, window, bucketed=False)).rows
    times = [row.bucket_start for row in rows if row.bucket_start is not None]

    def chart(name: str, title: str, unit: str, *columns: tuple[str, str]) -> Chart:
        series = [
            Series(label, [getattr(row, column) for row in rows]) for column, label in columns
        ]
        return Chart(name, title, unit, times, series)

    charts = [
        chart("requests", "Requests", "", ("count", "traces")),
        chart("errors", "Errors", "", ("error_count", "traces with an error")),
        chart(
            "latency",
            "Latency",
            "ms",
            ("latency_p50_ms", "p50"),
            ("latency_p95_ms", "p95"),
            ("latency_p99_ms", "p99"),
        ),
        chart("tokens", "Tokens", "", ("input_tokens", "input"), ("output_tokens", "output")),
        chart("cost", "Cost", "$", ("cost", "cost")),
    ]
    return (whole[0] if whole else None), charts


def breakdown(engine: Engine, project_id: int, window: Window, key: str) -> Breakdown:
    """Return the cost by one grouping: its top groups per bucket and every group's totals."""
    grouping = GROUPINGS[key]
    whole = _query(project_id, window, grouping, bucketed=False)
    totals = aggregates.aggregate(engine, whole).rows
    totals.sort(key=lambda row: (-row.cost, -row.count, row.group or ""))
    # Not filled: empty buckets of every group could exceed the storage's row limit.
    series = _query(project_id, window, grouping, fill=False)
    rows = aggregates.aggregate(engine, series).rows
    top = [row.group for row in totals[:TOP_GROUPS]]
    title = f"Cost over time of the top {TOP_GROUPS}"
    chart = _top_groups(f"cost_by_{key}", title, window, rows, top)
    return Breakdown(key, grouping.title, grouping.label, chart, totals, grouping.counts)


def _top_groups(
    name: str, title: str, window: Window, rows: Iterable[AggregateRow], top: Sequence[str | None]
) -> Chart:
    """Return the cost per bucket of each top group, and of all the others together."""
    times = _bucket_starts(window)
    position = {moment: index for index, moment in enumerate(times)}
    cost: dict[str | None, list[float]] = {group: [0.0] * len(times) for group in top}
    other = [0.0] * len(times)
    for row in rows:
        index = position.get(row.bucket_start) if row.bucket_start else None
        if index is not None:
            cost.get(row.group, other)[index] += row.cost
    series = [Series(group_label(group), [*cost[group]]) for group in top]
    if any(other):
        series.append(Series("all others", [*other]))
    return Chart(name, title, "$", times, series)


def group_label(group: str | None) -> str:
    """Return a group's name as shown; spans or traces without one are "(none)"."""
    return "(none)" if group is None else group


def _bucket_starts(window: Window) -> list[datetime]:
    width = timedelta(microseconds=parse_bucket(window.bucket) or 1)
    since_epoch = window.start - datetime(1970, 1, 1, tzinfo=UTC)
    moment = window.start - since_epoch % width
    starts = []
    while moment < window.end:
        starts.append(moment)
        moment += width
    return starts


def _query(
    project_id: int,
    window: Window,
    grouping: Grouping | None = None,
    *,
    bucketed: bool = True,
    fill: bool = True,
) -> AggregateQuery:
    """Return the aggregate of ``window``; a breakdown by group skips the percentiles."""
    return AggregateQuery(
        window.start,
        window.end,
        (project_id,),
        bucket=window.bucket if bucketed else None,
        group_by=None if grouping is None else grouping.by,
        filter=None if grouping is None else grouping.filter,
        fill=fill,
        percentiles=grouping is None,
    )


@router.get("/projects/{project}/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, services: ServicesDep, project: str) -> HTMLResponse:
    """Show a project's traffic, errors, latency, tokens and cost over a range."""
    project_id = _project_id(services.projects.lookup(project), project)
    found, window, error = Dashboard(), None, None
    try:
        window = parse_window(request.query_params, datetime.now(UTC))
        found.totals, found.charts = overview(services.engine, project_id, window)
        found.breakdowns = [
            breakdown(services.engine, project_id, window, key) for key in GROUPINGS
        ]
    except InvalidQueryError as problem:
        error = str(problem)
    return render(
        request,
        "dashboard.html",
        status_code=400 if error else 200,
        project=project,
        section="dashboard",
        dashboard=found,
        window=window,
        ranges=list(RANGES),
        params=request.query_params,
        error=error,
        shown_groups=SHOWN_GROUPS,
        group_label=group_label,
    )


@router.get("/projects/{project}/dashboard.csv")
def dashboard_csv(request: Request, services: ServicesDep, project: str) -> Response:
    """Download the numbers of one dashboard chart as CSV."""
    project_id = _project_id(services.projects.lookup(project), project)
    name = request.query_params.get("chart") or ""
    try:
        window = parse_window(request.query_params, datetime.now(UTC))
        rows = _csv_rows(services.engine, project_id, window, name)
    except InvalidQueryError as problem:
        raise PageError(400, str(problem)) from None
    filename = f"{_slug(project)}-{name}-{window.start:%Y%m%dT%H%M}-{window.end:%Y%m%dT%H%M}.csv"
    return Response(
        _csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def chart_names() -> list[str]:
    """Return the name of every chart and table that downloads as CSV."""
    names = list(OVERVIEW)
    for key in GROUPINGS:
        names += [f"cost_by_{key}", f"totals_by_{key}"]
    return names


def _csv_rows(engine: Engine, project_id: int, window: Window, name: str) -> list[list[Any]]:
    """Return the header and rows of chart ``name``, computing only what it needs."""
    if name in OVERVIEW:
        charts = {chart.name: chart for chart in overview(engine, project_id, window)[1]}
        return _chart_rows(charts[name])
    kind, _, key = name.partition("_by_")
    if kind in ("cost", "totals") and key in GROUPINGS:
        found = breakdown(engine, project_id, window, key)
        return _chart_rows(found.chart) if kind == "cost" else _totals_rows(found)
    known = ", ".join(chart_names())
    raise InvalidQueryError(f"unknown chart {name!r}; expected one of: {known}")


def _chart_rows(chart: Chart) -> list[list[Any]]:
    header: list[Any] = ["bucket_start", *(series.label for series in chart.series)]
    body = [[moment.isoformat(), *values] for moment, values in chart.table()]
    return [header, *body]


TOTAL_COLUMNS: tuple[tuple[str, Callable[[AggregateRow], Any]], ...] = (
    ("count", lambda row: row.count),
    ("error_count", lambda row: row.error_count),
    ("input_tokens", lambda row: row.input_tokens),
    ("output_tokens", lambda row: row.output_tokens),
    ("cost_usd", lambda row: row.cost),
    ("unpriced_calls", lambda row: row.cost_unknown_count),
)


def _totals_rows(found: Breakdown) -> list[list[Any]]:
    header: list[Any] = [found.name, *(column for column, _ in TOTAL_COLUMNS)]
    body = [
        [group_label(row.group), *(value(row) for _, value in TOTAL_COLUMNS)]
        for row in found.totals
    ]
    return [header, *body]


def _csv_text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if value is None else _spreadsheet_safe(value) for value in row])
    return out.getvalue()


def _spreadsheet_safe(value: Any) -> Any:
    """Keep a group name such as ``=HYPERLINK(...)`` from running as a spreadsheet formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "project"


def _project_id(found: int | None, project: str) -> int:
    if found is None:
        raise not_found(f"no project named {project!r}")
    return found
