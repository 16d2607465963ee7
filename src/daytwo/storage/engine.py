"""Create engines for SQLite and PostgreSQL and bring their schema up to date.

SQLite runs in WAL mode so that readers never block the writer; reads begin
deferred, and the ingest writer's transactions (`write_transaction`) begin
with ``BEGIN IMMEDIATE`` so that two processes that both write cannot
deadlock upgrading a read lock. The SQL functions that the
upsert statements use on PostgreSQL (created by the migrations) are registered
here as Python functions on SQLite, with the same semantics.
"""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from daytwo.storage import sqlfunctions

logger = logging.getLogger(__name__)

_WRITE_OPTION = "daytwo_write"


class DatabaseURLError(ValueError):
    """A database URL that daytwo cannot use."""


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_loads(value: Any) -> Any:
    # SQLite gives a JSON column numeric affinity, so a stored number ("3")
    # comes back as an int or float rather than as text.
    if isinstance(value, (int, float)):
        return value
    return orjson.loads(value)


def normalize_url(url: str) -> URL:
    """Return ``url`` with the driver daytwo uses for its dialect."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise DatabaseURLError(f"cannot parse database URL {url!r}: {error}") from error
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise DatabaseURLError(
        f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}; "
        "expected a sqlite:/// or postgresql:// URL"
    )


def create_database_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """Create an engine for ``url`` configured for daytwo's workload."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, sqlite_synchronous)
    return create_engine(
        parsed,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
        pool_pre_ping=True,
        pool_size=8,
        max_overflow=8,
    )


def _create_sqlite_engine(url: URL, synchronous: str) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=_json_loads,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()
        sqlfunctions.register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Reads begin deferred and never wait for the writer (WAL gives them a
        # snapshot); the ingest writer takes the write lock up front.
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a transaction that will write; on SQLite it takes the write lock at once.

    Taking the lock at the start (``BEGIN IMMEDIATE``) means two processes that
    both write wait for each other instead of failing to upgrade a read lock.
    """
    with engine.connect() as connection:
        connection = connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            yield connection
