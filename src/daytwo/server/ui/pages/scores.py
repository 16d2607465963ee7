"""Scores given by people: the form that the trace, span and thread pages share.

The form posts here; the score is stored with source ``human`` through the
committer, as ``POST /api/v1/scores`` stores it, so the redirect that follows
means it is durable. The page then goes back where the form was, or, for an
htmx request, answers the target's re-rendered list of scores.
"""

import math
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from daytwo.model import ScoreIn
from daytwo.model.scores import ScoreDataType, ScoreSource
from daytwo.model.views import ScoreView
from daytwo.server.committer import CommitterClosedError, OverloadedError
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.forms import read_form
from daytwo.server.ui.pages.errors import PageError
from daytwo.server.ui.templating import environment, is_fragment
from daytwo.storage import queries, threads, trees
from daytwo.storage.trees import TreeOptions
from daytwo.storage.writer import Batch

router = APIRouter(include_in_schema=False)

BOOLEAN_WORDS = {"true": True, "yes": True, "false": False, "no": False}


async def commit(services: Services, batch: Batch) -> None:
    """Commit ``batch``, answering a 503 page when the server cannot take it now."""
    try:
        await services.committer.submit(batch)
    except OverloadedError as error:
        raise PageError(503, f"the server is busy; try again in {error.retry_after} s") from None
    except CommitterClosedError:
        raise PageError(503, "the server is shutting down; try again shortly") from None


@router.post("/projects/{project}/scores", response_class=HTMLResponse)
async def add_score(request: Request, services: ServicesDep, project: str) -> Response:
    """Store a score a person gave, then go back to the page of its target."""
    fields = (await read_form(request)).last_values()
    score = score_from_form(fields)
    # Storage reads block; they run in the thread pool, as FastAPI runs plain routes.
    project_id = await run_in_threadpool(_checked_project, services, project, score)
    await commit(services, Batch(project, scores=[score]))
    if is_fragment(request):
        found = await run_in_threadpool(target_scores, services, project_id, score)
        return HTMLResponse(_score_list(found))
    return RedirectResponse(_return_path(fields.get("return_to", ""), project, score), 303)


def _checked_project(services: Services, project: str, score: ScoreIn) -> int:
    """Return the project's id, refusing an unknown project or a target not in it."""
    project_id = services.projects.lookup(project)
    if project_id is None:
        raise PageError(400, f"no project named {project!r}; scores go to an existing project")
    _check_target(services, project_id, score)
    return project_id


def score_from_form(fields: Mapping[str, str]) -> ScoreIn:
    """Return the score a form describes; a missing or malformed field is a 400 page."""
    name = fields.get("name", "")
    if not name:
        raise PageError(400, "the score needs a name, such as helpfulness or correct")
    data_type = _data_type(fields.get("data_type", ScoreDataType.NUMERIC.value))
    try:
        return ScoreIn(
            trace_id=fields.get("trace_id") or None,
            span_id=fields.get("span_id") or None,
            thread_id=fields.get("thread_id") or None,
            name=name,
            value=_value(data_type, fields),
            data_type=data_type,
            reason=fields.get("reason") or None,
            source=ScoreSource.HUMAN,
            author=fields.get("author") or None,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"{part}: " for part in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise PageError(400, f"the score was not stored: {where}{reason}") from None


def _data_type(text: str) -> ScoreDataType:
    try:
        return ScoreDataType(text)
    except ValueError:
        known = ", ".join(kind.value for kind in ScoreDataType)
        raise PageError(400, f"unknown score type {text!r}; expected one of: {known}") from None


def _value(data_type: ScoreDataType, fields: Mapping[str, str]) -> bool | float | str:
    if data_type is ScoreDataType.CATEGORICAL:
        label = fields.get("categorical_value", "")
        if not label:
            raise PageError(400, "a categorical score needs a label, such as pass or fail")
        return label
    if data_type is ScoreDataType.BOOLEAN:
        word = fields.get("boolean_value", "").lower()
        if word not in BOOLEAN_WORDS:
            raise PageError(400, f"a yes/no score must be yes or no, not {word!r}")
        return BOOLEAN_WORDS[word]
    return _number(fields.get("numeric_value", ""))


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PageError(400, f"a numeric score needs a number such as 0.8, not {text!r}")
    return value


def _check_target(services: Services, project_id: int, score: ScoreIn) -> None:
    """Refuse a score whose span, trace or thread is not in the project."""
    found: object | None
    if score.span_id is not None and score.trace_id is not None:
        found = queries.span_detail(services.engine, project_id, score.trace_id, score.span_id)
        missing = f"no span {score.span_id!r} in trace {score.trace_id!r}"
    elif score.trace_id is not None:
        options = TreeOptions(max_depth=0, limit=1)
        found = trees.trace_tree(services.engine, project_id, score.trace_id, options)
        missing = f"no trace {score.trace_id!r} in this project"
    else:
        thread_id = score.thread_id or ""
        found = threads.thread_view(services.engine, project_id, thread_id, limit=1)
        missing = f"no thread {thread_id!r} in this project"
    if found is None:
        raise PageError(400, f"the score was not stored: {missing}")


def target_scores(services: Services, project_id: int, score: ScoreIn) -> list[ScoreView]:
    """Return the scores of the span, trace or thread that ``score`` was given to."""
    if score.span_id is not None and score.trace_id is not None:
        span = queries.span_detail(services.engine, project_id, score.trace_id, score.span_id)
        return span.scores if span else []
    if score.trace_id is not None:
        options = TreeOptions(max_depth=0, limit=1)
        tree = trees.trace_tree(services.engine, project_id, score.trace_id, options)
        return tree.trace.scores if tree else []
    view = threads.thread_view(services.engine, project_id, score.thread_id or "", limit=1)
    return view.scores if view else []


def _score_list(scores: list[ScoreView]) -> str:
    macros = environment.get_template("partials/scores.html").module
    return str(macros.score_list(scores))  # type: ignore[attr-defined]


def _return_path(return_to: str, project: str, score: ScoreIn) -> str:
    """Return ``return_to`` if it is a page of this server's projects, else the target's page."""
    parts = urlsplit(return_to)
    local = not parts.scheme and not parts.netloc and "\\" not in return_to
    if local and parts.path.startswith("/projects/") and return_to.isprintable():
        return return_to
    base = f"/projects/{quote(project, safe='')}"
    if score.trace_id is None:
        return f"{base}/threads/{quote(score.thread_id or '', safe='')}"
    span = f"?span={score.span_id}" if score.span_id else ""
    return f"{base}/traces/{score.trace_id}{span}"
