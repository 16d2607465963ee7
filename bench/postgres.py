"""Benchmark databases on the local PostgreSQL server, created and dropped by the harness.

The harness never touches a database it did not name: each benchmark uses its
own ``daytwo_bench_*`` database, dropped and created again for every run.
"""

import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def admin_url() -> str:
    """Return the URL of a database to connect to for creating and dropping others."""
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)


def server_version(url: str) -> str | None:
    """Return the server's version such as ``15.20``, or None when it cannot be reached."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]).split()[0] if row else None


def database_url(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name`` instead."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def recreate_database(url: str, name: str) -> str:
    """Drop database ``name`` if it exists, create it empty and return its URL."""
    drop_database(url, name)
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever is still connected to it."""
    if not name.startswith("daytwo_bench"):
        raise ValueError(f"refusing to drop {name!r}: benchmark databases start with daytwo_bench")
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as connection:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        connection.execute(statement.format(sql.Identifier(name)))


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(libpq_url(url), connect_timeout=10) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def libpq_url(url: str) -> str:
    """Return ``url`` as libpq takes it, without a SQLAlchemy driver name."""
    # psycopg takes a libpq URL; SQLAlchemy's may name a driver (postgresql+psycopg://).
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
