"""The trace view in the browser: the span tree and timeline, span details, keys, large traces."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from daytwo.server.ui.templating import NONE
from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage, ingest
from tests.ui.data import (
    ERROR_TRACE,
    GENERATE,
    PROJECT,
    RAG_TRACE,
    RETRIEVE,
    ROOT,
    STACK,
    THREAD,
    TOOL,
    seed,
)

AGENT_TRACE = "aaf92f3577b34da6a3ce929d0e0e4731"
AGENT, PLAN = "10f067aa0ba902b1", "10f067aa0ba902b2"
BIG_TRACE = "bbf92f3577b34da6a3ce929d0e0e4732"
BIG_SPANS = 30_000


def trace_url(trace_id: str, span_id: str | None = None) -> str:
    path = f"/projects/{PROJECT}/traces/{trace_id}"
    return f"{path}?span={span_id}" if span_id else path


def _ago(minutes: float, seconds: float = 0.0) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes) + timedelta(seconds=seconds)
    return moment.isoformat()


def agent_trace() -> dict[str, Any]:
    """Return an agent whose llm call asks for a tool, from a versioned prompt."""
    return {
        "traces": [{"id": AGENT_TRACE, "name": "refund agent", "user_id": "user-5"}],
        "spans": [
            {
                "trace_id": AGENT_TRACE,
                "id": AGENT,
                "name": "refund agent",
                "kind": "agent",
                "start_time": _ago(15),
                "end_time": _ago(15, 3.0),
            },
            {
                "trace_id": AGENT_TRACE,
                "id": PLAN,
                "parent_id": AGENT,
                "name": "plan",
                "kind": "llm",
                "start_time": _ago(15, 0.2),
                "end_time": _ago(15, 1.4),
                "llm": {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "invocation_parameters": {"temperature": 0, "max_tokens": 256},
                    "input_messages": [
                        {"role": "system", "content": "You issue refunds."},
                        {"role": "user", "content": [{"type": "text", "text": "Refund A-7"}]},
                    ],
                    "output_messages": [
                        {
                            "role": "assistant",
                            "tool_calls": [
                                {
                                    "id": "call_1",
                                    "name": "issue_refund",
                                    "arguments": '{"order_id": "A-7", "amount": 12.5}',
                                }
                            ],
                        }
                    ],
                    "prompt": {"name": "refund-planner", "version": "3", "label": "production"},
                    "prompt_template": "You issue refunds for {{shop}}.",
                    "prompt_variables": {"shop": "Fjord Outfitters"},
                    "time_to_first_token_ms": 420,
                },
                "usage": {
                    "input_tokens": 1200,
                    "output_tokens": 90,
                    "cache_read_tokens": 1024,
                    "reasoning_tokens": 40,
                },
                "metadata": {"region": "eu-north-1"},
                "attributes": {"gen_ai.request.model": "gpt-4o"},
            },
        ],
    }


def big_trace_batches() -> list[dict[str, Any]]:
    """Return a trace of `BIG_SPANS` spans, each span the parent of three, in batches of 2,000."""
    start = datetime.now(UTC) - timedelta(minutes=30)

    def span(index: int) -> dict[str, Any]:
        at = start + timedelta(milliseconds=index)
        return {
            "trace_id": BIG_TRACE,
            "id": f"{index + 1:016x}",
            "parent_id": None if index == 0 else f"{(index - 1) // 3 + 1:016x}",
            "name": f"step {index}",
            "kind": "tool" if index % 5 == 4 else "chain",
            "start_time": at.isoformat(),
            "end_time": (at + timedelta(milliseconds=40)).isoformat(),
            "input": {"step": index},
        }

    batches: list[dict[str, Any]] = [{"traces": [{"id": BIG_TRACE, "name": "nightly batch"}]}]
    for first in range(0, BIG_SPANS, 2_000):
        batches.append({"spans": [span(index) for index in range(first, first + 2_000)]})
    return batches


def rows(page: WatchedPage) -> Any:
    return page.page.locator(".tree [data-nav-row]")


def detail(page: WatchedPage) -> Any:
    return page.page.locator("#span-detail .span-detail")


def test_a_trace_shows_its_header_tree_and_timeline(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    response = page.open(trace_url(RAG_TRACE))

    assert "script-src 'self'" in response.headers["content-security-policy"]
    header = page.page.locator(".trace-header")
    expect(header.locator("h1 .trace-title")).to_have_text("support chat")
    facts = header.locator(".trace-facts").inner_text()
    for shown in ("2.40 s", "884", "$0.000", "user-7", THREAD, "production"):
        assert shown in facts
    link = header.locator("a.thread-link").get_attribute("href")
    assert link == f"/projects/{PROJECT}/threads/{THREAD}"
    assert header.locator(".score-list").inner_text().startswith("helpful")
    assert "How long do I have to return an item?" in header.locator(".trace-input").inner_text()
    assert header.locator(".trace-output").inner_text() == "You have 30 days to return an item."
    assert page.page.locator(".span-total").inner_text() == "4 spans"
    assert [rows(page).nth(i).get_attribute("data-span") for i in range(4)] == [
        ROOT,
        RETRIEVE,
        GENERATE,
        TOOL,
    ]
    assert rows(page).nth(0).get_attribute("aria-level") == "1"
    assert rows(page).nth(2).get_attribute("aria-level") == "2"
    # The llm call runs from 0.5 s to 2.0 s of a 2.4 s trace.
    style = rows(page).nth(2).locator(".bar").get_attribute("style") or ""
    left, width = (float(n) for n in re.findall(r"([\d.]+)%", style))
    assert abs(left - 0.5 / 2.4 * 100) < 0.1
    assert abs(width - 1.5 / 2.4 * 100) < 0.1
    expect(page.page.locator("#span-detail")).to_contain_text("Select a span")


def test_clicking_a_span_loads_its_detail_and_puts_it_in_the_url(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(trace_url(RAG_TRACE))

    rows(page).nth(1).click()

    expect(detail(page)).to_have_attribute("data-span", RETRIEVE)
    page.page.wait_for_url(f"**{trace_url(RAG_TRACE, RETRIEVE)}")
    assert rows(page).nth(1).get_attribute("aria-selected") == "true"
    assert rows(page).nth(0).get_attribute("aria-selected") == "false"


def test_a_url_with_a_span_opens_with_it_selected(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    page.open(trace_url(RAG_TRACE, TOOL))

    assert detail(page).get_attribute("data-span") == TOOL
    assert page.page.locator(f'[data-span="{TOOL}"][aria-selected="true"]').count() == 1


def test_the_arrow_keys_move_the_selection_and_load_the_detail(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(trace_url(RAG_TRACE))
    page.page.locator(".tree").focus()

    page.page.keyboard.press("ArrowDown")
    expect(detail(page)).to_have_attribute("data-span", ROOT)
    page.page.keyboard.press("ArrowDown")
    page.page.keyboard.press("ArrowDown")
    expect(detail(page)).to_have_attribute("data-span", GENERATE)
    page.page.keyboard.press("ArrowUp")

    expect(detail(page)).to_have_attribute("data-span", RETRIEVE)
    page.page.wait_for_url(f"**{trace_url(RAG_TRACE, RETRIEVE)}")
    assert page.page.locator('.tree [aria-selected="true"]').get_attribute("data-span") == RETRIEVE


def test_an_llm_span_shows_its_messages_tool_calls_usage_and_prompt(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    ingest(ui_server, agent_trace(), PROJECT)

    page.open(trace_url(AGENT_TRACE, PLAN))

    pane = detail(page)
    expect(pane.locator(".llm-model")).to_have_text("gpt-4o")
    assert "openai" in pane.locator(".llm-facts").inner_text()
    assert "420 ms" in pane.locator(".llm-facts").inner_text()
    assert "refund-planner version 3" in pane.locator(".prompt-ref").inner_text()
    messages = pane.locator(".input-messages .message")
    assert messages.nth(0).get_attribute("class") == "message role-system"
    assert messages.nth(1).locator(".content").inner_text() == "Refund A-7"
    call = pane.locator(".output-messages .tool-call")
    assert "issue_refund" in call.locator(".tool-call-name").inner_text()
    assert '"amount": 12.5' in call.locator(".tool-call-arguments").inner_text()
    usage = pane.locator("table.usage td").all_inner_texts()
    assert usage == ["1,200", "1,024", NONE, "90", "40", "1,290"]
    cost = pane.locator("table.span-cost td").all_inner_texts()
    assert cost[2].startswith("$0.00")
    assert cost[3] == "computed"
    assert '"temperature": 0' in pane.locator(".parameters pre").inner_text()
    pane.locator(".prompt-variables summary").click()
    assert "Fjord Outfitters" in pane.locator(".prompt-variables pre").inner_text()
    pane.locator(".span-attributes summary").click()
    assert "gen_ai.request.model" in pane.locator(".span-attributes pre").inner_text()
    assert "eu-north-1" in pane.locator(".span-metadata pre").text_content()


def test_a_retrieval_span_shows_its_query_and_documents(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(trace_url(RAG_TRACE, RETRIEVE))

    pane = detail(page)
    assert pane.locator(".retrieval-query").inner_text() == "How long do I have to return an item?"
    documents = pane.locator(".document")
    assert documents.count() == 2
    first = documents.nth(0)
    assert first.locator(".document-id").inner_text() == "returns.md"
    assert first.locator(".score").inner_text() == "score 0.91"
    assert first.locator(".content").inner_text() == "Items can be returned within 30 days."


def test_a_tool_span_shows_its_arguments_and_result(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(trace_url(RAG_TRACE, TOOL))

    pane = detail(page)
    assert '"order_id": "A-1001"' in pane.locator(".tool-arguments").inner_text()
    assert '"status": "shipped"' in pane.locator(".tool-result").inner_text()


def test_a_failed_span_shows_its_error_type_message_and_stack(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(trace_url(ERROR_TRACE))

    rows(page).first.click()

    error = detail(page).locator(".span-error")
    expect(error.locator(".error-type")).to_have_text("RateLimitError")
    assert error.locator(".error-text").inner_text() == "rate limit exceeded"
    assert error.locator("pre.stack").inner_text() == STACK
    assert rows(page).first.locator(".badge.error").count() == 1


def test_the_score_forms_return_to_the_trace_and_the_span(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(trace_url(RAG_TRACE, GENERATE))

    trace_form = page.page.locator(".trace-header form.score-form")
    assert trace_form.locator('input[name="span_id"]').count() == 0
    assert trace_form.locator('input[name="trace_id"]').get_attribute("value") == RAG_TRACE
    span_form = detail(page).locator("form.score-form")
    assert span_form.locator('input[name="span_id"]').get_attribute("value") == GENERATE
    returns = span_form.locator('input[name="return_to"]').get_attribute("value")
    assert returns == trace_url(RAG_TRACE, GENERATE)
    assert detail(page).locator(".score-list").inner_text().startswith("faithfulness")


def test_an_unknown_trace_or_span_is_a_404_page(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.expect_failures = True

    assert page.open(trace_url("f" * 32)).status == 404
    assert "There is no trace" in page.page.inner_text("main")
    assert page.open(trace_url("not-a-trace")).status == 404
    assert page.open(trace_url(RAG_TRACE, "00000000000000ff")).status == 404
    assert "There is no span" in page.page.inner_text("main")


def test_a_trace_of_30000_spans_opens_one_window_at_a_time(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    for batch in big_trace_batches():
        ingest(ui_server, batch, PROJECT)

    page.open(trace_url(BIG_TRACE))

    assert page.page.locator(".span-total").inner_text() == "30,000 spans"
    first_window = rows(page).count()
    assert 200 <= first_window <= 500
    sentinel = page.page.locator(".tree-more")
    assert sentinel.get_attribute("hx-trigger") == "revealed"

    # With the whole tree pane in view, scroll inside it to the end of the window.
    page.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.page.locator(".tree").evaluate("tree => { tree.scrollTop = tree.scrollHeight; }")

    rows(page).nth(first_window).wait_for()
    loaded = rows(page).count()
    assert loaded <= 2 * first_window < BIG_SPANS
    deepest = page.page.locator('.tree [aria-level="10"]').last
    span_id = deepest.get_attribute("data-span")
    deepest.click()
    expect(detail(page)).to_have_attribute("data-span", span_id or "")
    assert '"step"' in detail(page).locator(".span-input").inner_text()


def test_the_trace_view_looks_right_for_the_docs(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    page.open(trace_url(RAG_TRACE, GENERATE))

    expect(detail(page).locator(".output-messages .message")).to_have_count(1)
    page.screenshot("trace")
