"""SQL functions that both dialects provide under the same names.

``daytwo_json_merge(a, b)`` merges two JSON objects recursively, ``b`` winning
(RFC 7396 without deletion by null), and ``daytwo_tags_union(a, b)`` returns the
sorted union of two JSON arrays of strings. Each returns the other argument
when one is NULL. On PostgreSQL the migrations create them in SQL; on SQLite
they are Python functions registered on every connection.
"""

import sqlite3
from typing import Any

import orjson

POSTGRES_DEFINITIONS = [
    """
    CREATE OR REPLACE FUNCTION daytwo_json_merge(a jsonb, b jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE
        WHEN a IS NULL THEN b
        WHEN b IS NULL THEN a
        WHEN jsonb_typeof(a) <> 'object' OR jsonb_typeof(b) <> 'object' THEN b
        ELSE (
          SELECT coalesce(jsonb_object_agg(
            coalesce(ka, kb),
            CASE WHEN va IS NULL THEN vb
                 WHEN vb IS NULL THEN va
                 ELSE daytwo_json_merge(va, vb) END
          ), '{}'::jsonb)
          FROM jsonb_each(a) AS ea(ka, va)
          FULL JOIN jsonb_each(b) AS eb(kb, vb) ON ka = kb
        )
      END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION daytwo_tags_union(a jsonb, b jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE
        WHEN a IS NULL THEN b
        WHEN b IS NULL THEN a
        ELSE (
          SELECT coalesce(jsonb_agg(DISTINCT t ORDER BY t), '[]'::jsonb)
          FROM jsonb_array_elements_text(a || b) AS t
        )
      END
    $$
    """,
]

POSTGRES_DROPS = [
    "DROP FUNCTION IF EXISTS daytwo_json_merge(jsonb, jsonb)",
    "DROP FUNCTION IF EXISTS daytwo_tags_union(jsonb, jsonb)",
]


def merge_objects(a: Any, b: Any) -> Any:
    """Merge ``b`` into ``a`` recursively; values of ``b`` win, objects merge."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merge_objects(merged[key], value) if key in merged else value
    return merged


def _json_merge(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return orjson.dumps(merge_objects(orjson.loads(a), orjson.loads(b))).decode()


def _tags_union(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return orjson.dumps(sorted(set(orjson.loads(a)) | set(orjson.loads(b)))).decode()


class _Quantile:
    """SQLite aggregate ``daytwo_quantile(value, q)``, as PostgreSQL's ``percentile_cont``."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q = 0.5

    def step(self, value: float | None, q: float) -> None:
        if value is not None:
            self.values.append(value)
            self.q = q

    def finalize(self) -> float | None:
        return quantile(self.values, self.q)


def quantile(values: list[float], q: float) -> float | None:
    """Return the ``q`` quantile of ``values`` interpolated linearly, or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Register daytwo's SQL functions on one SQLite connection."""
    connection.create_function("daytwo_json_merge", 2, _json_merge, deterministic=True)
    connection.create_function("daytwo_tags_union", 2, _tags_union, deterministic=True)
    connection.create_aggregate("daytwo_quantile", 2, _Quantile)  # type: ignore[arg-type]
