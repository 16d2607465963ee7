"""Datasets: create, list, change and read items (at any version), import and export."""

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from daytwo.evals import files
from daytwo.model.evals import (
    ChangeResult,
    DatasetIn,
    DatasetItemIn,
    DatasetItemPatch,
    DatasetItemsIn,
    DatasetItemView,
    DatasetVersionView,
    DatasetView,
    ItemsFromTraces,
)
from daytwo.model.ids import normalize_trace_id
from daytwo.server.body import read_body
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.errors import ERROR_RESPONSES, ApiError, ErrorDetail
from daytwo.storage import datasets

router = APIRouter(
    prefix="/api/v1/projects/{project}/datasets", tags=["datasets"], responses=ERROR_RESPONSES
)

Version = Annotated[int | None, Query(ge=1, description="A past version; the newest by default")]
Format = Annotated[Literal["jsonl", "csv"], Query(description="File format")]


@router.post("", response_model=DatasetView, status_code=201, summary="Create a dataset")
def create_dataset(project: str, spec: DatasetIn, services: ServicesDep) -> DatasetView:
    """Create an empty dataset (version 1); 409 if the name is taken in the project."""
    project_id = services.projects.ensure([project])[project]
    try:
        return datasets.create(services.engine, project_id, spec.name, spec.description)
    except datasets.DatasetExistsError:
        raise ApiError(409, f"project {project!r} has a dataset named {spec.name!r}") from None


@router.get("", response_model=list[DatasetView], summary="List datasets")
def list_datasets(project: str, services: ServicesDep) -> list[DatasetView]:
    return datasets.list_all(services.engine, services.project_id(project))


@router.get("/{name}", response_model=DatasetView, summary="Describe a dataset")
def get_dataset(project: str, name: str, services: ServicesDep) -> DatasetView:
    found = datasets.find(services.engine, services.project_id(project), name)
    if found is None:
        raise _missing(project, name)
    return found


@router.delete("/{name}", status_code=204, summary="Delete a dataset")
def delete_dataset(project: str, name: str, services: ServicesDep) -> Response:
    """Delete a dataset and all its versions; experiments run on it keep their results."""
    if not datasets.delete(services.engine, services.project_id(project), name):
        raise _missing(project, name)
    return Response(status_code=204)


@router.get("/{name}/versions", response_model=list[DatasetVersionView], summary="List versions")
def list_versions(project: str, name: str, services: ServicesDep) -> list[DatasetVersionView]:
    return datasets.versions(services.engine, _dataset(services, project, name))


