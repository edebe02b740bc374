"""The kit's charts in a real JupyterLab, driven by headless Chromium.

A JupyterLab server runs on a free loopback port with a known token and
its own Jupyter folders (config, data with the trust database, runtime,
settings, workspaces), so the test neither reads nor changes the user's.
Three notebooks:

- an executed report (papermill's output, untrusted): every chart shows
  its static picture, and JupyterLab's sanitizer lets nothing else through;
- the same report signed with :func:`alignment_lib.lab.trust_notebook`:
  trusted, unsanitized, the pictures still there;
- the source run live in JupyterLab: the chart library is loaded into the
  page once and the charts are interactive vega-embed SVG; the saved
  notebook keeps the static pictures but not the library.

The browser tests need jupyterlab (the ``lab`` extra: ``make lab``),
Chromium (Debian: ``apt-get install chromium``) and the playwright package,
and skip without them; ``make test`` installs the ``lab`` extra, and with
``CI`` or ``ALIGNMENT_REQUIRE_LAB`` set a missing jupyterlab is an error
instead. Screenshots are kept under
``test-artifacts/lab/``. The tests of trust and of the live session's
library output need none of them.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from _notebooks import HOSTILE, execute, report_notebook

from alignment_lib.exceptions import RenderError
from alignment_lib.export import STATIC_CLASS, VEGALITE_JSON_MIME, export_html
from alignment_lib.lab import (
    JUPYTER_SERVER_KERNEL_ENV,
    LIBRARY_OUTPUT_KEY,
    LIBRARY_OUTPUT_ROLE,
    is_trusted,
    load_chart_library,
    trust_notebook,
)
from alignment_lib.render import WORKBOOKS
from tests.conftest import REPO

HAVE_JUPYTERLAB = importlib.util.find_spec("jupyterlab") is not None
if not HAVE_JUPYTERLAB and (
    os.environ.get("ALIGNMENT_REQUIRE_LAB") or os.environ.get("CI", "").lower() == "true"
):
    # make test installs the lab extra; CI must run these tests, never skip them
    raise RuntimeError("jupyterlab is not installed, but CI (or ALIGNMENT_REQUIRE_LAB) is set")
needs_jupyterlab = pytest.mark.skipif(
    not HAVE_JUPYTERLAB,
    reason="jupyterlab is not installed (the 'lab' extra: make lab, or pip install -e '.[lab]')",
)


def in_lab(test: Callable[..., None]) -> Callable[..., None]:
    """Marks a test that drives a JupyterLab server in Chromium."""
    for mark in (needs_jupyterlab, needs_chromium, pytest.mark.slow, pytest.mark.browser):
        test = mark(test)
    return test


ARTIFACTS = REPO / "test-artifacts" / "lab"
N_CHARTS = 3  # in _notebooks.report_notebook()
START_TIMEOUT = 90.0  # s, server start
OPEN_TIMEOUT = 60_000  # ms, JupyterLab app and notebook outputs
RUN_TIMEOUT = 120.0  # s, running the notebook live
STOP_TIMEOUT = 20.0  # s, server shutdown before it is killed

_OUTPUTS = ".jp-Notebook .jp-OutputArea-output"
_PICTURES = f".jp-Notebook .{STATIC_CLASS}"
_DRAWN = ".jp-Notebook .alignment-chart svg g.role-mark"


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------


@dataclass
class LabServer:
    root: Path
    port: int
    token: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        # a workspace per notebook, reset: no tab of an earlier test reopens
        workspace = Path(notebook).stem
        return f"{self.base}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(server: LabServer) -> None:
    """Shut the kernels down through the API, then the server; kill on timeout."""
    if server.process.poll() is None:
        with contextlib.suppress(Exception):
            for kernel in server.api("/api/kernels"):  # type: ignore[union-attr]
                server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # the server and only it: kernels have their own process groups
            server.process.kill()
            server.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    home = tmp_path_factory.mktemp("jupyter-home")
    root = tmp_path_factory.mktemp("lab-root")
    env = dict(os.environ)
    folders = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for var, name in folders.items():
        (home / name).mkdir()
        env[var] = str(home / name)
    # no "official Jupyter news?" toast over the outputs, no update check
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # every cell in the DOM (no virtual scrolling), so a long workbook's charts can be counted
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), secrets.token_hex(16)
    log = home / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--notebook-dir={root}",
                "--ServerApp.terminals_enabled=False",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class="
                "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LabServer(root, port, token, home / "data", log, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                server.api("/api/status")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield server
    finally:
        _stop(server)


# ---------------------------------------------------------------------------
# the notebooks
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """The report as papermill writes it: three charts (one with hostile names)."""
    return execute(report_notebook(), tmp_path_factory.mktemp("executed"))


def _write(lab: LabServer, name: str, nb: nbformat.NotebookNode) -> Path:
    path = lab.root / name
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------------------
# without a browser: trust, and the live session's library output
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_trust_notebook_signs_in_the_data_folder_without_changing_the_file(
    tmp_path: Path, executed: nbformat.NotebookNode
) -> None:
    data = tmp_path / "fresh" / "jupyter"  # not there yet, as on a new machine
    path = tmp_path / "report.ipynb"
    nbformat.write(executed, path)
    before = path.read_bytes()

    assert not is_trusted(path, data_dir=data)
    assert trust_notebook(path, data_dir=data) is True
    assert is_trusted(path, data_dir=data)
    assert path.read_bytes() == before
    assert (data / "nbsignatures.db").is_file()
    assert (data / "notebook_secret").stat().st_mode & 0o077 == 0

    # the same content anywhere is trusted; other content, or another user's
    # key (another data folder), is not
    moved = tmp_path / "moved" / "report.ipynb"
    moved.parent.mkdir()
    moved.write_bytes(before)
    assert is_trusted(moved, data_dir=data)
    edited = nbformat.read(path, as_version=4)
    edited.cells[0].source += " (edited)"
    nbformat.write(edited, tmp_path / "edited.ipynb")
    assert not is_trusted(tmp_path / "edited.ipynb", data_dir=data)
    assert not is_trusted(path, data_dir=tmp_path / "someone-else")


def test_trust_notebook_uses_the_jupyter_data_dir_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "n.ipynb"
    nbformat.write(report_notebook(), path)

    assert trust_notebook(path) is True
    assert is_trusted(path)
    assert is_trusted(path, data_dir=tmp_path / "data")


def test_trust_notebook_errors(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        trust_notebook(tmp_path / "missing.ipynb", data_dir=tmp_path)
    (tmp_path / "not.ipynb").write_text("not a notebook")
    with pytest.raises(RenderError, match="not a notebook"):
        trust_notebook(tmp_path / "not.ipynb", data_dir=tmp_path)


def test_trust_notebook_returns_false_when_it_cannot_store_the_signature(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "n.ipynb"
    nbformat.write(report_notebook(), path)
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the data "folder" is a file: nothing can be written

    with caplog.at_level(logging.WARNING, logger="alignment_lib.lab"):
        assert trust_notebook(path, data_dir=blocked / "jupyter") is False
    assert "could not record" in caplog.text


@pytest.mark.slow
def test_live_session_loads_the_library_once_and_keeps_only_an_empty_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = report_notebook()  # one source (cell ids), run twice
    executed = execute(source, tmp_path, name="papermill")
    # A kernel that JupyterLab started has JPY_SESSION_NAME; papermill's
    # kernel inherits it from here.
    monkeypatch.setenv(JUPYTER_SERVER_KERNEL_ENV, "live.ipynb")
    nb = execute(source, tmp_path, name="live")

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    library = [o for o in outputs if o.get("metadata", {}).get(LIBRARY_OUTPUT_KEY)]
    assert len(library) == 1  # before the first chart only
    assert library[0].output_type == "display_data"
    assert library[0].data == {"text/plain": ""}
    assert library[0].metadata[LIBRARY_OUTPUT_KEY] == LIBRARY_OUTPUT_ROLE
    first_chart = next(i for i, o in enumerate(outputs) if VEGALITE_JSON_MIME in o.get("data", {}))
    assert outputs.index(library[0]) == first_chart - 1
    assert "alignmentChartLibrary" not in json.dumps(nb)  # 0.9 MB of script, not saved

    # the pages leave it out (an empty output box otherwise): the executive
    # page is the one of a papermill run
    live = export_html(nb, tmp_path / "live.html", variant="executive", title="t")
    plain = export_html(executed, tmp_path / "plain.html", variant="executive", title="t")
    assert live.read_bytes() == plain.read_bytes()
    analyst = export_html(nb, tmp_path / "analyst.html", variant="analyst", title="t")
    assert "<pre></pre>" not in analyst.read_text(encoding="utf-8")


@pytest.mark.slow
def test_no_library_output_outside_a_jupyter_server(tmp_path: Path) -> None:
    nb = execute(report_notebook(), tmp_path)  # papermill: no JPY_SESSION_NAME
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("metadata", {}).get(LIBRARY_OUTPUT_KEY)]
    assert load_chart_library() is False  # not in a kernel


# ---------------------------------------------------------------------------
# the browser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_browser(browser: object) -> Iterator[object]:
    """A second Chromium from the session's Playwright (one Playwright per
    thread): the same flags as the shared one, except that the server's
    loopback address resolves; every other host still does not."""
    args = [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        if a.startswith("--host-resolver-rules=")
        else a
        for a in CHROMIUM_ARGS
    ]
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=args)  # type: ignore[attr-defined]
    yield b
    b.close()


class _LabPage:
    """One JupyterLab tab; requests anywhere but the server are aborted and recorded."""

    def __init__(self, browser: object, lab: LabServer, notebook: str) -> None:
        self.lab = lab
        self.outside: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 1400})  # type: ignore[attr-defined]
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("dialog", self._dialog)
        self.page.goto(lab.url(notebook), timeout=OPEN_TIMEOUT)
        self.page.locator(".jp-Notebook").first.wait_for(timeout=OPEN_TIMEOUT)

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(self.lab.base + "/"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.outside.append(url)
            route.abort()  # type: ignore[attr-defined]

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def wait_for(self, selector: str, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.page.locator(selector).count() < n:
            if time.monotonic() > deadline:
                self.shot("timeout")
                pytest.fail(
                    f"{n} x {selector!r} not shown within {timeout}s; "
                    f"found {self.page.locator(selector).count()}; console: {self.console[-10:]}"
                )
            self.page.wait_for_timeout(200)

    def command(self, menu: str, command: str) -> None:
        """Run a JupyterLab command from the menu bar, as a person would."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(f'.lm-Menu-item[data-command="{command}"]').click()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror")]


