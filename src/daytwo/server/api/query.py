"""The query API: projects, traces, spans, threads and aggregates, read-only.

Projects are named in paths by their name. Listings page with an opaque
cursor: pass the ``next_cursor`` of one page, with the same sort, to read the
next. Times are ISO-8601 in parameters and UTC in answers. Errors use the one
error shape of `daytwo.server.errors`.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from daytwo.model.views import (
    AggregateResult,
    Page,
    ProjectSummary,
    SpanDetail,
    SpanSummary,
    ThreadSummary,
    ThreadView,
    TraceSummary,
    TraceTree,
)
from daytwo.server.api.query_params import (
    SCORE_SYNTAX,
    AggregateSpecDep,
    Cursor,
    Limit,
    Order,
    SpanFilterDep,
    TraceFilterDep,
    answering_errors,
    built,
    span_id_or_404,
    trace_id_or_404,
)
from daytwo.server.deps import ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError
from daytwo.storage import aggregates, queries, threads, trees
from daytwo.storage.aggregates import GroupBy
from daytwo.storage.queries import DEFAULT_PAGE, Sort
from daytwo.storage.threads import ThreadFilter, ThreadSort

router = APIRouter(prefix="/api/v1", tags=["query"], responses=ERROR_RESPONSES)

ProjectName = Annotated[str, Path(description="The project's name.")]
SortParam = Annotated[Sort, Query(description="The column to sort by.")]
MAX_TREE_WINDOW = 100_000


@router.get("/projects", summary="List projects")
def list_projects(services: ServicesDep) -> list[ProjectSummary]:
    """List every project, by name, with its trace count, cost and last activity."""
    return queries.list_projects(services.engine)


_LIST_TRACES = f"""List the traces of a project, newest first unless sorted otherwise.

Filters combine with AND. `kind`, `model`, `prompt` and `prompt_version` keep
the traces that have a span with all of them: `prompt=support&prompt_version=3`
keeps the traces with an llm call that recorded version 3 of the managed prompt
`support`. Traces come with previews and their own scores; open a trace for its
spans and payloads.

