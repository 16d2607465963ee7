"""Datasets: their items at any version, import and export, and items made from traces.

Every change (an import, a removed item, items from traces) is a POST that
makes a new version through the same storage functions as the API, then
redirects back to the dataset page with what it did in the query string, so a
reload shows the page again rather than repeating the change.
"""

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from daytwo.evals import files
from daytwo.model.evals import ChangeResult, DatasetIn, DatasetItemIn, DatasetView
from daytwo.model.ids import InvalidIdError, normalize_trace_id
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.forms import Upload, read_form
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.templating import render
from daytwo.storage import datasets

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_TRACES = 1000  # as many as the API's items-from-traces takes at once
FORMATS = ("jsonl", "csv")
# Counts a change reports on the page it redirects to, in the order they are told.
CHANGES = ("added", "updated", "removed")


class ImportRefusedError(Exception):
    """A file that cannot be imported; the message says why, naming the line or row."""


@dataclass(frozen=True, slots=True)
class DatasetPage:
    """A dataset at one version, and where its items come from."""

    project_id: int
    dataset_id: int
    view: DatasetView
    version: int


@router.get("/projects/{project}/datasets", response_class=HTMLResponse)
def dataset_list(request: Request, project: str, services: ServicesDep) -> HTMLResponse:
    """List the project's datasets, most recently changed first."""
    project_id = _project_id(services, project)
    found = datasets.list_all(services.engine, project_id)
    return render(request, "datasets.html", project=project, section="datasets", datasets=found)


@router.post("/projects/{project}/datasets", response_class=HTMLResponse)
async def create_dataset(request: Request, project: str, services: ServicesDep) -> RedirectResponse:
    """Create an empty dataset from the form on the list, then open it."""
    project_id = _project_id(services, project)
    form = await read_form(request)
    spec = _dataset_spec(form.get("name"), form.get("description") or None)
    try:
        datasets.create(services.engine, project_id, spec.name, spec.description)
    except datasets.DatasetExistsError:
        raise PageError(409, f"project {project!r} has a dataset named {spec.name!r}") from None
    return RedirectResponse(_dataset_url(project, spec.name), status_code=303)


@router.post("/projects/{project}/datasets/from-traces", response_class=HTMLResponse)
async def add_from_traces(
    request: Request, project: str, services: ServicesDep
) -> RedirectResponse:
    """Add the picked traces to a dataset (created if need be), then open the dataset."""
    project_id = _project_id(services, project)
    form = await read_form(request)
    spec = _dataset_spec(form.get("dataset"), None)
    trace_ids = _trace_ids(form.all("trace_id"))

    found = datasets.items_from_traces(services.engine, project_id, trace_ids, True)
    missing = sorted(set(trace_ids) - {item.source_trace_id for item in found})
    if missing:
        raise not_found(f"project {project!r} has no trace {missing[0]!r}; nothing was added")

    dataset = _dataset_for(services, project_id, spec.name)
    change = datasets.add_items(services.engine, dataset, found)
    return _back(project, spec.name, change, "traces")


@router.get("/projects/{project}/datasets/{name}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    project: str,
    name: str,
    services: ServicesDep,
    version: str | None = None,
    after: str | None = None,
) -> HTMLResponse:
    """Show a dataset's items at its newest version or at ``version``, with its versions."""
    found = _dataset_at(services, project, name, _whole_number(version, "version"))
    return _render_dataset(request, services, project, found, after)


@router.post("/projects/{project}/datasets/{name}/import", response_class=HTMLResponse)
async def import_file(request: Request, project: str, name: str, services: ServicesDep) -> Response:
    """Add a JSON Lines or CSV file's items as one new version, or show why it was refused."""
    found = _dataset_at(services, project, name, None)
    form = await read_form(request)
    try:
        items = read_items(form.files.get("file"), form.get("format"))
    except ImportRefusedError as error:
        return _render_dataset(request, services, project, found, None, error=str(error))
    change = datasets.add_items(services.engine, found.dataset_id, items)
    return _back(project, name, change, "file")


@router.post("/projects/{project}/datasets/{name}/remove", response_class=HTMLResponse)
async def remove_item(
    request: Request, project: str, name: str, services: ServicesDep
) -> RedirectResponse:
    """Remove the item named by the form's ``item_id`` as a new version."""
    found = _dataset_at(services, project, name, None)
    form = await read_form(request)
    item_id = form.get("item_id")
    change = datasets.remove_items(services.engine, found.dataset_id, [item_id])
    if change is None:
        raise not_found(f"dataset {name!r} has no item {item_id!r}")
    return _back(project, name, change, None)


def read_items(upload: Upload | None, format: str) -> list[DatasetItemIn]:
    """Return the items of an uploaded file, read as the API's import reads a body."""
    if upload is None or not upload.content.strip():
        raise ImportRefusedError("choose a JSON Lines or CSV file to import")
    chosen = _format_of(upload.filename, format)
    try:
        text = upload.content.decode("utf-8-sig")
        parsed = files.read_jsonl(text) if chosen == "jsonl" else files.read_csv(text)
    except UnicodeDecodeError:
        raise ImportRefusedError(f"{upload.filename} is not UTF-8 text") from None
    except files.DatasetFileError as error:
        raise ImportRefusedError(f"nothing was imported from {upload.filename}: {error}") from None
    if not parsed:
        raise ImportRefusedError(f"{upload.filename} holds no items")
    try:
        return [DatasetItemIn.model_validate(item) for item in parsed]
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ImportRefusedError(f"nothing was imported: {where}: {first['msg']}") from None


