"""Ingest through a real ``daytwo serve`` process on loopback, on both dialects."""

import gzip
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from daytwo.storage.engine import create_database_engine
from daytwo.storage.tables import spans, traces
from tests.conftest import LiveServer

TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT = "b7ad6b7169203331"
CHILD = "00f067aa0ba902b7"


def _count(database_url: str, table: Any = spans) -> int:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _span_row(database_url: str, span_id: str) -> dict[str, Any]:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(spans).where(spans.c.id == span_id)
            return dict(connection.execute(query).mappings().one())
    finally:
        engine.dispose()


def _llm_batch() -> dict[str, Any]:
    return {
        "traces": [{"id": TRACE, "name": "chat", "thread_id": "th-1", "user_id": "u-1"}],
        "spans": [
            {
                "trace_id": TRACE,
                "id": ROOT,
                "name": "chat",
                "kind": "chain",
                "start_time": "2026-12-01T12:00:00Z",
                "end_time": "2026-12-01T12:00:02Z",
                "input": {"question": "What is the capital of France?"},
                "output": "Paris",
            },
            {
                "trace_id": TRACE,
                "id": CHILD,
                "parent_id": ROOT,
                "name": "openai.chat",
                "kind": "llm",
                "start_time": "2026-12-01T12:00:00.5Z",
                "end_time": "2026-12-01T12:00:01.5Z",
                "llm": {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "input_messages": [{"role": "user", "content": "Capital of France?"}],
                    "output_messages": [{"role": "assistant", "content": "Paris"}],
                },
                "usage": {"input_tokens": 1000, "output_tokens": 100},
            },
        ],
        "scores": [{"trace_id": TRACE, "name": "correct", "value": True, "source": "human"}],
    }


def test_a_native_batch_is_stored_when_the_server_answers(
    live_server: LiveServer, database_url: str
) -> None:
    with live_server.client() as client:
        response = client.post("/api/v1/ingest", json=_llm_batch())

    assert response.status_code == 200, response.text
    assert response.json() == {"traces": 1, "spans": 2, "scores": 1}
    llm = _span_row(database_url, CHILD)
    assert llm["model"] == "gpt-4o"
    assert llm["cost_source"] == "computed"
    assert llm["total_cost"] > 0


def test_an_end_sent_before_its_start_merges_over_http(
    live_server: LiveServer, database_url: str
) -> None:
    end = {"spans": [{"trace_id": TRACE, "id": ROOT, "end_time": "2026-12-01T12:00:03Z"}]}
    start = {
        "spans": [
            {"trace_id": TRACE, "id": ROOT, "name": "late", "start_time": "2026-12-01T12:00:00Z"}
        ]
    }
    with live_server.client() as client:
        assert client.post("/api/v1/ingest", json=end).status_code == 200
        assert client.post("/api/v1/ingest", json=start).status_code == 200

    row = _span_row(database_url, ROOT)
    assert (row["name"], row["duration_ms"]) == ("late", 3000.0)


def test_a_gzipped_batch_is_accepted(live_server: LiveServer, database_url: str) -> None:
    body = gzip.compress(orjson.dumps(_llm_batch()))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with live_server.client() as client:
        response = client.post("/api/v1/ingest", content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert _count(database_url) == 2


def test_an_invalid_record_rejects_the_batch_and_names_the_field(
    live_server: LiveServer, database_url: str
) -> None:
    batch = _llm_batch()
    batch["spans"][1]["kind"] = "lm"
    with live_server.client() as client:
        response = client.post("/api/v1/ingest", json=batch)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "spans.1.kind" in error["message"]
    assert _count(database_url) == 0


def test_malformed_json_is_refused_and_stored_data_is_intact(
    live_server: LiveServer, database_url: str
) -> None:
    with live_server.client() as client:
        client.post("/api/v1/ingest", json=_llm_batch())
        response = client.post(
            "/api/v1/ingest", content=b'{"spans": [{"trace_id": ', headers=_json()
        )

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert _count(database_url) == 2


def test_an_oversized_body_gets_413_naming_the_limit(
    make_live_server: Any, database_url: str
) -> None:
    server: LiveServer = make_live_server(DAYTWO_MAX_REQUEST_BYTES="2000")
    body = orjson.dumps(_llm_batch() | {"traces": [{"id": TRACE, "input": "x" * 5000}]})
    with server.client() as client:
        response = client.post("/api/v1/ingest", content=body, headers=_json())

    assert response.status_code == 413
    assert "limit of 2000 bytes" in response.json()["error"]["message"]
    assert _count(database_url, traces) == 0


def test_a_gzip_bomb_is_refused_without_inflating_it(
    make_live_server: Any, database_url: str
) -> None:
    server: LiveServer = make_live_server(DAYTWO_MAX_DECOMPRESSED_BYTES="100000")
    bomb = gzip.compress(b"[" + b" " * 10_000_000 + b"]")
    headers = _json() | {"Content-Encoding": "gzip"}
    with server.client() as client:
        response = client.post("/api/v1/ingest", content=bomb, headers=headers)

    assert response.status_code == 413


def test_a_batch_answered_2xx_survives_sigkill(live_server: LiveServer, database_url: str) -> None:
    with live_server.client() as client:
        assert client.post("/api/v1/ingest", json=_llm_batch()).status_code == 200
    live_server.kill()

    live_server.start()

    assert _count(database_url) == 2
    assert _span_row(database_url, CHILD)["total_cost"] > 0


def test_every_error_has_the_one_error_shape(make_live_server: Any) -> None:
    server: LiveServer = make_live_server(DAYTWO_MAX_REQUEST_BYTES="100")
    with server.client() as client:
        answers = [
            client.get("/no/such/route"),
            client.post("/api/v1/ingest", content=b"{", headers=_json()),
            client.post("/api/v1/ingest", json={"spans": [{"id": "x"}]}),
            client.post("/api/v1/ingest", json={"spans": [], "padding": "x" * 200}),
            client.post("/v1/traces", content=b"\x0a\xff", headers=_protobuf()),
            client.delete("/api/v1/prices/overrides", params={"model": "none"}),
        ]

    assert [a.status_code for a in answers] == [404, 400, 422, 413, 400, 404]
    for answer in answers:
        body = answer.json()
        assert set(body) == {"error"}
        assert set(body["error"]) <= {"code", "message", "details"}
        assert isinstance(body["error"]["code"], str)
        assert body["error"]["message"]


def test_the_openapi_schema_documents_the_error_shape(live_server: LiveServer) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()

    assert "ErrorResponse" in schema["components"]["schemas"]
    ingest = schema["paths"]["/api/v1/ingest"]["post"]
    assert "422" in ingest["responses"]


def test_stats_count_rejected_otlp_spans(live_server: LiveServer) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    good = scope_spans.spans.add(name="good", trace_id=bytes.fromhex(TRACE))
    good.span_id = bytes.fromhex(ROOT)
    bad = scope_spans.spans.add(name="bad", trace_id=bytes.fromhex(TRACE))
    bad.span_id = b"\x00" * 8
    with live_server.client() as client:
        response = client.post(
            "/v1/traces", content=request.SerializeToString(), headers=_protobuf()
        )
        stats = client.get("/api/v1/server/stats").json()

    assert response.status_code == 200
    assert stats["rejected_spans"] == 1
    assert stats["committed_records"] == 1


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def _protobuf() -> dict[str, str]:
    return {"Content-Type": "application/x-protobuf"}
