"""Portable upserts that merge a partial record into the stored row.

SQLite and PostgreSQL both support ``INSERT ... ON CONFLICT DO UPDATE``; the
merge rule for each column is written once here and rendered by SQLAlchemy for
either dialect. Rows that share a key within one statement are merged in Python
first, because PostgreSQL refuses to update one row twice in a statement.
"""

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Dialect, Table, bindparam, case, func
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
    an end that arrived separately. All rows must have the same columns.
    """
    if not rows:
        return
    rows = dedupe(rows, key, rules)
    statement = _compiled_upsert(
        connection.dialect, table, tuple(rows[0]), tuple(key), tuple(rules.items()), computed
    )
    connection.exec_driver_sql(statement.sql, statement.parameters(rows))


@dataclass(frozen=True, slots=True)
class _Statement:
    """An upsert compiled once for its dialect, and how to bind a row to it."""

    sql: str
    order: tuple[str, ...] | None  # parameter names for positional paramstyles
    json_columns: frozenset[str]
    defaults: tuple[tuple[str, Any], ...]  # column defaults for columns the rows leave out

    def parameters(self, rows: list[Row]) -> list[Any]:
        # Bound straight to the driver: SQLAlchemy's per-row parameter processing
        # cost about 50 µs per span in profiles, more than the insert itself.
        json_columns = self.json_columns
        if self.defaults:
            rows = [dict(self.defaults, **row) for row in rows]
        if self.order is None:
            return [
                {c: _dump(v) if c in json_columns else v for c, v in row.items()} for row in rows
            ]
        order = self.order
        return [
            tuple(_dump(row[c]) if c in json_columns else row[c] for c in order) for row in rows
        ]


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


@functools.lru_cache(maxsize=64)
def _compiled_upsert(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    rules: tuple[tuple[str, Merge], ...],
    computed: Callable[[Any], dict[str, ColumnElement[Any]]] | None,
) -> _Statement:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values({c: bindparam(c) for c in columns})
    excluded = statement.excluded
    by_column = dict(rules)
    set_: dict[str, ColumnElement[Any]] = {
        column: _merge_expression(
            table.c[column], excluded[column], by_column.get(column, Merge.LATEST)
        )
        for column in columns
        if column not in key
    }
    if computed:
        set_.update(computed(excluded))
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=set_)
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    json_columns = frozenset(c for c in columns if isinstance(table.c[c].type, JSON))
    # Values the rows do not carry: constants in the SQL, and column defaults.
    constants = compiled.construct_params(_check=False)
    defaults = {name: value for name, value in constants.items() if name not in columns}
    for column in table.columns:
        if column.name not in columns and column.default is not None:
            defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    return _Statement(str(compiled), order, json_columns, tuple(defaults.items()))


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
