"""Read back what a demo run recorded on the server, through the HTTP API."""

from typing import Any

import httpx

from daytwo.demo.run import JUDGED, PROJECT


def get(url: str, path: str, **params: Any) -> Any:
    """Return the JSON answer to a GET of the demo project's ``path``; fail on any error."""
    response = httpx.get(f"{url}/api/v1/projects/{PROJECT}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def judge_outcomes(url: str) -> dict[str, dict[str, str]]:
    """Return what each judged metric left on each item of the demo's experiment.

    ``scored`` when the item's result holds the metric's score; ``failed`` when
    the evaluator span of that metric, in the evaluation trace that scored the
    item, records the error; ``missing`` when neither is there.
    """
    [experiment] = get(url, "/experiments")
    items = get(url, f"/experiments/{experiment['id']}/items")
    evaluations = {}
    for found in get(url, "/traces", tag="evaluation", limit=100)["items"]:
        tree = get(url, f"/traces/{found['id']}")
        evaluations[tree["metadata"]["scored_trace_id"]] = tree
    outcomes: dict[str, dict[str, str]] = {}
    for item in items:
        evaluation = evaluations.get(item["trace_id"])
        outcomes[item["item_id"]] = {
            name: "scored" if name in item["scores"] else _failure(url, evaluation, name)
            for name in JUDGED
        }
    return outcomes


def _failure(url: str, evaluation: dict[str, Any] | None, metric: str) -> str:
    if evaluation is None:
        return "missing"
    span = next((s for s in evaluation["spans"] if s["name"] == metric), None)
    if span is None:
        return "missing"
    detail = get(url, f"/traces/{evaluation['trace']['id']}/spans/{span['id']}")
    return "failed" if (detail["metadata"] or {}).get("error") else "missing"
