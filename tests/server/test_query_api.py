"""The query API over HTTP on both dialects: routes, errors, schema, and a live round trip."""

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from daytwo.config import Settings
from daytwo.model import ScoreIn, SpanIn, TraceIn
from daytwo.server.api.query import router
from daytwo.server.deps import Services
from daytwo.server.errors import install_error_handlers
from daytwo.storage.projects import ProjectDirectory
from tests.conftest import LiveServer
from tests.storage.doubles import T0, at, catalogue_records, sid, span, tid, write

API = "/api/v1"


def _services(engine: Engine) -> Services:
    """Return services for the query routes, which use only the engine and the projects."""
    given: dict[str, Any] = {
        "settings": Settings(),
        "engine": engine,
        "projects": ProjectDirectory(engine),
    }
    for field in dataclasses.fields(Services):
        required = field.default is dataclasses.MISSING
        if required and field.default_factory is dataclasses.MISSING:
            given.setdefault(field.name, None)
    return Services(**given)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    traces, spans, scores = catalogue_records()
    traces.append(TraceIn(id=tid(6), thread_id="org/th-2", user_id="cy"))
    spans.append(span(6, 1, name="slash thread", start_time=at(300), end_time=at(301)))
    scores.append(ScoreIn(thread_id="org/th-2", name="resolved", value=True))
    write(engine, traces=traces, spans=spans, scores=scores)
    write(engine, "other", spans=[span(9, 1, name="elsewhere", start_time=at(10))])
    app = FastAPI()
    app.include_router(router)
    install_error_handlers(app)
    app.state.services = _services(engine)
    with TestClient(app) as test_client:
        yield test_client


def _ok(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"{API}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _error(client: TestClient, path: str, status: int, **params: Any) -> dict[str, Any]:
    # No params at all, so that a query string written in ``path`` is kept.
    response = client.get(f"{API}{path}", params=params or None)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "details"}
    return body["error"]


def _numbers(page: dict[str, Any]) -> list[int]:
    return [int(item["id"], 16) for item in page["items"]]


def test_projects_are_listed_with_their_figures(client: TestClient) -> None:
    projects = _ok(client, "/projects")

    assert [project["name"] for project in projects] == ["other", "p"]
    assert projects[1]["trace_count"] == 6
    assert projects[1]["total_cost"] == pytest.approx(5.52)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [6, 5, 4, 3, 2, 1]),
        ({"tag": ["prod", "beta"]}, [1]),
        ({"score": "quality:0.5:"}, [1]),
        ({"score": ["verdict=pass", "quality::1"]}, [1]),
        ({"from": "2026-12-01T12:02:00Z", "to": "2026-12-01T13:04:00+01:00"}, [4, 3]),
        ({"from": "2026-12-01T12:02:00", "to": "2026-12-01T12:04:00.000001Z"}, [5, 4, 3]),
        ({"kind": "llm", "model": "known"}, [5, 4, 1]),
        ({"search": "100%"}, [1]),
        ({"has_error": "true"}, [2]),
        ({"status": "unset", "user_id": "ann"}, [3]),
        ({"min_latency_ms": 3000, "max_cost": 1}, [5]),
        ({"name_prefix": "answer", "sort": "total_cost", "order": "asc"}, [5, 1, 2]),
    ],
)
def test_trace_listing_reads_filters_from_query_parameters(
    client: TestClient, params: dict[str, Any], expected: list[int]
) -> None:
    assert _numbers(_ok(client, "/projects/p/traces", **params)) == expected


def _prompted(trace: int, prompt: str, version: str, model: str = "known") -> SpanIn:
    """Return an llm span of trace ``trace`` that recorded a version of a managed prompt."""
    reference = {"name": prompt, "version": version, "label": "production"}
    return span(
        trace,
        2,
        parent=1,
        name="chat",
        kind="llm",
        start_time=at(trace * 60 + 0.5),
        end_time=at(trace * 60 + 1),
        llm={"model": model, "prompt": reference},
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"prompt": "support"}, [5, 3, 2, 1]),
        ({"prompt": "support", "prompt_version": "2"}, [3, 2]),
        ({"prompt": "support", "prompt_version": "default"}, [5]),
        ({"prompt": "greeting", "prompt_version": "2"}, [4]),
        # The span that called "other" in trace 2 recorded no prompt.
        ({"prompt": "support", "prompt_version": "2", "model": "other"}, [3]),
        ({"prompt": "support", "prompt_version": "9"}, []),
    ],
)
def test_traces_are_filtered_by_the_prompt_version_a_span_recorded(
    client: TestClient, engine: Engine, params: dict[str, Any], expected: list[int]
) -> None:
    roots = [
        span(n, 1, name="turn", start_time=at(n * 60), end_time=at(n * 60 + 2)) for n in range(1, 6)
    ]
    linked = [
        _prompted(1, "support", "1"),
        _prompted(2, "support", "2"),
        span(2, 3, parent=1, name="chat", kind="llm", llm={"model": "other"}, start_time=at(121)),
        _prompted(3, "support", "2", model="other"),
        _prompted(4, "greeting", "2"),
        _prompted(5, "support", "default"),
    ]
    write(engine, "prompted", spans=roots + linked)

    assert _numbers(_ok(client, "/projects/prompted/traces", **params)) == expected


