"""Every empty-table case renders, and each page states what is missing (docs/filters.md).

Each case is the bundled sample with one thing emptied, rendered through
``render_report`` (the workbooks that read the emptied table; no images, no
static pictures). The statements checked are the documented ones, written
out here: the findings as text, the 'no data' charts and tables by their
message (a chart's message sits in its embedded spec).
"""

from __future__ import annotations

import csv
import html
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alignment_lib.render import WORKBOOKS, render_report
from alignment_lib.workbook import STATIC_PICTURES_ENV

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
Q = "FY2026-Q3"


def _header_only(folder: Path, *tables: str) -> None:
    for table in tables:
        path = folder / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def _rewrite(folder: Path, table: str, change: Callable[[int, dict[str, str]], None]) -> None:
    path = folder / f"{table}.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for i, row in enumerate(rows):
        change(i, row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _antarctica(i: int, row: dict[str, str]) -> None:
    # a region that only some outbound deals (no lead behind them) have: the filter
    # leaves opportunities and no lead
    if i % 20 == 0 and not row["lead_id"]:
        row["region"] = "Antarctica"


def _startup(i: int, row: dict[str, str]) -> None:
    # a segment that only some unconverted leads have: no opportunity is left by the filter
    if i % 50 == 0 and not row["opportunity_id"]:
        row["segment"] = "Startup"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., dict[str, str]]]:
    base = tmp_path_factory.mktemp("empty")

    def make(name: str) -> Path:
        folder = base / name
        shutil.copytree(SAMPLE, folder)
        if name == "antarctica":
            _rewrite(folder, "opportunities", _antarctica)
        elif name in ("stage_history", "targets"):
            _header_only(folder, name)
        elif name == "startup":
            _rewrite(folder, "leads", _startup)
        return folder

    def render(name: str, workbooks: list[str], **params: str) -> dict[str, str]:
        folder = make(name) if not (base / name).exists() else base / name
        result = render_report(
            quarter=params.get("quarter", Q),
            parameters={"quarter": Q, "data_dir": str(folder), **params},
            out_dir=base / f"out-{name}-{'-'.join(params.values()) or 'all'}",
            workbooks={w: WORKBOOKS[w] for w in workbooks},
            images=False,
        )
        return {w: result.executive[w].read_text(encoding="utf-8") for w in workbooks}

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STATIC_PICTURES_ENV, "0")
        yield render


def _says(page: str, *statements: str) -> None:
    assert "An Exception was encountered" not in page
    for s in statements:
        assert html.escape(s) in page or s in page, s


def test_filter_that_leaves_no_lead(case) -> None:
    # header-only leads.csv or opportunities.csv are refused by validate (no_rows,
    # docs/bad-input.md); empty leads reach the pages through a filter
    pages = case("antarctica", ["funnel", "handoff"], region="Antarctica")
    _says(
        pages["funnel"],
        "Filtered report · Region: Antarctica",
        f"No lead entered the funnel or any of its stages in {Q}.",
        f"No leads in the cohorts up to {Q}",  # the cohort chart's placeholder
        "No leads in the quarters shown",  # the cohort table's
        f"No lead moved between stages in {Q}",
    )
    _says(
        pages["handoff"],
        "Filtered report · Region: Antarctica",
        f"No MQLs were handed to sales in {Q}.",
        "No MQLs in the quarters shown",
        "No MQL was due for a first touch in these weeks",
        f"No channel in {Q} has a first touch to time",
    )


def test_header_only_stage_history(case) -> None:
    pages = case("stage_history", ["business_cycles"])
    _says(
        pages["business_cycles"],
        "Slipped deals are unknown: they need the close-date history of a stage_history table, "
        "which this data does not have.",
    )


def test_header_only_targets(case) -> None:
    pages = case("targets", ["scorecard"])
    _says(
        pages["scorecard"],
        "No targets are set for this quarter: the targets table has no row for it.",
        "No targets set for this quarter",
    )


def test_filter_that_leaves_no_opportunities(case) -> None:
    pages = case("startup", ["pipeline_vs_closes", "funnel", "business_cycles"], segment="Startup")
    for page in pages.values():
        _says(page, "Filtered report · Segment: Startup")
    _says(
        pages["pipeline_vs_closes"],
        f"No pipeline was created in {Q}.",
        "No pipeline created and no bookings in the quarters shown",
        "No bookings in the quarters shown",
    )
    _says(
        pages["business_cycles"],
        f"No bookings closed in {Q}.",
        "No bookings in the quarters shown",
        f"No deals closed in {Q}",
    )


def test_quarter_with_no_deals(case) -> None:
    # the sample starts in FY2023-Q4: FY2023-Q2 and the 7 quarters before it hold nothing
    pages = case("sample", ["pipeline_vs_closes", "business_cycles"], quarter="FY2023-Q2")
    _says(
        pages["pipeline_vs_closes"],
        "No pipeline was created in FY2023-Q2.",
        "No pipeline created and no bookings in the quarters shown",
    )
    _says(pages["business_cycles"], "No bookings closed in FY2023-Q2.")
