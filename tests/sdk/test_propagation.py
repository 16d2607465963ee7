import http.server
import threading
import urllib.request
from typing import Any

import pytest

import daytwo
from tests.sdk.conftest import Sink, received


def test_inject_writes_the_current_span_as_a_w3c_traceparent(traced: Sink) -> None:
    with daytwo.span("call") as span:
        headers = daytwo.inject({})

    assert headers == {"traceparent": f"00-{span.trace_id}-{span.span_id}-01"}


def test_inject_outside_a_span_adds_nothing(traced: Sink) -> None:
    assert daytwo.inject({"accept": "json"}) == {"accept": "json"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
    ],
)
def test_a_malformed_traceparent_starts_a_new_trace(traced: Sink, value: str) -> None:
    assert daytwo.extract({"traceparent": value}) is None


def test_a_later_version_may_carry_more_fields(traced: Sink) -> None:
    parent = daytwo.extract(
        {"Traceparent": "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"}
    )
    assert parent is not None
    assert parent.span_id == 0x00F067AA0BA902B7


def test_a_span_in_service_b_becomes_a_child_of_the_span_in_service_a(traced: Sink) -> None:
    @daytwo.track(name="service b handler")
    def handle(path: str) -> str:
        return "done"

    class ServiceB(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with daytwo.continue_trace(self.headers):
                handle(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), ServiceB)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with daytwo.span("service a request") as request:
            outgoing = urllib.request.Request(
                f"http://127.0.0.1:{server.server_address[1]}/orders",
                headers=daytwo.inject({}),
            )
            urllib.request.urlopen(outgoing).close()
    finally:
        server.shutdown()
        server.server_close()

    spans = {span["name"]: span for span in received(traced)}
    child = spans["service b handler"]
    assert child["trace_id"] == request.trace_id
    assert child["parent_id"] == request.span_id


def test_trace_with_headers_continues_the_callers_trace(traced: Sink) -> None:
    headers = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    with daytwo.trace("handler", headers=headers):
        pass

    [span] = received(traced)
    assert span["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span["parent_id"] == "00f067aa0ba902b7"
