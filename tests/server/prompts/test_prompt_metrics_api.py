from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

BASE = "/api/v1/projects/shop/prompts"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def llm_span(
    trace: int,
    span: int,
    version: str | None,
    *,
    ms: float,
    cost: float,
    error: bool = False,
    name: str = "support",
) -> dict[str, Any]:
    start = T0 + timedelta(minutes=trace)
    prompt = {"name": name, "version": version, "label": "production"}
    record: dict[str, Any] = {
        "trace_id": f"{trace:032x}",
        "id": f"{span:016x}",
        "name": "chat",
        "kind": "llm",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(milliseconds=ms)).isoformat(),
        "llm": {"model": "gpt-4o-mini", "prompt": prompt},
        "cost": {"total": cost},
        "status": "error" if error else "ok",
    }
    return record


def ingest(api: TestClient, spans: list[dict[str, Any]], scores: list[dict[str, Any]]) -> None:
    response = api.post(
        "/api/v1/ingest",
        json={"spans": spans, "scores": scores},
        headers={"X-Daytwo-Project": "shop"},
    )
    assert response.status_code == 200, response.text


def seed(api: TestClient) -> None:
    spans = [
        llm_span(1, 1, "1", ms=100, cost=0.01),
        llm_span(2, 2, "1", ms=300, cost=0.03, error=True),
        llm_span(3, 3, "2", ms=50, cost=0.02),
        llm_span(3, 4, "2", ms=70, cost=0.02),
        llm_span(4, 5, "1", ms=999, cost=1.0, name="other"),
    ]
    scores = [
        {"trace_id": f"{1:032x}", "span_id": f"{1:016x}", "name": "helpful", "value": 1.0},
        {"trace_id": f"{2:032x}", "span_id": f"{2:016x}", "name": "helpful", "value": 0.0},
        # A trace score counts once for each version used in the trace, not per span.
        {"trace_id": f"{3:032x}", "name": "helpful", "value": 0.5},
        {"trace_id": f"{3:032x}", "name": "thumbs", "value": True},
    ]
    ingest(api, spans, scores)


def test_metrics_are_given_per_version_from_the_linked_spans(api: TestClient) -> None:
    seed(api)

    body = api.get(f"{BASE}/support/metrics").json()

    first, second = body["versions"]
    assert (first["version"], first["spans"], first["errors"]) == ("1", 2, 1)
    assert first["error_rate"] == 0.5
    assert first["latency_p50_ms"] == 200.0
    assert abs(first["latency_p95_ms"] - 290.0) < 1e-6
    assert abs(first["total_cost"] - 0.04) < 1e-9
    assert first["scores"] == {"helpful": 0.5}
    assert first["score_counts"] == {"helpful": 2}
    assert (second["version"], second["spans"], second["errors"]) == ("2", 2, 0)
    assert second["scores"] == {"helpful": 0.5, "thumbs": 1.0}
    assert second["score_counts"] == {"helpful": 1, "thumbs": 1}


def test_metrics_keep_to_the_time_range(api: TestClient) -> None:
    seed(api)
    params = {
        "from": (T0 + timedelta(minutes=2)).isoformat(),
        "to": (T0 + timedelta(minutes=3)).isoformat(),
    }

    body = api.get(f"{BASE}/support/metrics", params=params).json()

    assert [(v["version"], v["spans"]) for v in body["versions"]] == [("1", 1)]


def test_an_empty_range_is_refused(api: TestClient) -> None:
    seed(api)
    params = {"from": T0.isoformat(), "to": T0.isoformat()}

    response = api.get(f"{BASE}/support/metrics", params=params)

    assert response.status_code == 422


def test_a_span_sent_in_two_parts_keeps_its_prompt(api: TestClient) -> None:
    started = llm_span(9, 9, "3", ms=10, cost=0.01)
    ended = {key: started[key] for key in ("trace_id", "id", "end_time", "status")}
    ingest(api, [started], [])
    ingest(api, [ended], [])

    body = api.get(f"{BASE}/support/metrics").json()

    assert [(v["version"], v["spans"]) for v in body["versions"]] == [("3", 1)]
