"""Price overrides through the API and from a file, on a live server."""

from pathlib import Path
from typing import Any

import orjson

from tests.conftest import LiveServer

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _llm_span(span_id: str, model: str) -> dict[str, Any]:
    return {
        "trace_id": TRACE,
        "id": span_id,
        "kind": "llm",
        "llm": {"model": model},
        "usage": {"input_tokens": 1_000_000, "output_tokens": 1_000_000},
    }


def _span_cost(server: LiveServer, span_id: str) -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/api/v1/projects/default/traces/{TRACE}/spans/{span_id}")
    assert response.status_code == 200, response.text
    cost: dict[str, Any] = response.json()["cost"]
    return cost


def test_an_override_set_through_the_api_prices_new_spans(live_server: LiveServer) -> None:
    override = {"model": "house-model-*", "input_per_mtok": 2.0, "output_per_mtok": 3.0}
    with live_server.client() as client:
        assert client.put("/api/v1/prices/overrides", json=override).status_code == 200
        looked_up = client.get("/api/v1/prices/lookup", params={"model": "house-model-v2"})
        ingest = client.post(
            "/api/v1/ingest", json={"spans": [_llm_span("00000000000000a1", "house-model-v2")]}
        )

    assert looked_up.json()["source"] == "override"
    assert ingest.status_code == 200
    cost = _span_cost(live_server, "00000000000000a1")
    assert (cost["total"], cost["source"]) == (5.0, "computed")


def test_deleting_an_override_leaves_the_model_unpriced(live_server: LiveServer) -> None:
    override = {"model": "house-model", "input_per_mtok": 1.0, "output_per_mtok": 1.0}
    with live_server.client() as client:
        client.put("/api/v1/prices/overrides", json=override)
        deleted = client.delete("/api/v1/prices/overrides", params={"model": "house-model"})
        client.post(
            "/api/v1/ingest", json={"spans": [_llm_span("00000000000000a2", "house-model")]}
        )
        missing = client.get("/api/v1/prices/lookup", params={"model": "house-model"})

    assert deleted.status_code == 204
    assert missing.status_code == 404
    assert "add an override" in missing.json()["error"]["message"]
    cost = _span_cost(live_server, "00000000000000a2")
    assert (cost["total"], cost["source"]) == (None, "unknown")


def test_an_invalid_override_is_refused_with_the_field_named(live_server: LiveServer) -> None:
    bad = {"model": "m", "input_per_mtok": -1, "output_per_mtok": 1}
    with live_server.client() as client:
        response = client.put("/api/v1/prices/overrides", json=bad)

    assert response.status_code == 422
    assert "input_per_mtok" in response.json()["error"]["message"]


def test_overrides_from_a_file_apply_and_the_api_can_replace_them(
    make_live_server: Any, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_bytes(
        orjson.dumps([{"model": "gpt-4o", "input_per_mtok": 1.0, "output_per_mtok": 1.0}])
    )
    server: LiveServer = make_live_server(DAYTWO_PRICES_FILE=str(prices))
    with server.client() as client:
        from_file = client.get("/api/v1/prices/lookup", params={"model": "gpt-4o"}).json()
        replacement = {"model": "gpt-4o", "input_per_mtok": 4.0, "output_per_mtok": 4.0}
        client.put("/api/v1/prices/overrides", json=replacement)
        replaced = client.get("/api/v1/prices/lookup", params={"model": "gpt-4o"}).json()
        listed = client.get("/api/v1/prices", params={"model": "gpt-4o"}).json()

    assert (from_file["input_per_mtok"], from_file["source"]) == (1.0, "override")
    assert replaced["input_per_mtok"] == 4.0
    assert [o["input_per_mtok"] for o in listed["overrides"]] == [4.0]
    assert any(m["model"] == "gpt-4o" and m["source"] == "genai-prices" for m in listed["models"])
