"""``daytwo.evaluate``: run a task over a dataset, score it, and record an experiment.

Each item's run is a trace (tagged ``experiment``) whose root span holds the
item's input and the task's output; the metrics then score it and their
scores are stored on that trace and in the experiment. Metrics run in an
evaluation trace of their own (tagged ``evaluation``), so an LLM judge's calls
and cost are traced without being counted as the task's.

Synchronous tasks and metrics run on a pool of threads the run opens, as many
as its ``concurrency`` (see ``daytwo.evals.workers``).

Results reach the server in small batches while the run goes on, so an
interrupted run loses at most the items in flight: pass the experiment's id as
``resume`` and only the items without a result are run again, from the dataset
version the experiment started on.
"""

import asyncio
import hashlib
import inspect
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import daytwo
from daytwo.evals.client import ApiError, DaytwoClient
from daytwo.evals.metric import Metric, ScoreResult
from daytwo.evals.workers import run_sync, run_to_end, workers

logger = logging.getLogger(__name__)

Task = Callable[[Any], Any] | Callable[[Any], Awaitable[Any]]

# Results are sent once this many items finished, or this many seconds passed.
_RECORD_BATCH = 20
_RECORD_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ItemRun:
    """What happened to one item in one repetition."""

    item_id: str
    repetition: int
    trace_id: str | None
    output: Any
    error: str | None
    scores: dict[str, ScoreResult]
    latency_ms: float


@dataclass(slots=True)
class ExperimentResult:
    """The experiment as the server summarizes it, and the items run this time."""

    id: str
    name: str
    url: str
    summary: dict[str, Any]
    runs: list[ItemRun] = field(default_factory=list)
    skipped: int = 0
    # Metric name: how many cases it could not score, and the last reason why.
    metric_failures: dict[str, tuple[int, str]] = field(default_factory=dict)

    def metric(self, name: str) -> dict[str, Any] | None:
        """Return the server's summary of one metric (mean, low, high, count)."""
        return next((m for m in self.summary.get("metrics", []) if m["name"] == name), None)


def evaluate(
    dataset: str | Sequence[Mapping[str, Any]],
    task: Task,
    metrics: Sequence[Metric],
    **options: Any,
) -> ExperimentResult:
    """Run ``task`` on every item of ``dataset``, score it with ``metrics``, record it all.

    Takes the same options as ``aevaluate``; call ``aevaluate`` from async code.

        result = daytwo.evaluate("refunds", answer, [Contains("30 days"), Faithfulness(judge)])
        print(result.metric("faithfulness"))
    """
    return run_to_end(aevaluate(dataset, task, metrics, **options))


async def aevaluate(
    dataset: str | Sequence[Mapping[str, Any]],
    task: Task,
    metrics: Sequence[Metric],
    *,
    name: str | None = None,
    project: str | None = None,
    dataset_version: int | None = None,
    concurrency: int = 8,
    repetitions: int = 1,
    sample: int | None = None,
    seed: int = 0,
    resume: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = True,
    client: DaytwoClient | None = None,
) -> ExperimentResult:
    """Run an experiment; see the module's description.

    ``dataset`` is a dataset's name on the server or a list of items (dicts
    with ``input`` and optionally ``id``, ``expected``, ``context`` and
    ``metadata``). ``task`` takes an item's input (sync or async) and returns
    the output, or a dict with ``output`` and any case fields it produced
    (``context`` for RAG metrics, ``tool_calls`` for agent metrics).
    """
    if concurrency < 1 or repetitions < 1:
        raise ValueError("concurrency and repetitions must be at least 1")
    owned = client is None
    client = client or DaytwoClient(project=project)
    try:
        if resume and isinstance(dataset, str):
            dataset_version = _started_on(client, resume, dataset, dataset_version)
        items, version = _load(client, dataset, dataset_version)
        if sample is not None and sample < len(items):
            items = random.Random(seed).sample(items, sample)
        experiment = client.start_experiment(
            **_spec(name or _default_name(task), dataset, version, resume, metadata, metrics)
        )
        done = _finished(client, experiment["id"]) if resume else set()
        work = [
            (item, repetition)
            for item in items
            for repetition in range(repetitions)
            if (item["id"], repetition) not in done
        ]
        run = _Run(client, experiment, task, metrics, concurrency, progress, len(work))
        with workers(concurrency):
            runs = await run.all(work)
        final = client.experiment(experiment["id"])
        return ExperimentResult(
            id=experiment["id"],
            name=experiment["name"],
            url=client.experiment_url(experiment["id"]),
            summary=final,
            runs=runs,
            skipped=len(items) * repetitions - len(work),
            metric_failures=dict(run.failures),
        )
    finally:
        if owned:
            client.close()


