"""Prompts: immutable versions, movable labels and the audit log of every move.

A push whose content hash matches a version of the prompt returns that
version, so pushing is idempotent. Versions are numbered under a lock on the
prompt's row (``FOR UPDATE`` on PostgreSQL; SQLite's writer lock is taken by
``write_transaction``), so concurrent pushes get consecutive numbers.
"""

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, literal_column, select
from sqlalchemy.exc import IntegrityError

from daytwo.model.prompts import (
    LabelEventView,
    LabelIn,
    LabelTargets,
    LabelView,
    PromptSummary,
    PromptVersionIn,
    PromptVersionView,
    PromptView,
    PushedVersion,
    VersionMetrics,
    template_data,
)
from daytwo.storage.engine import write_transaction
from daytwo.storage.rows import from_micros, to_micros
from daytwo.storage.tables import (
    prompt_label_events,
    prompt_labels,
    prompt_versions,
    prompts,
    scores,
    spans,
)

_p, _v, _l, _e = prompts.c, prompt_versions.c, prompt_labels.c, prompt_label_events.c
_PUSH_ATTEMPTS = 3


class PromptNotFoundError(LookupError):
    """The prompt, version or label named does not exist; the message says which."""


class NothingToRollBackError(Exception):
    """A label's audit log holds no earlier target."""


def _now() -> int:
    return time.time_ns() // 1000


def _time(micros: int) -> datetime:
    value = from_micros(micros)
    assert value is not None
    return value


# Versions.


def push(
    engine: Engine, project_id: int, name: str, spec: PromptVersionIn, variables: list[str]
) -> PushedVersion:
    """Store a new version, or return the version with the same content."""
    for attempt in range(_PUSH_ATTEMPTS):
        try:
            with write_transaction(engine) as connection:
                return _push(connection, project_id, name, spec, variables)
        except IntegrityError:
            # Two processes created the prompt or numbered a version at once on
            # PostgreSQL; the next attempt sees the winner's row.
            if attempt == _PUSH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _push(
    connection: Connection,
    project_id: int,
    name: str,
    spec: PromptVersionIn,
    variables: list[str],
) -> PushedVersion:
    now = _now()
    prompt_id = _lock_or_create(connection, project_id, name, spec.description, now)
    digest = spec.content_hash(variables)
    existing = _same_content(connection, prompt_id, spec, digest, variables)
    if existing is not None:
        return PushedVersion(**_version_view(name, existing).model_dump(), created=False)
    newest = connection.execute(
        select(func.max(_v.version)).where(_v.prompt_id == prompt_id)
    ).scalar_one()
    assert spec.type is not None
    row = {
        "prompt_id": prompt_id,
        "version": (newest or 0) + 1,
        "hash": digest,
        "type": spec.type.value,
        "template": template_data(spec.template),
        "variables": variables,
        "model": spec.model,
        "parameters": spec.parameters,
        "author": spec.author,
        "message": spec.message,
        "created_at": now,
    }
    connection.execute(prompt_versions.insert().values(row))
    connection.execute(prompts.update().where(_p.id == prompt_id).values(updated_at=now))
    stored = connection.execute(
        select(prompt_versions).where(_v.prompt_id == prompt_id, _v.version == row["version"])
    ).one()
    return PushedVersion(**_version_view(name, stored).model_dump(), created=True)


def _same_content(
    connection: Connection,
    prompt_id: int,
    spec: PromptVersionIn,
    digest: str,
    variables: list[str],
) -> Any:
    """Return the stored version with the content of ``spec``, or None.

    Versions stored before variables were part of the hash carry the hash of
    the rest of their content; such a version matches when its variables do.
    """
    legacy = spec.content_hash(None)
    rows = connection.execute(
        select(prompt_versions).where(_v.prompt_id == prompt_id, _v.hash.in_((digest, legacy)))
    ).all()
    wanted = sorted(set(variables))
    for row in rows:
        if row.hash == digest or sorted(set(row.variables or ())) == wanted:
            return row
    return None


def _lock_or_create(
    connection: Connection, project_id: int, name: str, description: str | None, now: int
) -> int:
    found = _find_prompt(connection, project_id, name)
    if found is None:
        return int(
            connection.execute(
                prompts.insert()
                .values(
                    project_id=project_id,
                    name=name,
                    description=description,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_p.id)
            ).scalar_one()
        )
    if description is not None:
        connection.execute(prompts.update().where(_p.id == found).values(description=description))
    return found


