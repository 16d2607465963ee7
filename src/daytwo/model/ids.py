"""Identifiers for traces and spans.

Trace ids are 16 bytes and span ids 8 bytes, as in OpenTelemetry, written as
lowercase hex. A UUID (for example a time-ordered UUIDv7 from the SDK) is
accepted for either and stored as its 32 hex digits, so both sources share one
column type and sort the same way.
"""

import os
import time

_HEX = frozenset("0123456789abcdef")


class InvalidIdError(ValueError):
    """An id that is neither hex of the right length nor a UUID."""


def _normalize(value: str, what: str, lengths: tuple[int, ...]) -> str:
    text = value.strip().lower().replace("-", "")
    if len(text) not in lengths or not _HEX.issuperset(text):
        expected = " or ".join(f"{n} hex digits" for n in lengths)
        raise InvalidIdError(f"invalid {what} {value!r}: expected {expected} or a UUID")
    if text.strip("0") == "":
        raise InvalidIdError(f"invalid {what} {value!r}: an all-zero id is not valid")
    return text


def normalize_trace_id(value: str) -> str:
    """Return a trace id as 32 lowercase hex digits, or raise `InvalidIdError`."""
    return _normalize(value, "trace id", (32,))


def normalize_span_id(value: str) -> str:
    """Return a span id as 16 or 32 lowercase hex digits, or raise `InvalidIdError`."""
    return _normalize(value, "span id", (16, 32))


def new_trace_id() -> str:
    """Return a fresh UUIDv7 (RFC 9562) as 32 hex digits, ordered by creation time."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return f"{value:032x}"
