"""The query benchmark's data set: a million spans over a week, seeded once and cached.

Spans come from `bench.workload`, are mapped by daytwo's own OTLP mapping and
stored by daytwo's own `Writer`, so that every row, roll-up and cost is what
the server would have stored had they arrived over HTTP. Two worker processes
generate and map chunks of traces while the main process writes them, in
order, so one seed always gives the same rows.

The SQLite file is cached under ``bench/.cache/`` keyed by the data set's
version, seed and size, and migrated when the schema gains a revision (bump
`VERSION` when the writer starts to store different rows). A PostgreSQL copy is
made from it with COPY and kept in its own database, keyed the same way.
"""

import logging
import multiprocessing
import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

import orjson
import psycopg
from psycopg import sql

from bench import postgres, workload
from daytwo.model import SpanIn
from daytwo.pricing import PriceBook
from daytwo.server.otlp import map_export_request
from daytwo.storage import migrate
from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import metadata
from daytwo.storage.writer import Batch, Writer

logger = logging.getLogger(__name__)

VERSION = 1
CACHE = Path(__file__).parent / ".cache"
TRACES_PER_CHUNK = 2_000
MEAN_SPANS_PER_TRACE = 4.8
IN_FLIGHT = 4
POSTGRES_DATABASE = "daytwo_bench_query"

PROFILE = workload.Profile(
    projects=(
        workload.Project("support-bot", 0.5, (workload.GPT_4O, workload.GPT_4O_MINI)),
        workload.Project("research-agent", 0.3, (workload.SONNET, workload.HAIKU, workload.GPT_4O)),
        workload.Project("sql-copilot", 0.2, (workload.GPT_41_MINI, workload.GPT_4O_MINI)),
    ),
    users=5_000,
    threads=60_000,
    error_rate=0.03,
    # Shorter payloads than the ingest benchmark's keep a million spans near 4 GB on disk.
    text_scale=0.3,
    shapes=(("rag", 0.4), ("agent", 0.5), ("chat", 0.1)),
)


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    spans: int = 1_000_000
    seed: int = 7
    days: int = 7

    def key(self) -> str:
        return f"v{VERSION}-seed{self.seed}-{self.spans}spans-{self.days}d"


@dataclass(slots=True)
class Dataset:
    """A seeded data set: where it is and what it holds (times in epoch microseconds)."""

    key: str
    path: str
    spans: int
    traces: int
    start_us: int
    end_us: int
    seed_seconds: float
    projects: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def size_bytes(self) -> int:
        return Path(self.path).stat().st_size


def ensure_sqlite(spec: DatasetSpec, *, reseed: bool = False) -> Dataset:
    """Return the cached data set for ``spec``, seeding it first if it is missing."""
    key = spec.key()
    database, meta = CACHE / f"query-{key}.sqlite", CACHE / f"query-{key}.json"
    if not reseed and database.exists() and meta.exists():
        logger.info("using the cached data set %s", database)
        dataset = Dataset(**orjson.loads(meta.read_bytes()))
        _upgrade_schema(dataset)
        return dataset
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = database.with_suffix(".partial")
    for stale in CACHE.glob(f"query-{key}.partial*"):
        stale.unlink()
    dataset = _seed(spec, key, partial)
    partial.rename(database)
    dataset.path = str(database)
    meta.write_bytes(orjson.dumps(asdict(dataset), option=orjson.OPT_INDENT_2))
    return dataset


def _upgrade_schema(dataset: Dataset) -> None:
    """Apply migrations added since seeding, before any server is timed on the file."""
    engine = create_database_engine(dataset.sqlite_url)
    try:
        current = migrate.current_revision(engine)
        if current != migrate.head_revision():
            # Rows the writer makes may have changed too: --reseed to start over.
            logger.warning("data set seeded at schema %s; migrating it to the newest", current)
            migrate.upgrade(engine)
    finally:
        engine.dispose()


