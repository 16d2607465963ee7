"""Experiments: runs of a task over a dataset's items, and the scores they got.

Each item's run is a row keyed by (experiment, item, repetition) and linked to
the trace it produced, so a run that was interrupted resumes by skipping the
rows it has, and the trace's cost and latency come from the trace itself.
"""

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from daytwo.model.evals import (
    ExperimentIn,
    ExperimentItemIn,
    ExperimentItemView,
    ExperimentView,
    MetricScore,
)
from daytwo.model.ids import new_trace_id
from daytwo.storage.engine import write_transaction
from daytwo.storage.rows import from_micros
from daytwo.storage.tables import datasets, experiment_items, experiments, traces

_e, _x = experiments.c, experiment_items.c


class ExperimentConflictError(Exception):
    """An experiment id was reused for a different project or name."""


def _now() -> int:
    return time.time_ns() // 1000


def create(engine: Engine, project_id: int, spec: ExperimentIn, dataset: int | None) -> str:
    """Create an experiment, or return the existing one with the same id (to resume it)."""
    now = _now()
    with write_transaction(engine) as connection:
        if spec.id is not None:
            found = connection.execute(
                select(_e.project_id, _e.name).where(_e.id == spec.id)
            ).first()
            if found is not None:
                if (found.project_id, found.name) != (project_id, spec.name):
                    raise ExperimentConflictError(spec.id)
                connection.execute(
                    update(experiments)
                    .where(_e.id == spec.id)
                    .values(status="running", updated_at=now)
                )
                return spec.id
        experiment_id = spec.id or new_trace_id()
        connection.execute(
            experiments.insert().values(
                id=experiment_id,
                project_id=project_id,
                name=spec.name,
                dataset_id=dataset,
                dataset_version=spec.dataset_version,
                status="running",
                metadata=spec.metadata,
                config=spec.config,
                created_at=now,
                updated_at=now,
            )
        )
    return experiment_id


def set_status(engine: Engine, project_id: int, experiment_id: str, status: str) -> bool:
    """Set an experiment's status; False if there is no such experiment."""
    with write_transaction(engine) as connection:
        changed = connection.execute(
            update(experiments)
            .where(_e.id == experiment_id, _e.project_id == project_id)
            .values(status=status, updated_at=_now())
        )
    return changed.rowcount > 0


def record_items(engine: Engine, experiment_id: str, items: Sequence[ExperimentItemIn]) -> int:
    """Store item results; a result sent again for the same item and repetition replaces it."""
    now = _now()
    rows = [
        {
            "experiment_id": experiment_id,
            "item_id": item.item_id,
            "repetition": item.repetition,
            "trace_id": item.trace_id,
            "input": item.input,
            "expected": item.expected,
            "output": item.output,
            "error": item.error,
            "scores": {name: score.model_dump() for name, score in item.scores.items()},
            "latency_ms": item.latency_ms,
            "created_at": now,
        }
        for item in items
    ]
    with write_transaction(engine) as connection:
        insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(
            experiment_items
        )
        keys = ("experiment_id", "item_id", "repetition")
        replaced = {c: insert.excluded[c] for c in rows[0] if c not in keys}
        connection.execute(insert.on_conflict_do_update(index_elements=keys, set_=replaced), rows)
        connection.execute(update(experiments).where(_e.id == experiment_id).values(updated_at=now))
    return len(rows)


def exists(engine: Engine, project_id: int, experiment_id: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            select(_e.id).where(_e.id == experiment_id, _e.project_id == project_id)
        ).first()
    return found is not None


def item_results(engine: Engine, project_id: int, experiment_id: str) -> list[ExperimentItemView]:
    """Return every item result of an experiment, with the cost of its trace."""
    t = traces.c
    query = (
        select(experiment_items, t.total_cost)
        .join_from(
            experiment_items,
            traces,
            and_(t.project_id == project_id, t.id == _x.trace_id),
            isouter=True,
        )
        .where(_x.experiment_id == experiment_id)
        .order_by(_x.item_id, _x.repetition)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        ExperimentItemView(
            item_id=row.item_id,
            repetition=row.repetition,
            trace_id=row.trace_id,
            input=row.input,
            expected=row.expected,
            output=row.output,
            error=row.error,
            scores={name: MetricScore(**score) for name, score in (row.scores or {}).items()},
            latency_ms=row.latency_ms,
            cost=row.total_cost,
        )
        for row in rows
    ]


def headers(
    engine: Engine, project_id: int, ids: Sequence[str] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Return experiments' stored fields and item counts, newest first (or in ``ids`` order)."""
    counts = (
        select(
            _x.experiment_id,
            func.count().label("item_count"),
            func.count(_x.error).label("error_count"),
        )
        .group_by(_x.experiment_id)
        .subquery()
    )
    query = (
        select(
            experiments, datasets.c.name.label("dataset"), counts.c.item_count, counts.c.error_count
        )
        .join_from(experiments, datasets, datasets.c.id == _e.dataset_id, isouter=True)
        .join(counts, counts.c.experiment_id == _e.id, isouter=True)
        .where(_e.project_id == project_id)
    )
    if ids is not None:
        query = query.where(_e.id.in_(list(ids)))
    else:
        query = query.order_by(_e.created_at.desc()).limit(limit)
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    if ids is not None:
        order = {experiment_id: n for n, experiment_id in enumerate(ids)}
        rows.sort(key=lambda row: order[row["id"]])
    return rows


def view(header: dict[str, Any], **summary: Any) -> ExperimentView:
    """Return an experiment's view from its stored fields and its computed summary."""
    return ExperimentView(
        id=header["id"],
        name=header["name"],
        dataset=header["dataset"],
        dataset_version=header["dataset_version"],
        status=header["status"],
        metadata=header["metadata"],
        config=header["config"],
        created_at=from_micros(header["created_at"]),
        updated_at=from_micros(header["updated_at"]),
        item_count=header["item_count"] or 0,
        error_count=header["error_count"] or 0,
        **summary,
    )
