import gzip
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import daytwo
from daytwo.sdk import tracer
from daytwo.sdk.export.exporter import Exporter
from daytwo.sdk.export.transport import Reply, Transport
from tests.sdk.conftest import Sink, received


def make_spans(count: int, name: str = "work") -> None:
    @daytwo.track(name=name)
    def work(n: int) -> int:
        return n

    for n in range(count):
        work(n)


def exporter() -> Exporter:
    return tracer.get_tracer().exporter


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    """Wait for background work that no call can await (replay after reconnection)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


class RecordedWaits:
    """Stands in for the exporter's shutdown event: records pauses instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False

    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        pass


def test_spans_leave_in_compressed_batches_of_the_configured_size(
    sink: Sink, tmp_path: Path
) -> None:
    daytwo.configure(url=sink.url, batch_size=10, spool_dir=str(tmp_path), api_key="dt-key")
    make_spans(25)

    assert len(received(sink)) == 25
    daytwo.shutdown()
    assert len(sink.batches) >= 3
    assert max(len(batch["spans"]) for batch in sink.batches) <= 10
    headers = sink.headers[0]
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Authorization"] == "Bearer dt-key"
    assert headers["User-Agent"].startswith("daytwo-python/")


def test_a_batch_is_also_cut_by_bytes(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(url=sink.url, batch_bytes=2000, spool_dir=str(tmp_path))

    @daytwo.track
    def big(text: str) -> None:
        pass

    for _ in range(10):
        big("x" * 900)

    assert len(received(sink)) == 10
    daytwo.shutdown()
    assert len(sink.batches) >= 5


def test_retry_after_is_honoured(traced: Sink) -> None:
    waits = RecordedWaits()
    traced.respond(503, times=2, headers={"Retry-After": "7"})
    make_spans(3)
    exporter()._closing = waits  # type: ignore[assignment]

    assert len(received(traced)) == 3
    assert waits.waits == [7.0, 7.0]
    assert daytwo.stats().retries == 2


def test_server_errors_are_retried_with_growing_backoff(traced: Sink) -> None:
    waits = RecordedWaits()
    traced.respond(500, times=3)
    make_spans(1)
    exporter()._closing = waits  # type: ignore[assignment]

    assert len(received(traced)) == 1
    first, second, third = waits.waits
    assert 0.1 <= first <= 0.3
    assert 0.2 <= second <= 0.6
    assert 0.4 <= third <= 1.2


def test_one_bad_span_is_isolated_and_the_rest_of_its_batch_arrives(traced: Sink) -> None:
    traced.reject_if = lambda span: span["input"]["n"] == 13
    make_spans(40)

    result = daytwo.flush()

    assert (result.sent, result.failed) == (39, 1)
    assert sorted(span["input"]["n"] for span in traced.spans()) == [
        n for n in range(40) if n != 13
    ]
    assert daytwo.stats().dropped == {"rejected": 1}


def test_a_full_queue_drops_and_counts(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(
        url=sink.url, max_queue=5, batch_size=1000, flush_interval=60, spool_dir=str(tmp_path)
    )
    make_spans(20)

    assert daytwo.stats().dropped == {"queue_full": 15}
    assert daytwo.flush().sent == 5
    daytwo.shutdown()


def test_a_dead_server_never_reaches_the_host_program(tmp_path: Path) -> None:
    daytwo.configure(url=closed_port_url(), spool=False, max_retries=1, spool_dir=str(tmp_path))

    make_spans(200)
    result = daytwo.flush()

    assert (result.sent, result.failed, result.spooled) == (0, 200, 0)
    assert daytwo.stats().dropped == {"unreachable": 200}
    daytwo.shutdown()


def test_an_unreachable_server_sends_batches_to_the_spool(tmp_path: Path) -> None:
    daytwo.configure(url=closed_port_url(), max_retries=1, spool_dir=str(tmp_path))

    make_spans(30)
    result = daytwo.flush()

    assert (result.sent, result.spooled, result.failed) == (0, 30, 0)
    assert daytwo.stats().spool_pending == 30
    [spooled] = list(tmp_path.rglob("*.json.gz"))
    body = json.loads(gzip.decompress(spooled.read_bytes()))
    assert len(body["spans"]) == 30
    daytwo.shutdown()


def test_the_spool_is_replayed_when_the_server_comes_back(tmp_path: Path) -> None:
    url = closed_port_url()
    daytwo.configure(url=url, max_retries=0, spool_dir=str(tmp_path), flush_interval=0.05)
    make_spans(12)
    assert daytwo.flush().spooled == 12

    sink = Sink(port=int(url.rsplit(":", 1)[1]))
    try:
        make_spans(3, name="after")
        wait_for(lambda: len(sink.spans()) == 15)
        assert daytwo.stats().replayed == 12
        assert daytwo.stats().spool_pending == 0
    finally:
        daytwo.shutdown()
        sink.close()


def test_a_full_spool_counts_what_it_could_not_keep(tmp_path: Path) -> None:
    daytwo.configure(
        url=closed_port_url(),
        max_retries=0,
        spool_dir=str(tmp_path),
        spool_max_bytes=1,
        batch_size=10,
    )
    make_spans(25)

    result = daytwo.flush()

    assert (result.spooled, result.failed) == (0, 25)
    assert daytwo.stats().dropped == {"spool_full": 25}
    daytwo.shutdown()


def test_pending_spans_are_flushed_when_the_interpreter_exits(sink: Sink, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import daytwo
        daytwo.configure(url={sink.url!r}, flush_interval=60, spool_dir={str(tmp_path)!r})

        @daytwo.track
        def work(n):
            return n

        for n in range(50):
            work(n)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    assert sorted(span["output"] for span in sink.spans()) == list(range(50))


def test_at_exit_with_the_server_down_spans_go_to_the_spool(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import daytwo
        daytwo.configure(url={closed_port_url()!r}, spool_dir={str(tmp_path)!r}, exit_timeout=2)

        @daytwo.track
        def work(n):
            return n

        for n in range(50):
            work(n)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    spooled = [json.loads(gzip.decompress(p.read_bytes())) for p in tmp_path.rglob("*.json.gz")]
    assert sum(len(body["spans"]) for body in spooled) == 50


def test_values_json_cannot_hold_are_converted_not_lost(traced: Sink) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque 7>"

    @daytwo.track
    def odd(a: Any, b: Any, c: Any, d: Any) -> Any:
        return {1: {2, 3}}

    odd(Opaque(), b"\x00\x01", ValueError("v"), 2**70)

    [span] = received(traced)
    assert span["input"]["a"] == "<Opaque 7>"
    assert span["input"]["b"] == "<2 bytes>"
    assert span["input"]["c"] == "ValueError: v"
    assert span["input"]["d"] == str(2**70)
    assert span["output"] == {"1": [2, 3]}


def test_an_oversized_value_is_cut_to_a_preview_and_counted(sink: Sink, tmp_path: Path) -> None:
    daytwo.configure(url=sink.url, max_field_bytes=1000, spool_dir=str(tmp_path))

    @daytwo.track
    def long(text: str) -> str:
        return "short"

    long("y" * 50_000)

    [span] = received(sink)
    assert span["input"].startswith('{"text":"yyyy')
    assert "[cut by daytwo: 50,011 bytes of JSON]" in span["input"]
    assert span["output"] == "short"
    assert daytwo.stats().truncated_fields == 1
    daytwo.shutdown()


def test_a_failing_redaction_sends_a_note_instead_of_the_value(traced: Sink) -> None:
    def broken(args: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("oops")

    @daytwo.track(transform_input=broken)
    def pay(card: str) -> None:
        pass

    pay("4242")

    [span] = received(traced)
    assert span["input"] == "<transform_input failed: KeyError>"


def test_outside_strict_mode_an_internal_failure_is_counted_not_raised(
    traced: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_STRICT", "0")

    def explode(*args: Any) -> Any:
        raise RuntimeError("bug in daytwo")

    monkeypatch.setattr("daytwo.sdk.export.exporter.encode", explode)
    make_spans(3)

    result = daytwo.flush()

    assert result.failed == 3
    stats = daytwo.stats()
    assert stats.dropped == {"encoding": 3}
    assert stats.internal_failures is not None
    assert stats.internal_failures["encoding a span"] >= 3


def test_a_rejected_spooled_batch_is_split_to_drop_only_the_bad_span(tmp_path: Path) -> None:
    url = closed_port_url()
    daytwo.configure(url=url, max_retries=0, spool_dir=str(tmp_path), flush_interval=0.05)
    with daytwo.trace("turn", user_id="u-1"):
        daytwo.update_current_span(scores={"helpful": True})
    make_spans(40)
    assert daytwo.flush().spooled == 41

    sink = Sink(port=int(url.rsplit(":", 1)[1]))
    sink.reject_if = lambda span: span.get("input", {}).get("n") == 13
    try:
        wait_for(lambda: daytwo.stats().replayed + daytwo.stats().dropped_total == 41)
        stats = daytwo.stats()
        assert (stats.replayed, stats.dropped, stats.spool_pending) == (40, {"rejected": 1}, 0)
        numbers = sorted(span["input"]["n"] for span in sink.spans() if span["name"] == "work")
        assert numbers == [n for n in range(40) if n != 13]
        assert [trace["user_id"] for trace in sink.traces()] == ["u-1"]
        assert [score["name"] for score in sink.scores()] == ["helpful"]
    finally:
        daytwo.shutdown()
        sink.close()


def test_a_span_that_ends_after_the_exit_flush_is_counted_as_dropped(traced: Sink) -> None:
    make_spans(2, name="before")
    exporter()._at_exit()

    make_spans(3, name="after")

    stats = daytwo.stats()
    assert (stats.sent, stats.pending, stats.dropped) == (2, 0, {"shutdown": 3})
    assert [span["name"] for span in traced.spans()] == ["before", "before"]


def test_spans_ended_by_a_later_exit_handler_are_counted_and_logged(
    sink: Sink, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import atexit, json
        import daytwo

        @daytwo.track
        def work(n):
            return n

        @daytwo.track
        def stream():
            yield from range(10)

        def late():
            # Registered before the exporter starts, so it runs after the exit flush.
            work(1)
            started.close()
            print(json.dumps(daytwo.stats().dropped))

        atexit.register(late)
        daytwo.configure(url={sink.url!r}, spool_dir={str(tmp_path)!r})
        work(0)
        started = stream()
        next(started)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, timeout=60, capture_output=True, text=True
    )

    assert json.loads(done.stdout) == {"shutdown": 2}
    assert done.stderr.count("(shutdown)") == 1
    assert [span["name"] for span in sink.spans()] == ["work"]


def test_a_failure_while_sending_counts_the_spans_it_took_as_dropped(
    sink: Sink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYTWO_STRICT", "0")
    daytwo.configure(url=sink.url, spool_dir=str(tmp_path), flush_interval=60)
    sink.reject_if = lambda span: span["input"]["n"] == 9
    posts = 0
    post = Transport.post

    def third_post_fails(self: Transport, body: bytes, timeout: float | None = None) -> Reply:
        nonlocal posts
        posts += 1
        if posts == 3:
            raise RuntimeError("bug in daytwo")
        return post(self, body, timeout)

    monkeypatch.setattr(Transport, "post", third_post_fails)
    make_spans(10)

    # The batch is rejected, its first half arrives, and sending the second half fails.
    result = daytwo.flush()

    assert (result.sent, result.failed, result.pending) == (5, 5, 0)
    stats = daytwo.stats()
    assert stats.dropped == {"internal_error": 5}
    assert stats.internal_failures is not None
    assert stats.internal_failures["exporting spans"] >= 1
    assert sorted(span["input"]["n"] for span in sink.spans()) == [0, 1, 2, 3, 4]
    daytwo.shutdown()


def test_the_exit_flush_keeps_its_bound_when_the_server_never_answers(tmp_path: Path) -> None:
    # A server that accepts connections (the kernel does, from the backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        script = textwrap.dedent(
            f"""
            import atexit, json, time
            import daytwo

            def report():
                # Registered before the exporter starts, so it runs after the exit flush.
                print(json.dumps({{"flushed": time.time(), **daytwo.stats()._asdict()}}))

            atexit.register(report)
            daytwo.configure(
                url={url!r},
                spool_dir={str(tmp_path)!r},
                exit_timeout=1.0,
                request_timeout=120,
                flush_interval=0.05,
            )

            @daytwo.track
            def work(n):
                return n

            for n in range(50):
                work(n)
            daytwo.flush(timeout=0.5)  # the exporter now waits on a request
            print(json.dumps({{"exiting": time.time()}}), flush=True)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=True, timeout=120, capture_output=True, text=True
        )
        exited = time.time()

    first, last = (json.loads(line) for line in done.stdout.splitlines())
    # The bound is 1 s; the rest of this generous margin is interpreter teardown on a busy host.
    assert exited - first["exiting"] < 10
    assert last["flushed"] - first["exiting"] < 5
    assert last["spooled"] >= 50
    assert last["spool_pending"] >= 50
    assert "spooled for the next run" in done.stderr
    spooled = [json.loads(gzip.decompress(p.read_bytes())) for p in tmp_path.rglob("*.json.gz")]
    assert {span["output"] for body in spooled for span in body["spans"]} == set(range(50))
