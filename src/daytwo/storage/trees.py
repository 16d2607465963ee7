"""One trace as a tree of spans, flat in display order, for a web UI to render.

A trace may hold tens of thousands of spans (MLflow's UI fails at about 33,000,
Opik takes 20 s to open 3,000), so the tree is not nested: it is one list in
depth-first order, children by start time, each span with its depth and its
number of children. A browser renders that as a virtualised list without
recursion, and can load it in windows (``offset``, ``limit``), down to a depth
(``max_depth``), or one span's children at a time (``parent_id``).

A span whose parent is not in the trace (not received yet, or lost) is an
orphan: it is shown at the root level and flagged. Spans whose parents form a
cycle are shown from their earliest span, flagged the same way.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, select

from daytwo.model.views import ScoreView, SpanNode, TraceTree
from daytwo.storage.filters import InvalidQueryError, NotFoundError
from daytwo.storage.queries import (
    TRACE_COLUMNS,
    group_scores,
    scores_of_trace,
    trace_summary,
)
from daytwo.storage.rows import from_micros
from daytwo.storage.tables import spans, trace_payloads, traces

# A span row as a plain dict.
Span = dict[str, Any]

_PLACEMENT = {"depth", "child_count", "orphan", "scores"}
_PREVIEWS = {"input_preview", "output_preview"}
NODE_COLUMNS = tuple(spans.c[name] for name in SpanNode.model_fields if name not in _PLACEMENT)
SHAPE_COLUMNS = tuple(column for column in NODE_COLUMNS if column.name not in _PREVIEWS)


@dataclass(frozen=True, slots=True)
class TreeOptions:
    """Which part of a tree to return.

    Without ``parent_id``: the whole tree, or the spans down to ``max_depth``
    (roots are at depth 0). With ``parent_id``: that span's descendants down to
    ``max_depth``, by default its children only. ``offset`` and ``limit`` then
    cut a window out of the result; ``previews`` adds input and output previews.
    """

    parent_id: str | None = None
    max_depth: int | None = None
    offset: int = 0
    limit: int | None = None
    previews: bool = False

    def __post_init__(self) -> None:
        if self.max_depth is not None and self.max_depth < 0:
            raise InvalidQueryError(f"max_depth {self.max_depth} is negative; roots are at 0")
        if self.offset < 0:
            raise InvalidQueryError(f"offset {self.offset} is negative")
        if self.limit is not None and self.limit < 1:
            raise InvalidQueryError(f"limit {self.limit} is below 1")


@dataclass(slots=True)
class Placed:
    """A span placed in the tree."""

    span_id: str
    depth: int
    child_count: int
    orphan: bool


# (id, parent_id, start_time), all that placing a span needs, as a tuple or a row.
Shape = Sequence[Any]


def _by_start(shape: Shape) -> tuple[bool, int, str]:
    return (shape[2] is None, shape[2] or 0, shape[0])


@dataclass(slots=True)
class _Walk:
    children: dict[str, list[Shape]]
    placed: list[Placed] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def visit(self, root: Shape, orphan: bool) -> None:
        """Place ``root`` and its descendants depth first, iteratively (trees can be deep)."""
        stack: list[tuple[str, int]] = [(root[0], 0)]
        seen, placed, children_of = self.seen, self.placed, self.children
        while stack:
            span_id, depth = stack.pop()
            if span_id in seen:
                continue
            seen.add(span_id)
            children = children_of.get(span_id, ())
            placed.append(Placed(span_id, depth, len(children), orphan and depth == 0))
            for child in reversed(children):
                stack.append((child[0], depth + 1))


def tree_order(shapes: Sequence[Shape]) -> list[Placed]:
    """Return spans, given as (id, parent_id, start_time), in tree order."""
    known = {shape[0] for shape in shapes}
    children: dict[str, list[Shape]] = defaultdict(list)
    roots = []
    for shape in shapes:
        span_id, parent, _ = shape
        if parent is None or parent == span_id or parent not in known:
            roots.append(shape)
        else:
            children[parent].append(shape)
    for siblings in children.values():
        siblings.sort(key=_by_start)
    walk = _Walk(children)
    for root in sorted(roots, key=_by_start):
        walk.visit(root, orphan=root[1] is not None)
    if len(walk.seen) < len(known):
        # Spans whose parents form a cycle hang from no root: show each cycle at the root.
        for shape in sorted(shapes, key=_by_start):
            if shape[0] not in walk.seen:
                walk.visit(shape, orphan=True)
    return walk.placed


def choose(placed: list[Placed], parent_id: str | None, max_depth: int | None) -> list[Placed]:
    """Return the part of a tree that `TreeOptions` describes, still in tree order."""
    if parent_id is None:
        return placed if max_depth is None else [p for p in placed if p.depth <= max_depth]
    start = next((i for i, p in enumerate(placed) if p.span_id == parent_id), None)
    if start is None:
        raise NotFoundError(f"no span {parent_id!r} in this trace to list the children of")
    top = placed[start].depth
    deepest = top + 1 if max_depth is None else max_depth
    chosen = []
    for candidate in placed[start + 1 :]:
        if candidate.depth <= top:
            break
        if candidate.depth <= deepest:
            chosen.append(candidate)
    return chosen


def trace_tree(
    engine: Engine, project_id: int, trace_id: str, options: TreeOptions | None = None
) -> TraceTree | None:
    """Return a trace with its spans in tree order, or None if there is no such trace."""
    options = options or TreeOptions()
    s = spans.c
    in_trace = (s.project_id == project_id, s.trace_id == trace_id)
    with engine.connect() as connection:
        trace = connection.execute(
            select(*TRACE_COLUMNS).where(traces.c.project_id == project_id, traces.c.id == trace_id)
        ).one_or_none()
        if trace is None:
            return None
        shapes = connection.execute(select(s.id, s.parent_id, s.start_time).where(*in_trace)).all()
        chosen = choose(tree_order(shapes), options.parent_id, options.max_depth)
        end = len(chosen) if options.limit is None else options.offset + options.limit
        window = chosen[options.offset : end]
        details = _details(connection, in_trace, window, len(shapes), options.previews)
        found = scores_of_trace(connection, project_id, trace_id)
        payload = None if options.parent_id else _payload(connection, project_id, trace_id)
    span_scores = group_scores((score for score in found if score.span_id), "span_id")
    return TraceTree(
        trace=trace_summary(trace._mapping, [score for score in found if score.span_id is None]),
        **(payload or {}),
        spans=[_node(p, details[p.span_id], span_scores) for p in window],
        total_nodes=len(chosen),
        next_offset=end if end < len(chosen) else None,
    )


def _details(
    connection: Connection,
    in_trace: tuple[ColumnElement[bool], ...],
    window: list[Placed],
    span_count: int,
    previews: bool,
) -> dict[str, Span]:
    """Return the node columns of the spans in ``window``, by span id."""
    columns = NODE_COLUMNS if previews else SHAPE_COLUMNS
    query = select(*columns).where(*in_trace)
    # Past a quarter of the trace, reading it whole costs less than looking spans up.
    if len(window) * 4 > span_count:
        batches = [query]
    else:
        ids = [placed.span_id for placed in window]
        batches = [query.where(spans.c.id.in_(ids[i : i + 500])) for i in range(0, len(ids), 500)]
    details: dict[str, Span] = {}
    for batch in batches:
        result = connection.execute(batch)
        # Plain dicts: a Row's attribute access costs more than the whole tree walk.
        keys = list(result.keys())
        for row in result.all():
            details[row[0]] = dict(zip(keys, row, strict=True))
    return details


def _node(placed: Placed, values: Span, span_scores: dict[str, list[ScoreView]]) -> SpanNode:
    values = dict(values)
    values.update(
        start_time=from_micros(values["start_time"]),
        end_time=from_micros(values["end_time"]),
        depth=placed.depth,
        child_count=placed.child_count,
        orphan=placed.orphan,
        scores=span_scores.get(placed.span_id, []),
    )
    return SpanNode.model_validate(values)


def _payload(connection: Connection, project_id: int, trace_id: str) -> dict[str, Any] | None:
    p = trace_payloads.c
    row = connection.execute(
        select(p.input, p.output, p.metadata).where(
            p.project_id == project_id, p.trace_id == trace_id
        )
    ).one_or_none()
    return None if row is None else row._asdict()
