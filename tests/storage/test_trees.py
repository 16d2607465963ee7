"""One trace as a tree: depth-first order, depth, orphans, windows and lazy children."""

import pytest
from sqlalchemy import Engine

from daytwo.model import ScoreIn, TraceIn
from daytwo.storage.filters import InvalidQueryError, NotFoundError
from daytwo.storage.trees import Placed, TreeOptions, choose, trace_tree, tree_order
from tests.storage.doubles import at, sid, span, tid, write

#   1 root (t=0)
#   ├── 3 (t=1)
#   │   └── 5 (t=2)
#   └── 2 (t=3)
#       └── 4 (t=4)
#   6 orphan: its parent 99 is missing (t=0.5)
SHAPES = [
    (sid(2), sid(1), 3),
    (sid(4), sid(2), 4),
    (sid(1), None, 0),
    (sid(5), sid(3), 2),
    (sid(3), sid(1), 1),
    (sid(6), sid(99), 500_000),
]


def _ids(placed: list[Placed]) -> list[int]:
    return [int(p.span_id, 16) for p in placed]


def test_spans_come_depth_first_with_children_by_start_time() -> None:
    placed = tree_order(SHAPES)

    assert _ids(placed) == [1, 3, 5, 2, 4, 6]
    assert [p.depth for p in placed] == [0, 1, 2, 1, 2, 0]
    assert [p.child_count for p in placed] == [2, 1, 0, 1, 0, 0]


def test_orphans_are_flagged_and_shown_at_the_root_level_by_start_time() -> None:
    placed = tree_order([*SHAPES, (sid(7), sid(98), None)])

    orphans = [(int(p.span_id, 16), p.depth) for p in placed if p.orphan]
    assert orphans == [(6, 0), (7, 0)]
    assert _ids(placed)[-2:] == [6, 7]


def test_spans_in_a_parent_cycle_are_still_shown_once() -> None:
    cycle = [(sid(1), sid(2), 10), (sid(2), sid(1), 20), (sid(3), sid(3), 30)]

    placed = tree_order(cycle)

    assert sorted(_ids(placed)) == [1, 2, 3]
    assert all(p.orphan for p in placed if p.depth == 0)


def test_a_very_deep_chain_does_not_recurse() -> None:
    chain = [(sid(n), sid(n - 1) if n > 1 else None, n) for n in range(1, 5001)]

    placed = tree_order(chain)

    assert placed[-1].depth == 4999


def test_max_depth_keeps_the_upper_levels() -> None:
    placed = tree_order(SHAPES)

    assert _ids(choose(placed, None, 0)) == [1, 6]
    assert _ids(choose(placed, None, 1)) == [1, 3, 2, 6]


def test_parent_id_returns_the_children_of_one_span_by_default() -> None:
    placed = tree_order(SHAPES)

    assert _ids(choose(placed, sid(1), None)) == [3, 2]
    assert _ids(choose(placed, sid(1), 2)) == [3, 5, 2, 4]
    assert _ids(choose(placed, sid(5), None)) == []
    with pytest.raises(NotFoundError, match="no span '0000000000000063'"):
        choose(placed, sid(99), None)


def _tree_trace(engine: Engine) -> int:
    spans = [
        span(1, number, parent=parent, name=f"s{number}", kind="chain", start_time=at(start),
             end_time=at(start + 1), input=f"in {number}")
        for number, parent, start in [(1, None, 0), (2, 1, 3), (3, 1, 1), (4, 2, 4), (5, 3, 2)]
    ]  # fmt: skip
    spans.append(span(1, 6, parent=99, name="late child", start_time=at(0.5)))
    scores = [
        ScoreIn(trace_id=tid(1), name="quality", value=0.5),
        ScoreIn(trace_id=tid(1), span_id=sid(4), name="faithful", value=False),
    ]
    trace = TraceIn(id=tid(1), input={"question": "why"}, output="because")
    return write(engine, traces=[trace], spans=spans, scores=scores)


def test_trace_tree_returns_the_trace_its_payload_and_its_spans_in_tree_order(
    engine: Engine,
) -> None:
    project_id = _tree_trace(engine)

    tree = trace_tree(engine, project_id, tid(1))

    assert tree is not None
    assert (tree.trace.span_count, tree.total_nodes, tree.next_offset) == (6, 6, None)
    assert (tree.input, tree.output) == ({"question": "why"}, "because")
    assert [(int(n.id, 16), n.depth) for n in tree.spans] == [
        (1, 0), (3, 1), (5, 2), (2, 1), (4, 2), (6, 0)
    ]  # fmt: skip
    assert [n.orphan for n in tree.spans] == [False, False, False, False, False, True]
    assert [score.name for score in tree.trace.scores] == ["quality"]
    assert [(s.name, s.value) for s in tree.spans[4].scores] == [("faithful", False)]
    assert tree.spans[0].start_time == at(0)
    assert tree.spans[0].input_preview is None


def test_trace_tree_adds_previews_when_asked(engine: Engine) -> None:
    project_id = _tree_trace(engine)

    tree = trace_tree(engine, project_id, tid(1), TreeOptions(previews=True))

    assert tree is not None
    assert tree.spans[0].input_preview == "in 1"


def test_trace_tree_loads_one_span_children_lazily_without_the_payload(engine: Engine) -> None:
    project_id = _tree_trace(engine)

    tree = trace_tree(engine, project_id, tid(1), TreeOptions(parent_id=sid(1)))

    assert tree is not None
    assert [(int(n.id, 16), n.depth, n.child_count) for n in tree.spans] == [(3, 1, 1), (2, 1, 1)]
    assert tree.input is None


def test_trace_tree_windows_cover_the_tree_once(engine: Engine) -> None:
    project_id = _tree_trace(engine)

    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        tree = trace_tree(engine, project_id, tid(1), TreeOptions(offset=offset, limit=4))
        assert tree is not None
        seen += [node.id for node in tree.spans]
        offset = tree.next_offset

    whole = trace_tree(engine, project_id, tid(1))
    assert whole is not None
    assert seen == [node.id for node in whole.spans]


def test_trace_tree_of_a_missing_trace_is_none(engine: Engine) -> None:
    project_id = _tree_trace(engine)

    assert trace_tree(engine, project_id, tid(2)) is None
    with pytest.raises(NotFoundError):
        trace_tree(engine, project_id, tid(1), TreeOptions(parent_id=sid(42)))


@pytest.mark.parametrize(
    "options", [{"max_depth": -1}, {"offset": -1}, {"limit": 0}], ids=["depth", "offset", "limit"]
)
def test_negative_tree_options_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(InvalidQueryError):
        TreeOptions(**options)  # type: ignore[arg-type]