def _seed(spec: DatasetSpec, key: str, path: Path) -> Dataset:
    started = time.monotonic()
    end_ns = time.time_ns() // 60_000_000_000 * 60_000_000_000
    start_ns = end_ns - spec.days * 86_400_000_000_000
    gap_ns = int((end_ns - start_ns) / (spec.spans / MEAN_SPANS_PER_TRACE))
    # synchronous=OFF only skips fsync; the rows are the same.
    engine = create_database_engine(f"sqlite:///{path}", sqlite_synchronous="OFF")
    migrate.upgrade(engine)
    writer = Writer(engine, PriceBook())
    projects: Counter[str] = Counter()
    models: Counter[str] = Counter()
    written = traces = 0
    logger.info("seeding %d spans into %s (several minutes, once)", spec.spans, path)
    with multiprocessing.get_context("fork").Pool(2, initializer=_lower_priority) as pool:
        for chunk in _chunks(pool, spec, start_ns, gap_ns):
            kept: list[SpanIn] = []
            for trace_spans in chunk:
                if written + len(kept) >= spec.spans:
                    break
                kept.extend(trace_spans)
                traces += 1
                projects[trace_spans[0].project or ""] += 1
            models.update(span.llm.model for span in kept if span.llm and span.llm.model)
            writer.write([Batch("default", spans=kept)])
            written += len(kept)
            logger.info("seeded %d of %d spans", written, spec.spans)
    engine.dispose()
    return Dataset(
        key=key,
        path=str(path),
        spans=written,
        traces=traces,
        start_us=start_ns // 1000,
        end_us=end_ns // 1000,
        seed_seconds=time.monotonic() - started,
        projects=dict(projects.most_common()),
        models=dict(models.most_common()),
    )


def _chunks(
    pool: Pool, spec: DatasetSpec, start_ns: int, gap_ns: int
) -> Iterator[list[list[SpanIn]]]:
    """Yield mapped chunks in order, with at most `IN_FLIGHT` being made at once."""
    pending: deque[AsyncResult[list[list[SpanIn]]]] = deque()
    next_chunk = 0
    produced = 0
    while produced < spec.spans:
        while len(pending) < IN_FLIGHT:
            args = (spec.seed, next_chunk, start_ns, gap_ns)
            pending.append(pool.apply_async(_map_chunk, args))
            next_chunk += 1
        chunk = pending.popleft().get(timeout=600)
        produced += sum(len(spans) for spans in chunk)
        yield chunk


def _lower_priority() -> None:
    # The writer in the main process is the bottleneck: let it have a core to itself.
    os.nice(10)


def _map_chunk(seed: int, chunk: int, start_ns: int, gap_ns: int) -> list[list[SpanIn]]:
    """Generate one chunk of traces and map it as the server would; spans grouped by trace."""
    first = chunk * TRACES_PER_CHUNK
    traces = [
        workload.trace_at(PROFILE, seed, index, start_ns, gap_ns)
        for index in range(first, first + TRACES_PER_CHUNK)
    ]
    request = workload.export_request([(t.project, span) for t in traces for span in t.spans])
    mapped = map_export_request(request, header_project=None, default_project="default")
    if mapped.rejected:
        raise RuntimeError(f"the mapping rejected generated spans: {mapped.error_message()}")
    by_trace: dict[str, list[SpanIn]] = {}
    for span in mapped.spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    return list(by_trace.values())


# PostgreSQL ------------------------------------------------------------------


def ensure_postgres(dataset: Dataset, admin_url: str, *, recopy: bool = False) -> str:
    """Return the URL of a PostgreSQL database holding ``dataset``, copying it if needed."""
    name = POSTGRES_DATABASE
    current = postgres.database_exists(admin_url, name) and (
        _database_comment(admin_url, name) == dataset.key
    )
    if current and not recopy:
        logger.info("using the PostgreSQL copy in %s", name)
        return postgres.database_url(admin_url, name)
    url = postgres.recreate_database(admin_url, name)
    started = time.monotonic()
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    _copy_tables(Path(dataset.path), url)
    with psycopg.connect(postgres.libpq_url(url), autocommit=True) as connection:
        connection.execute("ANALYZE")
        comment = sql.SQL("COMMENT ON DATABASE {} IS {}")
        connection.execute(comment.format(sql.Identifier(name), sql.Literal(dataset.key)))
    logger.info("copied the data set to PostgreSQL in %.0f s", time.monotonic() - started)
    return url


def _copy_tables(source: Path, url: str) -> None:
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        with psycopg.connect(postgres.libpq_url(url)) as connection:
            for table in metadata.sorted_tables:
                columns = [column.name for column in table.columns]
                _copy_table(reader, connection, table.name, columns)
            connection.execute(
                "SELECT setval(pg_get_serial_sequence('projects', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM projects), false)"
            )
    finally:
        reader.close()


def _copy_table(
    reader: sqlite3.Connection, writer: psycopg.Connection, table: str, columns: list[str]
) -> None:
    names = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
    # JSON is stored as text in SQLite and taken as text by COPY into jsonb.
    rows = reader.execute(f'SELECT {", ".join(columns)} FROM "{table}"')
    copied = 0
    with writer.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            copied += 1
    logger.info("copied %d rows of %s", copied, table)


def _database_comment(admin_url: str, name: str) -> str | None:
    query = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s"
    with psycopg.connect(postgres.libpq_url(admin_url)) as connection:
        row = connection.execute(query, (name,)).fetchone()
    return str(row[0]) if row and row[0] is not None else None