class _Run:
    """One pass over the work list, with its concurrency limit and progress bar."""

    def __init__(
        self,
        client: DaytwoClient,
        experiment: dict[str, Any],
        task: Task,
        metrics: Sequence[Metric],
        concurrency: int,
        progress: bool,
        total: int,
    ) -> None:
        self.client = client
        self.experiment = experiment
        self.task = task
        self.metrics = metrics
        self.limit = asyncio.Semaphore(concurrency)
        self.pending: list[dict[str, Any]] = []
        self.sent_at = time.monotonic()
        self.bar = _progress_bar(progress, total, experiment["name"])
        self.failures: dict[str, tuple[int, str]] = {}

    async def all(self, work: Sequence[tuple[dict[str, Any], int]]) -> list[ItemRun]:
        status = "failed"
        try:
            runs = await asyncio.gather(*(self._one(item, rep) for item, rep in work))
            status = "completed"
            return list(runs)
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
            raise
        finally:
            self.bar.close()
            await asyncio.to_thread(self._send)
            daytwo.flush()
            await asyncio.to_thread(self.client.set_status, self.experiment["id"], status)

    async def _one(self, item: dict[str, Any], repetition: int) -> ItemRun:
        async with self.limit:
            started = time.perf_counter()
            trace_id, output, case, error = await self._run_task(item)
            latency = (time.perf_counter() - started) * 1000
            scores = await self._score(case, trace_id) if error is None else {}
        run = ItemRun(item["id"], repetition, trace_id, output, error, scores, latency)
        self.pending.append(_record(run, item))
        self.bar.update(1)
        if len(self.pending) >= _RECORD_BATCH or time.monotonic() - self.sent_at > _RECORD_SECONDS:
            await asyncio.to_thread(self._send)
        return run

    async def _run_task(
        self, item: dict[str, Any]
    ) -> tuple[str | None, Any, dict[str, Any], str | None]:
        metadata = {"experiment_id": self.experiment["id"], "dataset_item_id": item["id"]}
        with daytwo.trace(
            self.experiment["name"], input=item.get("input"), metadata=metadata, tags=["experiment"]
        ) as trace:
            try:
                produced = await _call(self.task, item.get("input"))
            except Exception as exc:  # the task's failure is a result, not a crash
                trace.update(output=None)
                return trace.trace_id, None, {}, f"{type(exc).__name__}: {exc}"
            output, extra = _split(produced)
            trace.update(output=output)
        case = {
            "input": item.get("input"),
            "output": output,
            "expected": item.get("expected"),
            "context": item.get("context"),
            "metadata": item.get("metadata"),
            **extra,
        }
        return trace.trace_id, output, case, None

    async def _score(self, case: dict[str, Any], trace_id: str | None) -> dict[str, ScoreResult]:
        scores: dict[str, ScoreResult] = {}
        metadata = {"experiment_id": self.experiment["id"], "scored_trace_id": trace_id}
        with daytwo.trace(
            f"evaluate {self.experiment['name']}",
            kind="evaluator",
            tags=["evaluation"],
            metadata=metadata,
        ):
            for metric in self.metrics:
                async with daytwo.span(metric.name, kind="evaluator") as span:
                    try:
                        result = await metric.ascore(**case)
                    except Exception as exc:
                        self._failed(metric, exc)
                        span.update(metadata={"error": f"{type(exc).__name__}: {exc}"})
                        continue
                    span.update(output={"value": result.value, "reason": result.reason})
                scores[result.name] = result
        if trace_id is not None:
            for result in scores.values():
                daytwo.score(
                    result.name,
                    result.value,
                    trace_id=trace_id,
                    reason=result.reason,
                    source=_source(self.metrics, result.name),
                )
        return scores

    def _failed(self, metric: Metric, error: Exception) -> None:
        count, _ = self.failures.get(metric.name, (0, ""))
        self.failures[metric.name] = (count + 1, f"{type(error).__name__}: {error}")
        if count == 0:
            logger.warning(
                "metric %s could not score a case (later ones are counted): %s", metric.name, error
            )

    def _send(self) -> None:
        batch, self.pending = self.pending, []
        self.sent_at = time.monotonic()
        if batch:
            self.client.record_items(self.experiment["id"], batch)


