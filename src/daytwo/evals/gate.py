"""``daytwo eval``: run an experiment in CI and fail the build when quality drops.

The gate runs a task over a dataset on the server (see ``daytwo.evals.runner``),
then checks three things: each ``--threshold`` against its metric's mean;
with ``--baseline``, each metric's paired difference against an earlier
experiment on the same items; and that no more than ``--max-errors`` (default
0) items failed in the task, and no more than that many cases went unscored by
any one metric (a judge that errors). The verdict on a metric comes from the
interval, not the point estimate, so noise alone does not fail a build.

Exit status: 0 passed, 1 the gate failed, 2 the command is misconfigured (a
bad spec, an unknown metric, a module that does not import, a missing
dataset), 3 the run itself failed (say, the server is unreachable).

    daytwo eval --dataset refunds --task app.bot:answer \\
        --metric "contains:30 days" --metric levenshtein \\
        --threshold contains>=0.9 --baseline main --report-json report.json
"""

import argparse
import importlib
import json
import operator
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from daytwo.evals.client import DaytwoClient
    from daytwo.evals.metric import Metric
    from daytwo.evals.runner import ExperimentResult

PASSED, FAILED, USAGE, RUN_FAILED = 0, 1, 2, 3
WORSE_ITEMS_SHOWN = 10

