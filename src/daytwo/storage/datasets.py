"""Datasets: named collections of items, where every change makes a new version.

An item row holds one form of an item from the version that added it
(``added_in``) until the version that replaced or removed it (``removed_in``),
so the items of version *v* are the rows with ``added_in <= v`` and no
``removed_in`` up to *v*. Reading an old version is as cheap as reading the
newest, and nothing is ever rewritten in place.

Items list in the order they were added: each has a ``position`` in its
dataset, the next one when it is first added, kept when it is edited or
replaced. (Ids do not sort that way: ids people choose sort any way, and
UUIDv7 ids made in the same millisecond in random order.)
"""

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from daytwo.model.evals import (
    ChangeResult,
    DatasetItemIn,
    DatasetItemPatch,
    DatasetItemView,
    DatasetVersionView,
    DatasetView,
)
from daytwo.model.ids import new_trace_id
from daytwo.storage.engine import write_transaction
from daytwo.storage.rows import from_micros
from daytwo.storage.tables import (
    dataset_items,
    dataset_versions,
    datasets,
    experiments,
    span_payloads,
    spans,
    trace_payloads,
)

_d, _i = datasets.c, dataset_items.c


class DatasetExistsError(Exception):
    """A dataset of that name exists in the project already."""


def _now() -> int:
    return time.time_ns() // 1000


def live_at(version: Any) -> Any:
    """Return the condition for item rows that belong to ``version`` (a number or column)."""
    return and_(_i.added_in <= version, or_(_i.removed_in.is_(None), _i.removed_in > version))


def create(engine: Engine, project_id: int, name: str, description: str | None) -> DatasetView:
    """Create an empty dataset at version 1."""
    now = _now()
    try:
        with write_transaction(engine) as connection:
            created = connection.execute(
                datasets.insert()
                .values(
                    project_id=project_id,
                    name=name,
                    description=description,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_d.id)
            ).scalar_one()
            _record_version(connection, created, 1, "created", now)
    except IntegrityError:
        raise DatasetExistsError(name) from None
    found = find(engine, project_id, name)
    assert found is not None
    return found


def find(engine: Engine | Connection, project_id: int, name: str) -> DatasetView | None:
    """Return the dataset called ``name``, or None."""
    return next(iter(_views(engine, project_id, name)), None)


def list_all(engine: Engine, project_id: int) -> list[DatasetView]:
    """Return the project's datasets, most recently changed first."""
    return _views(engine, project_id, None)


def dataset_id(connection: Engine | Connection, project_id: int, name: str) -> int | None:
    """Return the id of dataset ``name``, or None."""
    query = select(_d.id).where(_d.project_id == project_id, _d.name == name)
    if isinstance(connection, Engine):
        with connection.connect() as opened:
            return opened.execute(query).scalar_one_or_none()
    return connection.execute(query).scalar_one_or_none()


def delete(engine: Engine, project_id: int, name: str) -> bool:
    """Delete a dataset and its items; experiments on it keep their results."""
    with write_transaction(engine) as connection:
        found = dataset_id(connection, project_id, name)
        if found is None:
            return False
        connection.execute(
            update(experiments).where(experiments.c.dataset_id == found).values(dataset_id=None)
        )
        connection.execute(dataset_items.delete().where(_i.dataset_id == found))
        connection.execute(dataset_versions.delete().where(dataset_versions.c.dataset_id == found))
        connection.execute(datasets.delete().where(_d.id == found))
    return True


def add_items(engine: Engine, dataset: int, items: Sequence[DatasetItemIn]) -> ChangeResult:
    """Add items (replacing those whose id exists) as one new version."""
    seen: dict[str, DatasetItemIn] = {}
    for item in items:
        seen[item.id or new_trace_id()] = item  # a repeated id: the last one wins
    with write_transaction(engine) as connection:
        version, now = _bump(connection, dataset)
        existing = _live_positions(connection, dataset, version - 1, seen.keys())
        _retire(connection, dataset, existing, version)
        positions = _positions(connection, dataset, seen.keys(), existing)
        connection.execute(
            dataset_items.insert(),
            [
                _row(dataset, item_id, item, version, now, positions[item_id])
                for item_id, item in seen.items()
            ],
        )
        added, updated = len(seen) - len(existing), len(existing)
        change = _describe(added=added, updated=updated)
        _record_version(connection, dataset, version, change, now)
    return ChangeResult(version=version, added=added, updated=updated)


