"""The web UI: server-rendered pages on the same port as the API.

Pages are Jinja2 templates rendered from the same storage queries the API
uses; htmx swaps parts of a page (the span detail, the next window of a large
trace) and uPlot draws the charts. Both ship in ``static/vendor`` so the UI
works with no internet access. Every page is served with a Content Security
Policy that allows scripts from this server only, so an injected tag in a
trace could not run even if escaping failed.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from daytwo.server.ui import security
from daytwo.server.ui.pages import (
    costs,
    dashboards,
    datasets,
    errors,
    experiments,
    projects,
    prompts,
    scores,
    threads,
    trace_view,
    traces,
)

STATIC = Path(__file__).parent / "static"
PAGES = (
    projects,
    traces,
    trace_view,
    threads,
    dashboards,
    scores,
    costs,
    datasets,
    experiments,
    prompts,
)


def install(app: FastAPI) -> None:
    """Serve the pages, their static files and their security headers on ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for page in PAGES:
        app.include_router(page.router)
    errors.install(app)
    app.add_middleware(security.SecurityHeaders)