def _find_prompt(connection: Connection, project_id: int, name: str) -> int | None:
    """Return the id of a prompt, locking its row until the transaction ends, or None."""
    query = select(_p.id).where(_p.project_id == project_id, _p.name == name).with_for_update()
    found = connection.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def prompt_id(engine: Engine | Connection, project_id: int, name: str) -> int | None:
    """Return the id of prompt ``name``, or None."""
    query = select(_p.id).where(_p.project_id == project_id, _p.name == name)
    if isinstance(engine, Engine):
        with engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()
    return engine.execute(query).scalar_one_or_none()


def version(engine: Engine, prompt: int, name: str, number: int) -> PromptVersionView | None:
    """Return version ``number`` of a prompt, or None."""
    with engine.connect() as connection:
        return _version(connection, prompt, name, number)


def _version(
    connection: Connection, prompt: int, name: str, number: int
) -> PromptVersionView | None:
    row = connection.execute(
        select(prompt_versions).where(_v.prompt_id == prompt, _v.version == number)
    ).first()
    return None if row is None else _version_view(name, row)


def newest_version(engine: Engine, prompt: int) -> int:
    with engine.connect() as connection:
        found = connection.execute(select(func.max(_v.version)).where(_v.prompt_id == prompt))
        return int(found.scalar_one() or 0)


def _version_view(name: str, row: Any) -> PromptVersionView:
    return PromptVersionView(
        name=name,
        version=row.version,
        hash=row.hash,
        type=row.type,
        template=row.template,
        variables=row.variables or [],
        model=row.model,
        parameters=row.parameters,
        author=row.author,
        message=row.message,
        created_at=_time(row.created_at),
    )


def describe(engine: Engine, project_id: int, name: str) -> PromptView | None:
    """Return a prompt with all its versions, newest first, and its labels."""
    with engine.connect() as connection:
        found = connection.execute(
            select(_p.id, _p.description).where(_p.project_id == project_id, _p.name == name)
        ).first()
        if found is None:
            return None
        rows = connection.execute(
            select(prompt_versions).where(_v.prompt_id == found.id).order_by(_v.version.desc())
        ).all()
        labels = _labels(connection, found.id)
    return PromptView(
        name=name,
        description=found.description,
        versions=[_version_view(name, row) for row in rows],
        labels=labels,
    )