def update_item(
    engine: Engine, dataset: int, item_id: str, patch: DatasetItemPatch
) -> ChangeResult | None:
    """Change some fields of one item as a new version; None if there is no such item."""
    with write_transaction(engine) as connection:
        current = connection.execute(
            select(dataset_items).where(
                _i.dataset_id == dataset, _i.item_id == item_id, _i.removed_in.is_(None)
            )
        ).first()
        if current is None:
            return None
        version, now = _bump(connection, dataset)
        _retire(connection, dataset, {item_id}, version)
        merged = DatasetItemIn(
            input=current.input,
            expected=current.expected,
            context=current.context,
            metadata=current.metadata,
            source_trace_id=current.source_trace_id,
            source_span_id=current.source_span_id,
        ).model_copy(update=patch.model_dump(exclude_unset=True))
        row = _row(dataset, item_id, merged, version, now, current.position)
        connection.execute(dataset_items.insert(), [row])
        _record_version(connection, dataset, version, f"edited item {item_id}", now)
    return ChangeResult(version=version, updated=1)


def remove_items(engine: Engine, dataset: int, item_ids: Iterable[str]) -> ChangeResult | None:
    """Remove items as a new version; None if none of them exists."""
    with write_transaction(engine) as connection:
        current = connection.execute(select(_d.version).where(_d.id == dataset)).scalar_one()
        existing = _live_positions(connection, dataset, current, item_ids)
        if not existing:
            return None
        version, now = _bump(connection, dataset)
        _retire(connection, dataset, existing, version)
        _record_version(connection, dataset, version, _describe(removed=len(existing)), now)
    return ChangeResult(version=version, removed=len(existing))


def items(
    engine: Engine, dataset: int, version: int, *, after: str | None = None, limit: int = 100
) -> list[DatasetItemView]:
    """Return the items of ``version`` in the order added, starting after item ``after``.

    An ``after`` the dataset never held gives an empty page.
    """
    query = select(dataset_items).where(_i.dataset_id == dataset, live_at(version))
    with engine.connect() as connection:
        if after is not None:
            start = _position(connection, dataset, version, after)
            if start is None:
                return []
            query = query.where(_i.position > start)
        rows = connection.execute(query.order_by(_i.position).limit(limit)).all()
    return [
        DatasetItemView(
            id=row.item_id,
            input=row.input,
            expected=row.expected,
            context=row.context,
            metadata=row.metadata,
            source_trace_id=row.source_trace_id,
            source_span_id=row.source_span_id,
            version=row.added_in,
        )
        for row in rows
    ]


def versions(engine: Engine, dataset: int) -> list[DatasetVersionView]:
    """Return the dataset's versions, newest first."""
    v = dataset_versions.c
    query = select(dataset_versions).where(v.dataset_id == dataset).order_by(v.version.desc())
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        DatasetVersionView(
            version=row.version,
            change=row.change,
            item_count=row.item_count,
            created_at=from_micros(row.created_at),
        )
        for row in rows
    ]


def items_from_traces(
    engine: Engine, project_id: int, trace_ids: Sequence[str], expected_from_output: bool
) -> list[DatasetItemIn]:
    """Return one item per stored trace: its input, and its output as the expected answer.

    A trace's own input and output are used when it has them, else its root span's.
    """
    found: list[DatasetItemIn] = []
    with engine.connect() as connection:
        for trace_id in trace_ids:
            payload = _trace_payload(connection, project_id, trace_id)
            if payload is None:
                continue
            source_span, input_value, output_value = payload
            found.append(
                DatasetItemIn(
                    input=input_value,
                    expected=output_value if expected_from_output else None,
                    metadata={"source": "trace"},
                    source_trace_id=trace_id,
                    source_span_id=source_span,
                )
            )
    return found


def _trace_payload(
    connection: Connection, project_id: int, trace_id: str
) -> tuple[str | None, Any, Any] | None:
    t = trace_payloads.c
    own = connection.execute(
        select(t.input, t.output).where(t.project_id == project_id, t.trace_id == trace_id)
    ).first()
    if own is not None and (own.input is not None or own.output is not None):
        return None, own.input, own.output
    s, p = spans.c, span_payloads.c
    root = connection.execute(
        select(s.id, p.input, p.output)
        .join_from(
            spans,
            span_payloads,
            and_(p.project_id == s.project_id, p.trace_id == s.trace_id, p.span_id == s.id),
            isouter=True,
        )
        .where(s.project_id == project_id, s.trace_id == trace_id, s.parent_id.is_(None))
        .order_by(s.start_time)
        .limit(1)
    ).first()
    if root is None:
        return None
    return root.id, root.input, root.output


