"""The rendered report in a real browser: offline, error-free, and safe with hostile data.

Every page of the bundle is opened from file:// in headless Chromium with all
other requests aborted and recorded. Screenshots are kept under
``test-artifacts/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from _browser import Session, needs_chromium

from alignment_lib.cli import main
from alignment_lib.render import WORKBOOKS
from tests.conftest import REPO, SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

ARTIFACTS = REPO / "test-artifacts"
HOSTILE_CAMPAIGN = "</script><img src=x onerror=alert('campaign')>"
HOSTILE_CHANNEL = "<img src=x onerror=alert('channel')>Webinar"
HOSTILE_OWNER = "rep-007\"><script>alert('owner')</script>"
HOSTILE_SEGMENT = "SMB</title><svg onload=alert('segment')>"


def _check_page(browser: object, page: Path, shot: Path) -> Session:
    s = Session(browser, page)
    charts = s.page.locator(".alignment-chart").count()
    if charts:
        s.wait_for_charts(charts)
    s.page.wait_for_timeout(300)  # late console messages
    shot.parent.mkdir(parents=True, exist_ok=True)
    s.page.screenshot(path=str(shot), full_page=True)
    assert s.requests == [s.url], f"{page.name} requested {s.requests[1:]}"
    errors = [m for m in s.console if m[0] in ("error", "pageerror")]
    assert not errors, f"{page.name}: {errors}"
    assert not s.dialogs, f"{page.name} ran injected script: {s.dialogs}"
    # every chart container holds a drawn chart
    drawn = s.page.locator(".alignment-chart svg g.role-mark").count()
    assert drawn >= charts
    return s


def _pages(folder: Path) -> list[Path]:
    return [folder / "index.html", *(folder / f"{name}.html" for name in WORKBOOKS)]


def test_every_sample_page_renders_offline_without_errors(browser, sample_report: Path) -> None:
    for page in _pages(sample_report / "FY2026-Q3"):
        s = _check_page(browser, page, ARTIFACTS / "sample" / f"{page.stem}.png")
        s.context.close()


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample as a messy real export: hostile names, and amounts with cents."""
    data = tmp_path_factory.mktemp("hostile-data")
    for f in SAMPLE.glob("*.csv"):
        shutil.copy(f, data / f.name)
    for table in ("leads", "opportunities"):
        frame = pl.read_csv(data / f"{table}.csv", infer_schema=False)
        swaps = [
            pl.col("channel").replace({"Webinar": HOSTILE_CHANNEL}),
            pl.col("owner_id").replace({"rep-007": HOSTILE_OWNER}),
            pl.col("segment").replace({"SMB": HOSTILE_SEGMENT}),
        ]
        if "campaign" in frame.columns:
            swaps.append(
                pl.when(pl.col("campaign").is_not_null())
                .then(pl.lit(HOSTILE_CAMPAIGN))
                .alias("campaign")
            )
        frame.with_columns(swaps).write_csv(data / f"{table}.csv")
    for table in ("opportunities", "stage_history"):
        # 26400 -> 26400.xx: sums of such amounts are not exact in binary floating point
        frame = pl.read_csv(data / f"{table}.csv", infer_schema_length=None)
        cents = (pl.int_range(pl.len()) * 37 % 100) / 100
        frame.with_columns(pl.col("amount") + cents).write_csv(data / f"{table}.csv")
    return data


@pytest.fixture(scope="module")
def hostile_report(hostile_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile-reports")
    assert main(["report", "--data", str(hostile_data), "--out", str(out), "--no-images"]) == 0
    return out / "FY2026-Q3"


def test_messy_data_rerenders_identical_pages(
    hostile_data: Path, hostile_report: Path, tmp_path: Path
) -> None:
    """Amounts with cents: every page of a second render is byte-identical (a plain float
    sum of such amounts changes in its last digits between runs, and with it the charts'
    data)."""
    assert main(["report", "--data", str(hostile_data), "--out", str(tmp_path), "--no-images"]) == 0
    for name in WORKBOOKS:
        again = (tmp_path / "FY2026-Q3" / f"{name}.html").read_bytes()
        assert again == (hostile_report / f"{name}.html").read_bytes(), name


def test_hostile_names_render_as_text_and_run_nothing(browser, hostile_report: Path) -> None:
    shown = ""
    for page in _pages(hostile_report):
        s = _check_page(browser, page, ARTIFACTS / "hostile" / f"{page.stem}.png")
        # no element the data tried to inject exists in the page
        assert s.page.locator("img[src='x']").count() == 0, page.name
        assert s.page.locator("svg[onload]").count() == 0, page.name
        assert s.page.title().endswith("FY2026-Q3") or "FY2026-Q3" in s.page.title()
        shown += s.page.locator("body").inner_text()
        shown += "".join(s.page.locator(".alignment-chart svg").all_text_contents())
        s.context.close()
    # the pages that list channels and reps show the hostile names as plain text
    if any(name in WORKBOOKS for name in ("handoff", "funnel")):
        assert HOSTILE_CHANNEL in shown
