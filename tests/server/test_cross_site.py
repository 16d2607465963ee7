"""Another site's page cannot change data through a visitor's browser."""

import orjson
import pytest

from daytwo.server.origin import is_cross_site
from tests.conftest import LiveServer

TRACE = "5b8efff798038103d269b633813fc60c"


def _batch() -> bytes:
    span = {
        "trace_id": TRACE,
        "id": "eee19b7ec3c1b174",
        "name": "chat",
        "start_time": "2026-12-01T12:00:00Z",
        "end_time": "2026-12-01T12:00:01Z",
    }
    return orjson.dumps({"spans": [span]})


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://attacker.example"},
    ],
    ids=["fetch-metadata-cross-site", "fetch-metadata-same-site", "foreign-origin"],
)
def test_a_plain_text_post_from_another_site_is_refused_and_stores_nothing(
    live_server: LiveServer, headers: dict[str, str]
) -> None:
    with live_server.client() as client:
        # text/plain needs no CORS preflight: the browser would send it as is.
        response = client.post(
            "/api/v1/ingest",
            content=_batch(),
            headers={"Content-Type": "text/plain", **headers},
        )
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        assert "other sites" in error["message"]

        assert client.get(f"/api/v1/projects/default/traces/{TRACE}").status_code == 404


def test_programs_and_daytwo_pages_still_write(live_server: LiveServer) -> None:
    with live_server.client() as client:
        from_program = client.post("/api/v1/ingest", content=_batch())
        assert from_program.status_code == 200
        same_origin = client.post(
            "/api/v1/scores",
            json={"scores": [{"trace_id": TRACE, "name": "helpful", "value": 1}]},
            headers={"Sec-Fetch-Site": "same-origin", "Origin": live_server.url},
        )
        assert same_origin.status_code == 200, same_origin.text


def test_reading_from_another_site_is_left_to_the_browser(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.get("/api/v1/projects", headers={"Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 200


def test_origin_is_compared_with_the_host_when_fetch_metadata_is_missing() -> None:
    assert not is_cross_site({})
    assert not is_cross_site({"origin": "http://127.0.0.1:7700", "host": "127.0.0.1:7700"})
    assert is_cross_site({"origin": "http://127.0.0.1:3000", "host": "127.0.0.1:7700"})
    assert not is_cross_site(
        {
            "origin": "https://daytwo.example",
            "host": "10.0.0.5",
            "x-forwarded-host": "daytwo.example",
        }
    )
    assert not is_cross_site({"sec-fetch-site": "none", "origin": "null"})
