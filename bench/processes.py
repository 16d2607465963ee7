"""Start servers as child processes, wait for them, measure them and always stop them.

A server runs in its own session (process group), so that stopping it also
stops any worker it spawned. `running` is the only way the harness starts one:
its ``finally`` stops the whole tree whatever happened in between.
"""

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0
LOGS = Path(__file__).parent / ".results" / "logs"


class ServerFailedError(RuntimeError):
    """A server that exited or never answered its health check."""


@dataclass(slots=True)
class Server:
    """A running server: its process, the URL it answers on and where it logs."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def workspace(name: str) -> Iterator[Path]:
    """Yield a temporary directory for one server; keep its logs in `LOGS` afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as directory:
        try:
            yield Path(directory)
        finally:
            LOGS.mkdir(parents=True, exist_ok=True)
            for log in Path(directory).glob("*.log"):
                shutil.copyfile(log, LOGS / f"{name}-{log.name}")


def free_port() -> int:
    """Return a TCP port on the loopback interface that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    base_url: str,
    health_path: str,
    log_path: Path,
    startup_timeout: float,
) -> Iterator[Server]:
    """Run ``command`` until the block exits; yield once ``health_path`` answers 200."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, base_url, log_path)
    try:
        wait_healthy(server, health_path, startup_timeout)
        yield server
    finally:
        stop(process)


def wait_healthy(server: Server, path: str, timeout: float) -> float:
    """Poll ``path`` until it answers 200; return the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerFailedError(
                    f"{server.process.args!r} exited with {server.process.returncode}:\n"
                    f"{server.log_tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if client.get(path).status_code == 200:
                    return time.monotonic() - started
            time.sleep(0.2)
    raise ServerFailedError(
        f"{server.base_url}{path} did not answer 200 within {timeout:.0f} s:\n{server.log_tail()}"
    )


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Stop ``process`` and its descendants: SIGTERM, then SIGKILL after ``timeout``."""
    tree = _tree(process.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    for member in tree:
        with contextlib.suppress(psutil.Error):
            member.terminate()
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    for member in alive:
        logger.warning("process %d did not stop within %.0f s; killing it", member.pid, timeout)
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(alive, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss(pid: int) -> int:
    """Return the resident memory of ``pid`` and all its descendants, in bytes."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


class MemorySampler:
    """Sample a process tree's resident memory every ``interval`` seconds, in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.first = tree_rss(pid)
        self.peak = self.first
        self.samples = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = tree_rss(self.pid)
            self.samples += 1
            self.peak = max(self.peak, rss)
