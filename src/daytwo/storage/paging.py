"""Keyset pagination with opaque cursors, NULLs last in either direction.

A page is read in order of a sort column, then of unique tie-breaking columns,
and the cursor holds the last row's values of both, so that a page costs the
same however deep it is and rows added meanwhile neither repeat nor vanish.

NULLs sort last whichever the direction. SQL dialects disagree on where NULLs
go (PostgreSQL puts them first in a descending order, SQLite last) and an
expression such as ``col IS NULL`` in ORDER BY would stop either planner from
reading an index in order. So a listing is read in two segments, each a plain
ordered range: the rows whose sort value is known, then the rows whose value is
NULL, ordered by the tie-breakers alone.

The cursor is base64 of a small JSON object naming the listing and the sort it
was made for; using it with another sort is an `InvalidQueryError`.
"""

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from sqlalchemy import ColumnElement, Connection, Row, Select, and_, or_

from daytwo.storage.filters import InvalidQueryError

MAX_CURSOR_CHARS = 4096

# A result row of any shape.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class SortKey:
    """The order of one listing: a column, its direction and unique tie-breakers.

    ``field`` and ``tie_fields`` name the result columns that carry the values
    of ``column`` and ``ties`` in each row read.
    """

    listing: str
    name: str
    column: Any
    ties: tuple[Any, ...]
    field: str
    tie_fields: tuple[str, ...]
    descending: bool = True

    @property
    def label(self) -> str:
        """Return the sort as a cursor records it, such as ``total_cost desc``."""
        return f"{self.name} {'desc' if self.descending else 'asc'}"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last row's sort value and tie-breaker values."""

    value: Any
    ties: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """One ordered range to read: the condition to add and the order to read it in."""

    condition: ColumnElement[bool]
    order_by: tuple[Any, ...]


def encode_cursor(key: SortKey, position: Position) -> str:
    """Return the opaque cursor that resumes ``key``'s listing after ``position``."""
    body = {"l": key.listing, "s": key.label, "v": position.value, "t": list(position.ties)}
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode_cursor(key: SortKey, cursor: str) -> Position:
    """Return the position in ``cursor``, checking it was made for ``key``."""
    body = _cursor_body(cursor)
    if body.get("l") != key.listing:
        raise InvalidQueryError(
            f"cursor {_short(cursor)} belongs to a listing of {body.get('l')}, "
            f"not of {key.listing}; drop the cursor to start from the first page"
        )
    if body.get("s") != key.label:
        raise InvalidQueryError(
            f"cursor {_short(cursor)} was made for sort {body.get('s')!r}, not {key.label!r}; "
            "repeat the sort the cursor was made for, or drop the cursor"
        )
    value, ties = body.get("v"), body.get("t")
    if not _is_number(value) or not isinstance(ties, list) or len(ties) != len(key.ties):
        raise InvalidQueryError(f"invalid cursor {_short(cursor)}; it was not made by this server")
    if not all(isinstance(tie, str) for tie in ties):
        raise InvalidQueryError(f"invalid cursor {_short(cursor)}; it was not made by this server")
    return Position(value, tuple(ties))


def _cursor_body(cursor: str) -> dict[str, Any]:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidQueryError(f"invalid cursor of {len(cursor)} characters; it is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidQueryError(
            f"invalid cursor {_short(cursor)}; pass the next_cursor of a previous page as it is"
        ) from None
    if not isinstance(body, dict):
        raise InvalidQueryError(f"invalid cursor {_short(cursor)}; it was not made by this server")
    return body


def _is_number(value: Any) -> bool:
    # Every sort column is numeric; a string would fail in SQL instead of here.
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _short(cursor: str) -> str:
    return repr(cursor if len(cursor) <= 40 else cursor[:37] + "...")


def segments(key: SortKey, after: Position | None) -> list[Segment]:
    """Return the ordered ranges still to read: known values first, then NULLs."""
    direction = _descending if key.descending else _ascending
    known_order = (direction(key.column), *(direction(tie) for tie in key.ties))
    null_order = tuple(direction(tie) for tie in key.ties)
    known: ColumnElement[bool] = key.column.is_not(None)
    unknown: ColumnElement[bool] = key.column.is_(None)
    if after is None:
        return [Segment(known, known_order), Segment(unknown, null_order)]
    if after.value is None:
        return [Segment(and_(unknown, _beyond(key, key.ties, after.ties)), null_order)]
    past = _past_value(key, after)
    return [Segment(and_(known, past), known_order), Segment(unknown, null_order)]


def _past_value(key: SortKey, after: Position) -> ColumnElement[bool]:
    # The range bound alone (col <= v) is what lets a planner seek in the index.
    column, value = key.column, after.value
    bound = column <= value if key.descending else column >= value
    strictly = column < value if key.descending else column > value
    return and_(bound, or_(strictly, and_(column == value, _beyond(key, key.ties, after.ties))))


def _beyond(key: SortKey, columns: Sequence[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """Return the lexicographic condition that ``columns`` come after ``values``."""
    first, value = columns[0], values[0]
    strictly = first < value if key.descending else first > value
    if len(columns) == 1:
        return strictly  # type: ignore[no-any-return]
    return or_(strictly, and_(first == value, _beyond(key, columns[1:], values[1:])))


def _descending(column: Any) -> Any:
    return column.desc()


def _ascending(column: Any) -> Any:
    return column.asc()


SegmentQuery = Callable[[Segment, int], Select[Any]]


def read_page(
    connection: Connection,
    key: SortKey,
    after: Position | None,
    limit: int,
    query: SegmentQuery,
) -> tuple[list[AnyRow], str | None]:
    """Read up to ``limit`` rows after ``after`` and the cursor of the next page.

    ``query(segment, n)`` returns the listing's SELECT restricted to one
    segment, in the segment's order, limited to ``n`` rows.
    """
    rows: list[AnyRow] = []
    for segment in segments(key, after):
        wanted = limit + 1 - len(rows)
        rows.extend(connection.execute(query(segment, wanted)).all())
        if len(rows) > limit:
            break
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    position = Position(
        getattr(last, key.field), tuple(getattr(last, name) for name in key.tie_fields)
    )
    return rows[:limit], encode_cursor(key, position)
