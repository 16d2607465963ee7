"""The servers a benchmark runs against, each behind the same small interface.

A target knows how to start its server on a fresh, empty store, which headers
route spans to a project, and how to ask its own API how many spans of that
project are queryable. `DaytwoTarget` runs ``daytwo serve`` on SQLite or on a
PostgreSQL database of its own; `bench.phoenix.PhoenixTarget` runs Arize Phoenix.
"""

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

import daytwo
from bench import postgres, processes
from bench.processes import Server

STARTUP_TIMEOUT = 120.0


class Target(Protocol):
    """A server to benchmark."""

    key: str
    label: str
    poll_interval: float

    def version(self) -> str: ...

    def launch(self, workdir: Path) -> contextlib.AbstractContextManager[Server]: ...

    def ingest_headers(self, project: str) -> dict[str, str]: ...

    def count_spans(self, client: httpx.Client, project: str) -> int: ...

    def server_stats(self, client: httpx.Client) -> dict[str, Any]: ...


class DaytwoTarget:
    """``daytwo serve`` on SQLite (``postgres_url`` None) or on a fresh PostgreSQL database."""

    poll_interval = 0.2

    def __init__(
        self, *, postgres_url: str | None = None, database: str = "daytwo_bench_ingest"
    ) -> None:
        self.postgres_url = postgres_url
        self.database = database
        backend = "PostgreSQL" if postgres_url else "SQLite"
        self.key = f"daytwo-{backend.lower()}"
        self.label = f"daytwo ({backend})"

    def version(self) -> str:
        return daytwo.__version__

    @contextlib.contextmanager
    def launch(self, workdir: Path, database_url: str | None = None) -> Iterator[Server]:
        """Run the server on ``database_url``, or on a new empty database when None."""
        created = database_url is None and self.postgres_url is not None
        if database_url is None:
            database_url = self._empty_database(workdir)
        try:
            with serve_daytwo(database_url, workdir) as server:
                yield server
        finally:
            if created and self.postgres_url is not None:
                postgres.drop_database(self.postgres_url, self.database)

    def _empty_database(self, workdir: Path) -> str:
        if self.postgres_url is None:
            return f"sqlite:///{workdir / 'daytwo.sqlite'}"
        return postgres.recreate_database(self.postgres_url, self.database)

    def ingest_headers(self, project: str) -> dict[str, str]:
        return {"Content-Type": "application/x-protobuf", "X-Daytwo-Project": project}

    def count_spans(self, client: httpx.Client, project: str) -> int:
        now = datetime.now(UTC)
        params = {
            "scope": "spans",
            "from": (now - timedelta(days=30)).isoformat(),
            "to": (now + timedelta(days=1)).isoformat(),
        }
        response = client.get(f"/api/v1/projects/{project}/aggregates", params=params)
        if response.status_code == 404:
            return 0  # the project is created by its first committed span
        response.raise_for_status()
        return sum(int(row["count"]) for row in response.json()["rows"])

    def server_stats(self, client: httpx.Client) -> dict[str, Any]:
        response = client.get("/api/v1/server/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats


@contextlib.contextmanager
def serve_daytwo(database_url: str, workdir: Path) -> Iterator[Server]:
    """Run ``daytwo serve`` on ``database_url`` until the block exits."""
    port = processes.free_port()
    command = [sys.executable, "-m", "daytwo", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    env = {
        "DAYTWO_DATABASE_URL": database_url,
        "DAYTWO_DATA_DIR": str(workdir),
    }
    with processes.running(
        command,
        env=env,
        base_url=f"http://127.0.0.1:{port}",
        health_path="/healthz",
        log_path=workdir / "daytwo.log",
        startup_timeout=STARTUP_TIMEOUT,
    ) as server:
        yield server
