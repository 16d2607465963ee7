"""The prompts pages: versions, labels and their rollouts, metrics per version, and diffs.

A team decides here whether to promote a version or roll a label back: the
prompt page puts each label's target beside the metrics of every version the
llm spans recorded, and its two forms move a label or roll it back through
the same storage calls as ``PUT .../labels/{label}`` and ``POST
.../rollback``.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine

from daytwo.model.prompts import (
    LABEL_PATTERN,
    PROMPT_NAME_PATTERN,
    LabelEventView,
    LabelIn,
    LabelView,
    PromptSummary,
    PromptVersionView,
    PromptView,
    RollbackIn,
    VersionMetrics,
)
from daytwo.prompts.diff import diff_versions
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.forms import read_form
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.templating import render
from daytwo.storage import prompts

router = APIRouter(include_in_schema=False)

# The metrics ranges offered, by their value in the URL: a label and a length (None: all time).
RANGES: dict[str, tuple[str, timedelta | None]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "all": ("All time", None),
}
DEFAULT_RANGE = "7d"
# Offered in the label field beside the prompt's own labels.
USUAL_LABELS = ("production", "staging")
# A form has a handful of fields; more is not a form of these pages.

RangeParam = Annotated[str, Query(alias="range")]


class FormError(ValueError):
    """A submitted form that cannot be applied; the message says which field and why."""


@dataclass
class PromptRow:
    """A prompt in the list, with its labels read in full (targets and splits)."""

    summary: PromptSummary
    labels: list[LabelView]


@dataclass
class DiffLine:
    """One line of a unified diff, with its kind: file, hunk, add, del or same."""

    kind: str
    text: str


@dataclass
class PageState:
    """What a visit or a form submission adds to the prompt page besides the stored data."""

    period: str = DEFAULT_RANGE
    range_error: str | None = None
    notice: str | None = None
    error: str | None = None
    status: int = 200
    form: dict[str, str] = field(default_factory=dict)


# Pages.


@router.get("/projects/{project}/prompts", response_class=HTMLResponse)
def prompt_list(request: Request, project: str, services: ServicesDep) -> HTMLResponse:
    """List the project's prompts with their newest version, labels and splits."""
    project_id = _project(services, project)
    rows = [
        PromptRow(summary, _labels_of(services.engine, project_id, summary))
        for summary in prompts.list_all(services.engine, project_id)
    ]
    return render(request, "prompts.html", project=project, section="prompts", prompts=rows)


@router.get("/projects/{project}/prompts/{name}", response_class=HTMLResponse)
def prompt_page(
    request: Request,
    project: str,
    name: str,
    services: ServicesDep,
    period: RangeParam = DEFAULT_RANGE,
    moved: str | None = None,
    rolled_back: str | None = None,
) -> HTMLResponse:
    """Show a prompt: labels, metrics per version, versions and the label log."""
    state = PageState(period=period)
    if period not in RANGES:
        state.range_error = f"unknown range {period!r}; choose one of: {', '.join(RANGES)}"
        state.status = 400
    return _render_prompt(request, services, project, name, state, moved, rolled_back)


@router.get("/projects/{project}/prompts/{name}/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    project: str,
    name: str,
    services: ServicesDep,
    before: Annotated[str | None, Query(alias="from")] = None,
    after: Annotated[str | None, Query(alias="to")] = None,
) -> HTMLResponse:
    """Show what changed between two versions: template lines, model, parameters, variables."""
    _, prompt = _prompt(services, project, name)
    newest = prompts.newest_version(services.engine, prompt)
    first = _version_number(before, "from", max(newest - 1, 1))
    second = _version_number(after, "to", newest)
    older, newer = (_stored_version(services, prompt, name, n) for n in (first, second))
    found = diff_versions(older, newer)
    return render(
        request,
        "prompt_diff.html",
        project=project,
        section="prompts",
        name=name,
        diff=found,
        lines=diff_lines(found.template_diff),
        versions=list(range(newest, 0, -1)),
    )


# Forms.


async def form_fields(request: Request) -> dict[str, str]:
    """Return the fields of a form posted from one of this server's own pages.

    There is no login, so the check of the origin is what keeps another site
    from moving a label through a visitor's browser: a cross-site form post
    needs no CORS preflight, unlike the JSON API's ``PUT``.
    """
    return (await read_form(request)).last_values()


FormDep = Annotated[dict[str, str], Depends(form_fields)]


