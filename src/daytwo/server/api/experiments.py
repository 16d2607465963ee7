"""Experiments: record a run's items, read summaries, and compare runs."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from daytwo.evals import gold, results
from daytwo.model.evals import (
    ExperimentComparison,
    ExperimentIn,
    ExperimentItemsIn,
    ExperimentItemView,
    ExperimentPatch,
    ExperimentView,
)
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError
from daytwo.storage import datasets, experiments

router = APIRouter(
    prefix="/api/v1/projects/{project}/experiments",
    tags=["experiments"],
    responses=ERROR_RESPONSES,
)


@router.post("", response_model=ExperimentView, status_code=201, summary="Start an experiment")
def start_experiment(project: str, spec: ExperimentIn, services: ServicesDep) -> ExperimentView:
    """Create an experiment; with the ``id`` of an existing one, resume it instead."""
    project_id = services.projects.ensure([project])[project]
    dataset = None
    if spec.dataset is not None:
        dataset = datasets.dataset_id(services.engine, project_id, spec.dataset)
        if dataset is None:
            raise ApiError(404, f"project {project!r} has no dataset named {spec.dataset!r}")
    try:
        experiment_id = experiments.create(services.engine, project_id, spec, dataset)
    except experiments.ExperimentConflictError:
        raise ApiError(
            409, f"experiment {spec.id!r} exists with another name or project; pick a new id"
        ) from None
    return _view(services, project_id, experiment_id)


@router.get("", response_model=list[ExperimentView], summary="List experiments")
def list_experiments(
    project: str,
    services: ServicesDep,
    name: Annotated[str | None, Query(description="Only experiments with this name")] = None,
    dataset: Annotated[str | None, Query(description="Only experiments on this dataset")] = None,
) -> list[ExperimentView]:
    """Return experiments newest first, each with its per-metric summary."""
    project_id = services.project_id(project)
    found = []
    for header in experiments.headers(services.engine, project_id):
        if (name and header["name"] != name) or (dataset and header["dataset"] != dataset):
            continue
        items = experiments.item_results(services.engine, project_id, header["id"])
        found.append(experiments.view(header, **results.summary(items)))
    return found


@router.get(
    "/compare", response_model=ExperimentComparison, summary="Compare experiments with a baseline"
)
def compare_experiments(
    project: str,
    services: ServicesDep,
    ids: Annotated[list[str], Query(min_length=2, description="Baseline first, then the others")],
) -> ExperimentComparison:
    """Compare per metric (mean paired difference with a 95% interval) and list item changes."""
    project_id = services.project_id(project)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ApiError(400, f"experiment {repeated[0]!r} is named twice in ids; name each once")
    headers = experiments.headers(services.engine, project_id, ids)
    missing = sorted(set(ids) - {header["id"] for header in headers})
    if missing:
        raise ApiError(404, f"project {project!r} has no experiment {missing[0]!r}")
    item_lists = [experiments.item_results(services.engine, project_id, i) for i in ids]
    views = [
        experiments.view(header, **results.summary(items))
        for header, items in zip(headers, item_lists, strict=True)
    ]
    return results.compare(views, item_lists)


@router.get("/{experiment_id}", response_model=ExperimentView, summary="Describe an experiment")
def get_experiment(project: str, experiment_id: str, services: ServicesDep) -> ExperimentView:
    return _view(services, services.project_id(project), experiment_id)


@router.patch("/{experiment_id}", response_model=ExperimentView, summary="Set the status")
def patch_experiment(
    project: str, experiment_id: str, patch: ExperimentPatch, services: ServicesDep
) -> ExperimentView:
    project_id = services.project_id(project)
    if not experiments.set_status(services.engine, project_id, experiment_id, patch.status):
        raise _missing(project, experiment_id)
    return _view(services, project_id, experiment_id)


@router.post("/{experiment_id}/items", summary="Record item results")
def record_items(
    project: str, experiment_id: str, body: ExperimentItemsIn, services: ServicesDep
) -> dict[str, int]:
    """Store results; a result sent again for an item and repetition replaces the earlier one."""
    if not experiments.exists(services.engine, services.project_id(project), experiment_id):
        raise _missing(project, experiment_id)
    return {"recorded": experiments.record_items(services.engine, experiment_id, body.items)}


@router.get(
    "/{experiment_id}/items", response_model=list[ExperimentItemView], summary="List item results"
)
def list_items(project: str, experiment_id: str, services: ServicesDep) -> list[ExperimentItemView]:
    project_id = services.project_id(project)
    if not experiments.exists(services.engine, project_id, experiment_id):
        raise _missing(project, experiment_id)
    return experiments.item_results(services.engine, project_id, experiment_id)


@router.get("/{experiment_id}/calibration", summary="A judge's agreement with people")
def judge_agreement(
    project: str,
    experiment_id: str,
    services: ServicesDep,
    metric: Annotated[str, Query(description="The judge's metric")],
    human: Annotated[
        str | None, Query(description="A score holding the people's labels; `expected` if left out")
    ] = None,
    order: Annotated[
        str | None, Query(description="Ordered labels, lowest first, comma-separated")
    ] = None,
) -> dict[str, Any]:
    """Report accuracy, kappa, weighted kappa or Spearman, with 95% bootstrap intervals."""
    project_id = services.project_id(project)
    if not experiments.exists(services.engine, project_id, experiment_id):
        raise _missing(project, experiment_id)
    items = experiments.item_results(services.engine, project_id, experiment_id)
    labels = _order(order)
    try:
        report = gold.agreement(
            [item.model_dump() for item in items], metric, human=human, order=labels
        )
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    return report.to_dict()


def _order(order: str | None) -> list[str | int | float] | None:
    if order is None:
        return None
    labels: list[str | int | float] = []
    for label in order.split(","):
        label = label.strip()
        try:
            labels.append(int(label))
        except ValueError:
            try:
                labels.append(float(label))
            except ValueError:
                labels.append(label)
    return labels


def _view(services: Services, project_id: int, experiment_id: str) -> ExperimentView:
    found = experiments.headers(services.engine, project_id, [experiment_id])
    if not found:
        raise ApiError(404, f"no experiment {experiment_id!r}")
    items = experiments.item_results(services.engine, project_id, experiment_id)
    return experiments.view(found[0], **results.summary(items))


def _missing(project: str, experiment_id: str) -> ApiError:
    return ApiError(404, f"project {project!r} has no experiment {experiment_id!r}")
