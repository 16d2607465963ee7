"""The thread list and the conversation view of a thread, in the browser."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage, ingest
from tests.ui.data import PROJECT, RAG_TRACE, THREAD, XSS, seed

THREADS = f"/projects/{PROJECT}/threads"


def chat_traces(thread_id: str, turns: int, inputs: Any = None) -> dict[str, Any]:
    """Return a batch of ``turns`` one-span traces in ``thread_id``, a minute apart."""
    start = datetime.now(UTC) - timedelta(hours=2)
    traces, spans = [], []
    for turn in range(turns):
        trace_id = hashlib.md5(f"{thread_id}/{turn}".encode()).hexdigest()
        moment = start + timedelta(minutes=turn)
        traces.append(
            {
                "id": trace_id,
                "name": f"turn {turn + 1}",
                "thread_id": thread_id,
                "input": inputs if inputs is not None else {"question": f"question {turn + 1}"},
                "output": f"answer {turn + 1}",
            }
        )
        spans.append(
            {
                "trace_id": trace_id,
                "id": "00f067aa0ba90001",
                "name": "chat",
                "kind": "chain",
                "start_time": moment.isoformat(),
                "end_time": (moment + timedelta(seconds=1)).isoformat(),
            }
        )
    return {"traces": traces, "spans": spans}


def test_the_thread_list_shows_each_conversation_with_its_figures(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(THREADS)

    row = page.page.locator(f'tr[data-thread="{THREAD}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == THREAD
    assert cells[1] == "3"
    assert cells[4] == "user-7"
    assert cells[5].startswith("$0.000")
    assert cells[6] == "2,652"  # 884 tokens in each of the three turns
    assert cells[7] == "0"
    assert cells[8] == "support chat"
    hostile = page.page.locator("tbody tr").first
    assert hostile.locator("td").first.inner_text() == XSS[1]
    row.locator("a").first.click()
    expect(page.page.locator("h1")).to_have_text(THREAD)


def test_sorting_by_turns_is_kept_in_the_url(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.open(THREADS)

    page.page.get_by_role("link", name="Turns").click()

    expect(page.page.locator("th a[aria-sort]")).to_have_text("Turns ↓")
    assert "sort=trace_count" in page.page.url
    assert "order=desc" in page.page.url
    assert page.page.locator("tbody tr").first.get_attribute("data-thread") == THREAD
    page.page.get_by_role("link", name="Turns ↓").click()
    expect(page.page.locator("th a[aria-sort]")).to_have_text("Turns ↑")
    assert page.page.locator("tbody tr").last.get_attribute("data-thread") == THREAD


def test_the_next_page_link_reads_the_following_threads(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    for index in range(53):
        ingest(ui_server, chat_traces(f"thread-{index:02d}", 1), PROJECT)
    page.open(THREADS)
    first = page.page.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.thread)"
    )

    page.page.get_by_role("link", name="Next page").click()

    expect(page.page.locator("tbody tr")).to_have_count(3)
    rest = page.page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.dataset.thread)")
    assert len(first) == 50
    assert sorted(first + rest) == [f"thread-{index:02d}" for index in range(53)]
    assert "cursor=" in page.page.url
    assert page.page.get_by_role("link", name="Next page").count() == 0


def test_a_sort_that_does_not_exist_shows_a_message_and_status_400(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.expect_failures = True

    response = page.open(f"{THREADS}?sort=cost")

    assert response.status == 400
    expect(page.page.locator(".notice.error")).to_contain_text("unknown sort 'cost'")
    assert page.page.locator("tbody tr").count() == 0


def test_the_thread_page_shows_the_conversation_turn_by_turn(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(f"{THREADS}/{THREAD}")

    turns = page.page.locator("article.turn")
    expect(turns).to_have_count(3)
    first = turns.first
    assert first.locator(".role-user .content").inner_text() == (
        "How long do I have to return an item?"
    )
    assert first.locator(".role-assistant .content").inner_text() == (
        "You have 30 days to return an item."
    )
    assert "2.40 s" in first.locator(".turn-head").inner_text()
    assert "820 / 64 tokens" in first.locator(".turn-head").inner_text()
    assert first.locator(".badge.ok").count() == 1
    assert first.locator('[data-score="helpful"]').inner_text().split() == [
        "helpful",
        "yes",
        "human",
        "by",
        "dana",
    ]
    link = first.locator("a.open-trace").get_attribute("href")
    assert link == f"/projects/{PROJECT}/traces/{RAG_TRACE}"
    assert turns.nth(2).locator(".role-user .content").inner_text() == "Where is order A-1001?"
    assert page.page.locator('[data-total="turns"]').inner_text() == "3"
    assert page.page.locator('[data-total="tokens"]').inner_text() == "2,652"
    assert page.page.locator('.thread-scores [data-score="resolved"]').count() == 1
    page.screenshot("thread")


def test_an_input_that_is_not_a_single_text_is_shown_as_json(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    payload = {"question": "Is it raining?", "history": ["hello"], "temperature": 0.2}
    ingest(ui_server, chat_traces("json-thread", 1, payload), PROJECT)

    page.open(f"{THREADS}/json-thread")

    shown = page.page.locator(".role-user pre.content")
    assert '"history": [' in shown.inner_text()
    assert page.page.locator(".role-assistant div.content").inner_text() == "answer 1"


def test_a_long_thread_pages_its_turns_with_their_numbers(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    ingest(ui_server, chat_traces("long-thread", 52), PROJECT)
    page.open(f"{THREADS}/long-thread")
    expect(page.page.locator("article.turn")).to_have_count(50)

    page.page.get_by_role("link", name="Later turns").click()

    expect(page.page.locator("article.turn")).to_have_count(2)
    assert page.page.locator("article.turn strong").first.inner_text() == "Turn 51"
    assert page.page.locator(".role-user .content").last.inner_text() == "question 52"


def test_a_thread_of_hostile_text_shows_it_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(f"{THREADS}/{quote(XSS[1], safe='')}")

    assert page.page.locator("h1").inner_text() == XSS[1]
    assert page.page.locator("main img, main script, main svg").count() == 0
    assert XSS[0] in page.page.locator(".role-user .content").inner_text()


def test_an_unknown_thread_or_project_is_a_404_page(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.expect_failures = True

    thread = page.open(f"{THREADS}/no-such-thread")
    assert thread.status == 404
    expect(page.page.locator(".error-message")).to_have_text(
        f"no thread 'no-such-thread' in project {PROJECT!r}"
    )

    project = page.open("/projects/nowhere/threads")
    assert project.status == 404
    expect(page.page.locator(".error-message")).to_have_text("no project named 'nowhere'")


def test_a_user_link_lists_only_that_users_threads(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(THREADS)

    page.page.locator(f'tr[data-thread="{THREAD}"] a.user-filter').click()

    expect(page.page.locator("tbody tr")).to_have_count(1)
    assert "user=user-7" in page.page.url
    assert page.page.get_by_label("User").input_value() == "user-7"
    page.page.get_by_role("link", name="All users").click()
    expect(page.page.locator("tbody tr")).to_have_count(2)
