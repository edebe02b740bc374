"""The whole report from hostile text (tests/hostile_data.py), in Chromium and JupyterLab.

Every free-text field of the sample carries markup, event handlers,
template expressions, ``javascript:`` links, markdown, ``$...$`` math, RTL
overrides, zero-width characters, emoji, and one 10,000-character name per
column. The render succeeds with every chart image; the executive pages, the
analyst pages and the index open in headless Chromium with no dialog, no
injected element or event handler, no request, no evaluated template and no
page wider than the window; the executed notebooks open in JupyterLab the
same way; and no page grows by more than 100 KB over the clean sample's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from _browser import Session, needs_chromium
from hostile_data import BOLD_MARKER, EVALUATED, LONG, build

from alignment_lib._text import LABEL_LIMIT
from alignment_lib.cli import main
from alignment_lib.lab import trust_notebook
from alignment_lib.render import WORKBOOKS
from tests.test_lab import (  # the JupyterLab harness (its fixtures start one server here)
    _PICTURES,
    OPEN_TIMEOUT,
    _chart_outputs,
    _LabPage,
    _write,
    in_lab,
    lab,  # noqa: F401 - fixture
    lab_browser,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.slow

QUARTER = "FY2026-Q3"
#: how much bigger than the clean sample's a page may get (docs/text-display.md)
PAGE_GROWTH = 100_000
#: the same for an executed notebook: it carries each chart three times (spec, the
#: page's snippet, a PNG picture), and the pictures grow with the denser text drawn in
#: them (60-character labels instead of "rep-007"): about +300 KB on the handoff
#: workbook. One uncut 10,000-character name in one chart's rows adds ~1 MB.
NOTEBOOK_GROWTH = 400_000
VIEWPORT = 1000  # px, tests/_browser.Session

#: anything the data might have injected: elements that load or run, handlers, links
_INJECTED = """(root) => {
  const found = [];
  for (const e of root.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    if (['img', 'iframe', 'embed', 'object', 'frame'].includes(tag)) found.push(tag);
    for (const a of e.getAttributeNames()) {
      if (a.startsWith('on')) found.push(tag + '[' + a + ']');
    }
    const href = e.getAttribute('href') || e.getAttribute('xlink:href') || '';
    if (/^\\s*javascript:/i.test(href)) found.push(tag + '[href=' + href.slice(0, 40) + ']');
    // the page's scripts are all the kit's: the chart library and one per chart
    if (tag === 'script' && !e.textContent.trimStart().startsWith('(function () {')) {
      found.push('script ' + e.textContent.slice(0, 60));
    }
    if (['b', 'strong', 'em', 'i'].includes(tag) && e.textContent.includes('@BOLD@')) {
      found.push(tag + ' from markdown');
    }
  }
  return found;
}""".replace("@BOLD@", BOLD_MARKER)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = build(tmp_path_factory.mktemp("hostile-text") / "data")
    out = tmp_path_factory.mktemp("hostile-text-report")
    # with chart images: the slides' path sees every hostile name too
    assert main(["report", "--data", str(data), "--out", str(out)]) == 0
    return out / QUARTER


def _pages(folder: Path) -> list[Path]:
    return [
        folder / "index.html",
        *(folder / f"{name}.html" for name in WORKBOOKS),
        *(folder / "analyst" / f"{name}.html" for name in WORKBOOKS),
    ]


def test_hostile_render_draws_every_page_and_every_chart_image(
    hostile_report: Path, sample_report: Path
) -> None:
    for page in _pages(hostile_report):
        assert page.is_file(), page
    clean = sorted(
        p.name.split("-")[0] + p.suffix for p in (sample_report / QUARTER).glob("charts/*")
    )
    hostile = sorted(p.name.split("-")[0] + p.suffix for p in hostile_report.glob("charts/*"))
    assert hostile == clean  # no image skipped: as many per workbook as on the clean sample


def test_pages_stay_small_with_a_10000_character_name(
    hostile_report: Path, sample_report: Path
) -> None:
    clean = sample_report / QUARTER
    for page in _pages(hostile_report):
        size, before = (
            page.stat().st_size,
            (clean / page.relative_to(hostile_report)).stat().st_size,
        )
        assert size < before + PAGE_GROWTH, (page.name, before, size)
        text = page.read_text(encoding="utf-8")
        # each name is cut at 500 characters (tooltips), never carried whole
        assert "x" * 500 not in text, page.name
    for name in WORKBOOKS:
        nb = hostile_report / "notebooks" / f"{name}.ipynb"
        before = (clean / "notebooks" / f"{name}.ipynb").stat().st_size
        assert nb.stat().st_size < before + NOTEBOOK_GROWTH, (name, before, nb.stat().st_size)
        # what the notebook shows (HTML, chart specs) is cut; its plain text keeps the
        # findings' sentences whole
        for cell in nbformat.read(nb, as_version=4).cells:
            for output in cell.get("outputs", []):
                for mime, value in output.get("data", {}).items():
                    if mime != "text/plain":
                        assert "x" * 500 not in json.dumps(value), (name, mime)
    # the data keep the whole value: the tooltips carry the first 499 characters
    assert any(
        "x" * 450 in (hostile_report / f"{name}.html").read_text(encoding="utf-8")
        for name in WORKBOOKS
    )
    assert LONG > 500


@needs_chromium
@pytest.mark.browser
def test_hostile_pages_run_nothing_load_nothing_and_stay_narrow(
    browser: object, hostile_report: Path
) -> None:
    shown = ""
    for page in _pages(hostile_report):
        s = Session(browser, page)
        try:
            charts = s.page.locator(".alignment-chart").count()
            if charts:
                s.wait_for_charts(charts)
            s.page.wait_for_timeout(300)  # late console messages
            name = page.relative_to(hostile_report)
            assert s.dialogs == [], (name, s.dialogs)
            assert s.requests == [s.url], (name, s.requests[1:])
            errors = [m for m in s.console if m[0] in ("error", "pageerror")]
            assert errors == [], (name, errors)
            assert s.page.evaluate(_INJECTED, s.page.locator("html").element_handle()) == [], name
            # every chart drawn, none replaced by "could not be drawn"
            assert s.page.locator(".alignment-chart svg g.role-mark").count() >= charts, name
            assert "could not be drawn" not in s.page.locator("body").inner_text(), name
            width = s.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= VIEWPORT, (name, width)
            text = s.page.locator("body").inner_text() + " ".join(
                s.page.locator("svg text").all_text_contents()
            )
            assert EVALUATED not in text, name
            shown += text
        finally:
            s.context.close()
    # the payloads are on the pages as plain text
    assert "{{1234*5678}}" in shown
    assert "<img src=x onerror=alert(" in shown
    # the long names are shown cut, and nowhere longer than a label
    assert re.search(r"Long-[a-z_]+-<b>x+…", shown)
    longest = max(len(run) for run in re.findall(r"x+", shown))
    assert longest < LABEL_LIMIT, longest


@in_lab
@pytest.mark.parametrize("name", list(WORKBOOKS))
def test_hostile_notebook_in_lab_runs_nothing_and_typesets_nothing(
    lab_browser: object,  # noqa: F811 - the fixtures imported above
    lab: object,  # noqa: F811
    hostile_report: Path,
    name: str,
) -> None:
    executed = nbformat.read(hostile_report / "notebooks" / f"{name}.ipynb", as_version=4)
    path = _write(lab, f"hostile-{name}.ipynb", executed)  # type: ignore[arg-type]
    # signed as render_report signs it for its user: trusted, unsanitized HTML
    assert trust_notebook(path, data_dir=lab.data_dir) is True  # type: ignore[attr-defined]
    s = _LabPage(lab_browser, lab, path.name)  # type: ignore[arg-type]
    try:
        # every chart's picture is there: the outputs are drawn
        s.wait_for(_PICTURES, _chart_outputs(executed), OPEN_TIMEOUT / 1000)
        s.page.wait_for_timeout(1500)  # MathJax
        notebook = s.page.locator(".jp-Notebook").first.element_handle()
        assert s.page.evaluate(_INJECTED, notebook) == [], name
        assert s.page.locator(".jp-Notebook .jp-OutputArea-output img").count() == 0
        math = s.page.locator(".jp-Notebook mjx-container")
        typeset = [
            math.nth(i).evaluate("e => e.parentElement.innerText.slice(0, 120)")
            for i in range(math.count())
        ]
        assert typeset == [], name
        assert EVALUATED not in s.page.locator(".jp-Notebook").first.inner_text()
        s.shot(f"hostile-{name}")
        assert s.dialogs == []
        assert s.outside == []
        assert s.errors() == [], s.errors()
    finally:
        s.context.close()
