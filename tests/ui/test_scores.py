"""Scores given by people through the score form, on threads, traces and spans."""

import html
import re
from typing import Any

import httpx
from playwright.sync_api import Locator, expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage
from tests.ui.data import GENERATE, PROJECT, RAG_TRACE, THREAD, seed

THREAD_PAGE = f"/projects/{PROJECT}/threads/{THREAD}"
TRACE_PAGE = f"/projects/{PROJECT}/traces/{RAG_TRACE}"
SCORES = f"/projects/{PROJECT}/scores"

# Each kind of score a person can give: its name, type, value as typed, and value as stored.
KINDS: list[tuple[str, str, str, Any]] = [
    ("tone", "numeric", "0.75", 0.75),
    ("verdict", "categorical", "pass", "pass"),
    ("solved", "boolean", "false", False),
]


def add_score(section: Locator, name: str, kind: str, value: str, comment: str) -> None:
    """Open the score form of ``section``, fill it in and send it."""
    section.locator("details.add-score > summary").click()
    form = section.locator("form.score-form")
    form.locator("[name=name]").fill(name)
    form.locator("[name=data_type]").select_option(kind)
    if kind == "numeric":
        form.locator("[name=numeric_value]").fill(value)
    elif kind == "categorical":
        form.locator("[name=categorical_value]").fill(value)
    else:
        form.locator("[name=boolean_value]").select_option(value)
    form.locator("[name=reason]").fill(comment)
    form.locator("[name=author]").fill("sam")
    form.get_by_role("button", name="Add score").click()


def add_every_kind(page: WatchedPage, path: str, section: str) -> None:
    """Add a score of each kind from the page at ``path``; each shows once stored."""
    page.open(path)
    for name, kind, value, _ in KINDS:
        add_score(page.page.locator(section), name, kind, value, f"{kind} comment")
        chip = page.page.locator(f'{section} [data-score="{name}"]')
        expect(chip).to_contain_text(f"{kind} comment")
        expect(chip).to_contain_text("by sam")


def assert_stored(scores: list[dict[str, Any]]) -> None:
    """Check that each kind was stored once, from a person, with its comment and author."""
    by_name = {score["name"]: score for score in scores}
    for name, kind, _, stored in KINDS:
        score = by_name[name]
        assert score["value"] == stored
        assert score["data_type"] == kind
        assert score["source"] == "human"
        assert score["reason"] == f"{kind} comment"
        assert score["author"] == "sam"


def api(server: LiveServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/v1/projects/{PROJECT}{path}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_person_scores_a_thread_from_its_page(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    add_every_kind(page, THREAD_PAGE, ".thread-scores")

    assert page.page.url.endswith(THREAD_PAGE)
    assert_stored(api(ui_server, f"/threads/{THREAD}")["scores"])


def test_a_person_scores_a_turn_of_a_thread(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    add_every_kind(page, THREAD_PAGE, "#turn-2")

    second = api(ui_server, f"/threads/{THREAD}")["traces"]["items"][1]
    assert_stored(api(ui_server, f"/traces/{second['id']}")["trace"]["scores"])


def test_a_person_scores_a_trace_from_the_trace_view(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    add_every_kind(page, TRACE_PAGE, ".trace-scores")

    assert_stored(api(ui_server, f"/traces/{RAG_TRACE}")["trace"]["scores"])


def test_a_person_scores_a_span_from_the_trace_view(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    add_every_kind(page, f"{TRACE_PAGE}?span={GENERATE}", ".span-scores")

    assert f"span={GENERATE}" in page.page.url
    assert_stored(api(ui_server, f"/traces/{RAG_TRACE}/spans/{GENERATE}")["scores"])


def test_the_form_shows_only_the_value_field_of_the_chosen_type(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(THREAD_PAGE)
    section = page.page.locator(".thread-scores")
    section.locator("details.add-score > summary").click()

    section.locator("[name=data_type]").select_option("categorical")

    expect(section.locator("[name=categorical_value]")).to_be_visible()
    expect(section.locator("[name=numeric_value]")).to_be_hidden()
    expect(section.locator("[name=boolean_value]")).to_be_hidden()


def test_a_numeric_score_without_a_number_shows_a_message_and_stores_nothing(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(THREAD_PAGE)
    page.expect_failures = True

    add_score(page.page.locator(".thread-scores"), "tone", "numeric", "", "no number")

    expect(page.page.locator(".error-message")).to_contain_text("needs a number")
    scores = api(ui_server, f"/threads/{THREAD}")["scores"]
    assert [score["name"] for score in scores] == ["resolved"]


def post(server: LiveServer, path: str, **fields: str) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", data=fields, timeout=30)


def message_of(response: httpx.Response) -> str:
    """Return the text of the error page's message."""
    found = re.search(r'<p class="error-message">(.*?)</p>', response.text, re.DOTALL)
    assert found is not None, response.text
    return html.unescape(found[1])


def test_invalid_forms_answer_400_with_a_message_and_store_nothing(ui_server: LiveServer) -> None:
    seed(ui_server)
    target = {"thread_id": THREAD, "data_type": "numeric", "numeric_value": "1"}
    cases = [
        ({**target, "name": ""}, "needs a name"),
        ({**target, "name": "tone", "numeric_value": "high"}, "not 'high'"),
        ({**target, "name": "tone", "numeric_value": "nan"}, "needs a number"),
        ({**target, "name": "tone", "data_type": "stars"}, "unknown score type 'stars'"),
        ({**target, "name": "tone", "thread_id": "no-such-thread"}, "no thread 'no-such-thread'"),
        ({"name": "tone", "data_type": "numeric", "numeric_value": "1"}, "needs a target"),
        ({"name": "tone", "trace_id": "not-hex", "numeric_value": "1"}, "trace_id"),
    ]

    for fields, message in cases:
        response = post(ui_server, SCORES, **fields)
        assert response.status_code == 400, fields
        assert response.headers["content-type"].startswith("text/html")
        assert message in message_of(response), fields
    unknown = post(ui_server, "/projects/nowhere/scores", **target, name="tone")
    assert unknown.status_code == 400
    assert message_of(unknown).startswith("no project named 'nowhere'")
    assert [score["name"] for score in api(ui_server, f"/threads/{THREAD}")["scores"]] == [
        "resolved"
    ]


def test_a_score_goes_back_only_to_a_page_of_this_server(ui_server: LiveServer) -> None:
    seed(ui_server)
    fields = {"thread_id": THREAD, "name": "tone", "numeric_value": "1"}

    for outside in ("https://example.com/projects/x", "//example.com/projects/", "/api/v1/x"):
        response = post(ui_server, SCORES, **fields, return_to=outside)
        assert response.status_code == 303
        assert response.headers["location"] == f"/projects/{PROJECT}/threads/{THREAD}"
    inside = post(ui_server, SCORES, **fields, return_to=f"{THREAD_PAGE}#turn-1")
    assert inside.headers["location"] == f"{THREAD_PAGE}#turn-1"


def test_an_htmx_request_gets_the_target_scores_back(ui_server: LiveServer) -> None:
    seed(ui_server)

    response = httpx.post(
        f"{ui_server.url}{SCORES}",
        data={"trace_id": RAG_TRACE, "name": "tone", "numeric_value": "0.5", "reason": "<b>ok</b>"},
        headers={"HX-Request": "true"},
        timeout=30,
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<ul class="score-list">')
    assert 'data-score="helpful"' in response.text
    assert 'data-score="tone"' in response.text
    assert "&lt;b&gt;ok&lt;/b&gt;" in response.text
