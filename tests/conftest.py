"""Fixtures shared by the whole suite: databases of both dialects and a live server.

Every storage and API test runs twice, on SQLite and on PostgreSQL. The
PostgreSQL URL comes from ``DAYTWO_TEST_POSTGRES_URL`` (default: the local
server with the ``test`` database); each pytest-xdist worker gets a schema of
its own so that workers never see each other's rows.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from daytwo.storage import migrate
from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import metadata

# Internal failures of the tracing SDK re-raise under the test suite, so that bugs surface.
os.environ["DAYTWO_STRICT"] = "1"

POSTGRES_URL = os.environ.get(
    "DAYTWO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_schema(worker_id: str) -> str:
    # The process id keeps two test runs on one server (say, CI and a developer) apart.
    return f"daytwo_test_{worker_id}_{os.getpid()}"


@pytest.fixture(scope="session")
def postgres_url(xdist_worker: str) -> Iterator[str]:
    """Return a URL to a fresh, empty schema on the test PostgreSQL server."""
    schema = _postgres_schema(xdist_worker)
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


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


class LiveServer:
    """A ``daytwo serve`` process on loopback, started and stopped by tests."""

    def __init__(self, database_url: str, data_dir: Path, extra_env: dict[str, str]) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.extra_env = extra_env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    def start(self) -> None:
        env = {
            **os.environ,
            "DAYTWO_DATABASE_URL": self.database_url,
            "DAYTWO_DATA_DIR": str(self.data_dir),
            **self.extra_env,
        }
        command = [sys.executable, "-m", "daytwo", "serve", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not healthy after {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """Stop the server at once with SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """Run ``daytwo serve`` on loopback against an empty database of each dialect."""
    server = LiveServer(database_url, tmp_path, {})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_live_server(database_url: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Return a factory for servers with extra ``DAYTWO_*`` settings."""
    servers: list[LiveServer] = []

    def make(**env: str) -> LiveServer:
        server = LiveServer(database_url, tmp_path, env)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
