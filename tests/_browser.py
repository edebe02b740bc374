"""Headless Chromium through Playwright, shared by the browser tests.

Debian's Chromium (``apt-get install chromium``) driven by the playwright
package; no ``playwright install``: nothing is downloaded. Pages are opened
from ``file://`` with every other request aborted and recorded.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = next(
    (
        found
        for found in (
            os.environ.get("ALIGNMENT_CHROMIUM"),
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        )
        if found
    ),
    None,
)
#: the one line a missing browser gets, with the fix
MISSING_CHROMIUM = (
    "no Chromium binary: apt-get install -y chromium fonts-dejavu-core "
    "(or set ALIGNMENT_CHROMIUM to its path)"
)
# In CI a missing browser is a broken setup (.ci/run installs it), never a skip: the
# browser tests then request the browser fixture, which stops the run with one line.
_REQUIRED = CHROMIUM is None and os.environ.get("CI", "").lower() == "true"
needs_chromium = (
    pytest.mark.usefixtures("browser")
    if _REQUIRED
    else pytest.mark.skipif(CHROMIUM is None, reason=MISSING_CHROMIUM)
)


def _no_chromium() -> None:
    if _REQUIRED:
        pytest.exit(f"CI=true but {MISSING_CHROMIUM}", returncode=pytest.ExitCode.USAGE_ERROR)
    pytest.skip(MISSING_CHROMIUM)


# Flags that keep Chromium itself quiet on the network and work as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


class Session:
    """One page opened from file:// with every other request aborted and recorded."""

    def __init__(self, browser: object, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1000, "height": 1400})  # type: ignore[attr-defined]
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url)

    def _route(self, route: object) -> None:
        if route.request.url == self.url:  # type: ignore[attr-defined]
            route.continue_()  # type: ignore[attr-defined]
        else:
            route.abort()  # type: ignore[attr-defined]

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def wait_for_charts(self, n: int, timeout: float = 20.0) -> None:
        # Poll from Python: Playwright's wait_for_function evaluates a string,
        # which the page's CSP (rightly) forbids.
        deadline = time.monotonic() + timeout
        while self.page.locator(".alignment-chart svg g.role-mark").count() < n:
            if time.monotonic() > deadline:
                pytest.fail(f"charts not drawn within {timeout}s; console: {self.console}")
            self.page.wait_for_timeout(100)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        _no_chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
