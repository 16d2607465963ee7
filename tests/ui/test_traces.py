"""The traces explorer in the browser: filters, sorting, paging and the view kept in the URL."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage, ingest
from tests.ui.data import ERROR_TRACE, PROJECT, RAG_TRACE, XSS_TRACE, error_trace, rag_turn, seed

EXPLORER = f"/projects/{PROJECT}/traces"
HAIKU_TRACE = "8af92f3577b34da6a3ce929d0e0e4730"


def _ago(minutes: float, seconds: float = 0.0) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes) + timedelta(seconds=seconds)
    return moment.isoformat()


def llm_trace(
    trace_id: str,
    minutes_ago: float,
    *,
    name: str,
    model: str,
    question: str,
    answer: str,
    tokens: tuple[int, int] = (400, 60),
    user: str = "user-3",
    tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Return a trace of one llm call of ``model``, answering ``question``."""
    span_id = trace_id[:16]
    return {
        "traces": [
            {
                "id": trace_id,
                "name": name,
                "user_id": user,
                "input": {"question": question},
                "output": answer,
                "tags": list(tags),
            }
        ],
        "spans": [
            {
                "trace_id": trace_id,
                "id": span_id,
                "name": f"{model} call",
                "kind": "llm",
                "start_time": _ago(minutes_ago),
                "end_time": _ago(minutes_ago, 1.2),
                "status": "ok",
                "llm": {
                    "provider": "anthropic" if model.startswith("claude") else "openai",
                    "model": model,
                    "input_messages": [{"role": "user", "content": question}],
                    "output_messages": [{"role": "assistant", "content": answer}],
                },
                "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
            }
        ],
    }


def seed_with_haiku(server: LiveServer) -> None:
    """Store the shop bot's day and one more trace, of another model."""
    seed(server)
    ingest(
        server,
        llm_trace(
            HAIKU_TRACE,
            5,
            name="summarize ticket",
            model="claude-3-5-haiku",
            question="Summarize ticket 881",
            answer="The customer wants a refund for a late parcel.",
        ),
        PROJECT,
    )


def shown_traces(page: WatchedPage) -> list[str]:
    """Return the ids of the traces in the table, top to bottom."""
    rows = page.page.locator("table.traces tbody tr")
    return [rows.nth(i).get_attribute("data-trace") or "" for i in range(rows.count())]


def header_link(page: WatchedPage, label: str) -> Any:
    """Return the sorting link of a column header."""
    return page.page.locator("table.traces thead").get_by_role("link", name=label)


def query_of(page: WatchedPage) -> dict[str, list[str]]:
    """Return the current URL's query parameters."""
    return parse_qs(urlsplit(page.page.url).query)


