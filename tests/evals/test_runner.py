"""Experiments end to end: the runner, the real server on loopback, traces and scores."""

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import daytwo
from daytwo.evals.client import DaytwoClient
from daytwo.evals.metric import Metric, ScoreResult
from daytwo.evals.runner import aevaluate, evaluate
from tests.conftest import LiveServer

PROJECT = "evals"


class ExactMatch(Metric):
    name = "exact"

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        same = output == expected
        return ScoreResult(self.name, 1.0 if same else 0.0, "same" if same else "differs")


class Length(Metric):
    name = "length"

    async def ascore(self, *, output: Any = None, **_: Any) -> ScoreResult:
        return ScoreResult(self.name, float(len(str(output))), None)


ITEMS = [{"id": f"q{n}", "input": n, "expected": n * 2} for n in range(12)]


@pytest.fixture
def client(live_server: LiveServer, tmp_path: Path) -> Iterator[DaytwoClient]:
    daytwo.configure(
        url=live_server.url, project=PROJECT, spool_dir=str(tmp_path), flush_interval=0.05
    )
    with DaytwoClient() as opened:
        opened.create_dataset("doubling")
        opened.add_items("doubling", ITEMS)
        yield opened
    daytwo.shutdown()
    daytwo.configure(enabled=False)


def double(value: int) -> int:
    return value * 2


def test_an_experiment_records_every_item_with_scores_and_traces(
    client: DaytwoClient, live_server: LiveServer
) -> None:
    result = evaluate(
        "doubling", double, [ExactMatch(), Length()], name="baseline", progress=False, client=client
    )

    assert len(result.runs) == 12
    assert result.metric("exact") is not None
    assert result.metric("exact")["mean"] == 1.0  # type: ignore[index]
    assert result.summary["dataset"] == "doubling"
    assert result.summary["status"] == "completed"
    items = client.experiment_items(result.id)
    assert sorted(item["item_id"] for item in items) == sorted(i["id"] for i in ITEMS)
    run = next(item for item in items if item["item_id"] == "q3")
    assert (run["output"], run["scores"]["exact"]["value"]) == (6, 1.0)
    with live_server.client() as http:
        tree = http.get(f"/api/v1/projects/{PROJECT}/traces/{run['trace_id']}").json()
    assert tree["trace"]["tags"] == ["experiment"]
    assert {(s["name"], s["value"]) for s in tree["trace"]["scores"]} == {
        ("exact", 1.0),
        ("length", 1.0),
    }


def test_a_failing_task_is_recorded_as_an_error_not_a_crash(client: DaytwoClient) -> None:
    def flaky(value: int) -> int:
        if value == 5:
            raise ValueError("no answer for five")
        return value * 2

    result = evaluate(
        "doubling", flaky, [ExactMatch()], name="flaky", progress=False, client=client
    )

    assert result.summary["error_count"] == 1
    failed = [run for run in result.runs if run.error]
    assert [(run.item_id, run.error) for run in failed] == [
        ("q5", "ValueError: no answer for five")
    ]


def test_an_interrupted_experiment_resumes_where_it_stopped(client: DaytwoClient) -> None:
    calls: list[int] = []

    def interrupted(value: int) -> int:
        calls.append(value)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return value * 2

    with pytest.raises(KeyboardInterrupt):
        evaluate(
            "doubling",
            interrupted,
            [ExactMatch()],
            name="resumable",
            concurrency=1,
            progress=False,
            client=client,
        )
    [stopped] = client.experiments(name="resumable")
    assert stopped["status"] == "interrupted"
    finished = {item["item_id"] for item in client.experiment_items(stopped["id"])}
    assert len(finished) == 5

    resumed = evaluate(
        "doubling",
        double,
        [ExactMatch()],
        name="resumable",
        resume=stopped["id"],
        progress=False,
        client=client,
    )

    assert resumed.id == stopped["id"]
    assert resumed.skipped == 5
    assert len(resumed.runs) == 7
    assert resumed.summary["item_count"] == 12
    assert resumed.summary["status"] == "completed"


def test_a_resumed_experiment_runs_the_dataset_version_it_started_on(
    client: DaytwoClient,
) -> None:
    calls: list[int] = []

    def interrupted(value: int) -> int:
        calls.append(value)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return value * 2

    with pytest.raises(KeyboardInterrupt):
        evaluate(
            "doubling",
            interrupted,
            [ExactMatch()],
            name="pinned",
            concurrency=1,
            progress=False,
            client=client,
        )
    [stopped] = client.experiments(name="pinned")
    added = client.add_items("doubling", [{"id": "late", "input": 100, "expected": 200}])
    assert added["version"] > stopped["dataset_version"]
    ran: list[int] = []

    def tracked(value: int) -> int:
        ran.append(value)
        return value * 2

    resumed = evaluate(
        "doubling",
        tracked,
        [ExactMatch()],
        name="pinned",
        resume=stopped["id"],
        progress=False,
        client=client,
    )

    assert 100 not in ran
    assert len(ran) == 7
    assert resumed.summary["dataset_version"] == stopped["dataset_version"]
    assert resumed.summary["item_count"] == 12
    assert "late" not in {item["item_id"] for item in client.experiment_items(resumed.id)}


