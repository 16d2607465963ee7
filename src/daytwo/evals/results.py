"""Experiment results in figures: per-metric means with intervals, and comparisons.

Both the server (for its API and pages) and the command line use these, so an
experiment reads the same everywhere. Repetitions of an item are averaged
before items are compared, so that a metric's interval reflects how much
items vary, not how many times each was run.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from daytwo.evals import diagnosis, stats
from daytwo.model.evals import (
    ExperimentComparison,
    ExperimentItemView,
    ExperimentView,
    ItemChange,
    MetricComparison,
    MetricSummary,
)

MAX_CHANGES = 200
# The RAG metrics' names, as daytwo.evals.metrics.rag gives them.
CONTEXT_PRECISION = "context_precision"
FAITHFULNESS = "faithfulness"


def summary(items: Sequence[ExperimentItemView]) -> dict[str, Any]:
    """Return the fields of ``ExperimentView`` computed from item results."""
    metrics = [_metric_summary(name, items) for name in _metric_names([items])]
    costs = [item.cost for item in items if item.cost is not None]
    latencies = sorted(item.latency_ms for item in items if item.latency_ms is not None)
    return {
        "metrics": metrics,
        "diagnosis": rag_diagnosis(items),
        "total_cost": sum(costs) if costs else None,
        "latency_p50_ms": _quantile(latencies, 0.5),
        "latency_p95_ms": _quantile(latencies, 0.95),
    }


def rag_diagnosis(items: Sequence[ExperimentItemView]) -> dict[str, Any] | None:
    """Place the run and its items in the context precision / faithfulness quadrant."""
    precision = per_item(items, CONTEXT_PRECISION)
    faithfulness = per_item(items, FAITHFULNESS)
    shared = sorted(precision.keys() & faithfulness.keys())
    if not shared:
        return None
    found = diagnosis.diagnose(
        [precision[key] for key in shared], [faithfulness[key] for key in shared], ids=shared
    )
    return found.to_dict()


def per_item(items: Sequence[ExperimentItemView], metric: str) -> dict[str, float]:
    """Return each item's numeric value of ``metric``, averaged over its repetitions."""
    values: dict[str, list[float]] = defaultdict(list)
    for item in items:
        score = item.scores.get(metric)
        if score is not None and (number := _number(score.value)) is not None:
            values[item.item_id].append(number)
    return {item_id: sum(found) / len(found) for item_id, found in values.items()}


def compare(
    views: Sequence[ExperimentView], results: Sequence[Sequence[ExperimentItemView]]
) -> ExperimentComparison:
    """Compare experiments with the first: per-metric differences on shared items, item changes."""
    metrics = []
    regressions: list[ItemChange] = []
    improvements: list[ItemChange] = []
    for name in _metric_names(results):
        baseline = per_item(results[0], name)
        summaries = [
            _metric_summary(name, items) if _has(items, name) else None for items in results
        ]
        differences: list[dict[str, float | int | str | None] | None] = []
        for view, items in zip(views[1:], results[1:], strict=True):
            candidate = per_item(items, name)
            differences.append(_difference(baseline, candidate))
            for item_id in sorted(baseline.keys() & candidate.keys()):
                change = ItemChange(
                    item_id=item_id,
                    metric=name,
                    experiment_id=view.id,
                    baseline=baseline[item_id],
                    value=candidate[item_id],
                )
                if change.value < change.baseline:
                    regressions.append(change)
                elif change.value > change.baseline:
                    improvements.append(change)
        metrics.append(MetricComparison(name=name, summaries=summaries, differences=differences))
    regressions.sort(key=lambda change: change.value - change.baseline)
    improvements.sort(key=lambda change: change.baseline - change.value)
    return ExperimentComparison(
        experiments=list(views),
        metrics=metrics,
        regressions=regressions[:MAX_CHANGES],
        improvements=improvements[:MAX_CHANGES],
    )


def _difference(
    baseline: dict[str, float], candidate: dict[str, float]
) -> dict[str, float | int | str | None] | None:
    shared = sorted(baseline.keys() & candidate.keys())
    if not shared:
        return None
    found = stats.paired_difference_ci(
        [baseline[key] for key in shared], [candidate[key] for key in shared]
    )
    return {
        "difference": found.difference,
        "low": found.low,
        "high": found.high,
        "n": found.n,
        "verdict": found.verdict,
    }


def _metric_summary(name: str, items: Sequence[ExperimentItemView]) -> MetricSummary:
    numbers = list(per_item(items, name).values())
    labels = Counter(
        score.value
        for item in items
        if (score := item.scores.get(name)) is not None and isinstance(score.value, str)
    )
    count = sum(1 for item in items if name in item.scores)
    if not numbers:
        return MetricSummary(
            name=name, mean=None, low=None, high=None, count=count, labels=dict(labels) or None
        )
    interval = stats.mean_with_ci(numbers)
    return MetricSummary(
        name=name, mean=interval.mean, low=interval.low, high=interval.high, count=count
    )


def _metric_names(results: Sequence[Sequence[ExperimentItemView]]) -> list[str]:
    names: dict[str, None] = {}
    for items in results:
        for item in items:
            names.update(dict.fromkeys(item.scores))
    return sorted(names)


def _has(items: Sequence[ExperimentItemView], name: str) -> bool:
    return any(name in item.scores for item in items)


def _number(value: bool | float | str) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _quantile(ordered: Sequence[float], fraction: float) -> float | None:
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
