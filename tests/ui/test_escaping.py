"""Hostile trace content on the traces explorer and the trace view stays text, never markup.

The seeded trace puts script tags, event handlers, ``javascript:`` links and
attribute breakouts in every field these pages show. Any of them running would
open a dialog, which the ``page`` fixture fails on; here the pages are also
checked for the elements and attributes the markup would have created.
"""

from typing import Any
from urllib.parse import quote

from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage
from tests.ui.data import GENERATE, PROJECT, RETRIEVE, ROOT, XSS, XSS_TRACE, seed

EXPLORER = f"/projects/{PROJECT}/traces"
TRACE = f"{EXPLORER}/{XSS_TRACE}"
PAYLOAD = " ".join(XSS)


def assert_inert(page: WatchedPage) -> None:
    """Check that no markup from the data became an element, a handler or a link."""
    handlers = "[onerror], [onload], [onclick], [onmouseover], [onfocus]"
    assert page.page.locator(handlers).count() == 0
    assert page.page.locator('a[href^="javascript:"]').count() == 0
    assert page.page.locator("main img, main svg, main iframe").count() == 0
    assert page.page.locator("main script").count() == 0
    assert page.dialogs == []


def open_every_details(page: WatchedPage) -> None:
    """Unfold the collapsed JSON blocks so that their text is rendered."""
    page.page.locator("details").evaluate_all("all => all.forEach(each => { each.open = true; })")


def assert_shown_as_text(page: WatchedPage, where: str, *texts: str) -> None:
    shown = page.page.locator(where).inner_text()
    for text in texts:
        assert text in shown, f"{text!r} is not shown as text in {where}"


def test_the_explorer_shows_hostile_text_as_text(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    response: Any = page.open(EXPLORER)

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.page.get_by_role("link", name=XSS[0])).to_have_count(1)
    assert_shown_as_text(page, f'tr[data-trace="{XSS_TRACE}"]', *XSS)
    preview = page.page.locator(f'tr[data-trace="{XSS_TRACE}"] td.preview').first
    assert (preview.get_attribute("title") or "").startswith(XSS[0])
    assert_inert(page)


def test_the_explorer_filtered_by_hostile_text_shows_it_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(f"{EXPLORER}?search={quote(XSS[0])}&name_contains={quote(XSS[0])}")

    rows = page.page.locator("table.traces tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-trace") == XSS_TRACE
    assert page.page.locator('input[name="search"]').input_value() == XSS[0]
    assert_inert(page)


def test_the_trace_view_shows_hostile_text_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    response: Any = page.open(TRACE)

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.page.locator(".trace-header h1 .trace-title")).to_have_text(XSS[0])
    open_every_details(page)
    # Name, thread, user, tags, input, output, metadata and the score's every field.
    assert_shown_as_text(page, ".trace-header", *XSS, PAYLOAD)
    thread = page.page.locator("a.thread-link")
    assert thread.inner_text() == XSS[1]
    assert (thread.get_attribute("href") or "").startswith(f"/projects/{PROJECT}/threads/%3C")
    assert_shown_as_text(page, ".tree", XSS[1], XSS[2], "search")
    assert_inert(page)


def test_every_span_of_the_hostile_trace_shows_its_detail_as_text(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(TRACE)

    for span_id in (ROOT, GENERATE, RETRIEVE):
        page.page.locator(f'.tree [data-span="{span_id}"]').click()
        expect(page.page.locator("#span-detail .span-detail")).to_have_attribute(
            "data-span", span_id
        )
        open_every_details(page)
        assert_shown_as_text(page, "#span-detail", PAYLOAD)
        assert_inert(page)

    # The llm span: its name, model, messages and error.
    page.page.locator(f'.tree [data-span="{GENERATE}"]').click()
    expect(page.page.locator("#span-detail .llm-model")).to_have_text(XSS[3])
    assert_shown_as_text(page, "#span-detail .span-title", XSS[2])
    assert_shown_as_text(page, "#span-detail .input-messages", PAYLOAD)
    assert_shown_as_text(page, "#span-detail .span-error", XSS[0], PAYLOAD)


def test_the_detail_fragments_carry_the_content_security_policy(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    fragment = {"HX-Request": "true"}

    for path in (f"{TRACE}/spans/{GENERATE}", f"{TRACE}/tree?offset=0"):
        response = page.page.request.get(f"{ui_server.url}{path}", headers=fragment)
        assert response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "<script>alert" not in response.text()
