"""One error shape for every 4xx and 5xx answer of the HTTP API.

Every error body is::

    {"error": {"code": "not_found", "message": "no trace 'abc' in project 'p'",
               "details": [...]}}

``code`` is stable and meant for programs, ``message`` is one sentence for
people that names the value at fault, and ``details`` (optional) lists
individual problems, such as each invalid field of a request.
"""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "overloaded",
}


class ErrorDetail(BaseModel):
    """One problem within a request, such as an invalid field."""

    location: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


# For the OpenAPI schema: document the error shape on every route.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": code.replace("_", " ")}
    for status, code in _CODES.items()
    if status in (400, 404, 413, 415, 422, 503)
}


class ApiError(Exception):
    """An error to answer with; raise it from any route."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers


def error_response(error: ApiError) -> Response:
    body = ErrorResponse(
        error=ErrorBody(code=error.code, message=error.message, details=error.details)
    )
    return Response(
        body.model_dump_json(exclude_none=True),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )


async def _api_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _http_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = error.detail if isinstance(error.detail, str) else str(error.detail)
    return error_response(ApiError(error.status_code, message, headers=error.headers))


async def _validation_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = [
        ErrorDetail(location=".".join(str(part) for part in item["loc"]), message=item["msg"])
        for item in error.errors()[:50]
    ]
    first = details[0] if details else ErrorDetail(message="invalid request")
    message = (
        f"invalid request: {first.location}: {first.message}" if first.location else first.message
    )
    return error_response(ApiError(422, message, details=details))


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ApiError(500, "internal server error; see the server log"))


def install_error_handlers(app: FastAPI) -> None:
    """Make every error answer of ``app`` use the one error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