def test_resuming_on_another_dataset_version_is_refused(client: DaytwoClient) -> None:
    done = evaluate("doubling", double, [ExactMatch()], name="fixed", progress=False, client=client)

    with pytest.raises(ValueError, match="ran on version 2 of 'doubling', not 1"):
        evaluate(
            "doubling",
            double,
            [ExactMatch()],
            name="fixed",
            resume=done.id,
            dataset_version=1,
            progress=False,
            client=client,
        )


def test_sixteen_sync_tasks_and_metrics_run_at_once_in_their_items_traces(
    client: DaytwoClient,
) -> None:
    # Each barrier opens only when all 16 calls wait at it together; with fewer threads
    # than that (asyncio's default pool has min(32, cores + 4)) it breaks after its timeout.
    tasks_meet = threading.Barrier(16, timeout=30)
    metrics_meet = threading.Barrier(16, timeout=30)
    seen: dict[int, tuple[str | None, str]] = {}

    def meet(value: int) -> int:
        span = daytwo.get_current_span()
        seen[value] = (span.trace_id if span else None, threading.current_thread().name)
        tasks_meet.wait()
        return value * 2

    class Meets(Metric):
        name = "met"

        def score(self, **_: Any) -> ScoreResult:
            metrics_meet.wait()
            return ScoreResult(self.name, 1.0)

    items = [{"id": f"m{n}", "input": n} for n in range(16)]

    result = evaluate(
        items, meet, [Meets()], name="wide", concurrency=16, progress=False, client=client
    )

    assert [run.error for run in result.runs] == [None] * 16
    assert result.metric_failures == {}
    assert result.metric("met")["count"] == 16  # type: ignore[index]
    assert {n: seen[n][0] for n in range(16)} == {
        run.output // 2: run.trace_id for run in result.runs
    }
    assert all(thread.startswith("daytwo-eval") for _, thread in seen.values())


def test_repetitions_samples_and_an_async_task(client: DaytwoClient) -> None:
    async def adouble(value: int) -> dict[str, Any]:
        return {"output": value * 2, "context": ["two times"]}

    import asyncio

    result = asyncio.run(
        aevaluate(
            "doubling",
            adouble,
            [ExactMatch()],
            name="sampled",
            sample=4,
            repetitions=3,
            progress=False,
            client=client,
        )
    )

    assert len(result.runs) == 12
    assert len({run.item_id for run in result.runs}) == 4
    assert result.metric("exact")["count"] == 12  # type: ignore[index]


def test_two_experiments_compare_with_the_worse_items_named(client: DaytwoClient) -> None:
    def sloppy(value: int) -> int:
        return value * 2 if value % 2 else value * 2 + 1

    good = evaluate("doubling", double, [ExactMatch()], name="good", progress=False, client=client)
    bad = evaluate("doubling", sloppy, [ExactMatch()], name="bad", progress=False, client=client)

    comparison = client.compare([good.id, bad.id])

    [metric] = comparison["metrics"]
    assert metric["name"] == "exact"
    assert metric["differences"][0]["verdict"] == "worse"
    assert metric["differences"][0]["difference"] == pytest.approx(-0.5)
    regressions = comparison["regressions"]
    assert sorted(change["item_id"] for change in regressions) == sorted(
        f"q{n}" for n in range(0, 12, 2)
    )
    assert all((change["baseline"], change["value"]) == (1.0, 0.0) for change in regressions)


def test_a_local_list_of_items_needs_no_dataset_on_the_server(client: DaytwoClient) -> None:
    result = evaluate(
        [{"input": 1, "expected": 2}, {"input": 2, "expected": 5}],
        double,
        [ExactMatch()],
        name="inline",
        progress=False,
        client=client,
    )

    assert result.summary["dataset"] is None
    assert result.metric("exact")["mean"] == 0.5  # type: ignore[index]


def test_evaluate_and_score_work_where_an_event_loop_is_already_running(
    client: DaytwoClient,
) -> None:
    # As in a notebook: synchronous calls made from code that runs inside a loop.
    async def notebook_cell() -> tuple[Any, ScoreResult]:
        result = evaluate(
            [{"input": 3, "expected": 6}],
            double,
            [ExactMatch(), Length()],
            name="from a running loop",
            progress=False,
            client=client,
        )
        return result, Length().score(output="four")

    # A thread of its own, whose loop is the only one, whatever else the test process runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        result, length = pool.submit(asyncio.run, notebook_cell()).result()

    assert result.metric("exact")["mean"] == 1.0  # type: ignore[index]
    assert result.metric("length")["mean"] == 1.0  # type: ignore[index]
    assert length.value == 4.0
