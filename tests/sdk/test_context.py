import asyncio
import contextlib
import threading
from typing import Any

import daytwo
from tests.sdk.conftest import Sink, received


def parent_names(spans: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    names = {span["id"]: span["name"] for span in spans}
    return {(span["name"], names.get(span.get("parent_id", ""))) for span in spans}


def test_a_plain_thread_starts_a_new_trace_without_wrap(traced: Sink) -> None:
    @daytwo.track
    def work() -> None:
        pass

    with daytwo.span("request"):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    spans = received(traced)
    assert parent_names(spans) == {("request", None), ("work", None)}


def test_wrap_carries_the_current_span_into_a_thread(traced: Sink) -> None:
    @daytwo.track
    def work(n: int) -> int:
        return n

    with daytwo.span("request") as request:
        threads = [threading.Thread(target=daytwo.wrap(work), args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    spans = received(traced)
    assert parent_names(spans) == {("request", None), ("work", "request")}
    assert {span["trace_id"] for span in spans} == {request.trace_id}


def test_the_thread_pool_executor_runs_tasks_under_the_submitter(traced: Sink) -> None:
    @daytwo.track
    def square(n: int) -> int:
        return n * n

    with daytwo.span("batch"), daytwo.ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(square, range(4))) == [0, 1, 4, 9]

    spans = received(traced)
    assert len(spans) == 5
    assert parent_names(spans) == {("batch", None), ("square", "batch")}


def test_asyncio_tasks_inherit_the_span_that_created_them(traced: Sink) -> None:
    @daytwo.track
    async def step(name: str) -> str:
        await asyncio.sleep(0)
        return name

    @daytwo.track
    async def pipeline() -> None:
        task = asyncio.create_task(step("background"))
        await step("inline")
        await task
        await asyncio.to_thread(daytwo.track(name="in thread")(lambda: None))

    asyncio.run(pipeline())

    spans = received(traced)
    assert parent_names(spans) == {
        ("pipeline", None),
        ("step", "pipeline"),
        ("in thread", "pipeline"),
    }


def test_concurrent_traces_in_threads_stay_apart(traced: Sink) -> None:
    @daytwo.track
    def child(n: int) -> int:
        return n

    @daytwo.track
    def request(n: int) -> None:
        for _ in range(20):
            child(n)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    spans = received(traced)
    roots = {span["id"]: span for span in spans if span["name"] == "request"}
    assert len(roots) == 8
    for span in spans:
        if span["name"] == "child":
            root = roots[span["parent_id"]]
            assert span["trace_id"] == root["trace_id"]
            assert span["input"]["n"] == root["input"]["n"]


def test_concurrent_async_traces_stay_apart(traced: Sink) -> None:
    @daytwo.track
    async def child(n: int) -> int:
        await asyncio.sleep(0)
        return n

    @daytwo.track
    async def request(n: int) -> None:
        for _ in range(5):
            await child(n)

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(10)))

    asyncio.run(main())

    spans = received(traced)
    roots = {span["id"]: span for span in spans if span["name"] == "request"}
    assert len({span["trace_id"] for span in roots.values()}) == 10
    for span in spans:
        if span["name"] == "child":
            assert span["output"] == roots[span["parent_id"]]["input"]["n"]


def test_the_current_span_is_restored_after_an_exception(traced: Sink) -> None:
    @daytwo.track
    def failing() -> None:
        raise KeyError("x")

    with daytwo.span("outer") as outer:
        with contextlib.suppress(KeyError):
            failing()
        current = daytwo.get_current_span()
        assert current is not None
        assert current.id == outer.span_id
    assert daytwo.get_current_span() is None
