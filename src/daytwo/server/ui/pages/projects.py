"""The projects overview: each project's traffic, errors, cost and latency this day and week."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine

from daytwo.model.views import AggregateRow, ProjectSummary
from daytwo.server.deps import ServicesDep
from daytwo.server.ui.templating import render
from daytwo.storage import aggregates, queries
from daytwo.storage.aggregates import AggregateQuery, GroupBy, Scope

router = APIRouter(include_in_schema=False)

# Each period: its length, and the bucket of its sparkline (24 points for a day, 28 for a week).
PERIODS = {"day": (timedelta(days=1), "1h"), "week": (timedelta(days=7), "6h")}


@dataclass
class PeriodFigures:
    """One project's totals over a period, and its traces per bucket for the sparkline."""

    totals: AggregateRow | None = None
    traces: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)


@dataclass
class ProjectOverview:
    summary: ProjectSummary
    periods: dict[str, PeriodFigures]


@router.get("/", response_class=HTMLResponse)
def home(services: ServicesDep) -> RedirectResponse:
    """Open the projects overview."""
    return RedirectResponse("/projects", status_code=307)


@router.get("/projects", response_class=HTMLResponse)
def overview(request: Request, services: ServicesDep) -> HTMLResponse:
    """Show every project with its last day and week."""
    now = datetime.now(UTC)
    figures = {name: _period(services.engine, now, name) for name in PERIODS}
    found = [
        ProjectOverview(project, {name: figures[name][project.name] for name in PERIODS})
        for project in queries.list_projects(services.engine)
    ]
    return render(request, "projects.html", projects=found, now=now)


def _period(engine: Engine, now: datetime, name: str) -> dict[str, PeriodFigures]:
    length, bucket = PERIODS[name]
    totals = AggregateQuery(now - length, now, group_by=GroupBy.PROJECT, scope=Scope.TRACES)
    by_project: dict[str, PeriodFigures] = defaultdict(PeriodFigures)
    for row in aggregates.aggregate(engine, totals).rows:
        by_project[row.group or ""].totals = row
    series = replace(totals, bucket=bucket, percentiles=False, fill=True)
    for row in aggregates.aggregate(engine, series).rows:
        figures = by_project[row.group or ""]
        figures.traces.append(row.count)
        figures.cost.append(row.cost)
    return by_project