def list_all(engine: Engine, project_id: int) -> list[PromptSummary]:
    """Return the project's prompts, most recently changed first."""
    newest = (
        select(_v.prompt_id, func.max(_v.version).label("latest")).group_by(_v.prompt_id).subquery()
    )
    query = (
        select(_p.id, _p.name, _p.description, _p.updated_at, newest.c.latest)
        .join(newest, newest.c.prompt_id == _p.id)
        .where(_p.project_id == project_id)
        .order_by(_p.updated_at.desc(), _p.name)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        labels = connection.execute(
            select(_l.prompt_id, _l.label, _l.version).where(
                _l.prompt_id.in_([row.id for row in rows])
            )
        ).all()
    by_prompt: dict[int, dict[str, int]] = {}
    for label in labels:
        by_prompt.setdefault(label.prompt_id, {})[label.label] = label.version
    return [
        PromptSummary(
            name=row.name,
            description=row.description,
            latest_version=row.latest,
            labels=dict(sorted(by_prompt.get(row.id, {}).items())),
            updated_at=_time(row.updated_at),
        )
        for row in rows
    ]


# Labels.


def _labels(connection: Connection, prompt: int) -> list[LabelView]:
    rows = connection.execute(
        select(prompt_labels).where(_l.prompt_id == prompt).order_by(_l.label)
    ).all()
    return [_label_view(row) for row in rows]


def _label_view(row: Any) -> LabelView:
    return LabelView(
        label=row.label,
        version=row.version,
        split_version=row.split_version,
        split_percent=row.split_percent,
        updated_by=row.updated_by,
        updated_at=_time(row.updated_at),
    )


def label(engine: Engine, prompt: int, name: str) -> LabelView | None:
    """Return where label ``name`` of a prompt points, or None."""
    with engine.connect() as connection:
        row = connection.execute(
            select(prompt_labels).where(_l.prompt_id == prompt, _l.label == name)
        ).first()
    return None if row is None else _label_view(row)


def label_targets(engine: Engine, prompt: int, name: str, label_name: str) -> LabelTargets | None:
    """Return a label with the versions it points at, read in one transaction."""
    with engine.connect() as connection:
        row = connection.execute(
            select(prompt_labels).where(_l.prompt_id == prompt, _l.label == label_name)
        ).first()
        if row is None:
            return None
        target = _version(connection, prompt, name, row.version)
        split = None
        if row.split_version is not None:
            split = _version(connection, prompt, name, row.split_version)
    assert target is not None  # labels point at stored versions, which are never deleted
    return LabelTargets(label=_label_view(row), target=target, split_target=split)


def set_label(
    engine: Engine, prompt: int, label_name: str, spec: LabelIn, *, action: str = "set"
) -> LabelView:
    """Point a label at a version (and split), recording the move; a no-op move is not recorded.

    Raise ``PromptNotFoundError`` if a version named does not exist.
    """
    with write_transaction(engine) as connection:
        for number in (spec.version, spec.split_version):
            if number is not None and _version(connection, prompt, "", number) is None:
                raise PromptNotFoundError(f"has no version {number}")
        current = connection.execute(
            select(prompt_labels)
            .where(_l.prompt_id == prompt, _l.label == label_name)
            .with_for_update()
        ).first()
        wanted = (spec.version, spec.split_version, _percent(spec))
        if current is not None and _target(current) == wanted:
            return _label_view(current)
        now = _now()
        values = {
            "version": spec.version,
            "split_version": spec.split_version,
            "split_percent": _percent(spec),
            "updated_by": spec.author,
            "updated_at": now,
        }
        if current is None:
            connection.execute(
                prompt_labels.insert().values(prompt_id=prompt, label=label_name, **values)
            )
        else:
            connection.execute(
                prompt_labels.update()
                .where(_l.prompt_id == prompt, _l.label == label_name)
                .values(values)
            )
        _record_move(connection, prompt, label_name, action, current, spec, now)
        stored = connection.execute(
            select(prompt_labels).where(_l.prompt_id == prompt, _l.label == label_name)
        ).one()
    return _label_view(stored)


def _percent(spec: LabelIn) -> float | None:
    return spec.split_percent if spec.split_version is not None else None


def _target(row: Any) -> tuple[int, int | None, float | None]:
    return row.version, row.split_version, row.split_percent


def _record_move(
    connection: Connection,
    prompt: int,
    label_name: str,
    action: str,
    current: Any,
    spec: LabelIn,
    now: int,
) -> None:
    before = _target(current) if current is not None else (None, None, None)
    connection.execute(
        prompt_label_events.insert().values(
            prompt_id=prompt,
            label=label_name,
            action=action,
            from_version=before[0],
            from_split_version=before[1],
            from_split_percent=before[2],
            to_version=spec.version,
            to_split_version=spec.split_version,
            to_split_percent=_percent(spec),
            author=spec.author,
            message=spec.message,
            created_at=now,
        )
    )


def history(engine: Engine, prompt: int, label_name: str) -> list[LabelEventView]:
    """Return every move of a label, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(prompt_label_events)
            .where(_e.prompt_id == prompt, _e.label == label_name)
            .order_by(_e.id.desc())
        ).all()
    return [
        LabelEventView(
            id=row.id,
            label=row.label,
            action=row.action,
            from_version=row.from_version,
            from_split_version=row.from_split_version,
            from_split_percent=row.from_split_percent,
            to_version=row.to_version,
            to_split_version=row.to_split_version,
            to_split_percent=row.to_split_percent,
            author=row.author,
            message=row.message,
            created_at=_time(row.created_at),
        )
        for row in rows
    ]


def rollback_target(events: Sequence[LabelEventView]) -> LabelEventView:
    """Return the move that a rollback undoes, given a label's moves newest first.

    Rollbacks stack like undo: each one cancels the newest move not yet
    cancelled, so rolling back twice after v1 → v2 → v3 lands on v1, not on v3.
    Raise ``NothingToRollBackError`` when no such move has an earlier target.
    """
    cancelled = 0
    for event in events:
        if event.action == "rollback":
            cancelled += 1
        elif cancelled:
            cancelled -= 1
        elif event.from_version is None:
            break
        else:
            return event
    raise NothingToRollBackError


def rollback(
    engine: Engine, prompt: int, label_name: str, author: str | None, message: str | None
) -> LabelView:
    """Move a label back to where it pointed before its newest move (see `rollback_target`)."""
    undone = rollback_target(history(engine, prompt, label_name))
    assert undone.from_version is not None
    spec = LabelIn(
        version=undone.from_version,
        split_version=undone.from_split_version,
        split_percent=undone.from_split_percent,
        author=author,
        message=message or f"roll back {_describe_target(undone)}",
    )
    return set_label(engine, prompt, label_name, spec, action="rollback")


def _describe_target(event: LabelEventView) -> str:
    return f"from version {event.to_version} to version {event.from_version}"


# Metrics.


def metrics(
    engine: Engine,
    project_id: int,
    name: str,
    start: datetime | None,
    end: datetime | None,
) -> list[VersionMetrics]:
    """Return counts, errors, latency percentiles, tokens, cost and mean scores per version.

    The spans counted are those that recorded the prompt (``spans.prompt_name``);
    scores are those given to these spans, and to their traces.
    """
    s = spans.c
    where = [s.project_id == project_id, s.prompt_name == name]
    if start is not None:
        where.append(s.start_time >= to_micros(start))
    if end is not None:
        where.append(s.start_time < to_micros(end))
    with engine.connect() as connection:
        dialect = connection.dialect.name
        rows = connection.execute(
            select(
                s.prompt_version,
                func.count().label("spans"),
                func.sum(case((s.status == "error", 1), else_=0)).label("errors"),
                _quantile(s.duration_ms, 0.5, dialect).label("p50"),
                _quantile(s.duration_ms, 0.95, dialect).label("p95"),
                func.sum(s.input_tokens).label("input_tokens"),
                func.sum(s.output_tokens).label("output_tokens"),
                func.sum(s.total_tokens).label("total_tokens"),
                func.sum(s.total_cost).label("cost"),
                func.count(s.total_cost).label("costed"),
            )
            .where(*where)
            .group_by(s.prompt_version)
        ).all()
        score_sums = _score_sums(connection, project_id, where)
    found = [_version_metrics(row, score_sums.get(row.prompt_version, {})) for row in rows]
    return sorted(found, key=_version_order)


def _quantile(column: Any, q: float, dialect: str) -> Any:
    # The same definition on both dialects (see daytwo.storage.aggregates).
    if dialect == "postgresql":
        return func.percentile_cont(literal_column(repr(q))).within_group(column)
    return func.daytwo_quantile(column, q)


def _score_sums(
    connection: Connection, project_id: int, where: list[Any]
) -> dict[str | None, dict[str, tuple[float, int]]]:
    """Return the sum and count of numeric scores by version and score name."""
    s, c = spans.c, scores.c
    linked = select(s.prompt_version, s.trace_id, s.id.label("span_id")).where(*where).subquery()
    traces = select(linked.c.prompt_version, linked.c.trace_id).distinct().subquery()
    on_spans = (
        select(linked.c.prompt_version, c.name, func.sum(c.value), func.count(c.value))
        .join(
            scores,
            and_(
                c.project_id == project_id,
                c.trace_id == linked.c.trace_id,
                c.span_id == linked.c.span_id,
            ),
        )
        .where(c.value.is_not(None))
        .group_by(linked.c.prompt_version, c.name)
    )
    on_traces = (
        select(traces.c.prompt_version, c.name, func.sum(c.value), func.count(c.value))
        .join(
            scores,
            and_(
                c.project_id == project_id,
                c.trace_id == traces.c.trace_id,
                c.target == "trace",
            ),
        )
        .where(c.value.is_not(None))
        .group_by(traces.c.prompt_version, c.name)
    )
    sums: dict[str | None, dict[str, tuple[float, int]]] = {}
    for query in (on_spans, on_traces):
        for version_name, score_name, total, count in connection.execute(query):
            by_name = sums.setdefault(version_name, {})
            before = by_name.get(score_name, (0.0, 0))
            by_name[score_name] = (before[0] + float(total), before[1] + int(count))
    return sums


def _version_metrics(row: Any, score_sums: dict[str, tuple[float, int]]) -> VersionMetrics:
    costed = int(row.costed)
    return VersionMetrics(
        version=row.prompt_version,
        spans=row.spans,
        errors=int(row.errors or 0),
        error_rate=(row.errors or 0) / row.spans if row.spans else None,
        latency_p50_ms=_float(row.p50),
        latency_p95_ms=_float(row.p95),
        input_tokens=_int(row.input_tokens),
        output_tokens=_int(row.output_tokens),
        total_tokens=_int(row.total_tokens),
        total_cost=_float(row.cost),
        mean_cost=float(row.cost) / costed if costed else None,
        scores={name: total / count for name, (total, count) in sorted(score_sums.items())},
        score_counts={name: count for name, (_, count) in sorted(score_sums.items())},
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    # PostgreSQL sums bigints as numeric, which arrives as a Decimal.
    return None if value is None else int(value)


def _version_order(metrics: VersionMetrics) -> tuple[int, int, str]:
    """Order numbered versions numerically, then the others (defaults, unknown) by name."""
    value = metrics.version or ""
    if value.isdigit():
        return 0, int(value), ""
    return 1, 0, value
