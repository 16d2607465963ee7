"""W3C Trace Context: carry a trace across services in the ``traceparent`` header.

``inject`` writes the current span into outgoing headers; ``extract`` reads an
incoming request's headers, and spans started under ``continue_trace`` become
children of the caller's span (https://www.w3.org/TR/trace-context/).
"""

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from daytwo.sdk.span import RemoteParent, current_span
from daytwo.sdk.tracer import remote_parent

TRACEPARENT = "traceparent"
_HEX = frozenset("0123456789abcdef")


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current span's ``traceparent`` to ``headers`` and return them.

    headers = daytwo.inject({})
    httpx.post(url, headers=headers)
    """
    span = current_span.get()
    if span is not None:
        flags = "01" if span.trace.sampled else "00"
        headers[TRACEPARENT] = f"00-{span.trace.trace_id:032x}-{span.span_id:016x}-{flags}"
    return headers


def extract(headers: Mapping[str, str], project: str | None = None) -> RemoteParent | None:
    """Return the caller's span named by ``traceparent`` in ``headers``, or None.

    A missing or malformed header gives None, so the request starts a new trace.
    """
    value = _header(headers, TRACEPARENT)
    if value is None:
        return None
    parts = value.strip().lower().split("-")
    if len(parts) < 4 or [len(p) for p in parts[:4]] != [2, 32, 16, 2]:
        return None
    if not all(set(part) <= _HEX for part in parts[:4]):
        return None
    version, trace_hex, span_hex, flags = parts[:4]
    # Version 00 has exactly four fields; later versions may add more (section 3.2.4).
    if version == "ff" or (version == "00" and len(parts) > 4):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return remote_parent(trace_id, span_id, bool(int(flags, 16) & 1), project)


@contextmanager
def continue_trace(headers: Mapping[str, str], project: str | None = None) -> Iterator[None]:
    """Make spans started inside the block children of the caller named in ``headers``.

    with daytwo.continue_trace(request.headers):
        handle(request)
    """
    parent = extract(headers, project)
    if parent is None:
        yield
        return
    token = current_span.set(parent)
    try:
        yield
    finally:
        current_span.reset(token)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None
