"""The cost settings page: model prices, and overrides set and removed in the browser."""

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage

COSTS = "/settings/costs"


def lookup(server: LiveServer, model: str, provider: str | None = None) -> httpx.Response:
    params = {"model": model, **({"provider": provider} if provider else {})}
    return httpx.get(f"{server.url}/api/v1/prices/lookup", params=params, timeout=30)


def fill_override(page: WatchedPage, **fields: str) -> None:
    """Fill the override form with ``fields`` and send it."""
    form = page.page.locator(".override-form form")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.get_by_role("button", name="Save override").click()


def test_the_catalogue_lists_bundled_prices_and_searches_them(page: WatchedPage) -> None:
    page.open(COSTS)

    page.page.get_by_label("Search by model or provider").fill("gpt-4o-mini")
    page.page.get_by_role("button", name="Search").click()

    expect(page.page.locator(".catalogue")).to_be_visible()
    row = page.page.locator('.catalogue tr[data-model="gpt-4o-mini"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == ["gpt-4o-mini", "openai", "$0.15", "$0.6"]
    models = page.page.locator(".catalogue tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.model)"
    )
    assert all("gpt-4o-mini" in model for model in models)
    assert "q=gpt-4o-mini" in page.page.url


def test_a_search_matches_the_provider_as_well_as_the_model(page: WatchedPage) -> None:
    page.open(f"{COSTS}?q=AnThRoPiC")

    rows = page.page.locator(".catalogue tbody tr").evaluate_all(
        "rows => rows.map(row => row.innerText.toLowerCase())"
    )
    providers = page.page.locator(".catalogue tbody td:nth-child(2)").all_inner_texts()

    assert "anthropic" in providers
    assert "claude-3-5-sonnet" in page.page.locator(".catalogue").inner_text()
    assert all("anthropic" in row for row in rows)


def test_an_override_set_in_the_browser_is_the_price_used_then_removed(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    page.open(COSTS)

    fill_override(
        page,
        model="gpt-4o-mini",
        provider="openai",
        input_per_mtok="1.5",
        output_per_mtok="6",
        cache_read_per_mtok="0.5",
    )

    expect(page.page.locator(".notice")).to_contain_text(
        "Saved the price override for gpt-4o-mini (openai)"
    )
    row = page.page.locator('.overrides tr[data-override="gpt-4o-mini"]')
    assert row.locator("td").all_inner_texts()[:5] == [
        "gpt-4o-mini",
        "openai",
        "$1.5",
        "$6",
        "$0.5",
    ]
    price: dict[str, Any] = lookup(ui_server, "gpt-4o-mini", "openai").json()
    assert price["source"] == "override"
    assert (price["input_per_mtok"], price["output_per_mtok"]) == (1.5, 6.0)
    assert price["cache_read_per_mtok"] == 0.5
    page.screenshot("costs")

    row.get_by_role("button", name="Remove").click()

    expect(page.page.locator(".notice")).to_contain_text(
        "Removed the price override for gpt-4o-mini (openai)"
    )
    expect(page.page.locator(".overrides")).to_have_count(0)
    assert lookup(ui_server, "gpt-4o-mini", "openai").json()["source"] == "genai-prices"


def test_an_override_prices_a_model_the_catalogue_does_not_know(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    assert lookup(ui_server, "acme-ft-7").status_code == 404
    page.open(COSTS)

    fill_override(page, model="acme-ft-*", input_per_mtok="2", output_per_mtok="4")

    expect(page.page.locator('.overrides tr[data-override="acme-ft-*"]')).to_contain_text("any")
    price = lookup(ui_server, "acme-ft-7").json()
    assert (price["input_per_mtok"], price["output_per_mtok"]) == (2.0, 4.0)


def test_invalid_prices_show_a_message_with_status_400_and_store_nothing(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    page.open(COSTS)
    page.expect_failures = True
    cases = [
        ({"input_per_mtok": "cheap", "output_per_mtok": "1"}, "the input price 'cheap'"),
        ({"input_per_mtok": "-1", "output_per_mtok": "1"}, "the input price: "),
        ({"input_per_mtok": "1", "output_per_mtok": "inf"}, "the output price: "),
        ({"input_per_mtok": "1", "output_per_mtok": ""}, "the output price is required"),
    ]

    for fields, message in cases:
        with page.page.expect_response(f"**{COSTS}/overrides") as answered:
            page.page.evaluate(
                "fields => { const form = document.querySelector('.override-form form');"
                " form.noValidate = true; for (const [k, v] of Object.entries(fields))"
                " form.elements[k].value = v; form.elements.model.value = 'acme-1';"
                " form.requestSubmit(); }",
                fields,
            )
        assert answered.value.status == 400
        expect(page.page.locator(".notice.error")).to_contain_text(message)
        # The form keeps what was typed, so it can be corrected.
        assert page.page.locator(".override-form [name=model]").input_value() == "acme-1"

    assert httpx.get(f"{ui_server.url}/api/v1/prices", timeout=30).json()["overrides"] == []


def test_removing_an_override_that_is_not_there_says_so(ui_server: LiveServer) -> None:
    response = httpx.post(
        f"{ui_server.url}{COSTS}/overrides/delete", data={"model": "nothing"}, timeout=30
    )

    assert response.status_code == 404
    assert "there is no override for nothing (any provider) to remove" in response.text


def test_the_override_link_of_a_model_fills_the_form_with_its_price(page: WatchedPage) -> None:
    page.open(f"{COSTS}?q=gpt-4o-mini")

    page.page.locator('.catalogue tr[data-model="gpt-4o-mini"] a.override-link').click()

    form = page.page.locator(".override-form form")
    expect(form.locator("[name=model]")).to_have_value("gpt-4o-mini")
    expect(form.locator("[name=provider]")).to_have_value("openai")
    expect(form.locator("[name=input_per_mtok]")).to_have_value("0.15")
    expect(form.locator("[name=cache_write_per_mtok]")).to_have_value("")
