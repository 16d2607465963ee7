"""The SDK against the real server on loopback, including a server that crashes."""

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

import daytwo
from tests.conftest import LiveServer
from tests.sdk.test_exporter import wait_for

PROJECT = "sdk-e2e"


def all_traces(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/projects/{PROJECT}/traces", params=params).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@daytwo.track(kind="retrieval")
def retrieve(question: str) -> list[str]:
    daytwo.update_current_span(
        retrieval={"query": question, "documents": [{"id": "kb-1", "content": "30 days"}]}
    )
    return ["Refunds are accepted within 30 days."]


@daytwo.track(kind="llm")
def generate(question: str, documents: list[str]) -> str:
    daytwo.update_current_span(
        provider="openai",
        model="gpt-4o-mini",
        input_messages=[{"role": "user", "content": question}],
        output_messages=[{"role": "assistant", "content": "Within 30 days."}],
        usage={"input_tokens": 1200, "output_tokens": 300},
    )
    return "Within 30 days."


@daytwo.track(kind="tool")
def lookup_order(order_id: str) -> dict[str, str]:
    raise LookupError(f"no order {order_id}")


@daytwo.track(kind="agent")
def answer(question: str) -> str:
    daytwo.update_current_trace(thread_id="conversation-1", user_id="user-7", tags=["e2e"])
    with contextlib.suppress(LookupError):
        lookup_order("A-1")
    reply = generate(question, retrieve(question))
    daytwo.update_current_span(scores={"grounded": True})
    return reply


def test_a_traced_app_arrives_complete_with_tokens_and_cost(
    live_server: LiveServer, tmp_path: Path
) -> None:
    daytwo.configure(url=live_server.url, project=PROJECT, spool_dir=str(tmp_path / "spool"))
    with daytwo.trace("support turn") as turn:
        answer("Can I get a refund?")
    assert daytwo.flush().sent == 5
    daytwo.shutdown()

    with live_server.client() as client:
        tree = client.get(f"/api/v1/projects/{PROJECT}/traces/{turn.trace_id}").json()
    trace = tree["trace"]
    assert trace["name"] == "support turn"
    assert (trace["thread_id"], trace["user_id"], trace["tags"]) == (
        "conversation-1",
        "user-7",
        ["e2e"],
    )
    assert (trace["span_count"], trace["error_count"], trace["llm_count"]) == (5, 1, 1)
    assert (trace["input_tokens"], trace["output_tokens"]) == (1200, 300)
    # gpt-4o-mini: $0.15 per million input tokens and $0.60 per million output tokens.
    assert abs(trace["total_cost"] - (1200 * 0.15 + 300 * 0.60) / 1e6) < 1e-9

    spans = {span["name"]: span for span in tree["spans"]}
    assert spans["answer"]["parent_id"] == spans["support turn"]["id"]
    assert {spans[name]["parent_id"] for name in ("retrieve", "generate", "lookup_order")} == {
        spans["answer"]["id"]
    }
    assert spans["lookup_order"]["status"] == "error"
    with live_server.client() as client:
        llm = client.get(
            f"/api/v1/projects/{PROJECT}/traces/{turn.trace_id}/spans/{spans['generate']['id']}"
        ).json()
    assert llm["detail"]["llm"]["input_messages"] == [
        {"role": "user", "content": "Can I get a refund?"}
    ]
    with live_server.client() as client:
        agent = client.get(
            f"/api/v1/projects/{PROJECT}/traces/{turn.trace_id}/spans/{spans['answer']['id']}"
        ).json()
    assert [(s["name"], s["value"]) for s in agent["scores"]] == [("grounded", True)]


def produce(count: int, done: Callable[[int], None]) -> None:
    @daytwo.track
    def step(n: int) -> int:
        return n

    for n in range(count):
        with daytwo.trace(f"request {n}"):
            step(n)
        done(n)


def test_every_span_arrives_after_the_server_is_killed_and_restarted(
    make_live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = make_live_server()
    daytwo.configure(
        url=server.url,
        project=PROJECT,
        spool_dir=str(tmp_path / "spool"),
        flush_interval=0.02,
        batch_size=20,
        max_retries=1,
    )
    produced: list[int] = []
    killed = threading.Event()

    def progress(n: int) -> None:
        produced.append(n)
        if n == 150:
            server.kill()
            killed.set()

    producer = threading.Thread(target=produce, args=(400, progress))
    producer.start()
    killed.wait(60)
    wait_for(lambda: daytwo.stats().spooled > 0)  # the exporter noticed the crash
    server.start()
    producer.join()

    wait_for(lambda: daytwo.stats().spool_pending == 0 and daytwo.flush().pending == 0, 60)
    result = daytwo.shutdown()
    assert result.failed == 0
    stats = daytwo.stats()
    with server.client() as client:
        traces = all_traces(client)
    assert len(produced) == 400
    assert sorted(int(t["name"].split()[1]) for t in traces) == list(range(400))
    assert all(t["span_count"] == 2 for t in traces)
    assert stats.dropped_total == 0


def test_a_killed_server_never_slows_or_breaks_the_host_program(
    make_live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = make_live_server()
    # The exporter's thread wakes only when flushed, so every step below is deterministic.
    daytwo.configure(
        url=server.url,
        project=PROJECT,
        spool_dir=str(tmp_path / "spool"),
        flush_interval=3600,
        max_retries=0,
    )

    @daytwo.track
    def double(n: int) -> int:
        return 2 * n

    assert [double(n) for n in range(50)] == [2 * n for n in range(50)]
    assert daytwo.flush(timeout=30).sent == 50
    server.kill()

    started = time.monotonic()
    results = [double(n) for n in range(200)]
    with daytwo.trace("after the crash") as after:
        results.append(double(200))
    took = time.monotonic() - started

    assert results == [2 * n for n in range(201)]
    assert after.recording
    assert took < 5.0  # a traced call only queues its span; about 10 µs each
    result = daytwo.flush(timeout=30)
    assert (result.sent, result.spooled, result.failed, result.pending) == (0, 202, 0, 0)
    stats = daytwo.stats()
    assert (stats.sent, stats.spooled, stats.spool_pending) == (50, 202, 202)
    assert stats.dropped_total == 0
    daytwo.shutdown()
