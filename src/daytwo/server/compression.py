"""Decompress request bodies without ever inflating them past a limit.

Both ingest routes accept ``Content-Encoding: gzip``; a small gzip body can
inflate to gigabytes, so inflation stops one byte past the limit.
"""

import zlib


class BodyEncodingError(ValueError):
    """A body that cannot be decompressed, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Return ``body`` decoded (gzip or identity), never longer than ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        if len(body) > limit:
            raise _too_large(limit)
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise BodyEncodingError(
            415, f"unsupported Content-Encoding {content_encoding!r}; expected gzip or identity"
        )
    return _gunzip(body, limit)


def _gunzip(body: bytes, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    data = body
    # A gzip file may hold several members back to back (RFC 1952, section 2.2).
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, limit - size + 1)
        except zlib.error as error:
            raise BodyEncodingError(400, f"request body is not valid gzip: {error}") from None
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not inflater.eof:
            raise BodyEncodingError(400, "request body is not valid gzip: the stream is truncated")
        chunks.append(chunk)
        data = inflater.unused_data
    return b"".join(chunks)


def _too_large(limit: int) -> BodyEncodingError:
    return BodyEncodingError(
        413,
        f"request body is larger than {limit} bytes once decompressed; send smaller batches "
        "or raise DAYTWO_MAX_DECOMPRESSED_BYTES",
    )
