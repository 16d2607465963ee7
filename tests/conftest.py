"""Fixtures shared by the whole suite: databases of both dialects and a live server.

Every storage and API test runs twice, on SQLite and on PostgreSQL. The
PostgreSQL URL comes from ``DAYTWO_TEST_POSTGRES_URL`` (default: the local
server with the ``test`` database); each pytest-xdist worker gets a schema of
its own so that workers never see each other's rows.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from daytwo.storage import migrate
from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import metadata

POSTGRES_URL = os.environ.get(
    "DAYTWO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_schema(worker_id: str) -> str:
    return f"daytwo_test_{worker_id}"


@pytest.fixture(scope="session")
def postgres_url(xdist_worker: str) -> str:
    """Return a URL to a fresh, empty schema on the test PostgreSQL server."""
    schema = _postgres_schema(xdist_worker)
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty, migrated database; the test runs once per dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'daytwo.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    _empty(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """Return an engine on an empty, migrated database of each dialect."""
    engine = create_database_engine(database_url, sqlite_synchronous="NORMAL")
    yield engine
    engine.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def xdist_worker(request: pytest.FixtureRequest) -> str:
    """Return the pytest-xdist worker name, or ``main`` without xdist."""
    workerinput = getattr(request.config, "workerinput", None)
    return "main" if workerinput is None else str(workerinput["workerid"])
