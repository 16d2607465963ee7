"""Fixtures for the SDK: a loopback HTTP sink that records what the exporter sends."""

import gzip
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import daytwo


class Sink:
    """A real HTTP server on loopback that accepts ingest batches and keeps them.

    Replies can be scripted (``respond``) to test retries, Retry-After and
    rejected batches.
    """

    def __init__(self, port: int = 0) -> None:
        self.reject_if: Callable[[dict[str, Any]], bool] | None = None
        self.batches: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.requests = 0
        self._script: list[tuple[int, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers, reply = sink._next(body, dict(self.headers))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def respond(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (and refuse their data)."""
        body = json.dumps({"error": {"code": "scripted", "message": f"scripted {status}"}})
        with self._lock:
            self._script.extend([(status, headers or {}, body.encode())] * times)

    def spans(self) -> list[dict[str, Any]]:
        """Return every span received, in arrival order."""
        with self._lock:
            return [span for batch in self.batches for span in batch["spans"]]

    def traces(self) -> list[dict[str, Any]]:
        with self._lock:
            return [trace for batch in self.batches for trace in batch["traces"]]

    def scores(self) -> list[dict[str, Any]]:
        with self._lock:
            return [score for batch in self.batches for score in batch["scores"]]

    def span(self, name: str) -> dict[str, Any]:
        """Return the one span called ``name``."""
        found = [span for span in self.spans() if span["name"] == name]
        assert len(found) == 1, f"expected one span {name!r}, got {len(found)}"
        return found[0]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests += 1
            if self._script:
                return self._script.pop(0)
            if headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            batch = json.loads(body)
            if self.reject_if is not None and any(map(self.reject_if, batch["spans"])):
                return 422, {}, b'{"error": {"code": "invalid", "message": "bad span"}}'
            self.batches.append(batch)
            self.headers.append(headers)
        counts = {key: len(batch.get(key, [])) for key in ("traces", "spans", "scores")}
        return 200, {}, json.dumps(counts).encode()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def traced(sink: Sink, tmp_path: Path) -> Iterator[Sink]:
    """Send this test's spans to ``sink``; turn tracing off again afterwards."""
    daytwo.configure(
        url=sink.url, spool_dir=str(tmp_path / "spool"), flush_interval=0.05, exit_timeout=2.0
    )
    yield sink
    daytwo.shutdown()
    daytwo.configure(enabled=False)


def received(sink: Sink) -> list[dict[str, Any]]:
    """Flush, check nothing was lost, and return the spans the sink holds."""
    result = daytwo.flush(timeout=10)
    assert result.failed == 0, result
    assert result.pending == 0, result
    return sink.spans()
