"""Read request bodies within the configured size limit."""

from fastapi import Request

from daytwo.server.errors import ApiError


async def read_body(request: Request, limit: int) -> bytes:
    """Return the request body, answering 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise ApiError(400, f"invalid Content-Length header {declared!r}") from None
        if declared_size > limit:
            raise _too_large(declared_size, limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(received, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"request body of {size} bytes exceeds the limit of {limit} bytes; "
        "send smaller batches or raise DAYTWO_MAX_REQUEST_BYTES",
    )
