"""Smoke test: the 'Business cycles' and 'Data health' workbooks rendered with papermill on the
bundled sample, asserting the values the pages record for FY2026-Q3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment_lib.render import ReportResult

pytestmark = pytest.mark.slow

WORKBOOKS = {"business_cycles": "Business cycles", "data_health": "Data health"}


@pytest.fixture(scope="module")
def report(sample_report: Path) -> ReportResult:
    """The session's sample render (all workbooks, in parallel), seen as a ReportResult."""
    folder = sample_report / "FY2026-Q3"
    return ReportResult(
        folder=folder,
        executive={name: folder / f"{name}.html" for name in WORKBOOKS},
        analyst={name: folder / "analyst" / f"{name}.html" for name in WORKBOOKS},
        notebooks={name: folder / "notebooks" / f"{name}.ipynb" for name in WORKBOOKS},
    )


def findings(notebook: Path) -> list[str]:
    """The text of the cells tagged nbval-check-output (findings, then the data line)."""
    cells = json.loads(notebook.read_text())["cells"]
    texts = []
    for cell in cells:
        if "nbval-check-output" in cell.get("metadata", {}).get("tags", []):
            for output in cell["outputs"]:
                texts.append("".join(output["data"]["text/plain"]))
    return texts


def test_every_cell_ran_without_errors_or_stderr(report) -> None:
    for name in WORKBOOKS:
        cells = json.loads(report.notebooks[name].read_text())["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], name
        assert not [o for o in outputs if o.get("name") == "stderr"], name


def test_business_cycles_records_the_sample_findings(report) -> None:
    answer, source = findings(report.notebooks["business_cycles"])
    assert (
        "44% of FY2026-Q3 bookings closed in the quarter's last month (back-loaded); "
        "36% in its last two weeks."
    ) in answer
    assert (
        "93 of the 326 deals expected in FY2026-Q3 at its start did not close in it ($4.3M, 29% "
        "of the expected amount): 46 were pushed past the quarter ($2.4M) and 47 are still "
        "open, the date not moved out ($1.9M); 59 (18%) were won in it and 174 lost."
    ) in answer
    assert "a median 45% of bookings closed in month 3 (7 of 8 above the healthy 40%)" in answer
    assert "Q4 books 31% above an average quarter and Q1 27% below" in answer
    assert (
        "by source Marketing-sourced 133, Partner-sourced 101, Sales-sourced 45; "
        "by segment Enterprise 98, Mid-Market 116, SMB 106"
    ) in answer
    assert "Quarters shown: FY2024-Q4 to FY2026-Q3." in source


def test_data_health_records_what_was_loaded_hidden_and_flagged(report) -> None:
    answer, _ = findings(report.notebooks["data_health"])
    assert "27,306 leads (8,957 MQLs), 3,524 opportunities (364 open, 802 won, 2,358 lost)" in (
        answer
    )
    assert "The as-of cut hid what came later: 1,732 leads, 201 opportunities" in answer
    # the five largest shares of their own population: overdue open deals (70 of 364, 19%;
    # counted once their expected close day has ended) now outrank never-touched MQLs (6%)
    assert "70 open deals (19% of open deals) are past their expected close date" in answer
    assert "never touched by sales" not in answer
    assert "45 open deals (12% of open deals) have no amount: pipeline amounts leave them out." in (
        answer
    )


def test_executive_pages_show_titles_tables_and_charts(report) -> None:
    cycles = report.executive["business_cycles"].read_text()
    health = report.executive["data_health"].read_text()
    for title in (
        "FY2026-Q3 reached half of its bookings in week 9 of 14",
        "Month 3 carried more than the healthy 40% of bookings in 7 of 8 quarters",
        "Marketing-sourced deals took longest to win in FY2026-Q3: a median 133 days",
    ):
        assert title in cycles, title
    assert 'id="business-cycles"' in cycles and 'id="sales-cycle"' in cycles
    assert cycles.count('class="alignment-chart"') == 5
    assert "Largest flag: lost to &#x27;No decision&#x27;" in health or (
        "Largest flag: lost to 'No decision'" in health
    )
    assert 'id="rows-loaded"' in health and 'id="data-health"' in health
    assert health.count('class="alignment-chart"') == 1