def test_each_trace_shows_its_figures_scores_and_previews(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(EXPLORER)

    row = page.page.locator(f'tr[data-trace="{RAG_TRACE}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[1].startswith("support chat")
    assert "user-7 · conversation-42" in cells[1]
    assert cells[3] == "2.40 s"
    assert cells[4] == "884"
    assert cells[5].startswith("$0.000")
    assert cells[7] == "production"
    assert row.locator(".score").inner_text() == "helpful yes"
    assert "How long do I have to return an item?" in cells[9]
    assert cells[10] == "You have 30 days to return an item."
    link = row.locator("a").first.get_attribute("href")
    assert link == f"{EXPLORER}/{RAG_TRACE}"
    error_row = page.page.locator(f'tr[data-trace="{ERROR_TRACE}"]')
    assert error_row.locator(".badge.error").inner_text() == "error"
    # The hostile trace's llm call has usage but no known price.
    assert page.page.locator(f'tr[data-trace="{XSS_TRACE}"] td').nth(5).inner_text() == "unknown"


def test_filtering_by_model_keeps_the_traces_that_called_it(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)

    page.open(f"{EXPLORER}?model=claude-3-5-haiku")

    assert shown_traces(page) == [HAIKU_TRACE]
    assert page.page.locator('input[name="model"]').input_value() == "claude-3-5-haiku"


def test_filtering_by_status_keeps_the_failed_traces(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)

    page.open(f"{EXPLORER}?status=error")

    assert sorted(shown_traces(page)) == sorted([ERROR_TRACE, XSS_TRACE])
    assert page.page.locator('select[name="status"]').input_value() == "error"


def test_free_text_finds_traces_by_their_input_or_output(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)

    page.open(f"{EXPLORER}?search=norway")

    assert shown_traces(page) == [f"{1:032x}"]


def test_a_score_filter_keeps_traces_scored_within_its_bounds(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)

    page.open(f"{EXPLORER}?score=helpful%3Dtrue")
    assert shown_traces(page) == [RAG_TRACE]

    # A score on one of the trace's spans counts for the trace.
    page.open(f"{EXPLORER}?score=faithfulness%3A0.8%3A")
    assert shown_traces(page) == [RAG_TRACE]
    page.open(f"{EXPLORER}?score=faithfulness%3A0.95%3A")
    assert shown_traces(page) == []
    expect(page.page.locator("p.empty")).to_have_text("No traces match these filters.")


def test_the_filter_form_puts_only_the_filters_in_use_in_the_url(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)
    page.open(EXPLORER)

    page.page.fill('input[name="search"]', "ship")
    page.page.fill('input[name="tag"]', "production")
    page.page.click("form.trace-filters button[type=submit]")
    page.page.wait_for_url("**/traces?*")

    assert query_of(page) == {"search": ["ship"], "tag": ["production"]}
    assert sorted(shown_traces(page)) == sorted([f"{1:032x}", f"{2:032x}"])


def test_a_reload_shows_the_same_filtered_and_sorted_view(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed_with_haiku(ui_server)
    page.open(f"{EXPLORER}?search=ship&tag=production")
    header_link(page, "Cost").click()
    page.page.wait_for_url("**sort=total_cost**")
    before = shown_traces(page)

    page.page.reload(wait_until="networkidle")

    assert query_of(page) == {
        "search": ["ship"],
        "tag": ["production"],
        "sort": ["total_cost"],
        "order": ["desc"],
    }
    assert shown_traces(page) == before
    assert page.page.locator('input[name="search"]').input_value() == "ship"
    assert page.page.locator('input[name="tag"]').first.input_value() == "production"
    sorted_header = page.page.locator("th[aria-sort]")
    assert sorted_header.inner_text().startswith("Cost")


def test_a_column_header_sorts_and_a_second_click_reverses(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(EXPLORER)
    assert page.page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"

    header_link(page, "Duration").click()
    page.page.wait_for_url("**sort=duration_ms&order=desc")
    assert shown_traces(page)[0] == ERROR_TRACE  # 5 s, the longest
    header = page.page.locator("th[aria-sort]")
    assert header.inner_text().startswith("Duration")
    assert header.get_attribute("aria-sort") == "descending"

    header_link(page, "Duration").click()
    page.page.wait_for_url("**sort=duration_ms&order=asc")
    assert shown_traces(page)[0] == XSS_TRACE  # 1 s, the shortest
    assert page.page.locator("th[aria-sort]").get_attribute("aria-sort") == "ascending"


def test_next_page_follows_the_cursor_and_first_page_starts_again(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(f"{EXPLORER}?limit=2")
    first = shown_traces(page)
    assert len(first) == 2
    assert page.page.get_by_role("link", name="First page").count() == 0

    page.page.get_by_role("link", name="Next page").click()
    page.page.wait_for_url("**cursor=*")
    second = shown_traces(page)
    assert query_of(page)["limit"] == ["2"]
    assert len(second) == 2
    assert not set(first) & set(second)

    page.page.get_by_role("link", name="Next page").click()
    expect(page.page.locator("table.traces tbody tr")).to_have_count(1)
    assert page.page.get_by_role("link", name="Next page").count() == 0
    assert len(set(first + second + shown_traces(page))) == 5

    page.page.get_by_role("link", name="First page").click()
    page.page.wait_for_url(f"**{EXPLORER}?limit=2")
    assert shown_traces(page) == first


def test_a_bad_filter_is_a_400_page_that_names_it(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.expect_failures = True

    response = page.open(
        f"{EXPLORER}?min_cost=abc&score=quality%3Ax%3A&min_latency_ms=5&max_latency_ms=1"
    )

    assert response.status == 400
    assert response.headers["content-type"].startswith("text/html")
    alert = page.page.get_by_role("alert").inner_text()
    assert "min_cost must be a number, not 'abc'" in alert
    assert "invalid bound 'x' in score filter 'quality:x:'" in alert
    assert "min_latency_ms 5.0 exceeds max_latency_ms 1.0" in alert
    assert shown_traces(page) == []
    # What was typed stays in the form, to be corrected.
    assert page.page.locator('input[name="min_cost"]').input_value() == "abc"
    assert page.page.locator("details.more-filters").get_attribute("open") is not None


def test_a_cursor_that_is_not_one_is_a_400_page(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.expect_failures = True

    response = page.open(f"{EXPLORER}?cursor=not-a-cursor")

    assert response.status == 400
    assert "invalid cursor" in page.page.get_by_role("alert").inner_text()


def test_an_unknown_project_is_a_404_page(page: WatchedPage) -> None:
    page.expect_failures = True

    response = page.open("/projects/nowhere/traces")

    assert response.status == 404
    assert "There is no project named 'nowhere'." in page.page.inner_text("main")


def test_selected_traces_are_posted_to_a_dataset(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.open(EXPLORER)

    form = page.page.locator("form.to-dataset")
    assert form.get_attribute("method") == "post"
    assert form.get_attribute("action") == f"/projects/{PROJECT}/datasets/from-traces"
    assert form.locator('input[name="dataset"]').count() == 1
    assert form.locator("button[type=submit]").inner_text() == "Add selected to dataset"
    boxes = form.locator('input[type=checkbox][name="trace_id"]')
    values = [boxes.nth(i).get_attribute("value") for i in range(boxes.count())]
    assert values == shown_traces(page)

    form.locator("input[data-check-all]").check()

    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))


def test_the_explorer_looks_right_for_the_docs(page: WatchedPage, ui_server: LiveServer) -> None:
    turns = [
        ("How long do I have to return an item?", "You have 30 days to return an item."),
        ("Do you ship to Norway?", "Yes, we ship to 40 countries, Norway included."),
        ("Where is order A-1001?", "Order A-1001 has shipped."),
    ]
    for index, (question, answer) in enumerate(turns):
        trace_id = RAG_TRACE if index == 0 else f"{index:032x}"
        ingest(ui_server, rag_turn(trace_id, 90 - index * 10, question, answer), PROJECT)
    ingest(ui_server, error_trace(), PROJECT)
    questions = [
        (
            "summarize ticket",
            "claude-3-5-haiku",
            "Summarize ticket 881",
            "A refund for a late parcel.",
        ),
        ("classify intent", "gpt-4o-mini", "I want my money back", "refund"),
        ("summarize ticket", "gpt-4o", "Summarize ticket 882", "Asks for a new invoice address."),
    ]
    for index, (name, model, question, answer) in enumerate(questions):
        trace_id = f"9af92f3577b34da6a3ce929d0e0e47{index:02x}"
        batch = llm_trace(
            trace_id,
            12 + index * 7,
            name=name,
            model=model,
            question=question,
            answer=answer,
            tokens=(300 + 150 * index, 40 + 25 * index),
            tags=("batch",),
        )
        ingest(ui_server, batch, PROJECT)
    ingest(
        ui_server,
        {
            "scores": [
                {"trace_id": RAG_TRACE, "name": "helpful", "value": True, "source": "human"},
                {"trace_id": f"{1:032x}", "name": "quality", "value": 0.82, "source": "judge"},
                {
                    "trace_id": "9af92f3577b34da6a3ce929d0e0e4701",
                    "name": "intent",
                    "value": "refund",
                    "source": "rule",
                },
            ]
        },
        PROJECT,
    )

    page.open(EXPLORER)

    assert len(shown_traces(page)) == 7
    page.screenshot("traces")
