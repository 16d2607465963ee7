"""Prompts: push versions, move labels (with rollouts and rollback), diff, resolve, metrics."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from daytwo.model.prompts import (
    LABEL_PATTERN,
    PROMPT_NAME_PATTERN,
    LabelEventView,
    LabelIn,
    LabelTargets,
    LabelView,
    PromptDiff,
    PromptMetrics,
    PromptSummary,
    PromptVersionIn,
    PromptVersionView,
    PromptView,
    PushedVersion,
    ResolvedPrompt,
    RollbackIn,
    template_data,
)
from daytwo.prompts.diff import diff_versions
from daytwo.prompts.errors import PromptTemplateError
from daytwo.prompts.template import find_variables
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError
from daytwo.storage import prompts

router = APIRouter(
    prefix="/api/v1/projects/{project}/prompts", tags=["prompts"], responses=ERROR_RESPONSES
)

PromptName = Annotated[
    str, Path(pattern=PROMPT_NAME_PATTERN, description="Letters, digits, '_', '.', '-'")
]
LabelName = Annotated[str, Path(pattern=LABEL_PATTERN, description="Such as production")]
Number = Annotated[int, Path(ge=1)]


@router.post(
    "/{name}/versions",
    response_model=PushedVersion,
    status_code=201,
    summary="Push a version",
    responses={200: {"model": PushedVersion, "description": "The same content exists"}},
)
def push_version(
    project: str, name: PromptName, spec: PromptVersionIn, services: ServicesDep, response: Response
) -> PushedVersion:
    """Store a new version (creating the prompt); identical content returns its version (200)."""
    try:
        variables = find_variables(template_data(spec.template), spec.variables or ())
    except PromptTemplateError as error:
        raise ApiError(422, f"prompt {name!r}: {error}") from None
    project_id = services.projects.ensure([project])[project]
    pushed = prompts.push(services.engine, project_id, name, spec, variables)
    if not pushed.created:
        response.status_code = 200
    return pushed


@router.get("", response_model=list[PromptSummary], summary="List prompts")
def list_prompts(project: str, services: ServicesDep) -> list[PromptSummary]:
    return prompts.list_all(services.engine, services.project_id(project))


@router.get("/{name}", response_model=PromptView, summary="Describe a prompt")
def get_prompt(project: str, name: PromptName, services: ServicesDep) -> PromptView:
    """Return a prompt with every version, newest first, and its labels."""
    found = prompts.describe(services.engine, services.project_id(project), name)
    if found is None:
        raise _missing(project, name)
    return found


@router.get("/{name}/versions/{number}", response_model=PromptVersionView, summary="Read a version")
def get_version(
    project: str, name: PromptName, number: Number, services: ServicesDep
) -> PromptVersionView:
    return _version(services, project, name, number)


@router.get("/{name}/resolve", response_model=ResolvedPrompt, summary="Resolve a label for a key")
def resolve(
    project: str,
    name: PromptName,
    services: ServicesDep,
    label: Annotated[str, Query(pattern=LABEL_PATTERN)] = "production",
    key: Annotated[
        str | None, Query(max_length=500, description="A user or thread id; random without one")
    ] = None,
) -> ResolvedPrompt:
    """Return the version a label serves to ``key``; a key always gets the same version."""
    prompt = _prompt(services, project, name)
    found = prompts.label(services.engine, prompt, label)
    if found is None:
        raise ApiError(404, f"prompt {name!r} has no label {label!r}")
    number, from_split = found.choose(name, key)
    chosen = _version(services, project, name, number)
    return ResolvedPrompt(**chosen.model_dump(), label=label, from_split=from_split)


@router.get(
    "/{name}/diff",
    response_model=PromptDiff,
    summary="Compare two versions",
)
def diff(
    project: str,
    name: PromptName,
    services: ServicesDep,
    before: Annotated[int, Query(alias="from", ge=1)],
    after: Annotated[int, Query(alias="to", ge=1)],
) -> PromptDiff:
    """Return a unified diff of the templates and the changes of model and parameters."""
    return diff_versions(
        _version(services, project, name, before), _version(services, project, name, after)
    )


@router.get("/{name}/labels/{label}", response_model=LabelTargets, summary="Read a label")
def get_label(
    project: str, name: PromptName, label: LabelName, services: ServicesDep
) -> LabelTargets:
    """Return a label with the versions it points at, for clients that split traffic locally."""
    prompt = _prompt(services, project, name)
    found = prompts.label_targets(services.engine, prompt, name, label)
    if found is None:
        raise ApiError(404, f"prompt {name!r} has no label {label!r}")
    return found


@router.put("/{name}/labels/{label}", response_model=LabelView, summary="Move a label")
def set_label(
    project: str, name: PromptName, label: LabelName, spec: LabelIn, services: ServicesDep
) -> LabelView:
    """Point a label at a version, optionally sending ``split_percent`` of keys to another.

    Every move is recorded (who, when, from, to, why); a move to where the
    label already points changes nothing and records nothing.
    """
    prompt = _prompt(services, project, name)
    try:
        return prompts.set_label(services.engine, prompt, label, spec)
    except prompts.PromptNotFoundError as error:
        newest = prompts.newest_version(services.engine, prompt)
        raise ApiError(404, f"prompt {name!r} {error}; the newest is {newest}") from None


@router.post(
    "/{name}/labels/{label}/rollback", response_model=LabelView, summary="Roll a label back"
)
def rollback(
    project: str,
    name: PromptName,
    label: LabelName,
    services: ServicesDep,
    body: RollbackIn | None = None,
) -> LabelView:
    """Move a label back to its previous target; repeated rollbacks keep going back."""
    prompt = _prompt(services, project, name)
    if prompts.label(services.engine, prompt, label) is None:
        raise ApiError(404, f"prompt {name!r} has no label {label!r}")
    body = body or RollbackIn()
    try:
        return prompts.rollback(services.engine, prompt, label, body.author, body.message)
    except prompts.NothingToRollBackError:
        raise ApiError(
            409, f"label {label!r} of prompt {name!r} has no earlier version to roll back to"
        ) from None


@router.get(
    "/{name}/labels/{label}/history",
    response_model=list[LabelEventView],
    summary="List a label's moves",
)
def label_history(
    project: str, name: PromptName, label: LabelName, services: ServicesDep
) -> list[LabelEventView]:
    """Return every move of the label, newest first."""
    events = prompts.history(services.engine, _prompt(services, project, name), label)
    if not events:
        raise ApiError(404, f"prompt {name!r} has no label {label!r}")
    return events


@router.get("/{name}/metrics", response_model=PromptMetrics, summary="Metrics per version")
def metrics(
    project: str,
    name: PromptName,
    services: ServicesDep,
    start: Annotated[datetime | None, Query(alias="from", description="Spans from")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Spans before")] = None,
) -> PromptMetrics:
    """Return llm spans, errors, latency, tokens, cost and mean scores for each version used."""
    project_id = services.project_id(project)
    if start is not None and end is not None and end <= start:
        raise ApiError(422, f"the range is empty: 'to' ({end}) is not after 'from' ({start})")
    versions = prompts.metrics(services.engine, project_id, name, start, end)
    return PromptMetrics(name=name, start=start, end=end, versions=versions)


def _prompt(services: Services, project: str, name: str) -> int:
    found = prompts.prompt_id(services.engine, services.project_id(project), name)
    if found is None:
        raise _missing(project, name)
    return found


def _version(services: Services, project: str, name: str, number: int) -> PromptVersionView:
    prompt = _prompt(services, project, name)
    found = prompts.version(services.engine, prompt, name, number)
    if found is None:
        newest = prompts.newest_version(services.engine, prompt)
        raise ApiError(404, f"prompt {name!r} has no version {number}; the newest is {newest}")
    return found


def _missing(project: str, name: str) -> ApiError:
    return ApiError(404, f"project {project!r} has no prompt named {name!r}")
