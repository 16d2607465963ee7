"""Error pages: a page that cannot be shown says why, in HTML, with its status."""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from daytwo.server.ui.templating import render


class PageError(Exception):
    """A page that cannot be shown: an unknown project, trace or dataset."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(message: str) -> PageError:
    """Return a 404 page error with ``message``."""
    return PageError(404, message)


def install(app: FastAPI) -> None:
    """Render `PageError` as an HTML page."""

    async def handle(request: Request, error: Exception) -> HTMLResponse:
        assert isinstance(error, PageError)
        return render(request, "error.html", status_code=error.status, message=error.message)

    app.add_exception_handler(PageError, handle)