def _check_pictures(lab_page: _LabPage, name: str) -> None:
    """Every chart output shows its static picture: laid out, visible, painted,
    an SVG with marks; and no other text of the chart leaks into the page."""
    page = lab_page.page
    lab_page.wait_for(_PICTURES, N_CHARTS, OPEN_TIMEOUT / 1000)
    pictures = page.locator(_PICTURES)
    assert pictures.count() == N_CHARTS
    for i in range(N_CHARTS):
        picture = pictures.nth(i)
        picture.scroll_into_view_if_needed(timeout=10_000)
        assert picture.is_visible()
        box = picture.bounding_box()
        assert box is not None
        assert box["width"] > 50, box
        assert box["height"] > 50, box
        lab_page.shot(f"{name}-chart-{i + 1}")

        image = picture.locator("div").first.evaluate("e => getComputedStyle(e).backgroundImage")
        found = re.fullmatch(r'url\("data:image/png;base64,([A-Za-z0-9+/=]+)"\)', image)
        assert found, image[:200]
        assert base64.b64decode(found.group(1)).startswith(b"\x89PNG\r\n\x1a\n")

        # painted: the element looks different without its background
        with_picture = picture.screenshot(timeout=10_000)
        picture.locator("div").first.evaluate("e => { e.dataset.bg = e.style.backgroundImage; }")
        picture.locator("div").first.evaluate("e => { e.style.backgroundImage = 'none'; }")
        without = picture.screenshot(timeout=10_000)
        picture.locator("div").first.evaluate("e => { e.style.backgroundImage = e.dataset.bg; }")
        assert with_picture != without, f"chart {i + 1} has a picture but paints nothing"

        # the chart output holds the message and the picture, nothing else
        output = picture.locator("xpath=ancestor::*[contains(@class,'jp-OutputArea-output')]")
        text = output.inner_text().strip()
        assert text.startswith("Static image of an interactive chart"), text[:300]
        assert "Leads by campaign" not in text  # an SVG title would leak as text

    assert page.locator(f"{_OUTPUTS} img").count() == 0
    assert lab_page.dialogs == []
    assert lab_page.outside == []


