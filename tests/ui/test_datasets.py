"""The datasets pages in the browser: items at any version, import, export and items from traces."""

import json
import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage
from tests.ui.data import ERROR_TRACE, PROJECT, RAG_TRACE, XSS, seed

DATASET = "refunds"
API = f"/api/v1/projects/{PROJECT}/datasets"
PAGE = f"/projects/{PROJECT}/datasets"

ITEMS = [
    {
        "id": "window",
        "input": {"question": "How long do I have to return an item?"},
        "expected": "You have 30 days.",
        "metadata": {"topic": "returns"},
    },
    {
        "id": "gift-card",
        "input": {"question": "Can I return a gift card?"},
        "expected": "Gift cards cannot be returned.",
        "context": [
            "Gift cards are final sale and cannot be returned or exchanged.",
            "Items can be returned within 30 days of delivery.",
        ],
    },
    {"id": "norway", "input": {"question": "Do you ship to Norway?"}, "expected": "Yes."},
]


def api(server: LiveServer, method: str, path: str, **options: Any) -> Any:
    """Call the JSON API of ``server`` and return the decoded answer; fail on an error."""
    response = httpx.request(method, f"{server.url}{path}", timeout=30, **options)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def make_dataset(server: LiveServer, items: list[dict[str, Any]], name: str = DATASET) -> None:
    """Create ``name`` in the shop bot's project with ``items`` as its version 2."""
    api(server, "POST", API, json={"name": name, "description": "Questions about returns"})
    api(server, "POST", f"{API}/{name}/items", json={"items": items})


def three_versions(server: LiveServer) -> None:
    """Make a dataset of three items (v2), then replace one and add one (v3)."""
    make_dataset(server, ITEMS)
    changed = {**ITEMS[2], "expected": "Yes, Norway included."}
    extra = {"id": "parcel", "input": {"question": "Where is my parcel?"}}
    api(server, "POST", f"{API}/{DATASET}/items", json={"items": [changed, extra]})


def item_ids(page: WatchedPage) -> list[str]:
    return page.page.locator("table.dataset-items tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.item)"
    )