def _views(engine: Engine | Connection, project_id: int, name: str | None) -> list[DatasetView]:
    count = (
        select(func.count())
        .where(_i.dataset_id == _d.id, live_at(_d.version))
        .correlate(datasets)
        .scalar_subquery()
    )
    query = select(datasets, count.label("item_count")).where(_d.project_id == project_id)
    query = query.where(_d.name == name) if name is not None else query
    query = query.order_by(_d.updated_at.desc(), _d.id.desc())
    if isinstance(engine, Engine):
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    else:
        rows = engine.execute(query).all()
    return [
        DatasetView(
            name=row.name,
            description=row.description,
            version=row.version,
            item_count=row.item_count,
            created_at=from_micros(row.created_at),
            updated_at=from_micros(row.updated_at),
        )
        for row in rows
    ]


def _bump(connection: Connection, dataset: int) -> tuple[int, int]:
    now = _now()
    version = connection.execute(
        update(datasets)
        .where(_d.id == dataset)
        .values(version=_d.version + 1, updated_at=now)
        .returning(_d.version)
    ).scalar_one()
    return int(version), now


def _live_positions(
    connection: Connection, dataset: int, version: int, item_ids: Iterable[str]
) -> dict[str, int]:
    """Return the position of each of ``item_ids`` that ``version`` holds."""
    wanted = list(item_ids)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(_i.item_id, _i.position).where(
            _i.dataset_id == dataset, live_at(version), _i.item_id.in_(chunk)
        )
        found.update({row.item_id: row.position for row in connection.execute(query)})
    return found


def _positions(
    connection: Connection, dataset: int, item_ids: Iterable[str], existing: dict[str, int]
) -> dict[str, int]:
    """Keep the positions of items being replaced; give new ones the next, in order."""
    last = connection.execute(
        select(func.max(_i.position)).where(_i.dataset_id == dataset)
    ).scalar_one()
    following = (last or 0) + 1
    positions = dict(existing)
    for item_id in item_ids:
        if item_id not in positions:
            positions[item_id] = following
            following += 1
    return positions


def _position(connection: Connection, dataset: int, version: int, item_id: str) -> int | None:
    """Return where ``item_id`` stands: as ``version`` holds it, else as it last stood."""
    live = _live_positions(connection, dataset, version, [item_id])
    if live:
        return live[item_id]
    found: int | None = connection.execute(
        select(func.max(_i.position)).where(_i.dataset_id == dataset, _i.item_id == item_id)
    ).scalar_one()
    return found


def _retire(connection: Connection, dataset: int, item_ids: Iterable[str], version: int) -> None:
    wanted = list(item_ids)
    for start in range(0, len(wanted), 500):
        connection.execute(
            update(dataset_items)
            .where(
                _i.dataset_id == dataset,
                _i.removed_in.is_(None),
                _i.item_id.in_(wanted[start : start + 500]),
            )
            .values(removed_in=version)
        )


def _row(
    dataset: int, item_id: str, item: DatasetItemIn, version: int, now: int, position: int
) -> dict[str, Any]:
    return {
        "dataset_id": dataset,
        "item_id": item_id,
        "position": position,
        "added_in": version,
        "removed_in": None,
        "input": item.input,
        "expected": item.expected,
        "context": item.context,
        "metadata": item.metadata,
        "source_trace_id": item.source_trace_id,
        "source_span_id": item.source_span_id,
        "created_at": now,
    }


def _record_version(
    connection: Connection, dataset: int, version: int, change: str, now: int
) -> None:
    count = connection.execute(
        select(func.count()).where(_i.dataset_id == dataset, live_at(version))
    ).scalar_one()
    connection.execute(
        dataset_versions.insert().values(
            dataset_id=dataset, version=version, change=change, item_count=count, created_at=now
        )
    )


def _describe(*, added: int = 0, updated: int = 0, removed: int = 0) -> str:
    parts = [
        f"{verb} {count} item{'s' if count != 1 else ''}"
        for verb, count in (("added", added), ("replaced", updated), ("removed", removed))
        if count
    ]
    return ", ".join(parts) or "no change"