@in_lab
def test_untrusted_executed_notebook_shows_static_charts(
    lab_browser: object, lab: LabServer, executed: nbformat.NotebookNode
) -> None:
    path = _write(lab, "untrusted.ipynb", executed)
    assert not is_trusted(path, data_dir=lab.data_dir)

    s = _LabPage(lab_browser, lab, path.name)
    try:
        _check_pictures(s, "untrusted")
        outputs = s.page.locator(f"{_OUTPUTS}:has(.{STATIC_CLASS})")
        assert outputs.count() == N_CHARTS
        for i in range(N_CHARTS):
            # sanitized: untrusted, and the ids were renamed by the sanitizer
            assert "jp-mod-trusted" not in (outputs.nth(i).get_attribute("class") or "")
        assert s.page.locator(f"{_OUTPUTS} [data-jupyter-id^='chart-']").count() == N_CHARTS
        assert s.page.locator(f"{_OUTPUTS} [id^='chart-']").count() == 0
        assert s.page.locator(f"{_OUTPUTS} svg").count() == 0  # inline SVG would be stripped
        s.shot("untrusted")
        assert s.errors() == []
    finally:
        s.context.close()


@in_lab
def test_signed_executed_notebook_is_trusted_and_shows_static_charts(
    lab_browser: object, lab: LabServer, executed: nbformat.NotebookNode
) -> None:
    nb = nbformat.from_dict(json.loads(json.dumps(executed)))
    # other content than untrusted.ipynb: a signature is a hash of the content
    nb.metadata["alignment_test"] = "signed"
    path = _write(lab, "signed.ipynb", nb)
    before = path.read_bytes()

    assert trust_notebook(path, data_dir=lab.data_dir) is True
    assert is_trusted(path, data_dir=lab.data_dir)
    assert path.read_bytes() == before  # the signature lives in the data folder
    assert trust_notebook(path, data_dir=lab.data_dir) is True  # again: no-op

    s = _LabPage(lab_browser, lab, path.name)
    try:
        _check_pictures(s, "signed")
        outputs = s.page.locator(f"{_OUTPUTS}:has(.{STATIC_CLASS})")
        for i in range(N_CHARTS):
            assert "jp-mod-trusted" in (outputs.nth(i).get_attribute("class") or "")
        # not sanitized: the chart divs keep their ids, and their scripts ran
        # (without a chart library they keep the picture)
        assert s.page.locator(f"{_OUTPUTS} div.alignment-chart[id^='chart-']").count() == N_CHARTS
        s.shot("signed")
        assert s.errors() == []
    finally:
        s.context.close()


