"""Query-string parameters of the query API, turned into storage filters.

Each dependency here declares its parameters once, with bounds and a
description for the OpenAPI schema, and returns the filter object that
`daytwo.storage` understands. A value that parses but cannot be used (a
minimum above its maximum, a malformed score filter) answers 400.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Query

from daytwo.model import SpanKind, SpanStatus
from daytwo.model.ids import InvalidIdError, normalize_span_id, normalize_trace_id
from daytwo.server.errors import ApiError
from daytwo.storage.aggregates import AggregateQuery, GroupBy, Scope, resolve_scope
from daytwo.storage.filters import (
    CommonFilter,
    InvalidQueryError,
    NotFoundError,
    ScoreFilter,
    SpanFilter,
    TraceFilter,
)
from daytwo.storage.paging import MAX_CURSOR_CHARS
from daytwo.storage.queries import MAX_PAGE

ResultT = TypeVar("ResultT")

DEFAULT_AGGREGATE_RANGE = timedelta(hours=24)

SCORE_SYNTAX = (
    "`score` filters by score, repeated for several (all must match): "
    "`name:min:max` keeps traces with a numeric or boolean score `name` between min and "
    "max inclusive (either bound may be empty: `quality:0.8:`, `latency::2`); "
    "`name=value` keeps traces with a score `name` equal to a label (`verdict=pass`), a "
    "number (`stars=5`) or a boolean (`correct=true`). Scores on the trace or on any of "
    "its spans count."
)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Items per page, at most {MAX_PAGE}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_CHARS,
        description="The `next_cursor` of the previous page, with the same sort and order; "
        "omit it for the first page.",
    ),
]
Order = Annotated[
    Literal["asc", "desc"],
    Query(description="Sort direction; values that are not known sort last either way."),
]


@contextmanager
def answering_errors() -> Iterator[None]:
    """Answer storage's query errors: 400 for a bad query, 404 for a missing part."""
    try:
        yield
    except InvalidQueryError as error:
        raise ApiError(400, str(error)) from None
    except NotFoundError as error:
        raise ApiError(404, str(error)) from None


def built(make: Callable[..., ResultT], **values: Any) -> ResultT:
    """Call ``make(**values)``, answering 400 when the values do not fit together."""
    with answering_errors():
        return make(**values)


def trace_id_or_404(value: str, project: str) -> str:
    """Return a trace id in stored form; an id that cannot exist answers 404."""
    try:
        return normalize_trace_id(value)
    except InvalidIdError:
        raise ApiError(404, f"no trace {value!r} in project {project!r}") from None


def span_id_or_404(value: str, trace_id: str) -> str:
    """Return a span id in stored form; an id that cannot exist answers 404."""
    try:
        return normalize_span_id(value)
    except InvalidIdError:
        raise ApiError(404, f"no span {value!r} in trace {trace_id!r}") from None


def _optional_id(value: str | None, normalize: Callable[[str], str], name: str) -> str | None:
    if value is None:
        return None
    try:
        return normalize(value)
    except InvalidIdError as error:
        raise ApiError(400, f"invalid {name}: {error}") from None