@router.post("/projects/{project}/prompts/{name}/labels", response_class=HTMLResponse)
def move_label(
    request: Request, project: str, name: str, services: ServicesDep, form: FormDep
) -> Response:
    """Point a label at a version, with an optional split, then go back to the prompt."""
    _, prompt = _prompt(services, project, name)
    try:
        label, spec = label_move(form)
        prompts.set_label(services.engine, prompt, label, spec)
    except FormError as error:
        return _refused(request, services, project, name, str(error), 400, form)
    except prompts.PromptNotFoundError as error:
        newest = prompts.newest_version(services.engine, prompt)
        message = f"prompt {name!r} {error}; the newest is {newest}"
        return _refused(request, services, project, name, message, 400, form)
    return _back(project, name, moved=label)


@router.post(
    "/projects/{project}/prompts/{name}/labels/{label}/rollback", response_class=HTMLResponse
)
def roll_back(
    request: Request, project: str, name: str, label: str, services: ServicesDep, form: FormDep
) -> Response:
    """Move a label back to its previous target, then go back to the prompt."""
    _, prompt = _prompt(services, project, name)
    if (
        not re.fullmatch(LABEL_PATTERN, label)
        or prompts.label(services.engine, prompt, label) is None
    ):
        raise not_found(f"prompt {name!r} has no label {label!r}")
    try:
        spec = RollbackIn(author=form.get("author") or None, message=form.get("message") or None)
    except ValidationError as error:
        return _refused(request, services, project, name, _reason(error), 400, {})
    try:
        prompts.rollback(services.engine, prompt, label, spec.author, spec.message)
    except prompts.NothingToRollBackError:
        message = f"label {label!r} has no earlier version to roll back to"
        return _refused(request, services, project, name, message, 409, {})
    return _back(project, name, rolled_back=label)


def label_move(form: dict[str, str]) -> tuple[str, LabelIn]:
    """Return the label and the move a submitted form asks for, or raise `FormError`."""
    label = form.get("label", "")
    if not label:
        raise FormError("choose a label to move, such as production")
    if not re.fullmatch(LABEL_PATTERN, label):
        raise FormError(
            f"label {label!r} is not a valid name; use lowercase letters, digits, "
            "'_', '.' and '-', such as production"
        )
    version = _whole(form.get("version", ""), "version")
    split_version = _whole(form.get("split_version", ""), "split version", required=False)
    split_percent = _share(form.get("split_percent", ""))
    if (split_version is None) != (split_percent is None):
        raise FormError("give both a split version and a split percent, or neither")
    try:
        spec = LabelIn(
            version=version,
            split_version=split_version,
            split_percent=split_percent,
            author=form.get("author") or None,
            message=form.get("message") or None,
        )
    except ValidationError as error:
        raise FormError(_reason(error)) from None
    return label, spec


def _whole(text: str, what: str, *, required: bool = True) -> int | None:
    if not text:
        if required:
            raise FormError(f"choose a {what}")
        return None
    number = positive_number(text)
    if number is None:
        raise FormError(f"the {what} must be a version number such as 2, not {text!r}")
    return number


def _share(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:
        raise FormError(f"the split percent must be a number from 0 to 100, not {text!r}")
    return value


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where.replace('_', ' ')}: {message}" if where else message


def _refused(
    request: Request,
    services: Services,
    project: str,
    name: str,
    message: str,
    status: int,
    form: dict[str, str],
) -> HTMLResponse:
    state = PageState(error=message, status=status, form=form)
    return _render_prompt(request, services, project, name, state)


def _back(project: str, name: str, **notice: str) -> RedirectResponse:
    path = f"/projects/{quote(project, safe='')}/prompts/{quote(name, safe='')}"
    return RedirectResponse(f"{path}?{urlencode(notice)}#labels", status_code=303)


# The prompt page's content.


def _render_prompt(
    request: Request,
    services: Services,
    project: str,
    name: str,
    state: PageState,
    moved: str | None = None,
    rolled_back: str | None = None,
) -> HTMLResponse:
    project_id, prompt = _prompt(services, project, name)
    view = prompts.describe(services.engine, project_id, name)
    if view is None:
        raise _missing_prompt(project, name)
    state.notice = _notice(view.labels, moved, rolled_back)
    start = _range_start(state.period)
    metrics = _metrics(services.engine, project_id, name, state.period, start)
    newest = view.versions[0].version
    return render(
        request,
        "prompt.html",
        status_code=state.status,
        project=project,
        section="prompts",
        prompt=view,
        state=state,
        ranges={key: label for key, (label, _) in RANGES.items()},
        metrics=metrics,
        # The explorer reads minutes; the minute's few extra seconds do no harm.
        traces_from=None if start is None else start.strftime("%Y-%m-%dT%H:%M"),
        score_names=sorted({score for row in metrics for score in row.scores}),
        served=served_by(view.labels),
        label_names=sorted({label.label for label in view.labels}.union(USUAL_LABELS)),
        events=_events(services.engine, prompt, view),
        versions=[version.version for version in view.versions],
        compare=(max(newest - 1, 1), newest),
    )


