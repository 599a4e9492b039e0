"""Real-browser tests: pytest-playwright driving Debian's Chromium against `live_server`.

Playwright's own browser download is not used: the browser is the system's `chromium`
(`SMSBOX_CHROMIUM` names another). Screenshots go to `var/screenshots/` (`SMSBOX_SCREENSHOTS`),
one per page and width, so that what a customer sees can be looked at after a run.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test's thread; the test itself only ever
# touches the database synchronously, between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SMSBOX_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get(
        "SMSBOX_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"
    )
)
WIDTHS = (1280, 375)


def pytest_collection_modifyitems(items):
    if shutil.which(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"no browser at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # The machine has no network beyond localhost: keep Chromium from reaching out.
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server.url, "locale": "en-US"}


_TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture
def screenshot(page):
    """`screenshot("buy")` saves the current page at every width as var/screenshots/buy-<w>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> list[Path]:
        original = page.viewport_size
        paths = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            # What redraws on a resize (a chart) does so within a frame or two: let it, so the
            # page is captured as it stands at this width.
            page.evaluate(_TWO_FRAMES)
            path = SCREENSHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        if original:
            page.set_viewport_size(original)
        return paths

    return take