def common_filter(
    start_from: Annotated[
        datetime | None,
        Query(alias="from", description="Started at or after this ISO-8601 time."),
    ] = None,
    start_to: Annotated[
        datetime | None, Query(alias="to", description="Started before this ISO-8601 time.")
    ] = None,
    name: Annotated[str | None, Query(description="Name equal to this.")] = None,
    name_prefix: Annotated[str | None, Query(description="Name starting with this.")] = None,
    name_contains: Annotated[
        str | None, Query(description="Name containing this, ignoring case.")
    ] = None,
    status: Annotated[
        SpanStatus | None, Query(description="Status; `unset` matches a status never set.")
    ] = None,
    has_error: Annotated[
        bool | None, Query(description="True: only with errors; false: only without.")
    ] = None,
    tag: Annotated[
        list[str], Query(description="Carries this tag; repeat for several, all required.")
    ] = [],  # noqa: B006 (FastAPI copies the default for each request)
    search: Annotated[
        str | None,
        Query(min_length=1, description="Text in the input or output preview, ignoring case."),
    ] = None,
    min_cost: Annotated[float | None, Query(ge=0, description="Total cost at least, USD.")] = None,
    max_cost: Annotated[float | None, Query(ge=0, description="Total cost at most, USD.")] = None,
    min_latency_ms: Annotated[float | None, Query(ge=0, description="Duration at least.")] = None,
    max_latency_ms: Annotated[float | None, Query(ge=0, description="Duration at most.")] = None,
    min_tokens: Annotated[int | None, Query(ge=0, description="Total tokens at least.")] = None,
    max_tokens: Annotated[int | None, Query(ge=0, description="Total tokens at most.")] = None,
) -> CommonFilter:
    """Collect the filters that traces and spans share."""
    return built(
        CommonFilter,
        start_from=start_from,
        start_to=start_to,
        name=name,
        name_prefix=name_prefix,
        name_contains=name_contains,
        status=status,
        has_error=has_error,
        tags=tuple(tag),
        search=search,
        min_cost=min_cost,
        max_cost=max_cost,
        min_latency_ms=min_latency_ms,
        max_latency_ms=max_latency_ms,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
    )


def _fields(common: CommonFilter) -> dict[str, Any]:
    return {field.name: getattr(common, field.name) for field in fields(CommonFilter)}


CommonFilterDep = Annotated[CommonFilter, Depends(common_filter)]
KindParam = Annotated[SpanKind | None, Query(description="Span kind.")]
ModelParam = Annotated[str | None, Query(description="Model name, as reported.")]


def trace_filter(
    common: CommonFilterDep,
    kind: Annotated[SpanKind | None, Query(description="Has a span of this kind.")] = None,
    model: Annotated[str | None, Query(description="Has a span that called this model.")] = None,
    prompt: Annotated[
        str | None, Query(description="Has an llm span that recorded this managed prompt.")
    ] = None,
    prompt_version: Annotated[
        str | None,
        Query(
            description="With `prompt`: the span recorded this version of it (a number, or "
            "`default` for the fallback template)."
        ),
    ] = None,
    user_id: Annotated[str | None, Query(description="The trace's user.")] = None,
    thread_id: Annotated[str | None, Query(description="The trace's thread.")] = None,
    score: Annotated[list[str], Query(description=SCORE_SYNTAX)] = [],  # noqa: B006
) -> TraceFilter:
    """Build the trace filter of a request."""
    scores = tuple(built(ScoreFilter.parse, text=text) for text in score)
    return built(
        TraceFilter,
        **_fields(common),
        kind=kind,
        model=model,
        prompt=prompt,
        prompt_version=prompt_version,
        user_id=user_id,
        thread_id=thread_id,
        scores=scores,
    )


def span_filter(
    common: CommonFilterDep,
    kind: KindParam = None,
    model: ModelParam = None,
    provider: Annotated[str | None, Query(description="Model provider.")] = None,
    trace_id: Annotated[str | None, Query(description="Belongs to this trace.")] = None,
    parent_id: Annotated[str | None, Query(description="Child of this span.")] = None,
    root_only: Annotated[bool, Query(description="Only spans without a parent.")] = False,
) -> SpanFilter:
    """Build the span filter of a request."""
    return built(
        SpanFilter,
        **_fields(common),
        kind=kind,
        model=model,
        provider=provider,
        trace_id=_optional_id(trace_id, normalize_trace_id, "trace_id"),
        parent_id=_optional_id(parent_id, normalize_span_id, "parent_id"),
        root_only=root_only,
    )


TraceFilterDep = Annotated[TraceFilter, Depends(trace_filter)]
SpanFilterDep = Annotated[SpanFilter, Depends(span_filter)]