def _range_start(period: str) -> datetime | None:
    length = RANGES[period][1] if period in RANGES else None
    return None if length is None else datetime.now(UTC) - length


def _metrics(
    engine: Engine, project_id: int, name: str, period: str, start: datetime | None
) -> list[VersionMetrics]:
    if period not in RANGES:
        return []
    return prompts.metrics(engine, project_id, name, start, None)


def _events(engine: Engine, prompt: int, view: PromptView) -> list[LabelEventView]:
    """Return the moves of every label of the prompt, newest first."""
    found = [
        event for label in view.labels for event in prompts.history(engine, prompt, label.label)
    ]
    return sorted(found, key=lambda event: event.id, reverse=True)


def served_by(labels: list[LabelView]) -> dict[str, list[str]]:
    """Return, by version number as text, the labels serving it: ``production (10%)``."""
    found: dict[str, list[str]] = {}
    for label in labels:
        share = 100 - (label.split_percent or 0) if label.split_version else 100
        found.setdefault(str(label.version), []).append(_served(label.label, share))
        if label.split_version is not None and label.split_percent is not None:
            found.setdefault(str(label.split_version), []).append(
                _served(label.label, label.split_percent)
            )
    return found


def _served(label: str, share: float) -> str:
    return label if share == 100 else f"{label} ({share:g}%)"


def _notice(labels: list[LabelView], moved: str | None, rolled_back: str | None) -> str | None:
    wanted = moved or rolled_back
    found = next((label for label in labels if label.label == wanted), None)
    if found is None:
        return None
    target = describe_target(found.version, found.split_version, found.split_percent)
    verb = "now serves" if moved else "was rolled back; it serves"
    return f"{found.label} {verb} {target}."


def describe_target(version: int, split_version: int | None, split_percent: float | None) -> str:
    """Describe where a label points: ``v1``, or ``v1, 10% to v2`` during a rollout."""
    if split_version is None or split_percent is None:
        return f"v{version}"
    return f"v{version}, {split_percent:g}% to v{split_version}"


def diff_lines(unified: str) -> list[DiffLine]:
    """Return the lines of a unified diff with the kind each one is shown as."""
    lines = []
    for text in unified.splitlines():
        if text.startswith(("+++", "---")):
            kind = "file"
        elif text.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(text[:1], "same")
        lines.append(DiffLine(kind, text))
    return lines


# Lookups that answer a 404 page.


def _project(services: Services, project: str) -> int:
    found = services.projects.lookup(project)
    if found is None:
        raise not_found(f"no project named {project!r}")
    return found


def _prompt(services: Services, project: str, name: str) -> tuple[int, int]:
    project_id = _project(services, project)
    found = None
    if re.fullmatch(PROMPT_NAME_PATTERN, name):
        found = prompts.prompt_id(services.engine, project_id, name)
    if found is None:
        raise _missing_prompt(project, name)
    return project_id, found


def _missing_prompt(project: str, name: str) -> PageError:
    return not_found(f"project {project!r} has no prompt named {name!r}")


def _labels_of(engine: Engine, project_id: int, summary: PromptSummary) -> list[LabelView]:
    prompt = prompts.prompt_id(engine, project_id, summary.name)
    if prompt is None:
        return []
    found = (prompts.label(engine, prompt, label) for label in summary.labels)
    return [label for label in found if label is not None]


def _version_number(text: str | None, parameter: str, default: int) -> int:
    if text is None or text == "":
        return default
    number = positive_number(text)
    if number is None:
        raise PageError(400, f"{parameter!r} must be a version number such as 1, not {text!r}")
    return number


def positive_number(text: str) -> int | None:
    """Return ``text`` as a version number, or None; digits only, small enough for a column."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        return None
    return int(text)


def _stored_version(services: Services, prompt: int, name: str, number: int) -> PromptVersionView:
    found = prompts.version(services.engine, prompt, name, number)
    if found is None:
        newest = prompts.newest_version(services.engine, prompt)
        raise not_found(f"prompt {name!r} has no version {number}; the newest is {newest}")
    return found