def _load(
    client: DaytwoClient, dataset: str | Sequence[Mapping[str, Any]], version: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    if isinstance(dataset, str):
        found = client.dataset(dataset)
        version = version or found["version"]
        return list(client.items(dataset, version)), version
    items = []
    for item in dataset:
        if "input" not in item:
            raise ValueError(f"dataset item {item!r} has no input")
        items.append({**item, "id": str(item.get("id") or _content_id(item))})
    return items, None


def _started_on(
    client: DaytwoClient, experiment_id: str, dataset: str, version: int | None
) -> int | None:
    """Return the dataset version a resumed experiment ran on, so it runs the same items."""
    try:
        started = client.experiment(experiment_id)
    except ApiError as error:
        if error.status == 404:
            return version  # nothing to resume: the run starts afresh under this id
        raise
    if started["dataset"] != dataset:
        raise ValueError(
            f"experiment {experiment_id!r} ran on dataset {started['dataset']!r}, not "
            f"{dataset!r}; resume it with the same dataset"
        )
    recorded: int | None = started["dataset_version"]
    if version is not None and recorded is not None and version != recorded:
        raise ValueError(
            f"experiment {experiment_id!r} ran on version {recorded} of {dataset!r}, not "
            f"{version}; leave out dataset_version to resume it"
        )
    return recorded if recorded is not None else version


def _content_id(item: Mapping[str, Any]) -> str:
    # A stable id for an item given without one, so that resuming recognizes it.
    text = json.dumps(
        {key: item.get(key) for key in ("input", "expected")}, sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _spec(
    name: str,
    dataset: str | Sequence[Mapping[str, Any]],
    version: int | None,
    resume: str | None,
    metadata: Mapping[str, Any] | None,
    metrics: Sequence[Metric],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "metadata": dict(metadata) if metadata else None,
        "config": {"metrics": [metric.name for metric in metrics]},
    }
    if isinstance(dataset, str):
        spec.update(dataset=dataset, dataset_version=version)
    if resume:
        spec["id"] = resume
    return spec


def _finished(client: DaytwoClient, experiment_id: str) -> set[tuple[str, int]]:
    return {
        (item["item_id"], item["repetition"])
        for item in client.experiment_items(experiment_id)
        if item["error"] is None
    }


async def _call(task: Task, value: Any) -> Any:
    if inspect.iscoroutinefunction(task):
        return await task(value)
    result = await run_sync(task, value)
    if inspect.isawaitable(result):
        return await result
    return result


def _split(produced: Any) -> tuple[Any, dict[str, Any]]:
    if isinstance(produced, Mapping) and "output" in produced:
        extra = {key: value for key, value in produced.items() if key != "output"}
        return produced["output"], extra
    return produced, {}


def _record(run: ItemRun, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": run.item_id,
        "repetition": run.repetition,
        "trace_id": run.trace_id,
        "input": item.get("input"),
        "expected": item.get("expected"),
        "output": _jsonable(run.output),
        "error": run.error,
        "scores": {
            name: {"value": result.value, "reason": result.reason}
            for name, result in run.scores.items()
        },
        "latency_ms": run.latency_ms,
    }


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _source(metrics: Sequence[Metric], name: str) -> str:
    metric = next((m for m in metrics if m.name == name), None)
    return str(getattr(metric, "source", "rule"))


def _default_name(task: Task) -> str:
    return f"{getattr(task, '__name__', 'task')} {time.strftime('%Y-%m-%d %H:%M')}"


class _NoBar:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool, total: int, name: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="item")
