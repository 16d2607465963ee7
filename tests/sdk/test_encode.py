import gzip
import sys
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from daytwo.sdk.capture import DEFAULT
from daytwo.sdk.export.encode import decode_body, encode
from daytwo.sdk.span import Span, TraceState


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Let threads switch as often as the interpreter can, to make races likely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def ended_span(trace: TraceState, parent_id: int | None = None) -> Span:
    span = Span(trace, parent_id, "step", "general", DEFAULT)
    span.end_ns = span.start_ns + 1
    return span


@pytest.mark.usefixtures("frequent_switches")
def test_no_trace_update_is_lost_while_the_exporter_takes_them() -> None:
    trace = TraceState(0x1234, None, True)
    span = ended_span(trace)
    records: list[dict[str, Any]] = []
    done = threading.Event()

    def export() -> None:
        while not done.is_set():
            encoded = encode(span, 1 << 20)
            if encoded.trace is not None:
                records.append(orjson.loads(encoded.trace))

    exporter = threading.Thread(target=export)
    exporter.start()
    for step in range(20_000):
        trace.update({"metadata": {"step": step}})
    done.set()
    exporter.join()
    last = encode(span, 1 << 20).trace  # the next span of the trace to end
    if last is not None:
        records.append(orjson.loads(last))

    merged: dict[str, Any] = {}
    for record in records:
        merged.update(record)
    assert merged["metadata"] == {"step": 19_999}
    assert trace.updates is None


def test_a_decoded_body_keeps_each_span_with_its_trace_record_and_scores() -> None:
    body = {
        "spans": [
            {"trace_id": "a", "id": "1", "name": "root"},
            {"trace_id": "a", "id": "2", "name": "child"},
            {"trace_id": "b", "id": "3", "name": "other"},
        ],
        "traces": [{"id": "a", "user_id": "u"}, {"id": "c", "name": "elsewhere"}],
        "scores": [
            {"trace_id": "a", "span_id": "2", "name": "good"},
            {"trace_id": "b", "name": "whole trace"},
            {"thread_id": "t", "name": "thread"},
        ],
    }

    items = decode_body(gzip.compress(orjson.dumps(body)))

    shown = [
        (
            item.span and orjson.loads(item.span)["id"],
            item.trace and orjson.loads(item.trace)["id"],
            [orjson.loads(score)["name"] for score in item.scores],
        )
        for item in items
    ]
    assert shown == [
        ("1", "a", []),
        ("2", None, ["good"]),
        ("3", None, ["whole trace"]),
        (None, "c", []),
        (None, None, ["thread"]),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not gzip", "the body is not gzip"),
        (gzip.compress(b"not json", mtime=0), "the body is not JSON"),
        (gzip.compress(b'{"spans": {"a": 1}}', mtime=0), "the body's spans are not a list"),
    ],
    ids=["not gzip", "not json", "not records"],
)
def test_a_body_that_is_not_a_batch_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_body(body)
