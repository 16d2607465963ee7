"""Experiments: the runs of a project, one run's items and diagnosis, comparisons, calibration.

Figures come from the functions behind the experiments API (``results.summary``,
``results.compare``, ``gold.agreement``), so a page and the JSON it mirrors
always agree.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from daytwo.evals import gold, results
from daytwo.evals.calibration import CalibrationReport, Label, infer_kind
from daytwo.model.evals import (
    ExperimentComparison,
    ExperimentItemView,
    ExperimentView,
    MetricSummary,
)
from daytwo.server.deps import Services, ServicesDep
from daytwo.server.ui.pages.datasets import linkable_trace
from daytwo.server.ui.pages.errors import PageError, not_found
from daytwo.server.ui.templating import query_string, render
from daytwo.storage import datasets, experiments

router = APIRouter(include_in_schema=False)

ITEMS_PER_PAGE = 100
MAX_DISAGREEMENTS = 200  # listed on a calibration page; the counts cover them all
# Which changed items a comparison lists.
SHOWS = ("changed", "worse", "better")
# Landis & Koch (1977), "The measurement of observer agreement for categorical data",
# Biometrics 33(1), p. 165: the customary reading of kappa, as the report's summary gives it.
KAPPA_BANDS = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))


@dataclass(frozen=True, slots=True)
class ExperimentRow:
    """An experiment in the list, with its metric summaries by name."""

    view: ExperimentView
    metrics: dict[str, MetricSummary]


@dataclass
class ChangedItem:
    """An item whose score moved against the baseline: per metric, each experiment's value."""

    item_id: str
    input: Any
    values: dict[str, list[float | None]] = field(default_factory=dict)
    # (metric, experiment position) -> "regressed" or "improved"
    changes: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """An item where the judge and the people gave different labels."""

    item: ExperimentItemView
    human: Label
    judge: Label
    reason: str | None


@router.get("/projects/{project}/experiments", response_class=HTMLResponse)
def experiment_list(
    request: Request, project: str, services: ServicesDep, dataset: str | None = None
) -> HTMLResponse:
    """List experiments newest first, on one dataset when ``dataset`` names one."""
    project_id = _project_id(services, project)
    known = [found.name for found in datasets.list_all(services.engine, project_id)]
    if dataset and dataset not in known:
        raise not_found(f"project {project!r} has no dataset named {dataset!r}")
    rows = []
    for header in experiments.headers(services.engine, project_id):
        if not dataset or header["dataset"] == dataset:
            view = _summarized(services, project_id, header)
            rows.append(ExperimentRow(view, {metric.name: metric for metric in view.metrics}))
    return render(
        request,
        "experiments.html",
        project=project,
        section="experiments",
        rows=rows,
        metrics=sorted({name for row in rows for name in row.metrics}),
        dataset=dataset or "",
        datasets=known,
    )


@router.get("/projects/{project}/experiments/compare", response_class=HTMLResponse)
def comparison_page(
    request: Request,
    project: str,
    services: ServicesDep,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies the default)
    baseline: str | None = None,
    show: str = "changed",
) -> Response:
    """Compare experiments with the first (the baseline): per metric, then item by item."""
    project_id = _project_id(services, project)
    wanted = list(dict.fromkeys(value.strip() for value in ids if value.strip()))
    if len(wanted) < 2:
        raise PageError(400, "pick two or more experiments to compare")
    if show not in SHOWS:
        raise PageError(400, f"unknown show {show!r}; expected one of: {', '.join(SHOWS)}")
    headers = experiments.headers(services.engine, project_id, wanted)
    missing = [value for value in wanted if value not in {header["id"] for header in headers}]
    if missing:
        raise not_found(f"project {project!r} has no experiment {missing[0]!r}")
    if baseline is not None:
        return _with_baseline(request, headers, baseline)

    item_lists = [experiments.item_results(services.engine, project_id, i) for i in wanted]
    views = [
        experiments.view(header, **results.summary(items))
        for header, items in zip(headers, item_lists, strict=True)
    ]
    comparison = results.compare(views, item_lists)
    return render(
        request,
        "comparison.html",
        project=project,
        section="experiments",
        comparison=comparison,
        items=changed_items(comparison, item_lists, show),
        show=show,
        counts={
            "worse": len({change.item_id for change in comparison.regressions}),
            "better": len({change.item_id for change in comparison.improvements}),
        },
        capped=results.MAX_CHANGES in (len(comparison.regressions), len(comparison.improvements)),
        ids=wanted,
    )