@in_lab
def test_live_session_draws_interactive_charts_and_saves_small(
    lab_browser: object, lab: LabServer
) -> None:
    path = _write(lab, "live.ipynb", report_notebook())  # a source: no outputs

    s = _LabPage(lab_browser, lab, path.name)
    try:
        # run only once the kernel is up: a run sent earlier may be lost
        s.page.get_by_text(re.compile(r"ipykernel\)? \| Idle")).first.wait_for(timeout=OPEN_TIMEOUT)
        s.page.locator(".jp-Notebook").first.click()
        started = time.monotonic()
        s.command("Run", "runmenu:run-all")
        s.wait_for(_DRAWN, N_CHARTS, RUN_TIMEOUT)
        print(f"live charts drawn {time.monotonic() - started:.1f}s after Run All")
        # interactive vega-embed charts replaced every static picture
        deadline = time.monotonic() + 10
        while s.page.locator(_PICTURES).count() and time.monotonic() < deadline:
            s.page.wait_for_timeout(200)
        assert s.page.locator(_PICTURES).count() == 0
        assert s.page.locator(".jp-Notebook .alignment-chart.vega-embed").count() == N_CHARTS
        assert s.page.evaluate("() => typeof window.vegaEmbed") == "function"
        text = " ".join(s.page.locator(".jp-Notebook .alignment-chart svg").all_text_contents())
        # drawn as text, not markup (its start: Vega cuts an axis label at 180 px, which
        # the whole name passes or not depending on the fonts installed)
        assert HOSTILE[:24] in text
        assert s.page.locator(f"{_OUTPUTS} img").count() == 0
        s.page.locator(".jp-Notebook .alignment-chart").first.scroll_into_view_if_needed()
        s.shot("live")
        assert s.dialogs == []
        assert s.outside == []
        assert s.errors() == []

        s.command("File", "docmanager:save")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            saved = nbformat.read(path, as_version=4)
            if any(c.get("outputs") for c in saved.cells):
                break
            s.page.wait_for_timeout(300)
    finally:
        s.context.close()

    size = path.stat().st_size
    print(f"saved live notebook: {size} bytes")
    text = path.read_text(encoding="utf-8")
    assert "window.alignmentChartLibrary" not in text  # the library's output was emptied
    assert size < 400_000, size
    charts = [
        o
        for c in saved.cells
        for o in c.get("outputs", [])
        if VEGALITE_JSON_MIME in o.get("data", {})
    ]
    assert len(charts) == N_CHARTS
    for o in charts:
        assert STATIC_CLASS in o.data["text/html"]  # reopened later: the pictures show


