"""The traces explorer: a project's traces, filtered, sorted and paged, the whole view in the URL.

The query string uses the names of the query API (``GET /api/v1/projects/{p}/traces``),
so a view can be shared as a link and read back by a script. Values are parsed
here rather than by FastAPI so that a bad one is an HTML page naming it, with
status 400, instead of the API's JSON. Each page is one keyset query of
`daytwo.storage.queries.list_traces`; nothing counts the whole project.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from starlette.datastructures import QueryParams

from daytwo.model import SpanKind, SpanStatus
from daytwo.model.views import Page, TraceSummary
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.pages.errors import not_found
from daytwo.server.ui.templating import render
from daytwo.storage import queries
from daytwo.storage.filters import InvalidQueryError, NotFoundError, ScoreFilter, TraceFilter
from daytwo.storage.paging import MAX_CURSOR_CHARS
from daytwo.storage.queries import DEFAULT_PAGE, MAX_PAGE, Sort

router = APIRouter(include_in_schema=False)

EnumT = TypeVar("EnumT", bound=StrEnum)
Parser = Callable[[str, str], Any]

# The columns a header can sort by, with their labels.
SORTABLE = {
    Sort.START_TIME: "Started",
    Sort.DURATION: "Duration",
    Sort.TOKENS: "Tokens",
    Sort.COST: "Cost",
}


class FilterError(ValueError):
    """A query-string value that cannot be used, with what was expected."""


def _text(name: str, text: str) -> str:
    return text


def _time(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(
            f"{name} must be an ISO-8601 time such as 2026-05-01T09:30 (UTC), not {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _amount(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FilterError(f"{name} must be a number, not {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise FilterError(f"{name} must be zero or a positive number, not {text!r}")
    return value


def _count(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise FilterError(f"{name} must be a whole number, not {text!r}") from None
    if value < 0:
        raise FilterError(f"{name} must be zero or more, not {text!r}")
    return value


def _boolean(name: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise FilterError(f"{name} must be true or false, not {text!r}")
    return text.lower() == "true"


def _choice(kind: type[EnumT]) -> Callable[[str, str], EnumT]:
    def parse(name: str, text: str) -> EnumT:
        try:
            return kind(text)
        except ValueError:
            expected = ", ".join(member.value for member in kind)
            raise FilterError(f"unknown {name} {text!r}; expected one of: {expected}") from None

    return parse


# Each query parameter of the filter: the `TraceFilter` field it sets and how to read it.
FILTERS: dict[str, tuple[str, Parser]] = {
    "from": ("start_from", _time),
    "to": ("start_to", _time),
    "search": ("search", _text),
    "name": ("name", _text),
    "name_prefix": ("name_prefix", _text),
    "name_contains": ("name_contains", _text),
    "model": ("model", _text),
    "prompt": ("prompt", _text),
    "prompt_version": ("prompt_version", _text),
    "kind": ("kind", _choice(SpanKind)),
    "status": ("status", _choice(SpanStatus)),
    "has_error": ("has_error", _boolean),
    "user_id": ("user_id", _text),
    "thread_id": ("thread_id", _text),
    "min_cost": ("min_cost", _amount),
    "max_cost": ("max_cost", _amount),
    "min_latency_ms": ("min_latency_ms", _amount),
    "max_latency_ms": ("max_latency_ms", _amount),
    "min_tokens": ("min_tokens", _count),
    "max_tokens": ("max_tokens", _count),
}
REPEATED = ("tag", "score")
VIEW = ("sort", "order", "limit")
# The parameters the form shows at once; the others are folded under "More filters".
UNFOLDED = {"search", "name_contains", "model", "kind", "status", "from", "to", *REPEATED}


@dataclass
class ExplorerQuery:
    """The explorer's view as the URL holds it, and the filter it parses to.

    ``values`` keeps every non-empty parameter as given (lists for the repeated
    ones, no cursor), so that the form shows what was typed even when it is wrong.
    """

    values: dict[str, str | list[str]] = field(default_factory=dict)
    sort: Sort = Sort.START_TIME
    descending: bool = True
    limit: int = DEFAULT_PAGE
    cursor: str | None = None
    found: TraceFilter = field(default_factory=TraceFilter)
    errors: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        """Return a single-valued parameter as given, or an empty string."""
        value = self.values.get(name, "")
        return value if isinstance(value, str) else ""

    def many(self, name: str) -> list[str]:
        """Return the values of a repeated parameter."""
        value = self.values.get(name, [])
        return value if isinstance(value, list) else [value]

    def sort_link(self, column: Sort) -> dict[str, str]:
        """Return the parameters that sort by ``column``: its other direction if sorted by it."""
        descending = not self.descending if column is self.sort else True
        return {"sort": column.value, "order": "desc" if descending else "asc"}

    def aria_sort(self, column: Sort) -> str | None:
        """Return the ``aria-sort`` of a column header, None when not sorted by it."""
        if column is not self.sort:
            return None
        return "descending" if self.descending else "ascending"

    @property
    def has_more_filters(self) -> bool:
        """Tell whether a filter of the folded part of the form is set."""
        return any(name in self.values for name in (*FILTERS, "limit") if name not in UNFOLDED)


def read_query(params: QueryParams) -> ExplorerQuery:
    """Return the view that ``params`` describe; values that cannot be used become errors."""
    query = ExplorerQuery(values=_given(params))
    query.cursor = params.get("cursor") or None
    values = _filter_values(query)
    scores = _score_filters(query)
    _read_view(query)
    if query.cursor is not None and len(query.cursor) > MAX_CURSOR_CHARS:
        query.errors.append(f"the cursor is longer than {MAX_CURSOR_CHARS} characters")
    try:
        query.found = TraceFilter(**values, tags=tuple(query.many("tag")), scores=scores)
    except InvalidQueryError as error:
        query.errors.append(str(error))
    return query


def _given(params: QueryParams) -> dict[str, str | list[str]]:
    given: dict[str, str | list[str]] = {}
    for name in (*FILTERS, *VIEW):
        text = (params.get(name) or "").strip()
        if text:
            given[name] = text
    for name in REPEATED:
        found = [text.strip() for text in params.getlist(name) if text.strip()]
        if found:
            given[name] = found
    return given


def _filter_values(query: ExplorerQuery) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (target, parse) in FILTERS.items():
        text = query.text(name)
        if not text:
            continue
        try:
            values[target] = parse(name, text)
        except FilterError as error:
            query.errors.append(str(error))
    return values


def _score_filters(query: ExplorerQuery) -> tuple[ScoreFilter, ...]:
    found = []
    for text in query.many("score"):
        try:
            found.append(ScoreFilter.parse(text))
        except InvalidQueryError as error:
            query.errors.append(str(error))
    return tuple(found)


def _read_view(query: ExplorerQuery) -> None:
    for name, read in (("sort", _sort), ("order", _order), ("limit", _limit)):
        text = query.text(name)
        if not text:
            continue
        try:
            read(query, text)
        except FilterError as error:
            query.errors.append(str(error))


def _sort(query: ExplorerQuery, text: str) -> None:
    query.sort = _choice(Sort)("sort", text)


def _order(query: ExplorerQuery, text: str) -> None:
    if text not in ("asc", "desc"):
        raise FilterError(f"order must be asc or desc, not {text!r}")
    query.descending = text == "desc"


def _limit(query: ExplorerQuery, text: str) -> None:
    limit = _count("limit", text)
    if not 1 <= limit <= MAX_PAGE:
        raise FilterError(f"limit must be from 1 to {MAX_PAGE}, not {limit}")
    query.limit = limit


def project_id_or_404(services: Services, name: str) -> int:
    """Return the id of project ``name``; an unknown project is a 404 page."""
    project_id = services.projects.lookup(name)
    if project_id is None:
        raise not_found(f"There is no project named {name!r}.")
    return project_id


def _page(engine: Engine, project_id: int, query: ExplorerQuery) -> Page[TraceSummary]:
    if query.errors:
        return Page[TraceSummary](items=[])
    try:
        return queries.list_traces(
            engine,
            project_id,
            query.found,
            sort=query.sort,
            descending=query.descending,
            limit=query.limit,
            cursor=query.cursor,
        )
    except (InvalidQueryError, NotFoundError) as error:
        query.errors.append(str(error))
        return Page[TraceSummary](items=[])


@router.get("/projects/{project}/traces", response_class=HTMLResponse)
def explorer(request: Request, services: ServicesDep, project: str) -> HTMLResponse:
    """Show one page of a project's traces, as the query string filters and sorts them."""
    project_id = project_id_or_404(services, project)
    query = read_query(request.query_params)
    page = _page(services.engine, project_id, query)
    return render(
        request,
        "traces.html",
        status_code=400 if query.errors else 200,
        project=project,
        section="traces",
        query=query,
        traces=page.items,
        next_cursor=page.next_cursor,
        sortable=SORTABLE,
        kinds=[(kind.value, kind.value) for kind in SpanKind],
        statuses=[(status.value, status.value) for status in SpanStatus],
    )