@router.get("/{name}/items", response_model=list[DatasetItemView], summary="List items")
def list_items(
    project: str,
    name: str,
    services: ServicesDep,
    version: Version = None,
    after: Annotated[str | None, Query(description="The last item id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DatasetItemView]:
    """Return items in the order they were added; an edited or replaced item keeps its place."""
    dataset, at = _dataset_at(services, project, name, version)
    return datasets.items(services.engine, dataset, at, after=after, limit=limit)


@router.post("/{name}/items", response_model=ChangeResult, summary="Add or replace items")
def add_items(project: str, name: str, body: DatasetItemsIn, services: ServicesDep) -> ChangeResult:
    """Add items as one new version; an item whose ``id`` exists replaces it."""
    return datasets.add_items(services.engine, _dataset(services, project, name), body.items)


@router.patch("/{name}/items/{item_id}", response_model=ChangeResult, summary="Edit an item")
def edit_item(
    project: str, name: str, item_id: str, patch: DatasetItemPatch, services: ServicesDep
) -> ChangeResult:
    dataset = _dataset(services, project, name)
    changed = datasets.update_item(services.engine, dataset, item_id, patch)
    if changed is None:
        raise ApiError(404, f"dataset {name!r} has no item {item_id!r}")
    return changed


@router.delete("/{name}/items/{item_id}", response_model=ChangeResult, summary="Remove an item")
def remove_item(project: str, name: str, item_id: str, services: ServicesDep) -> ChangeResult:
    dataset = _dataset(services, project, name)
    changed = datasets.remove_items(services.engine, dataset, [item_id])
    if changed is None:
        raise ApiError(404, f"dataset {name!r} has no item {item_id!r}")
    return changed


@router.post(
    "/{name}/items/from-traces", response_model=ChangeResult, summary="Add items from traces"
)
def add_from_traces(
    project: str, name: str, body: ItemsFromTraces, services: ServicesDep
) -> ChangeResult:
    """Add one item per trace: its input, and its output as the expected answer to review."""
    project_id = services.project_id(project)
    dataset = _dataset(services, project, name)
    try:
        trace_ids = [normalize_trace_id(trace_id) for trace_id in body.trace_ids]
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    found = datasets.items_from_traces(
        services.engine, project_id, trace_ids, body.expected_from_output
    )
    missing = sorted(set(trace_ids) - {item.source_trace_id for item in found})
    if missing:
        raise ApiError(404, f"project {project!r} has no trace {missing[0]!r}; nothing was added")
    return datasets.add_items(services.engine, dataset, found)


@router.post("/{name}/import", response_model=ChangeResult, summary="Import items from a file")
async def import_items(
    project: str, name: str, request: Request, services: ServicesDep, format: Format = "jsonl"
) -> ChangeResult:
    """Add the items of a JSON Lines or CSV body as one new version (all or nothing)."""
    dataset = _dataset(services, project, name)
    raw = await read_body(request, services.settings.max_request_bytes)
    try:
        text = raw.decode("utf-8-sig")
        parsed = files.read_jsonl(text) if format == "jsonl" else files.read_csv(text)
    except UnicodeDecodeError:
        raise ApiError(400, "the file is not UTF-8 text") from None
    except files.DatasetFileError as error:
        raise ApiError(422, f"nothing was imported: {error}") from None
    if not parsed:
        raise ApiError(422, "the file holds no items")
    try:
        items = [DatasetItemIn.model_validate(item) for item in parsed]
    except ValidationError as error:
        first = error.errors()[0]
        detail = ErrorDetail(location=".".join(map(str, first["loc"])), message=first["msg"])
        raise ApiError(422, f"nothing was imported: {detail.message}", details=[detail]) from None
    return datasets.add_items(services.engine, dataset, items)


@router.get("/{name}/export", summary="Export items as a file")
def export_items(
    project: str,
    name: str,
    services: ServicesDep,
    format: Format = "jsonl",
    version: Version = None,
) -> StreamingResponse:
    """Stream every item of a version as JSON Lines or CSV."""
    dataset, at = _dataset_at(services, project, name, version)
    rows = (item.model_dump() for item in _all_items(services, dataset, at))
    if format == "jsonl":
        return StreamingResponse(files.write_jsonl(rows), media_type="application/jsonl")
    filename = f"{name}-v{at}.csv".replace('"', "")
    return StreamingResponse(
        files.write_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _all_items(services: Services, dataset: int, version: int) -> Iterator[DatasetItemView]:
    after = None
    while True:
        page = datasets.items(services.engine, dataset, version, after=after, limit=1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].id


def _dataset(services: Services, project: str, name: str) -> int:
    found = datasets.dataset_id(services.engine, services.project_id(project), name)
    if found is None:
        raise _missing(project, name)
    return found


def _dataset_at(
    services: Services, project: str, name: str, version: int | None
) -> tuple[int, int]:
    project_id = services.project_id(project)
    found = datasets.find(services.engine, project_id, name)
    dataset = datasets.dataset_id(services.engine, project_id, name)
    if found is None or dataset is None:
        raise _missing(project, name)
    if version is not None and version > found.version:
        raise ApiError(
            404, f"dataset {name!r} has no version {version}; the newest is {found.version}"
        )
    return dataset, version or found.version


def _missing(project: str, name: str) -> ApiError:
    return ApiError(404, f"project {project!r} has no dataset named {name!r}")