@dataclass(frozen=True, slots=True)
class AggregateSpec:
    """An aggregate request before its projects are known."""

    start: datetime
    end: datetime
    group_by: GroupBy | None
    bucket: str | None
    scope: Scope
    fill: bool
    percentiles: bool
    filter: TraceFilter | SpanFilter

    def query(self, project_ids: tuple[int, ...] | None) -> AggregateQuery:
        """Return the storage query over ``project_ids`` (None: every project)."""
        return built(
            AggregateQuery,
            start=self.start,
            end=self.end,
            project_ids=project_ids,
            bucket=self.bucket,
            group_by=self.group_by,
            scope=self.scope,
            filter=self.filter,
            fill=self.fill,
            percentiles=self.percentiles,
        )


@dataclass(frozen=True, slots=True)
class AggregateFilters:
    """The filters of an aggregate request, before its scope is known."""

    name: str | None
    kind: SpanKind | None
    model: str | None
    provider: str | None
    user_id: str | None
    status: SpanStatus | None
    tags: tuple[str, ...]

    def for_scope(self, scope: Scope) -> TraceFilter | SpanFilter:
        """Return the filter for ``scope``; a filter the scope cannot apply answers 400."""
        shared: dict[str, Any] = {"name": self.name, "kind": self.kind, "model": self.model}
        shared.update(status=self.status, tags=self.tags)
        if scope is Scope.SPANS:
            if self.user_id is not None:
                raise ApiError(400, "user_id filters traces; add scope=traces or drop user_id")
            return built(SpanFilter, **shared, provider=self.provider)
        if self.provider is not None:
            raise ApiError(400, "provider filters spans; add scope=spans or drop provider")
        return built(TraceFilter, **shared, user_id=self.user_id)


def aggregate_filters(
    name: Annotated[str | None, Query(description="Only spans or traces of this name.")] = None,
    kind: Annotated[SpanKind | None, Query(description="Only spans of this kind.")] = None,
    model: Annotated[str | None, Query(description="Only spans of this model.")] = None,
    provider: Annotated[str | None, Query(description="Only spans of this provider.")] = None,
    user_id: Annotated[str | None, Query(description="Only traces of this user.")] = None,
    status: Annotated[SpanStatus | None, Query(description="Only this status.")] = None,
    tag: Annotated[
        list[str], Query(description="Only with this tag; repeat for several, all required.")
    ] = [],  # noqa: B006 (FastAPI copies the default for each request)
) -> AggregateFilters:
    """Collect the filters of an aggregate; on traces ``kind`` and ``model`` match spans."""
    return AggregateFilters(name, kind, model, provider, user_id, status, tuple(tag))


def aggregate_spec(
    filters: Annotated[AggregateFilters, Depends(aggregate_filters)],
    group_by: Annotated[
        GroupBy | None,
        Query(
            description="Group rows by this besides the bucket: model, provider, span_name "
            "and kind count spans; trace_name and user count traces; tag and project either."
        ),
    ] = None,
    bucket: Annotated[
        str | None,
        Query(
            pattern=r"^([1-9][0-9]{0,5}[smhd]|none)$",
            description="Bucket width: a count and a unit (s, m, h, d) such as 5m or 1h; "
            "omit it or pass none for one row per group over the whole range.",
        ),
    ] = None,
    scope: Annotated[
        Scope | None,
        Query(description="Count spans or traces; by default what group_by implies, else traces."),
    ] = None,
    start: Annotated[
        datetime | None,
        Query(alias="from", description="Range start, ISO-8601; 24 hours before `to` by default."),
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Range end, excluded; now by default.")
    ] = None,
    fill: Annotated[
        bool, Query(description="Add empty buckets with zero counts, for every group.")
    ] = True,
    percentiles: Annotated[
        bool,
        Query(
            description="Compute the latency percentiles; false makes an aggregate over many "
            "spans several times quicker on SQLite."
        ),
    ] = True,
) -> AggregateSpec:
    """Build an aggregate request, over the 24 hours before now by default."""
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_AGGREGATE_RANGE
    resolved = resolve_scope(group_by, scope)
    chosen = filters.for_scope(resolved)
    return AggregateSpec(start, end, group_by, bucket, resolved, fill, percentiles, chosen)


AggregateSpecDep = Annotated[AggregateSpec, Depends(aggregate_spec)]