{SCORE_SYNTAX}
"""


@router.get("/projects/{project}/traces", summary="List traces", description=_LIST_TRACES)
def list_traces(
    services: ServicesDep,
    project: ProjectName,
    found: TraceFilterDep,
    sort: SortParam = Sort.START_TIME,
    order: Order = "desc",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[TraceSummary]:
    """List the traces of a project that match every filter."""
    project_id = services.project_id(project)
    with answering_errors():
        return queries.list_traces(
            services.engine,
            project_id,
            found,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            cursor=cursor,
        )


@router.get("/projects/{project}/traces/{trace_id}", summary="Open a trace as a tree")
def get_trace(
    services: ServicesDep,
    project: ProjectName,
    trace_id: Annotated[str, Path(description="The trace id (32 hex digits or a UUID).")],
    parent_id: Annotated[
        str | None,
        Query(description="Return this span's descendants only (its children by default)."),
    ] = None,
    max_depth: Annotated[
        int | None,
        Query(ge=0, description="Deepest level returned; roots are at depth 0."),
    ] = None,
    offset: Annotated[int, Query(ge=0, description="Spans to skip, in tree order.")] = 0,
    limit: Annotated[
        int | None,
        Query(ge=1, le=MAX_TREE_WINDOW, description="Spans to return; all when omitted."),
    ] = None,
    previews: Annotated[
        bool, Query(description="Include each span's input and output previews.")
    ] = False,
) -> TraceTree:
    """Return a trace with its scores and its spans, depth first, children by start time.

    Spans come as one flat list with each span's `depth` and `child_count`, so a
    large trace renders as a virtualised list. Load a large tree in windows
    (`offset`, `limit`), level by level (`max_depth`), or one span's children at a
    time (`parent_id`). A span whose parent is missing is shown at the root
    level with `orphan` set.
    """
    stored_id = trace_id_or_404(trace_id, project)
    parent = span_id_or_404(parent_id, stored_id) if parent_id is not None else None
    options = built(
        trees.TreeOptions,
        parent_id=parent,
        max_depth=max_depth,
        offset=offset,
        limit=limit,
        previews=previews,
    )
    project_id = services.project_id(project)
    with answering_errors():
        tree = trees.trace_tree(services.engine, project_id, stored_id, options)
    if tree is None:
        raise ApiError(404, f"no trace {trace_id!r} in project {project!r}")
    return tree


@router.get("/projects/{project}/traces/{trace_id}/spans/{span_id}", summary="Open a span")
def get_span(
    services: ServicesDep,
    project: ProjectName,
    trace_id: Annotated[str, Path(description="The trace id.")],
    span_id: Annotated[str, Path(description="The span id (16 or 32 hex digits).")],
) -> SpanDetail:
    """Return one span with its whole input, output, metadata, detail and scores."""
    stored_trace = trace_id_or_404(trace_id, project)
    stored_span = span_id_or_404(span_id, trace_id)
    project_id = services.project_id(project)
    span = queries.span_detail(services.engine, project_id, stored_trace, stored_span)
    if span is None:
        raise ApiError(404, f"no span {span_id!r} in trace {trace_id!r} of project {project!r}")
    return span


@router.get("/projects/{project}/spans", summary="List spans")
def list_spans(
    services: ServicesDep,
    project: ProjectName,
    found: SpanFilterDep,
    sort: SortParam = Sort.START_TIME,
    order: Order = "desc",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[SpanSummary]:
    """List the spans of a project across its traces, newest first unless sorted otherwise."""
    project_id = services.project_id(project)
    with answering_errors():
        return queries.list_spans(
            services.engine,
            project_id,
            found,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            cursor=cursor,
        )


@router.get("/projects/{project}/threads", summary="List threads")
def list_threads(
    services: ServicesDep,
    project: ProjectName,
    active_from: Annotated[
        datetime | None,
        Query(alias="from", description="With a trace that started at or after this time."),
    ] = None,
    active_to: Annotated[
        datetime | None, Query(alias="to", description="With a trace that started before this.")
    ] = None,
    user_id: Annotated[str | None, Query(description="Count only this user's traces.")] = None,
    sort: Annotated[ThreadSort, Query(description="What to sort by.")] = ThreadSort.LAST_TIME,
    order: Order = "desc",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[ThreadSummary]:
    """List the conversations of a project: traces grouped by thread id, latest first."""
    found = built(ThreadFilter, active_from=active_from, active_to=active_to, user_id=user_id)
    project_id = services.project_id(project)
    with answering_errors():
        return threads.list_threads(
            services.engine,
            project_id,
            found,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            cursor=cursor,
        )


@router.get("/projects/{project}/threads/{thread_id:path}", summary="Open a thread")
def get_thread(
    services: ServicesDep,
    project: ProjectName,
    thread_id: Annotated[str, Path(description="The thread id, as the application set it.")],
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> ThreadView:
    """Return a thread's figures, its scores, and a page of its traces, oldest first."""
    project_id = services.project_id(project)
    with answering_errors():
        view = threads.thread_view(
            services.engine, project_id, thread_id, limit=limit, cursor=cursor
        )
    if view is None:
        raise ApiError(404, f"no thread {thread_id!r} in project {project!r}")
    return view


@router.get("/projects/{project}/aggregates", summary="Aggregate a project over time")
def project_aggregates(
    services: ServicesDep, project: ProjectName, spec: AggregateSpecDep
) -> AggregateResult:
    """Count, errors, latency p50/p95/p99, tokens and cost by time bucket and group.

    Buckets align on the Unix epoch in UTC (a `1d` bucket starts at midnight UTC).
    Latency percentiles interpolate linearly. `cost` sums the known costs;
    `cost_unknown_count` counts the llm spans with usage but no price.
    """
    if spec.group_by is GroupBy.PROJECT:
        raise ApiError(400, "group_by=project needs the cross-project route /api/v1/aggregates")
    query = spec.query((services.project_id(project),))
    with answering_errors():
        return aggregates.aggregate(services.engine, query)


@router.get("/aggregates", summary="Aggregate across projects over time")
def all_aggregates(
    services: ServicesDep,
    spec: AggregateSpecDep,
    project: Annotated[
        list[str], Query(description="Only these projects (repeat); all when omitted.")
    ] = [],  # noqa: B006 (FastAPI copies the default for each request)
) -> AggregateResult:
    """Aggregate as the per-project route does, across projects; `group_by=project` allowed."""
    project_ids = tuple(services.project_id(each) for each in project) or None
    with answering_errors():
        return aggregates.aggregate(services.engine, spec.query(project_ids))
