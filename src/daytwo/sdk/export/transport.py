"""One keep-alive HTTP connection to the server, from the standard library.

``http.client`` keeps the SDK free of an HTTP stack that the application may
pin to another version, and costs nothing to import on the caller's side.
"""

import email.utils
import http.client
import time
import urllib.parse
from dataclasses import dataclass

import daytwo

INGEST_PATH = "/api/v1/ingest"


class TransportError(Exception):
    """The server could not be reached, or the connection broke mid-request."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to one request."""

    status: int
    body: bytes
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def message(self) -> str:
        """Return the server's error message, or the start of its body."""
        text = self.body[:500].decode("utf-8", errors="replace")
        try:
            import json

            return str(json.loads(self.body)["error"]["message"])
        except Exception:
            return text


class Transport:
    """Posts gzip-compressed JSON to the server's ingest endpoint."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port
        self._path = parsed.path.rstrip("/") + INGEST_PATH
        self.timeout = timeout
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": f"daytwo-python/{daytwo.__version__}",
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, timeout: float | None = None) -> Reply:
        """Send one compressed batch; raise ``TransportError`` if no answer came."""
        connection = self._connect(timeout or self.timeout)
        try:
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(response.status, data, _retry_after(response.getheader("Retry-After")))

    def close(self) -> None:
        """Close the connection; the next post opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._connection = connection
        else:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        return connection


def _retry_after(value: str | None) -> float | None:
    """Parse Retry-After as seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
