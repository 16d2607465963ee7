"""Browser tests of the web UI: a real ``daytwo serve`` and Debian's Chromium, driven by Playwright.

Chromium comes from the system (``apt-get install -y chromium``), never from
Playwright's own download; ``.ci/run`` installs it. Without it these tests
skip locally and fail under CI, so a missing browser cannot pass unnoticed.
Every page a test opens is watched: a script error, or a dialog that an
injected script would open, fails the test.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The documentation's pictures are refreshed only on request, so that a test run leaves the
# checkout as it was: DAYTWO_UPDATE_SCREENSHOTS=1 pytest tests/ui
IMAGES = (
    Path(__file__).parents[2] / "docs" / "images"
    if os.environ.get("DAYTWO_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "daytwo-screenshots"
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Return a headless Chromium shared by one module's tests.

    Playwright's synchronous API keeps an asyncio loop marked as running in this
    thread while it is started, and ``asyncio.run`` refuses to start beside it;
    pytest ends a module's fixtures before a test of another module runs, so
    other tests on the same worker never see that loop.
    """
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class WatchedPage:
    """A page whose script errors, failed requests to this server and dialogs are recorded."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        # Set by a test that opens a missing page on purpose.
        self.expect_failures = False
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("dialog", self._dialog)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # A failed load is reported with its address by `_response`.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not self.expect_failures:
            self.errors.append(f"{response.status} from {response.url}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str) -> Any:
        """Go to ``path`` on the server and wait until its requests are done."""
        response = self.page.goto(f"{self.base_url}{path}", wait_until="networkidle")
        assert response is not None
        return response

    def screenshot(self, name: str) -> None:
        """Take a picture of the page, kept as ``docs/images/NAME.png`` when asked (``IMAGES``)."""
        IMAGES.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=False)


@pytest.fixture
def ui_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Run ``daytwo serve`` on an empty SQLite database for one test."""
    server = LiveServer(f"sqlite:///{tmp_path / 'ui.sqlite'}", tmp_path, {})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, ui_server: LiveServer) -> Iterator[WatchedPage]:
    """Return a fresh 1280 x 800 page on ``ui_server``; fail on script errors or dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = WatchedPage(context.new_page(), ui_server.url)
    yield watched
    context.close()
    assert watched.dialogs == [], f"a page opened dialogs: {watched.dialogs}"
    assert watched.errors == [], f"a page logged script errors: {watched.errors}"


def ingest(server: LiveServer, batch: dict[str, Any], project: str = "shop-bot") -> None:
    """Send ``batch`` through the native ingest API; fail unless it is committed."""
    response = httpx.post(
        f"{server.url}/api/v1/ingest",
        json=batch,
        headers={"X-Daytwo-Project": project},
        timeout=30,
    )
    assert response.status_code == 200, response.text