@router.get("/projects/{project}/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(
    request: Request,
    project: str,
    experiment_id: str,
    services: ServicesDep,
    page: str | None = None,
) -> HTMLResponse:
    """Show an experiment's summary, its RAG diagnosis when it has one, and its items."""
    project_id = _project_id(services, project)
    view, items = _experiment(services, project, project_id, experiment_id)
    number = _page_number(page)
    pages = max(1, -(-len(items) // ITEMS_PER_PAGE))
    if number > pages:
        raise not_found(f"experiment {experiment_id!r} has {pages} pages of items, not {number}")
    start = (number - 1) * ITEMS_PER_PAGE
    return render(
        request,
        "experiment.html",
        project=project,
        section="experiments",
        experiment=view,
        items=items[start : start + ITEMS_PER_PAGE],
        metrics=[metric.name for metric in view.metrics],
        page=number,
        pages=pages,
        judged=judge_metrics(items, None),
    )


@router.get(
    "/projects/{project}/experiments/{experiment_id}/calibration", response_class=HTMLResponse
)
def calibration_page(
    request: Request,
    project: str,
    experiment_id: str,
    services: ServicesDep,
    metric: str | None = None,
    human: str | None = None,
    order: str | None = None,
) -> HTMLResponse:
    """Show how a judge's scores agree with people's labels on a calibration experiment."""
    project_id = _project_id(services, project)
    view, items = _experiment(services, project, project_id, experiment_id)
    human = human or None
    candidates = judge_metrics(items, human)
    if not metric and not candidates:
        raise not_found(
            f"experiment {view.name!r} is not a judge calibration: no metric was scored on "
            "items that also hold a person's label (the item's expected value, or the score "
            "named by human=)"
        )
    chosen = metric or _likely_judge(view.name, candidates)
    report = _agreement(items, chosen, human, order)
    return render(
        request,
        "calibration.html",
        project=project,
        section="experiments",
        experiment=view,
        report=report,
        statistics=report.statistics(),
        metric=chosen,
        human=human or "",
        order=order or "",
        candidates=sorted({*candidates, chosen}),
        scores=[summary.name for summary in view.metrics],
        disagreements=disagreements(items, chosen, human, report),
        shown=MAX_DISAGREEMENTS,
        bands=kappa_bands(report),
    )


def changed_items(
    comparison: ExperimentComparison, item_lists: Sequence[Sequence[ExperimentItemView]], show: str
) -> list[ChangedItem]:
    """Return the items the comparison lists as worse or better, the largest drops first."""
    position = {view.id: n for n, view in enumerate(comparison.experiments)}
    listed = {
        "changed": [*comparison.regressions, *comparison.improvements],
        "worse": comparison.regressions,
        "better": comparison.improvements,
    }[show]
    inputs: dict[str, Any] = {}
    for items in reversed(item_lists):  # the baseline's input wins where they differ
        inputs.update((item.item_id, item.input) for item in items)
    rows: dict[str, ChangedItem] = {}
    for change in listed:
        if change.item_id not in rows:
            rows[change.item_id] = ChangedItem(change.item_id, inputs.get(change.item_id))
        row = rows[change.item_id]
        kind = "regressed" if change.value < change.baseline else "improved"
        row.changes[(change.metric, position[change.experiment_id])] = kind

    metrics = [metric.name for metric in comparison.metrics]
    for name in metrics:
        values = [results.per_item(items, name) for items in item_lists]
        for row in rows.values():
            row.values[name] = [found.get(row.item_id) for found in values]
    return list(rows.values())


def judge_metrics(items: Sequence[ExperimentItemView], human: str | None) -> list[str]:
    """Return the metrics that read as a judge beside people's labels on two or more items.

    The people's label is an item's ``expected``, or its score named ``human``.
    A metric qualifies when its values and the labels are of one kind and, for
    labels, share at least one value (a judge's "pass" beside a person's "pass";
    an answer's text beside a similarity score does not).
    """
    names = sorted({name for item in items for name in item.scores} - {human})
    return [name for name in names if _reads_as_judge(_pairs(items, name, human))]


def disagreements(
    items: Sequence[ExperimentItemView],
    metric: str,
    human: str | None,
    report: CalibrationReport,
) -> list[Disagreement]:
    """Return the items whose judge label differs from the people's (labels only)."""
    if report.kind == "numeric":
        return []
    found = []
    for item in items:
        people = _label(item, human)
        score = item.scores.get(metric)
        if people is not None and score is not None and score.value != people:
            found.append(Disagreement(item, people, score.value, score.reason))
    return found


def kappa_bands(report: CalibrationReport) -> dict[str, str]:
    """Return the band of each kappa the report could compute, by statistic."""
    return {
        name: kappa_band(found.value)
        for name, found in report.statistics().items()
        if "kappa" in name and found.value is not None
    }


def kappa_band(value: float) -> str:
    """Name the band of a kappa value: poor below 0, up to almost perfect above 0.8."""
    if value < 0:
        return "poor"
    return next((band for bound, band in KAPPA_BANDS if value <= bound), "almost perfect")


def parse_order(order: str | None) -> list[Label] | None:
    """Return ordered labels from comma-separated text, numbers as numbers, as the API does."""
    if not order or not order.strip():
        return None
    labels: list[Label] = []
    for text in (part.strip() for part in order.split(",")):
        try:
            labels.append(int(text))
        except ValueError:
            try:
                labels.append(float(text))
            except ValueError:
                labels.append(text)
    return labels


def _agreement(
    items: Sequence[ExperimentItemView], metric: str, human: str | None, order: str | None
) -> CalibrationReport:
    """Return the calibration report the API's route gives; labels that do not fit are a 400."""
    try:
        return gold.agreement(
            [item.model_dump() for item in items], metric, human=human, order=parse_order(order)
        )
    except ValueError as error:
        raise PageError(400, f"no calibration for {metric!r}: {error}") from None


def _pairs(
    items: Sequence[ExperimentItemView], metric: str, human: str | None
) -> list[tuple[Label, Label]]:
    pairs = []
    for item in items:
        people, score = _label(item, human), item.scores.get(metric)
        if people is not None and score is not None:
            pairs.append((people, score.value))
    return pairs


def _label(item: ExperimentItemView, human: str | None) -> Label | None:
    if human is not None:
        score = item.scores.get(human)
        return score.value if score is not None else None
    expected = item.expected
    return expected if isinstance(expected, (str, bool, int, float)) else None


def _reads_as_judge(pairs: list[tuple[Label, Label]]) -> bool:
    if len(pairs) < 2:
        return False
    try:
        kind = infer_kind([label for pair in pairs for label in pair])
    except ValueError:
        return False
    return kind == "numeric" or bool({h for h, _ in pairs} & {j for _, j in pairs})


def _likely_judge(name: str, candidates: list[str]) -> str:
    """Return the judge a calibration experiment names ("calibrate polite"), else the first."""
    named = name.removeprefix("calibrate ").strip()
    return named if named in candidates else candidates[0]


def _with_baseline(
    request: Request, headers: list[dict[str, Any]], baseline: str
) -> RedirectResponse:
    """Redirect to the same comparison with ``baseline`` first ("oldest": the oldest picked)."""
    ids = [header["id"] for header in headers]
    if baseline == "oldest":
        ids = [header["id"] for header in sorted(headers, key=lambda h: h["created_at"])]
    elif baseline in ids:
        ids = [baseline, *(other for other in ids if other != baseline)]
    else:
        raise PageError(400, f"the baseline {baseline!r} is not one of the compared experiments")
    kept = {key: value for key, value in request.query_params.items() if key == "show"}
    return RedirectResponse(request.url.path + query_string({"ids": ids}, **kept), status_code=303)


def _experiment(
    services: Services, project: str, project_id: int, experiment_id: str
) -> tuple[ExperimentView, list[ExperimentItemView]]:
    found = experiments.headers(services.engine, project_id, [experiment_id])
    if not found:
        raise not_found(f"project {project!r} has no experiment {experiment_id!r}")
    items = experiments.item_results(services.engine, project_id, experiment_id)
    view = experiments.view(found[0], **results.summary(items))
    linked = [item.model_copy(update={"trace_id": linkable_trace(item.trace_id)}) for item in items]
    return view, linked


def _summarized(services: Services, project_id: int, header: dict[str, Any]) -> ExperimentView:
    items = experiments.item_results(services.engine, project_id, header["id"])
    return experiments.view(header, **results.summary(items))


def _project_id(services: Services, project: str) -> int:
    found = services.projects.lookup(project)
    if found is None:
        raise not_found(f"no project named {project!r}")
    return found


def _page_number(value: str | None) -> int:
    if value is None or value == "":
        return 1
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise PageError(400, f"page must be a whole number from 1; got {value!r}")
    return number