def linkable_trace(trace_id: str | None) -> str | None:
    """Return a trace id fit for a link to the trace's page, or None when it is not one.

    Ids reach storage from clients as they were sent; only a well-formed id
    goes into a path, so that no value can point a link elsewhere.
    """
    if trace_id is None:
        return None
    try:
        return normalize_trace_id(trace_id)
    except InvalidIdError:
        return None


def _format_of(filename: str, chosen: str) -> str:
    if chosen in FORMATS:
        return chosen
    if chosen not in ("", "auto"):
        raise ImportRefusedError(f"unknown format {chosen!r}; expected one of: auto, jsonl, csv")
    return "csv" if filename.lower().endswith(".csv") else "jsonl"


def _render_dataset(
    request: Request,
    services: Services,
    project: str,
    found: DatasetPage,
    after: str | None,
    error: str | None = None,
) -> HTMLResponse:
    page = datasets.items(
        services.engine, found.dataset_id, found.version, after=after, limit=PAGE_SIZE + 1
    )
    versions = datasets.versions(services.engine, found.dataset_id)
    count = next((v.item_count for v in versions if v.version == found.version), None)
    return render(
        request,
        "dataset.html",
        status_code=400 if error else 200,
        project=project,
        section="datasets",
        dataset=found.view,
        version=found.version,
        versions=versions,
        item_count=count if count is not None else found.view.item_count,
        items=[
            item.model_copy(update={"source_trace_id": linkable_trace(item.source_trace_id)})
            for item in page[:PAGE_SIZE]
        ],
        next_after=page[PAGE_SIZE - 1].id if len(page) > PAGE_SIZE else None,
        after=after,
        notice=_notice(request.query_params),
        error=error,
    )


def _notice(params: Mapping[str, str]) -> str | None:
    """Describe the change a redirect reported, from numbers only (never from free text)."""
    counts = {name: _whole_number(params.get(name), name) for name in CHANGES}
    parts = [
        f"{verb} {count} item{'s' if count != 1 else ''}"
        for name, verb in zip(CHANGES, ("Added", "Replaced", "Removed"), strict=True)
        if (count := counts[name] or 0)
    ]
    if not parts:
        return None
    source = {"traces": " from traces", "file": " from the file"}.get(params.get("via", ""), "")
    return ", ".join(parts) + source + "."


def _back(project: str, name: str, change: ChangeResult, via: str | None) -> RedirectResponse:
    counts = {key: getattr(change, key) for key in CHANGES if getattr(change, key)}
    query = urlencode({**counts, **({"via": via} if via else {})})
    return RedirectResponse(f"{_dataset_url(project, name)}?{query}", status_code=303)


def _dataset_url(project: str, name: str) -> str:
    return f"/projects/{quote(project, safe='')}/datasets/{quote(name, safe='')}"


def _project_id(services: Services, project: str) -> int:
    found = services.projects.lookup(project)
    if found is None:
        raise not_found(f"no project named {project!r}")
    return found


def _dataset_at(services: Services, project: str, name: str, version: int | None) -> DatasetPage:
    project_id = _project_id(services, project)
    view = datasets.find(services.engine, project_id, name)
    dataset = datasets.dataset_id(services.engine, project_id, name)
    if view is None or dataset is None:
        raise not_found(f"project {project!r} has no dataset named {name!r}")
    if version is not None and not 1 <= version <= view.version:
        raise not_found(f"dataset {name!r} has no version {version}; the newest is {view.version}")
    return DatasetPage(project_id, dataset, view, version or view.version)


def _dataset_for(services: Services, project_id: int, name: str) -> int:
    """Return the id of dataset ``name``, creating it when the project has none by that name."""
    found = datasets.dataset_id(services.engine, project_id, name)
    if found is not None:
        return found
    # A request that created it meanwhile wins; its dataset is the one to add to.
    with suppress(datasets.DatasetExistsError):
        datasets.create(services.engine, project_id, name, None)
    created = datasets.dataset_id(services.engine, project_id, name)
    assert created is not None
    return created


def _dataset_spec(name: str, description: str | None) -> DatasetIn:
    if not name:
        raise PageError(400, "name the dataset")
    try:
        return DatasetIn(name=name, description=description)
    except ValidationError:
        raise PageError(
            400, f"{name!r} is not a dataset name: use 1 to 200 characters without / or \\"
        ) from None


def _trace_ids(values: list[str]) -> list[str]:
    if not values:
        raise PageError(400, "pick at least one trace to add")
    if len(values) > MAX_TRACES:
        raise PageError(400, f"pick at most {MAX_TRACES} traces at once; got {len(values)}")
    try:
        return list(dict.fromkeys(normalize_trace_id(value) for value in values))
    except InvalidIdError as error:
        raise PageError(400, str(error)) from None


def _whole_number(value: str | None, name: str) -> int | None:
    """Return a whole number from a query parameter (None when absent), or a 400 page."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise PageError(400, f"{name} must be a whole number; got {value!r}")
    return number