def test_trace_pages_follow_next_cursor_to_the_end(client: TestClient) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 4, "sort": "duration_ms"}
    while True:
        page = _ok(client, "/projects/p/traces", **params)
        seen += _numbers(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert seen == [3, 5, 2, 1, 6, 4]


def test_cursor_used_with_another_sort_answers_400(client: TestClient) -> None:
    cursor = _ok(client, "/projects/p/traces", limit=1)["next_cursor"]

    error = _error(client, "/projects/p/traces", 400, cursor=cursor, sort="total_cost")

    assert error["code"] == "bad_request"
    assert "was made for sort 'start_time desc'" in error["message"]


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/projects/p/traces", {"cursor": "garbage"}, "invalid cursor 'garbage'"),
        ("/projects/p/spans", {"cursor": "e30"}, "belongs to a listing of None"),
        ("/projects/p/traces", {"score": "quality"}, "invalid score filter 'quality'"),
        ("/projects/p/traces", {"min_cost": 2, "max_cost": 1}, "min_cost 2.0 exceeds"),
        ("/projects/p/spans", {"trace_id": "xyz"}, "invalid trace_id"),
        ("/projects/p/threads", {"from": "2026-12-02T00:00:00Z", "to": T0.isoformat()}, "swap"),
        ("/projects/p/aggregates", {"group_by": "project"}, "cross-project route"),
        ("/projects/p/aggregates", {"provider": "openai"}, "provider filters spans"),
        ("/projects/p/aggregates", {"group_by": "model", "user_id": "ann"}, "user_id filters"),
        ("/projects/p/aggregates", {"bucket": "1s", "from": "2026-11-01T00:00:00Z"}, "10000"),
        ("/projects/p/traces", {"prompt_version": "2"}, "prompt_version '2' needs prompt"),
    ],
)
def test_unusable_queries_answer_400_with_the_reason(
    client: TestClient, path: str, params: dict[str, Any], fragment: str
) -> None:
    error = _error(client, path, 400, **params)

    assert error["code"] == "bad_request"
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        ("/projects/p/traces", {"limit": 501}, "query.limit"),
        ("/projects/p/traces", {"kind": "lm"}, "query.kind"),
        ("/projects/p/traces", {"from": "yesterday"}, "query.from"),
        ("/projects/p/traces", {"min_cost": -1}, "query.min_cost"),
        ("/projects/p/aggregates", {"bucket": "5x"}, "query.bucket"),
        ("/projects/p/traces/" + tid(1), {"max_depth": -1}, "query.max_depth"),
    ],
)
def test_invalid_parameters_answer_422_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, Any], location: str
) -> None:
    error = _error(client, path, 422, **params)

    assert error["code"] == "invalid_request"
    assert location in [detail["location"] for detail in error["details"]]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/projects/nope/traces", "no project named 'nope'"),
        (f"/projects/p/traces/{tid(42)}", f"no trace '{tid(42)}' in project 'p'"),
        ("/projects/p/traces/not-an-id", "no trace 'not-an-id' in project 'p'"),
        (f"/projects/p/traces/{tid(1)}/spans/{sid(9)}", f"no span '{sid(9)}' in trace"),
        (f"/projects/p/traces/{tid(1)}/spans/zz", "no span 'zz'"),
        (f"/projects/p/traces/{tid(1)}?parent_id={sid(9)}", f"no span '{sid(9)}'"),
        ("/projects/p/threads/th-404", "no thread 'th-404' in project 'p'"),
        ("/aggregates?project=nope", "no project named 'nope'"),
    ],
)
def test_missing_things_answer_404(client: TestClient, path: str, fragment: str) -> None:
    error = _error(client, path, 404)

    assert error == {"code": "not_found", "message": error["message"]}
    assert fragment in error["message"]


def test_trace_route_returns_the_tree_and_lazy_children(client: TestClient) -> None:
    tree = _ok(client, f"/projects/p/traces/{tid(2)}")
    children = _ok(client, f"/projects/p/traces/{tid(2)}", parent_id=sid(1), previews="true")
    roots = _ok(client, f"/projects/p/traces/{tid(2)}", max_depth=0)

    assert [(int(s["id"], 16), s["depth"]) for s in tree["spans"]] == [(1, 0), (2, 1), (3, 1)]
    assert tree["trace"]["status"] == "error"
    assert tree["spans"][0]["child_count"] == 2
    assert [s["name"] for s in children["spans"]] == ["chat", "lookup"]
    assert [s["id"] for s in roots["spans"]] == [sid(1)]
    assert roots["total_nodes"] == 1