def test_the_list_shows_each_dataset_with_its_items_and_version(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    three_versions(ui_server)
    make_dataset(ui_server, ITEMS[:1], name="tone-gold")

    page.open(PAGE)

    row = page.page.locator(f'tr[data-dataset="{DATASET}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == [DATASET, "Questions about returns", "4", "3"]
    assert page.page.locator("tr[data-dataset]").count() == 2
    link = row.locator("a").first.get_attribute("href")
    assert link == f"{PAGE}/{DATASET}"


def test_a_dataset_shows_its_newest_items_and_switches_to_a_past_version(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    three_versions(ui_server)

    page.open(f"{PAGE}/{DATASET}")

    assert sorted(item_ids(page)) == ["gift-card", "norway", "parcel", "window"]
    norway = page.page.locator('tr[data-item="norway"]')
    assert "Yes, Norway included." in norway.inner_text()
    assert page.page.locator("table.versions tbody tr").count() == 3
    page.page.select_option("select[name=version]", "2")
    page.page.get_by_role("button", name="Show").click()
    expect(page.page).to_have_url(re.compile(r"\?version=2$"))
    assert sorted(item_ids(page)) == ["gift-card", "norway", "window"]
    assert page.page.locator('tr[data-item="norway"]').inner_text().count("Yes.") == 1
    assert "You are looking at version 2" in page.page.inner_text("main")
    # A past version cannot be changed, so it offers no remove buttons.
    assert page.page.get_by_role("button", name="Remove item window").count() == 0


def test_json_cells_open_to_show_the_whole_value(page: WatchedPage, ui_server: LiveServer) -> None:
    long_input = {"question": "Can I return it? " * 10, "order": {"id": "A-1001", "items": 3}}
    make_dataset(ui_server, [{"id": "long", "input": long_input, "context": ITEMS[1]["context"]}])

    page.open(f"{PAGE}/{DATASET}")

    cell = page.page.locator('tr[data-item="long"] td.json-cell').first
    pretty = cell.locator("pre")
    expect(pretty).to_be_hidden()
    cell.locator("summary").click()
    expect(pretty).to_be_visible()
    assert json.loads(pretty.inner_text()) == long_input


def test_hostile_markup_in_items_is_shown_as_text(page: WatchedPage, ui_server: LiveServer) -> None:
    payload = " ".join(XSS)
    hostile = {
        "id": "hostile",
        "input": payload,
        "expected": {"answer": payload},
        "context": [XSS[1]],
        "metadata": {XSS[0]: XSS[3]},
    }
    api(ui_server, "POST", API, json={"name": XSS[3][:40].replace("/", ""), "description": XSS[1]})
    make_dataset(ui_server, [hostile, {"id": XSS[3][:60], "input": XSS[0]}])

    page.open(PAGE)
    page.open(f"{PAGE}/{DATASET}")
    page.page.locator("details.json summary").first.click()

    text = page.page.inner_text("main")
    assert XSS[0] in text
    assert XSS[1] in text
    for dangerous in ("[onerror]", "[onload]", "script:not([src])", "svg", 'a[href^="javascript"]'):
        assert page.page.locator(dangerous).count() == 0, dangerous


def test_an_imported_file_adds_a_version_and_a_bad_one_is_refused(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    make_dataset(ui_server, ITEMS[:1])
    rows = "id,input,expected,metadata\nq1,Where is my parcel?,On its way,\n"
    rows += 'q2,"{""question"": ""Is it free?""}",Yes,"{""topic"": ""shipping""}"\n'
    page.open(f"{PAGE}/{DATASET}")

    page.page.set_input_files(
        "input[name=file]",
        files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": rows.encode()}],
    )
    page.page.get_by_role("button", name="Import", exact=True).click()

    expect(page.page.locator(".notice[role=status]")).to_have_text("Added 2 items from the file.")
    assert sorted(item_ids(page)) == ["q1", "q2", "window"]
    assert "shipping" in page.page.locator('tr[data-item="q2"]').inner_text()

    page.expect_failures = True
    broken = b'{"input": "fine"}\n{"input": "unclosed"\n'
    page.page.set_input_files(
        "input[name=file]",
        files=[{"name": "broken.jsonl", "mimeType": "application/jsonl", "buffer": broken}],
    )
    with page.page.expect_response(lambda r: r.url.endswith("/import")) as answer:
        page.page.get_by_role("button", name="Import", exact=True).click()

    assert answer.value.status == 400
    error = page.page.locator(".notice.error")
    expect(error).to_contain_text(
        "nothing was imported from broken.jsonl: line 2 is not valid JSON"
    )
    assert sorted(item_ids(page)) == ["q1", "q2", "window"]  # all or nothing


def test_removing_an_item_makes_a_new_version(page: WatchedPage, ui_server: LiveServer) -> None:
    make_dataset(ui_server, ITEMS)
    page.open(f"{PAGE}/{DATASET}")

    page.page.get_by_role("button", name="Remove item gift-card").click()

    expect(page.page.locator(".notice[role=status]")).to_have_text("Removed 1 item.")
    assert sorted(item_ids(page)) == ["norway", "window"]
    assert page.page.locator("table.versions tbody tr").first.inner_text().startswith("3")
    page.open(f"{PAGE}/{DATASET}?version=2")
    assert "gift-card" in item_ids(page)


def test_export_links_download_the_version_shown(page: WatchedPage, ui_server: LiveServer) -> None:
    three_versions(ui_server)
    page.open(f"{PAGE}/{DATASET}?version=2")

    jsonl = page.page.get_by_role("link", name="JSON Lines").get_attribute("href")
    csv = page.page.get_by_role("link", name="CSV").get_attribute("href")

    assert jsonl == f"{API}/{DATASET}/export?format=jsonl&version=2"
    assert csv == f"{API}/{DATASET}/export?format=csv&version=2"
    lines = page.page.request.get(f"{ui_server.url}{jsonl}").text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["gift-card", "norway", "window"]


def test_traces_picked_in_the_explorer_become_items_of_a_new_dataset(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(PAGE)

    with page.page.expect_navigation():
        post_form(page, f"{PAGE}/from-traces", dataset="from production", trace_id=[RAG_TRACE])

    expect(page.page).to_have_url(re.compile(r"/datasets/from%20production\?added=1&via=traces$"))
    expect(page.page.locator(".notice[role=status]")).to_have_text("Added 1 item from traces.")
    row = page.page.locator("table.dataset-items tbody tr")
    assert "How long do I have to return an item?" in row.inner_text()
    assert "You have 30 days to return an item." in row.inner_text()
    trace_link = row.get_by_role("link", name="trace").get_attribute("href")
    assert trace_link == f"/projects/{PROJECT}/traces/{RAG_TRACE}"

    with page.page.expect_navigation():
        post_form(page, f"{PAGE}/from-traces", dataset="from production", trace_id=[ERROR_TRACE])
    expect(page.page.locator("table.dataset-items tbody tr")).to_have_count(2)
    assert page.page.locator("table.versions tbody tr").count() == 3


def test_the_explorers_form_adds_the_ticked_traces(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(f"/projects/{PROJECT}/traces")

    form = page.page.locator("form.to-dataset")
    form.locator(f'tr[data-trace="{RAG_TRACE}"] input[name=trace_id]').check()
    form.locator(f'tr[data-trace="{ERROR_TRACE}"] input[name=trace_id]').check()
    form.locator("input[name=dataset]").fill("regressions")
    form.get_by_role("button", name="Add selected to dataset").click()

    expect(page.page.locator(".notice[role=status]")).to_have_text("Added 2 items from traces.")
    sources = page.page.locator("table.dataset-items a", has_text="trace").evaluate_all(
        "links => links.map(link => link.getAttribute('href').split('/').pop())"
    )
    assert sorted(sources) == sorted([RAG_TRACE, ERROR_TRACE])


def test_traces_that_do_not_exist_add_nothing(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.open(PAGE)
    page.expect_failures = True

    with page.page.expect_navigation():
        post_form(page, f"{PAGE}/from-traces", dataset="picked", trace_id=[RAG_TRACE, "f" * 32])
    assert (
        "has no trace 'ffffffffffffffffffffffffffffffff'; nothing was added"
        in page.page.inner_text("main")
    )
    with page.page.expect_navigation():
        post_form(page, f"{PAGE}/from-traces", dataset="picked", trace_id=[])
    assert "pick at least one trace" in page.page.inner_text("main")

    assert api(ui_server, "GET", API) == []


def test_a_dataset_is_created_from_the_list(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)
    page.open(PAGE)
    assert "No datasets yet" in page.page.inner_text("main")

    page.page.fill("input[name=name]", "tone gold")
    page.page.get_by_role("button", name="Create").click()

    expect(page.page).to_have_url(re.compile(r"/datasets/tone%20gold$"))
    assert "Version 1 holds no items" in page.page.inner_text("main")


def test_unknown_projects_datasets_and_versions_are_error_pages(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    make_dataset(ui_server, ITEMS)
    page.expect_failures = True

    cases = [
        ("/projects/nobody/datasets", 404, "no project named 'nobody'"),
        (f"{PAGE}/missing", 404, "has no dataset named 'missing'"),
        (f"{PAGE}/{DATASET}?version=7", 404, "has no version 7; the newest is 2"),
        (f"{PAGE}/{DATASET}?version=latest", 400, "version must be a whole number"),
    ]
    for path, status, message in cases:
        response = page.open(path)
        assert response.status == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert message in page.page.inner_text("main"), path


def test_the_dataset_page_reads_well(page: WatchedPage, ui_server: LiveServer) -> None:
    three_versions(ui_server)
    page.open(f"{PAGE}/{DATASET}")
    page.page.locator('tr[data-item="gift-card"] td.json-cell summary').first.click()

    page.screenshot("dataset")

    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1280


def post_form(page: WatchedPage, action: str, **fields: str | list[str]) -> None:
    """Submit a form with ``fields`` from the open page, as the traces explorer's form does."""
    pairs = [
        [name, value]
        for name, values in fields.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    page.page.evaluate(
        """([action, pairs]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of pairs) {
                const input = document.createElement("input");
                input.type = "hidden";
                input.name = name;
                input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""",
        [action, pairs],
    )
