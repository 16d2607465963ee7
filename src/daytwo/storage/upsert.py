"""Portable upserts that merge a partial record into the stored row.

SQLite and PostgreSQL both support ``INSERT ... ON CONFLICT DO UPDATE``; the
merge rule for each column is written once here and rendered by SQLAlchemy for
either dialect. Rows that share a key within one statement are merged in Python
first, because PostgreSQL refuses to update one row twice in a statement.
"""

from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Table, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from daytwo.storage.sqlfunctions import merge_objects

Row = dict[str, Any]


class Merge(Enum):
    """How a column of an incoming row combines with the stored value."""

    LATEST = "latest"  # the incoming value if not NULL, else the stored one
    FIRST = "first"  # the stored value if not NULL, else the incoming one
    OBJECT = "object"  # JSON objects merged recursively, incoming keys winning
    TAGS = "tags"  # JSON arrays of strings, as a sorted union


def merge_rows(old: Row, new: Row, rules: dict[str, Merge]) -> Row:
    """Merge two rows with the same key in Python, by the same rules as the SQL."""
    merged = dict(old)
    for column, value in new.items():
        current = merged.get(column)
        rule = rules.get(column, Merge.LATEST)
        if value is None:
            continue
        if current is None or rule is Merge.LATEST:
            merged[column] = value
        elif rule is Merge.OBJECT:
            merged[column] = merge_objects(current, value)
        elif rule is Merge.TAGS:
            merged[column] = sorted(set(current) | set(value))
    return merged


def dedupe(rows: Iterable[Row], key: Sequence[str], rules: dict[str, Merge]) -> list[Row]:
    """Merge rows that share ``key``; return them sorted by key (a stable lock order)."""
    merged: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        row_key = tuple(row[column] for column in key)
        previous = merged.get(row_key)
        merged[row_key] = row if previous is None else merge_rows(previous, row, rules)
    return [merged[row_key] for row_key in sorted(merged)]


def upsert(
    connection: Connection,
    table: Table,
    rows: list[Row],
    key: Sequence[str],
    rules: dict[str, Merge],
    computed: Callable[[Any], dict[str, ColumnElement[Any]]] | None = None,
) -> None:
    """Insert ``rows`` into ``table``, merging each into an existing row with the same key.

    ``computed`` maps the incoming row (``excluded``) to SQL expressions for
    columns derived from the merged row, such as a duration from a start and
    an end that arrived separately.
    """
    if not rows:
        return
    rows = dedupe(rows, key, rules)
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    set_: dict[str, ColumnElement[Any]] = {}
    for column in rows[0]:
        if column in key:
            continue
        rule = rules.get(column, Merge.LATEST)
        set_[column] = _merge_expression(table.c[column], excluded[column], rule)
    if computed:
        set_.update(computed(excluded))
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=set_)
    connection.execute(statement, rows)


def _merge_expression(
    stored: ColumnElement[Any], incoming: ColumnElement[Any], rule: Merge
) -> ColumnElement[Any]:
    if rule is Merge.LATEST:
        return func.coalesce(incoming, stored)
    if rule is Merge.FIRST:
        return func.coalesce(stored, incoming)
    function = func.daytwo_json_merge if rule is Merge.OBJECT else func.daytwo_tags_union
    return case(
        (incoming.is_(None), stored),
        (stored.is_(None), incoming),
        else_=function(stored, incoming, type_=stored.type),
    )
