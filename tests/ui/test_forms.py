"""UI forms: refused from other sites, read within the size limit, parsed by python-multipart."""

import httpx
import pytest

from tests.conftest import LiveServer
from tests.ui.data import PROJECT, RAG_TRACE, seed

SCORE = {"trace_id": RAG_TRACE, "name": "helpful", "data_type": "boolean", "boolean_value": "yes"}


def scores_of(server: LiveServer) -> list[str]:
    trace = httpx.get(f"{server.url}/api/v1/projects/{PROJECT}/traces/{RAG_TRACE}").json()
    return [score["name"] for score in trace["trace"]["scores"]]


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://attacker.example"}],
    ids=["fetch-metadata", "origin"],
)
def test_a_form_sent_from_another_site_is_refused_and_stores_nothing(
    ui_server: LiveServer, headers: dict[str, str]
) -> None:
    seed(ui_server)
    before = scores_of(ui_server)

    response = httpx.post(f"{ui_server.url}/projects/{PROJECT}/scores", data=SCORE, headers=headers)

    assert response.status_code == 403
    assert "only from daytwo&#39;s own pages" in response.text
    assert scores_of(ui_server) == before


def test_a_form_from_the_same_origin_is_taken(ui_server: LiveServer) -> None:
    seed(ui_server)

    response = httpx.post(
        f"{ui_server.url}/projects/{PROJECT}/scores",
        data={**SCORE, "name": "same site"},
        headers={"Origin": ui_server.url, "Sec-Fetch-Site": "same-origin"},
    )

    assert response.status_code == 303
    assert "same site" in scores_of(ui_server)


def test_a_form_over_the_request_limit_is_refused_with_413(ui_server: LiveServer) -> None:
    seed(ui_server)

    response = httpx.post(
        f"{ui_server.url}/projects/{PROJECT}/scores",
        data={**SCORE, "reason": "x" * (ui_server_limit() + 1)},
    )

    assert response.status_code == 413


def test_a_body_that_is_not_a_form_is_refused_with_415(ui_server: LiveServer) -> None:
    response = httpx.post(f"{ui_server.url}/projects/{PROJECT}/scores", json=SCORE)

    assert response.status_code == 415
    assert "expected a form" in response.text


def test_a_broken_multipart_body_is_a_400(ui_server: LiveServer) -> None:
    response = httpx.post(
        f"{ui_server.url}/projects/{PROJECT}/scores",
        content=b"--b\r\nnot a part",
        headers={"Content-Type": "multipart/form-data"},
    )

    assert response.status_code == 400


def ui_server_limit() -> int:
    from daytwo.config import Settings

    return Settings().max_request_bytes
