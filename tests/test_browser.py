"""The executive page in a real, offline Chromium.

Charts are drawn, nothing is fetched, no injected script runs.

Needs a Chromium binary (Debian: ``apt-get install chromium``); the
Playwright tests also need the ``playwright`` Python package, driving that
binary (no ``playwright install``). Without Chromium the tests skip.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, Session, needs_chromium
from _notebooks import HOSTILE, HOSTILE_2, execute, report_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from alignment_lib.export import VEGALITE_JSON_MIME, export_html

pytestmark = pytest.mark.browser

N_CHARTS = 3
INJECTED_TITLE = "pwned"


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The executive page of a kernel-run report with three charts, one hostile."""
    workdir = tmp_path_factory.mktemp("browser")
    executed = execute(report_notebook(), workdir)
    return export_html(executed, workdir / "executive.html", variant="executive", title="Q3")


@pytest.fixture(scope="module")
def injected_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page whose markdown carries raw script and handlers (nbconvert passes
    raw HTML through), next to one chart: only the CSP stands in the way."""
    workdir = tmp_path_factory.mktemp("injected")
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": [{"a": "x", "b": 1}]},
        "mark": "bar",
        "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b"}},
    }
    chart = new_output("display_data", data={VEGALITE_JSON_MIME: spec})
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                f"<script>document.title = {INJECTED_TITLE!r};</script>\n\n"
                f"<img src=x onerror=\"document.title = '{INJECTED_TITLE}'\">\n\n"
                f"<svg onload=\"document.title = '{INJECTED_TITLE}'\"></svg>"
            ),
            new_code_cell("chart", outputs=[chart]),
        ]
    )
    return export_html(nb, workdir / "injected.html", variant="executive", title="clean")


# ---------------------------------------------------------------------------
# Playwright
# ---------------------------------------------------------------------------


@needs_chromium
def test_charts_render_offline_without_errors_or_injection(
    browser: object, report_page: Path, tmp_path: Path
) -> None:
    s = Session(browser, report_page)
    s.wait_for_charts(N_CHARTS)
    s.page.wait_for_timeout(300)  # let late console messages arrive
    s.page.screenshot(path=str(tmp_path / "executive.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'executive.png'}")

    charts = s.page.evaluate(
        """() => Array.from(document.querySelectorAll('.alignment-chart')).map(d => ({
            id: d.id,
            svgs: d.querySelectorAll('svg').length,
            marks: d.querySelectorAll('g.role-mark path, g.role-mark rect').length,
            text: Array.from(d.querySelectorAll('svg text')).map(t => t.textContent).join('\\n'),
        }))"""
    )
    assert len(charts) == N_CHARTS
    for chart in charts:
        assert chart["svgs"] >= 1, chart
        assert chart["marks"] > 0, chart

    # the hostile campaign names are drawn as text, in two charts (their start: Vega
    # cuts an axis label at 180 px, which "</script><img src=x onerror=alert(1)>"
    # passes or not depending on the fonts installed)
    assert sum(HOSTILE[:24] in c["text"] for c in charts) == 2
    assert sum(HOSTILE_2.split("\u2028")[0].strip()[:24] in c["text"] for c in charts) == 2
    injected = s.page.evaluate(
        "() => document.querySelectorAll('img, [onerror], [onmouseover], main b').length"
    )
    assert injected == 0

    assert s.requests == [s.url], "the page fetched something besides itself"
    assert [m for m in s.console if m[0] in ("error", "pageerror")] == []
    assert s.dialogs == []
    s.context.close()


@needs_chromium
def test_csp_stops_script_in_raw_html(browser: object, injected_page: Path) -> None:
    s = Session(browser, injected_page)
    s.wait_for_charts(1)  # the page's own scripts still run
    s.page.wait_for_timeout(300)

    assert s.page.title() == "clean"
    assert s.dialogs == []
    blocked = [text for kind, text in s.console if "Content Security Policy" in text]
    assert blocked, s.console
    # the injected <img src=x> is tried as a file next to the page (and
    # refused); nothing goes to the network
    assert [u for u in s.requests if not u.startswith("file:")] == []
    s.context.close()


# ---------------------------------------------------------------------------
# without Playwright: Chromium's own --dump-dom
# ---------------------------------------------------------------------------


@needs_chromium
def test_dump_dom_shows_drawn_charts_and_escaped_values(report_page: Path) -> None:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            *CHROMIUM_ARGS,
            "--virtual-time-budget=10000",
            "--dump-dom",
            report_page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    dom = done.stdout
    body = dom.split("<main>", 1)[1]

    divs = re.findall(r'<div [^>]*class="alignment-chart[ "][^>]*>(.*?)</svg>', body, re.DOTALL)
    assert len(divs) == N_CHARTS
    for div in divs:
        assert "<svg" in div
        assert "role-mark" in div
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in body
    assert "<img" not in body