def test_span_route_returns_the_whole_payload_and_scores(client: TestClient) -> None:
    span_view = _ok(client, f"/projects/p/traces/{tid(1)}/spans/{sid(2)}")

    assert span_view["detail"]["llm"]["model"] == "known"
    usage = span_view["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        1000,
        500,
        1500,
    )
    assert span_view["cost"]["total"] == 1.5
    assert [score["value"] for score in span_view["scores"]] == ["pass"]


def test_span_listing_filters_and_pages(client: TestClient) -> None:
    page = _ok(client, "/projects/p/spans", kind="llm", provider="openai", limit=1)
    rest = _ok(
        client, "/projects/p/spans", kind="llm", provider="openai", cursor=page["next_cursor"]
    )

    assert [item["name"] for item in page["items"] + rest["items"]] == ["summarize", "chat"]
    assert rest["next_cursor"] is None


def test_threads_route_lists_and_opens_a_thread_with_a_slash_in_its_id(
    client: TestClient,
) -> None:
    threads = _ok(client, "/projects/p/threads")
    view = _ok(client, "/projects/p/threads/org/th-2")

    assert [thread["thread_id"] for thread in threads["items"]] == ["org/th-2", "th1"]
    assert threads["items"][1]["trace_count"] == 2
    assert view["thread"]["user_id"] == "cy"
    assert [score["value"] for score in view["scores"]] == [True]
    assert [trace["name"] for trace in view["traces"]["items"]] == ["slash thread"]


def test_project_aggregates_bucket_and_group(client: TestClient) -> None:
    result = _ok(
        client,
        "/projects/p/aggregates",
        group_by="model",
        bucket="5m",
        **{"from": T0.isoformat(), "to": at(300).isoformat()},
    )

    assert (result["scope"], result["group_by"], result["bucket"]) == ("spans", "model", "5m")
    rows = {row["group"]: row for row in result["rows"]}
    assert rows["known"]["count"] == 3
    assert rows["known"]["cost"] == pytest.approx(5.52)
    assert rows["mystery"]["cost_unknown_count"] == 1


def test_cross_project_aggregates_group_by_project(client: TestClient) -> None:
    window = {"from": T0.isoformat(), "to": at(3600).isoformat()}

    everything = _ok(client, "/aggregates", group_by="project", percentiles="false", **window)
    only_other = _ok(client, "/aggregates", project="other", **window)

    assert [(row["group"], row["count"]) for row in everything["rows"]] == [("other", 1), ("p", 6)]
    assert everything["rows"][0]["latency_p50_ms"] is None
    assert [row["count"] for row in only_other["rows"]] == [1]


def test_aggregates_default_to_the_24_hours_before_to(client: TestClient) -> None:
    result = _ok(client, "/projects/p/aggregates", to="2026-12-02T12:00:00")

    assert (result["start"], result["end"]) == ("2026-12-01T12:00:00Z", "2026-12-02T12:00:00Z")
    assert result["rows"][0]["count"] == 6


def _query_operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, methods in schema["paths"].items()
        for operation in methods.values()
        if "query" in operation.get("tags", [])
    ]


def test_every_route_and_parameter_is_described_in_the_openapi_schema(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()

    operations = _query_operations(schema)
    assert len(operations) == 9
    for path, operation in operations:
        assert operation.get("summary"), path
        assert operation.get("description"), path
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), f"{path} {parameter['name']}"
        assert "404" in operation["responses"]
    assert "score" in schema["paths"][f"{API}/projects/{{project}}/traces"]["get"]["description"]
    for model in ("TraceSummary", "SpanDetail", "TraceTree", "ThreadView", "AggregateResult"):
        assert model in schema["components"]["schemas"]


def test_a_trace_ingested_over_http_reads_back_through_the_live_server(
    live_server: LiveServer,
) -> None:
    batch = {
        "traces": [{"id": tid(1), "thread_id": "th", "tags": ["live"]}],
        "spans": [
            {"trace_id": tid(1), "id": sid(1), "name": "root", "kind": "chain",
             "start_time": "2026-12-01T12:00:00Z", "end_time": "2026-12-01T12:00:02Z"},
            {"trace_id": tid(1), "id": sid(2), "parent_id": sid(1), "name": "chat",
             "kind": "llm", "start_time": "2026-12-01T12:00:01Z", "input": "hi"},
        ],
    }  # fmt: skip
    with live_server.client() as http:
        assert http.post(f"{API}/ingest", json=batch).status_code == 200
        page = http.get(f"{API}/projects/default/traces", params={"tag": "live"}).json()
        tree = http.get(f"{API}/projects/default/traces/{tid(1)}").json()
        missing = http.get(f"{API}/projects/default/traces/{tid(2)}")

    assert [trace["name"] for trace in page["items"]] == ["root"]
    assert [(node["name"], node["depth"]) for node in tree["spans"]] == [("root", 0), ("chat", 1)]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