# ---------------------------------------------------------------------------
# the kit's own workbooks, as the report leaves them and run live
# ---------------------------------------------------------------------------


def _chart_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(
        VEGALITE_JSON_MIME in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


@in_lab
@pytest.mark.parametrize("name", list(WORKBOOKS))
def test_report_workbook_in_lab_shows_every_chart_then_runs_live(
    lab_browser: object, lab: LabServer, sample_report: Path, name: str
) -> None:
    """Each workbook the report executed opens in JupyterLab with every chart's
    picture showing (signed as trusted, as render_report does for its user), and
    the source notebook, run live, draws every chart as an interactive vega-embed
    chart with no error."""
    executed_nb = nbformat.read(
        sample_report / "FY2026-Q3" / "notebooks" / f"{name}.ipynb", as_version=4
    )
    n = _chart_outputs(executed_nb)
    assert n >= 1, name
    path = _write(lab, f"report-{name}.ipynb", executed_nb)
    assert trust_notebook(path, data_dir=lab.data_dir) is True

    s = _LabPage(lab_browser, lab, path.name)
    try:
        s.wait_for(_PICTURES, n, OPEN_TIMEOUT / 1000)
        pictures = s.page.locator(_PICTURES)
        assert pictures.count() == n
        for i in range(n):
            pictures.nth(i).scroll_into_view_if_needed(timeout=10_000)
            box = pictures.nth(i).bounding_box()
            assert box is not None and box["width"] > 50 and box["height"] > 50, (name, i, box)
        outputs = s.page.locator(f"{_OUTPUTS}:has(.{STATIC_CLASS})")
        assert all(
            "jp-mod-trusted" in (outputs.nth(i).get_attribute("class") or "") for i in range(n)
        )
        s.shot(f"report-{name}")
        # no "$3.9M ... $3.7M" in a finding or a table typeset as math
        s.page.wait_for_timeout(1000)
        math = s.page.locator(".jp-Notebook mjx-container")
        typeset = [
            math.nth(i).evaluate("e => (e.parentElement || e).innerText.slice(0, 200)")
            for i in range(math.count())
        ]
        assert typeset == [], name
        assert s.errors() == [], s.errors()
        assert s.outside == []
    finally:
        s.context.close()

    source = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    live = _write(lab, f"live-{name}.ipynb", source)
    s = _LabPage(lab_browser, lab, live.name)
    try:
        s.page.get_by_text(re.compile(r"ipykernel\)? \| Idle")).first.wait_for(timeout=OPEN_TIMEOUT)
        s.page.locator(".jp-Notebook").first.click()
        s.command("Run", "runmenu:run-all")
        s.wait_for(".jp-Notebook .alignment-chart.vega-embed", n, RUN_TIMEOUT)
        s.wait_for(_DRAWN, 1, RUN_TIMEOUT)
        # tracebacks and stderr both render with the stderr MIME type
        stderr = s.page.locator(".jp-Notebook [data-mime-type='application/vnd.jupyter.stderr']")
        assert stderr.count() == 0, stderr.all_inner_texts()[:3]
        s.shot(f"live-{name}")
        assert s.errors() == [], s.errors()
        assert s.outside == []
    finally:
        s.context.close()