_T = TypeVar("_T")
_EXPERIMENT_ID = re.compile(r"^[0-9a-f]{32}$")
_THRESHOLD = re.compile(r"^\s*(?P<metric>[^<>=]+?)\s*(?P<op>>=|<=|>|<)\s*(?P<value>\S+)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class GateError(Exception):
    """The command is misconfigured; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Threshold:
    """A bound on a metric's mean, such as ``exact>=0.8``."""

    metric: str
    op: str
    value: float

    def holds(self, mean: float) -> bool:
        """Return whether ``mean`` is on the right side of the bound."""
        return _OPERATORS[self.op](mean, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``eval`` command to the ``daytwo`` command line."""
    parser = commands.add_parser(
        "eval",
        help="run an experiment and fail on regressions (for CI)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--dataset", required=True, help="the dataset's name on the server")
    parser.add_argument("--task", required=True, help="module.path:function to evaluate")
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"a built-in metric, NAME or NAME:ARGUMENT ({', '.join(sorted(BUILTINS))})",
    )
    parser.add_argument(
        "--metrics",
        metavar="MODULE:ATTRIBUTE",
        help="a Metric, a list of them, or a function returning them",
    )
    parser.add_argument(
        "--threshold", action="append", default=[], metavar="METRIC>=VALUE", help="a bound"
    )
    parser.add_argument("--baseline", help="an experiment id, or the name of earlier runs")
    parser.add_argument("--name", help="the experiment's name (default: the task and the time)")
    parser.add_argument("--project", help="overrides DAYTWO_PROJECT")
    parser.add_argument("--url", help="overrides DAYTWO_URL")
    parser.add_argument("--concurrency", type=int, default=8, help="items at once (default: 8)")
    parser.add_argument("--repetitions", type=int, default=1, help="runs per item (default: 1)")
    parser.add_argument("--sample", type=int, help="run a seeded random sample of N items")
    parser.add_argument("--dataset-version", type=int, help="a past version of the dataset")
    parser.add_argument(
        "--max-errors",
        type=int,
        default=0,
        metavar="N",
        help="items the task may fail on, and cases each metric may fail to score (default: 0)",
    )
    parser.add_argument("--report-json", type=Path, metavar="PATH", help="also write JSON here")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the gate for parsed arguments and return the exit status."""
    try:
        code, report = _gate(args)
    except GateError as error:
        code, report = USAGE, Report(error=str(error))
    except _RunError as error:
        code, report = RUN_FAILED, Report(error=str(error))
    if report.error is not None:
        print(f"daytwo eval: {report.error}", file=sys.stderr)
    else:
        write_text(report, sys.stdout)
    if args.report_json is not None:
        write_json(report, args.report_json, code)
    return code


class _RunError(Exception):
    """The experiment could not run or be read back."""


def _gate(args: argparse.Namespace) -> tuple[int, "Report"]:
    thresholds = [parse_threshold(spec) for spec in args.threshold]
    _check_counts(args)
    task = load_object(args.task, "--task")
    if not callable(task):
        raise GateError(f"--task {args.task!r} is {type(task).__name__}, not a function")
    metrics = [build_metric(spec) for spec in args.metric]
    if args.metrics:
        metrics.extend(load_metrics(args.metrics))
    if not metrics:
        raise GateError("no metrics; give --metric NAME or --metrics module:attribute")
    thresholds = _resolve_thresholds(thresholds, metrics, args.metric)

    _configure_sdk(args)
    from daytwo.evals.client import DaytwoClient

    with DaytwoClient(args.url, project=args.project) as client:
        baseline = _guarded(lambda: _find_dataset_and_baseline(client, args))
        result = _guarded(lambda: _evaluate(client, args, task, metrics))
        comparison = (
            _guarded(lambda: client.compare([baseline["id"], result.id])) if baseline else None
        )
    report = Report.build(result, thresholds, comparison, max_errors=args.max_errors)
    if args.baseline and baseline is None:
        report.notes.append(
            f"no completed experiment named {args.baseline!r} yet; nothing to compare with"
        )
    return (FAILED if report.failures else PASSED), report


def parse_threshold(spec: str) -> Threshold:
    """Parse ``metric>=0.8`` (or ``>``, ``<=``, ``<``) into a ``Threshold``."""
    found = _THRESHOLD.match(spec)
    if found is None:
        raise GateError(f"threshold {spec!r} is not METRIC>=VALUE (or >, <=, <)")
    try:
        value = float(found["value"])
    except ValueError:
        raise GateError(
            f"threshold {spec!r} compares with {found['value']!r}, not a number"
        ) from None
    return Threshold(found["metric"], found["op"], value)


Factory = Callable[[str | None], "Metric"]


def _simple(class_name: str) -> Factory:
    def build(argument: str | None) -> "Metric":
        if argument is not None:
            raise GateError("takes no argument")
        from daytwo.evals.metrics import heuristic

        metric: Metric = getattr(heuristic, class_name)()
        return metric

    return build


def _contains(argument: str | None) -> "Metric":
    from daytwo.evals.metrics.heuristic import Contains

    # Without an argument, the item's expected output is looked for.
    return Contains(argument or None)


def _regex(argument: str | None) -> "Metric":
    from daytwo.evals.metrics.heuristic import RegexMatch

    if not argument:
        raise GateError("needs a pattern, as in regex:^\\d+$")
    try:
        return RegexMatch(argument)
    except re.error as error:
        raise GateError(f"has an invalid pattern: {error}") from None


def _json_schema(argument: str | None) -> "Metric":
    from daytwo.evals.metrics.heuristic import JsonSchema

    if not argument:
        raise GateError("needs a schema file, as in json_schema:schema.json")
    try:
        return JsonSchema(json.loads(Path(argument).read_text()))
    except (OSError, ValueError) as error:
        raise GateError(f"cannot use the schema file {argument!r}: {error}") from None


def _rouge(argument: str | None) -> "Metric":
    from daytwo.evals.metrics.heuristic import Rouge

    variant: Any = argument or "rougeL"  # Rouge names the variants it knows when wrong
    return Rouge(variant)


# Spec name to a function building the metric from the text after the colon (None without one).
BUILTINS: dict[str, Factory] = {
    "equals": _simple("Equals"),
    "contains": _contains,
    "regex": _regex,
    "is_json": _simple("IsJson"),
    "json_schema": _json_schema,
    "levenshtein": _simple("LevenshteinRatio"),
    "bleu": _simple("Bleu"),
    "chrf": _simple("ChrF"),
    "rouge": _rouge,
}


def build_metric(spec: str) -> "Metric":
    """Return the built-in metric a ``--metric`` spec names, such as ``contains:30 days``."""
    key, colon, argument = spec.partition(":")
    factory = BUILTINS.get(key.strip())
    if factory is None:
        raise GateError(
            f"unknown metric {key!r}; expected one of: {', '.join(sorted(BUILTINS))} "
            "(or load your own with --metrics module:attribute)"
        )
    try:
        return factory(argument if colon else None)
    except GateError as error:
        raise GateError(f"metric {spec!r} {error}") from None
    except ValueError as error:
        raise GateError(f"metric {spec!r}: {error}") from None


def load_object(reference: str, option: str) -> Any:
    """Import ``module.path:attribute`` with the current directory on ``sys.path``."""
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise GateError(f"{option} {reference!r} is not module.path:attribute")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise GateError(f"{option}: cannot import {module_name!r}: {error}") from None
    except Exception as error:  # the user's module failed while importing
        raise GateError(
            f"{option}: importing {module_name!r} raised {type(error).__name__}: {error}"
        ) from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise GateError(f"{option}: {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    return found


def load_metrics(reference: str) -> list["Metric"]:
    """Load a Metric, a list of them, or a zero-argument function that returns either."""
    from daytwo.evals.metric import Metric

    found = load_object(reference, "--metrics")
    if callable(found) and not isinstance(found, Metric):
        try:
            found = found()
        except Exception as error:
            raise GateError(
                f"--metrics: calling {reference!r} raised {type(error).__name__}: {error}"
            ) from None
    metrics = [found] if isinstance(found, Metric) else found
    if not isinstance(metrics, (list, tuple)) or not all(isinstance(m, Metric) for m in metrics):
        raise GateError(f"--metrics {reference!r} is not a Metric or a list of metrics")
    return list(metrics)


def _check_counts(args: argparse.Namespace) -> None:
    for option in ("concurrency", "repetitions", "sample", "dataset_version"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise GateError(f"--{option.replace('_', '-')} must be at least 1, not {value}")
    if args.max_errors < 0:
        raise GateError(f"--max-errors must be 0 or more, not {args.max_errors}")


def _resolve_thresholds(
    thresholds: Sequence[Threshold], metrics: Sequence["Metric"], specs: Sequence[str]
) -> list[Threshold]:
    """Name each threshold's metric as it is recorded, rejecting names no metric has.

    A threshold may name a metric as recorded (``levenshtein_ratio``) or as
    given to ``--metric`` (``levenshtein``).
    """
    names = {metric.name for metric in metrics}
    aliases = {
        spec.partition(":")[0]: metric.name for spec, metric in zip(specs, metrics, strict=False)
    }
    resolved = []
    for threshold in thresholds:
        name = threshold.metric if threshold.metric in names else aliases.get(threshold.metric)
        if name is None:
            raise GateError(
                f"threshold {threshold.metric}{threshold.op}{threshold.value:g} names no metric "
                f"being run; expected one of: {', '.join(sorted(names))}"
            )
        resolved.append(Threshold(name, threshold.op, threshold.value))
    return resolved


def _configure_sdk(args: argparse.Namespace) -> None:
    # Traces must reach the same server and project as the experiment.
    changes = {key: getattr(args, key) for key in ("url", "project") if getattr(args, key)}
    if changes:
        import daytwo
        from daytwo.sdk import tracer

        daytwo.configure(**{**tracer.settings()._asdict(), **changes})


def _guarded(step: Callable[[], _T]) -> _T:
    """Run a step that talks to the server; its failures become ``_RunError``."""
    import httpx

    from daytwo.evals.client import ApiError

    try:
        return step()
    except (GateError, _RunError):
        raise
    except httpx.TransportError as error:
        raise _RunError(f"cannot reach the server: {error}") from None
    except ApiError as error:
        raise _RunError(f"the server refused the run: {error}") from None
    except Exception as error:
        raise _RunError(f"the run failed: {type(error).__name__}: {error}") from None


def _find_dataset_and_baseline(
    client: "DaytwoClient", args: argparse.Namespace
) -> dict[str, Any] | None:
    from daytwo.evals.client import ApiError

    where = f"project {client.project!r} at {client.url}"
    try:
        client.dataset(args.dataset)
    except ApiError as error:
        if error.status == 404:
            raise GateError(f"dataset {args.dataset!r} does not exist in {where}") from None
        raise
    if args.baseline is None:
        return None
    if _EXPERIMENT_ID.match(args.baseline):
        try:
            return client.experiment(args.baseline)
        except ApiError as error:
            if error.status == 404:
                raise GateError(f"baseline {args.baseline!r} is no experiment in {where}") from None
            raise
    completed = (e for e in client.experiments(name=args.baseline) if e["status"] == "completed")
    return next(completed, None)


def _evaluate(
    client: "DaytwoClient", args: argparse.Namespace, task: Any, metrics: list["Metric"]
) -> "ExperimentResult":
    from daytwo.evals.runner import evaluate

    return evaluate(
        args.dataset,
        task,
        metrics,
        name=args.name,
        dataset_version=args.dataset_version,
        concurrency=args.concurrency,
        repetitions=args.repetitions,
        sample=args.sample,
        metadata={"source": "daytwo eval", "task": args.task},
        progress=sys.stderr.isatty(),
        client=client,
    )


# The report.


@dataclass(slots=True)
class MetricRow:
    """One metric's line in the report: its mean, its bounds, its change, its failures."""

    name: str
    mean: float | None
    low: float | None
    high: float | None
    count: int
    thresholds: list[Threshold] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    # Cases the metric could not score in this run, and the last reason why.
    unscored: int = 0
    unscored_reason: str | None = None
    failures: list[str] = field(default_factory=list)

    def check(self, baseline_name: str, max_errors: int) -> None:
        """Record why this metric fails its thresholds, its comparison or its scoring."""
        if self.unscored > max_errors:
            self.failures.append(self.unscored_note(max_errors))
        for threshold in self.thresholds:
            if self.mean is None:
                self.failures.append(
                    f"{self.name} has no numeric scores, so {threshold} cannot hold"
                )
            elif not threshold.holds(self.mean):
                self.failures.append(
                    f"{self.name} mean {_interval(self.mean, self.low, self.high)} "
                    f"is not {threshold}"
                )
        if self.baseline is not None and self.baseline["verdict"] == "worse":
            self.failures.append(
                f"{self.name} is worse than the baseline {baseline_name}: "
                f"{_change(self.baseline)} over {self.baseline['n']} items"
            )

    def unscored_note(self, max_errors: int) -> str:
        """Say how many cases the metric could not score, and why the last one failed."""
        cases = f"{self.unscored} case{'s' if self.unscored != 1 else ''}"
        return (
            f"{self.name} could not score {cases} (at most {max_errors} allowed by "
            f"--max-errors); the last: {self.unscored_reason}"
        )


@dataclass(slots=True)
class Report:
    """What the gate found, printed for people and written as JSON for tools."""

    rows: list[MetricRow] = field(default_factory=list)
    experiment: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    worse_items: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Failures of the run as a whole (the task's errors), before those of each metric.
    run_failures: list[str] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def build(
        cls,
        result: "ExperimentResult",
        thresholds: Sequence[Threshold],
        comparison: dict[str, Any] | None,
        *,
        max_errors: int = 0,
    ) -> "Report":
        """Check the run against ``thresholds``, the baseline and ``max_errors``."""
        summary = result.summary
        rows = {
            m["name"]: MetricRow(m["name"], m["mean"], m["low"], m["high"], m["count"])
            for m in summary.get("metrics", [])
        }
        for threshold in thresholds:
            row = rows.setdefault(
                threshold.metric, MetricRow(threshold.metric, None, None, None, 0)
            )
            row.thresholds.append(threshold)
        # A metric that failed on every case has no scores, so no row in the summary.
        for name, (count, reason) in result.metric_failures.items():
            row = rows.setdefault(name, MetricRow(name, None, None, None, 0))
            row.unscored, row.unscored_reason = count, reason
        report = cls(
            rows=list(rows.values()),
            experiment={"id": summary["id"], "name": summary["name"], "url": result.url},
            counts={
                "items": summary["item_count"],
                "errors": summary["error_count"],
                "skipped": result.skipped,
                "max_errors": max_errors,
                "total_cost": summary.get("total_cost"),
            },
        )
        if comparison is not None:
            report._compare(comparison, rows)
        report._check_errors(result, max_errors)
        for row in report.rows:
            row.check(report._baseline_name(), max_errors)
            if 0 < row.unscored <= max_errors:
                report.notes.append(row.unscored_note(max_errors))
        return report

    def _check_errors(self, result: "ExperimentResult", max_errors: int) -> None:
        errors, items = self.counts["errors"], self.counts["items"]
        if not errors:
            return
        last = next((run.error for run in reversed(result.runs) if run.error), None)
        found = (
            f"the task failed on {errors} of {items} items (at most {max_errors} allowed by "
            f"--max-errors)" + (f"; the last: {last}" if last else "")
        )
        (self.run_failures if errors > max_errors else self.notes).append(found)

    def _compare(self, comparison: dict[str, Any], rows: dict[str, MetricRow]) -> None:
        baseline = comparison["experiments"][0]
        self.baseline = {"id": baseline["id"], "name": baseline["name"]}
        for metric in comparison["metrics"]:
            if metric["name"] in rows:
                rows[metric["name"]].baseline = metric["differences"][0]
        worse = {
            name for name, row in rows.items() if (row.baseline or {}).get("verdict") == "worse"
        }
        changes = [change for change in comparison["regressions"] if change["metric"] in worse]
        self.worse_items = [
            {key: change[key] for key in ("item_id", "metric", "baseline", "value")}
            for change in changes[:WORSE_ITEMS_SHOWN]
        ]

    def _baseline_name(self) -> str:
        if self.baseline is None:
            return ""
        return f"{self.baseline['name']} ({self.baseline['id']})"

    @property
    def failures(self) -> list[str]:
        return [*self.run_failures, *(failure for row in self.rows for failure in row.failures)]

    def as_dict(self, code: int) -> dict[str, Any]:
        """Return the report as JSON-ready data, with the exit status it led to."""
        metrics = [
            {
                "name": row.name,
                "mean": row.mean,
                "low": row.low,
                "high": row.high,
                "count": row.count,
                "thresholds": [
                    {
                        "op": t.op,
                        "value": t.value,
                        "passed": row.mean is not None and t.holds(row.mean),
                    }
                    for t in row.thresholds
                ],
                "baseline": row.baseline,
                "unscored": row.unscored,
                "passed": not row.failures,
            }
            for row in self.rows
        ]
        return {
            "passed": code == PASSED,
            "exit_code": code,
            "error": self.error,
            "experiment": self.experiment,
            "baseline": self.baseline,
            "metrics": metrics,
            "failures": self.failures,
            "worse_items": self.worse_items,
            **self.counts,
            "notes": self.notes,
        }


def write_text(report: Report, out: TextIO) -> None:
    """Print the report as a table and the lines under it."""
    table = [["metric", "mean [95% interval]", "threshold", "vs baseline", "result"]]
    for row in report.rows:
        table.append(
            [
                row.name,
                _interval(row.mean, row.low, row.high),
                ", ".join(str(t) for t in row.thresholds) or "-",
                _change(row.baseline) if row.baseline else "-",
                "FAIL" if row.failures else "pass",
            ]
        )
    _print_table(table, out)
    assert report.experiment is not None
    counts = report.counts
    cost = counts["total_cost"]
    print(f"\nexperiment: {report.experiment['url']}", file=out)
    if report.baseline is not None:
        print(f"baseline:   {report._baseline_name()}", file=out)
    print(
        f"items: {counts['items']}, errors: {counts['errors']}, skipped: {counts['skipped']}",
        file=out,
    )
    print(f"total cost: {'not recorded' if cost is None else f'${cost:.4f}'}", file=out)
    for note in report.notes:
        print(f"note: {note}", file=out)
    if report.worse_items:
        print(f"\nitems that got worse (top {WORSE_ITEMS_SHOWN}):", file=out)
        rows = [["item", "metric", "baseline", "now"]]
        rows += [
            [w["item_id"], w["metric"], f"{w['baseline']:.3f}", f"{w['value']:.3f}"]
            for w in report.worse_items
        ]
        _print_table(rows, out, indent="  ")
    failures = report.failures
    print(f"\n{'FAILED' if failures else 'PASSED'}", file=out)
    for failure in failures:
        print(f"  {failure}", file=out)


def write_json(report: Report, path: Path, code: int) -> None:
    """Write the report as JSON to ``path``."""
    path.write_text(json.dumps(report.as_dict(code), indent=2) + "\n")


def _print_table(rows: Sequence[Sequence[str]], out: TextIO, indent: str = "") -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(indent + "  ".join(cells).rstrip(), file=out)


def _interval(mean: float | None, low: float | None, high: float | None) -> str:
    if mean is None:
        return "-"
    if low is None or high is None:
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _change(difference: dict[str, Any] | None) -> str:
    if difference is None:
        return "no shared items"
    return (
        f"{difference['difference']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}] "
        f"{difference['verdict']}"
    )
