"""The projects overview in the browser."""

from typing import Any

from tests.conftest import LiveServer
from tests.ui.conftest import WatchedPage
from tests.ui.data import PROJECT, seed


def test_an_empty_server_says_how_to_send_traces(page: WatchedPage) -> None:
    page.open("/")

    assert page.page.url.endswith("/projects")
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in page.page.inner_text("main")


def test_the_overview_shows_each_project_with_its_day_and_week(
    page: WatchedPage, ui_server: LiveServer
) -> None:
    seed(ui_server)

    response: Any = page.open("/projects")

    row = page.page.locator(f'tr[data-project="{PROJECT}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == PROJECT
    assert cells[1] == "5"  # traces in the last day
    assert cells[3] == "2"  # the failed trace and the one with hostile text
    assert cells[4].startswith("$0.")
    assert cells[5].endswith("s")  # p95 latency of the day
    assert cells[6] == "5"  # traces in the last week
    assert cells[9].startswith("$0.")
    assert cells[10].endswith("s")  # p95 latency of the week
    # Traces and cost for the day (hourly) and the week (six-hourly), empty buckets as zeros;
    # buckets align on the epoch, so a range that starts mid-hour touches one bucket more.
    points = [
        len((line.get_attribute("points") or "").split())
        for line in row.locator("svg.spark polyline").all()
    ]
    assert points in ([25, 25, 29, 29], [24, 24, 28, 28])
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.screenshot("projects")
    link = row.locator("a").first.get_attribute("href")
    assert link == f"/projects/{PROJECT}/traces"
