"""The project dashboard in the browser: charts drawn, numbers that match storage, CSV."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage
from tests.ui.data import PROJECT, seed

DASHBOARD = f"/projects/{PROJECT}/dashboard"
CHARTS = [
    "requests",
    "errors",
    "latency",
    "tokens",
    "cost",
    "cost_by_model",
    "cost_by_span_name",
    "cost_by_tag",
    "cost_by_user",
]
TOTAL_COLUMNS = [
    "count",
    "error_count",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "unpriced_calls",
]
BAD_QUERIES = [
    ("range=1y", "unknown range '1y'"),
    ("bucket=5x", "invalid bucket '5x'"),
    ("start=yesterday", "invalid start time 'yesterday'"),
    ("start=2026-01-02&end=2026-01-01", "is not before end"),
    ("range=30d&bucket=1m", "more than 1500"),
    ("end=0001-01-01", "is not between 1970 and 9000"),
]


def window_of(page: WatchedPage) -> dict[str, str]:
    """Return the range and bucket the page shows, as aggregate API parameters."""
    shown = page.page.locator(".range-shown")
    return {
        "from": shown.get_attribute("data-start") or "",
        "to": shown.get_attribute("data-end") or "",
        "bucket": shown.get_attribute("data-bucket") or "",
    }


def stored(server: LiveServer, **params: str) -> list[dict[str, Any]]:
    """Return the aggregate rows the JSON API gives for ``params``."""
    response = httpx.get(
        f"{server.url}/api/v1/projects/{PROJECT}/aggregates", params=params, timeout=30
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_chart_is_drawn(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    page.open(DASHBOARD)

    plots = page.page.locator(".plot")
    expect(plots).to_have_count(len(CHARTS))
    expect(page.page.locator(".plot canvas")).to_have_count(len(CHARTS))
    names = page.page.locator("[data-chart-name]").evaluate_all(
        "charts => charts.map(chart => chart.dataset.chartName)"
    )
    assert names == CHARTS
    assert page.page.locator('[data-stat="traces"]').inner_text() == "5"
    assert page.page.locator('[data-stat="errors"]').inner_text() == "2"
    assert "buckets of 30m" in page.page.locator(".range-shown").inner_text()
    page.screenshot("dashboard")


def test_the_numbers_under_a_chart_match_the_stored_traces(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(DASHBOARD)
    chart = page.page.locator('[data-chart-name="requests"]')

    chart.locator("summary").click()

    rows = chart.locator(".chart-table tbody tr")
    expect(rows).to_have_count(48)
    shown = [int(row.locator("td").nth(1).inner_text()) for row in rows.all()]
    expected = [row["count"] for row in stored(ui_server, **window_of(page))]
    assert shown == expected
    assert sum(shown) == 5


def test_cost_by_model_totals_match_the_stored_llm_calls(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    page.open(DASHBOARD)

    window = window_of(page)
    by_model = stored(ui_server, **{**window, "bucket": "none"}, group_by="model", kind="llm")
    totals = page.page.locator('[data-breakdown="model"] .totals-table tbody tr')
    expect(totals).to_have_count(len(by_model))
    first = totals.first.locator("td").all_inner_texts()
    priced = next(row for row in by_model if row["group"] == "gpt-4o-mini")
    assert first[0] == "gpt-4o-mini"
    assert first[1] == str(priced["count"]) == "3"
    assert first[3] == f"{priced['input_tokens']:,} / {priced['output_tokens']:,}"
    assert first[4] == f"${priced['cost']:.6f}".rstrip("0")


def test_each_chart_downloads_as_csv_with_its_rows(
    page: WatchedPage, ui_server: LiveServer, tmp_path: Path
) -> None:
    seed(ui_server)
    page.open(DASHBOARD)
    link = page.page.locator('[data-chart-name="requests"] a.csv')

    with page.page.expect_download() as started:
        link.click()

    download = started.value
    assert download.suggested_filename.startswith(f"{PROJECT}-requests-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / "requests.csv"
    download.save_as(saved)
    rows = rows_of(saved.read_text())
    assert rows[0] == ["bucket_start", "traces"]
    assert len(rows) == 49
    assert sum(int(row[1]) for row in rows[1:]) == 5


def test_every_chart_has_a_csv(ui_server: LiveServer) -> None:
    seed(ui_server)

    for chart in [*CHARTS, "totals_by_model", "totals_by_user"]:
        response = httpx.get(
            f"{ui_server.url}{DASHBOARD}.csv", params={"chart": chart, "range": "7d"}, timeout=30
        )

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert f'filename="{PROJECT}-{chart}-' in response.headers["content-disposition"]
        rows = rows_of(response.text)
        if chart.startswith("totals_by_"):
            assert rows[0][1:] == TOTAL_COLUMNS
        else:
            assert rows[0][0] == "bucket_start"
            assert len(rows) == 57  # seven days of three-hour buckets, and the header


def test_a_group_named_like_a_formula_stays_text_in_the_csv(ui_server: LiveServer) -> None:
    seed(ui_server)
    now = datetime.now(UTC).isoformat()
    httpx.post(
        f"{ui_server.url}/api/v1/ingest",
        json={
            "traces": [{"id": "ab" * 16, "name": "x", "user_id": "=HYPERLINK(1)"}],
            "spans": [{"trace_id": "ab" * 16, "id": "ab" * 8, "name": "x", "start_time": now}],
        },
        headers={"X-Daytwo-Project": PROJECT},
        timeout=30,
    ).raise_for_status()

    response = httpx.get(
        f"{ui_server.url}{DASHBOARD}.csv", params={"chart": "totals_by_user"}, timeout=30
    )

    assert "=HYPERLINK(1)" not in [row[0] for row in rows_of(response.text)]
    assert "'=HYPERLINK(1)" in [row[0] for row in rows_of(response.text)]


def test_seven_days_are_shown_in_three_hour_buckets(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.open(DASHBOARD)

    page.page.get_by_role("link", name="Last 7d").click()

    expect(page.page.locator(".range-shown")).to_contain_text("buckets of 3h")
    assert page.page.url.endswith("range=7d")
    chart = page.page.locator('[data-chart-name="tokens"]')
    chart.locator("summary").click()
    expect(chart.locator(".chart-table tbody tr")).to_have_count(56)
    expect(page.page.locator(".plot canvas")).to_have_count(len(CHARTS))


def test_a_chosen_range_and_bucket_are_used(page: WatchedPage, ui_server: LiveServer) -> None:
    seed(ui_server)

    page.open(f"{DASHBOARD}?start=2026-01-01T00:00&end=2026-01-02T00:00&bucket=2h")

    assert "buckets of 2h" in page.page.locator(".range-shown").inner_text()
    assert page.page.locator('[data-stat="traces"]').inner_text() == "0"
    chart = page.page.locator('[data-chart-name="requests"]')
    chart.locator("summary").click()
    expect(chart.locator(".chart-table tbody tr")).to_have_count(12)
    href = chart.locator("a.csv").get_attribute("href") or ""
    assert "start=2026-01-01T00%3A00" in href
    assert "bucket=2h" in href


def test_bad_parameters_show_a_message_and_status_400(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)
    page.expect_failures = True

    for query, message in BAD_QUERIES:
        response = page.open(f"{DASHBOARD}?{query}")

        assert response.status == 400, query
        expect(page.page.locator(".notice.error")).to_contain_text(message)
        assert page.page.locator(".plot").count() == 0


def test_a_csv_of_an_unknown_chart_is_a_400_page(ui_server: LiveServer) -> None:
    seed(ui_server)

    response = httpx.get(f"{ui_server.url}{DASHBOARD}.csv", params={"chart": "pie"}, timeout=30)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "unknown chart" in response.text


def test_the_dashboard_of_an_unknown_project_is_a_404_page(page: WatchedPage) -> None:
    page.expect_failures = True

    response = page.open("/projects/nowhere/dashboard")

    assert response.status == 404
    expect(page.page.locator(".error-message")).to_have_text("no project named 'nowhere'")
