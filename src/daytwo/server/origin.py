"""Refuse changes that another web site sends through a visitor's browser.

daytwo has no login yet, so a page on any site could otherwise make the
visitor's browser write to a server on their machine or network. A cross-site
request needs no CORS preflight when its body is ``text/plain``, a form or
multipart, and the JSON API reads its bodies whatever their declared type, so
the check is made on where the request comes from rather than on its type.

Browsers say where a request comes from in ``Sec-Fetch-Site``; without it the
``Origin`` header is compared with the host the request was sent to. A client
that sends neither (the SDK, an OpenTelemetry exporter, curl) is not a
browser acting for another site, and passes.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from daytwo.server.errors import ApiError, error_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The UI's own pages answer with an HTML page of their own (`daytwo.server.ui.forms`).
API_PREFIXES = ("/api/", "/v1/")


def is_cross_site(headers: Mapping[str, str]) -> bool:
    """Return whether a browser sent this request for a page of another site.

    ``headers`` has lower-case names, as Starlette's ``Headers`` give them.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    hosts = {headers.get("host"), headers.get("x-forwarded-host")}
    return urlsplit(origin).netloc not in hosts


class CrossSiteGuard:
    """ASGI middleware: answer 403 to a cross-site request that would change data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and scope["path"].startswith(API_PREFIXES)
            and is_cross_site(_headers(scope))
        ):
            error = ApiError(
                403,
                "requests that change data are refused from other sites' pages; "
                "send them from a program, or from daytwo's own pages",
            )
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    wanted = (b"sec-fetch-site", b"origin", b"host", b"x-forwarded-host")
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in wanted
    }
