"""Arize Phoenix as a benchmark target, installed into a virtualenv of its own.

Phoenix is installed from PyPI into ``bench/.venvs/phoenix`` the first time it
is needed (about 80 s), so that its dependencies never mix with daytwo's.
``phoenix serve`` stores into SQLite under a temporary ``PHOENIX_WORKING_DIR``
and takes OTLP protobuf at ``/v1/traces``; the project comes from the resource
attribute ``openinference.project.name``. Spans count as queryable when its
GraphQL API, the one its UI reads, counts them.
"""

import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import processes
from bench.processes import Server

logger = logging.getLogger(__name__)

REQUIREMENT = "arize-phoenix==20.26.1"
VENV = Path(__file__).parent / ".venvs" / "phoenix"
INSTALL_TIMEOUT = 900.0
STARTUP_TIMEOUT = 180.0

_COUNT_QUERY = """
query ($range: TimeRange) {
  projects { edges { node { name recordCount(timeRange: $range) } } }
}
"""


def ensure_installed(venv: Path = VENV, requirement: str = REQUIREMENT) -> Path:
    """Return Phoenix's ``phoenix`` executable, installing it into ``venv`` if missing."""
    executable = venv / "bin" / "phoenix"
    if executable.exists():
        return executable
    logger.info("installing %s into %s (takes a minute or two)", requirement, venv)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement]
    subprocess.run(pip, check=True, timeout=INSTALL_TIMEOUT)
    logger.info("installed Phoenix in %.0f s", time.monotonic() - started)
    return executable


def installed_version(venv: Path = VENV) -> str:
    python = venv / "bin" / "python"
    script = "import importlib.metadata as m; print(m.version('arize-phoenix'))"
    done = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


class PhoenixTarget:
    """``phoenix serve`` on SQLite in a fresh working directory."""

    key = "phoenix"
    label = "Arize Phoenix (SQLite)"
    poll_interval = 2.0

    def __init__(self) -> None:
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:
            ensure_installed()
            self._version = installed_version()
        return self._version

    @contextlib.contextmanager
    def launch(self, workdir: Path) -> Iterator[Server]:
        executable = ensure_installed()
        port, grpc_port = processes.free_port(), processes.free_port()
        home = workdir / "phoenix"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PHOENIX_WORKING_DIR": str(home),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        }
        with processes.running(
            [str(executable), "serve"],
            env=env,
            base_url=f"http://127.0.0.1:{port}",
            health_path="/healthz",
            log_path=workdir / "phoenix.log",
            startup_timeout=STARTUP_TIMEOUT,
        ) as server:
            yield server

    def ingest_headers(self, project: str) -> dict[str, str]:
        return {"Content-Type": "application/x-protobuf"}

    def count_spans(self, client: httpx.Client, project: str) -> int:
        # A time range that differs on every poll keeps Phoenix's count cache out of the way.
        now = datetime.now(UTC)
        variables = {
            "range": {
                "start": (now - timedelta(days=30)).isoformat(),
                "end": (now + timedelta(days=1)).isoformat(),
            }
        }
        response = client.post("/graphql", json={"query": _COUNT_QUERY, "variables": variables})
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"Phoenix GraphQL error: {body['errors'][0].get('message')}")
        for edge in body["data"]["projects"]["edges"]:
            if edge["node"]["name"] == project:
                return int(edge["node"]["recordCount"])
        return 0

    def server_stats(self, client: httpx.Client) -> dict[str, Any]:
        return {}
