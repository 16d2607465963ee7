from typing import Any

from fastapi.testclient import TestClient

BASE = "/api/v1/projects/support/experiments"


def start(api: TestClient, **spec: Any) -> dict[str, Any]:
    response = api.post(BASE, json={"name": "baseline", **spec})
    assert response.status_code == 201, response.text
    return response.json()


def record(api: TestClient, experiment: str, *items: dict[str, Any]) -> None:
    response = api.post(f"{BASE}/{experiment}/items", json={"items": list(items)})
    assert response.status_code == 200, response.text


def scored(item_id: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"item_id": item_id, "scores": {"exact": {"value": value}}, **extra}


def test_an_experiment_summarizes_its_metrics_with_intervals(api: TestClient) -> None:
    experiment = start(api, config={"metrics": ["exact"]})
    record(api, experiment["id"], *(scored(f"q{n}", float(n % 2)) for n in range(20)))
    record(api, experiment["id"], {"item_id": "q99", "error": "TimeoutError", "latency_ms": 30})

    view = api.get(f"{BASE}/{experiment['id']}").json()

    assert (view["item_count"], view["error_count"], view["status"]) == (21, 1, "running")
    [metric] = view["metrics"]
    assert (metric["name"], metric["mean"], metric["count"]) == ("exact", 0.5, 20)
    assert metric["low"] < 0.5 < metric["high"]


def test_recording_an_item_again_replaces_it(api: TestClient) -> None:
    experiment = start(api)
    record(api, experiment["id"], scored("q1", 0.0))
    record(api, experiment["id"], scored("q1", 1.0, output="fixed"))

    [item] = api.get(f"{BASE}/{experiment['id']}/items").json()

    assert (item["output"], item["scores"]["exact"]["value"]) == ("fixed", 1.0)


def test_starting_with_a_known_id_resumes_and_a_clash_is_refused(api: TestClient) -> None:
    experiment = start(api)
    api.patch(f"{BASE}/{experiment['id']}", json={"status": "interrupted"})

    resumed = start(api, id=experiment["id"])
    clash = api.post(BASE, json={"id": experiment["id"], "name": "other"})

    assert (resumed["id"], resumed["status"]) == (experiment["id"], "running")
    assert clash.status_code == 409


def test_labels_are_counted_not_averaged(api: TestClient) -> None:
    experiment = start(api)
    record(
        api,
        experiment["id"],
        *({"item_id": f"q{n}", "scores": {"tone": {"value": v}}} for n, v in enumerate("aab")),
    )

    [metric] = api.get(f"{BASE}/{experiment['id']}").json()["metrics"]

    assert (metric["mean"], metric["labels"]) == (None, {"a": 2, "b": 1})


def test_a_comparison_names_the_items_that_got_worse(api: TestClient) -> None:
    baseline = start(api, name="v1")
    candidate = start(api, name="v2")
    record(api, baseline["id"], *(scored(f"q{n}", 1.0) for n in range(30)))
    record(api, candidate["id"], *(scored(f"q{n}", 0.0 if n < 10 else 1.0) for n in range(30)))

    comparison = api.get(f"{BASE}/compare", params={"ids": [baseline["id"], candidate["id"]]})

    assert comparison.status_code == 200, comparison.text
    body = comparison.json()
    assert [e["name"] for e in body["experiments"]] == ["v1", "v2"]
    [metric] = body["metrics"]
    assert metric["differences"][0]["verdict"] == "worse"
    assert sorted(change["item_id"] for change in body["regressions"]) == sorted(
        f"q{n}" for n in range(10)
    )
    assert body["improvements"] == []


def test_bad_experiment_requests_are_named(api: TestClient) -> None:
    assert api.post(BASE, json={"name": "x", "dataset": "none"}).status_code == 404
    assert api.post(BASE, json={"name": "x", "id": "not-hex"}).status_code == 422
    experiment = start(api)
    assert api.patch(f"{BASE}/{experiment['id']}", json={"status": "odd"}).status_code == 422
    missing = api.get(f"{BASE}/compare", params={"ids": [experiment["id"], "f" * 32]})
    assert missing.status_code == 404
    twice = api.get(f"{BASE}/compare", params={"ids": [experiment["id"], experiment["id"]]})
    assert twice.status_code == 400
    assert "named twice" in twice.json()["error"]["message"]
    assert (
        api.post(f"{BASE}/{'f' * 32}/items", json={"items": [{"item_id": "a"}]}).status_code == 404
    )


def test_a_rag_experiment_is_diagnosed(api: TestClient) -> None:
    experiment = start(api)
    record(
        api,
        experiment["id"],
        *(
            {
                "item_id": f"q{n}",
                "scores": {
                    "context_precision": {"value": 0.2},
                    "faithfulness": {"value": 0.9 if n else 0.1},
                },
            }
            for n in range(5)
        ),
    )

    diagnosis = api.get(f"{BASE}/{experiment['id']}").json()["diagnosis"]

    assert diagnosis["verdict"] == "retrieval_failure"
    assert len(diagnosis["items"]) == 5
    assert "retriev" in diagnosis["advice"].lower()


def test_a_judges_agreement_with_people_is_reported(api: TestClient) -> None:
    experiment = start(api)
    people = ["good", "good", "bad", "bad", "good", "bad"]
    judge = ["good", "good", "bad", "good", "good", "bad"]
    record(
        api,
        experiment["id"],
        *(
            {"item_id": f"q{n}", "expected": p, "scores": {"tone": {"value": j}}}
            for n, (p, j) in enumerate(zip(people, judge, strict=True))
        ),
    )

    report = api.get(f"{BASE}/{experiment['id']}/calibration", params={"metric": "tone"})
    missing = api.get(f"{BASE}/{experiment['id']}/calibration", params={"metric": "none"})

    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["kind"], body["n"]) == ("nominal", 6)
    assert body["accuracy"]["value"] == 5 / 6
    assert missing.status_code == 422
    assert "only 0 items have both a label and a 'none' score" in missing.json()["error"]["message"]
