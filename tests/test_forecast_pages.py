"""The forecast, pacing and pipeline to create as the rendered pages state them (issue 10).

Two renders of the sample: the session's report (FY2026-Q3 at its end, every workbook)
and FY2026-Q3 as of 2026-08-15 (scorecard and pipeline page, ``--no-benchmarks``). What
they must say:

- as of 2026-08-15 the bookings status is "at risk" (80% of the usual pace of the two
  earlier Q3s), not "behind" as linear pacing said (77%); the quarter ended at 104%;
- the forecast's sentence on the scorecard, on the pipeline page and on the index is one
  sentence, the same everywhere; mid-quarter the current quarter is forecast too;
- at the quarter's end the pipeline to create in FY2026-Q4 is the $16.9M the slices with
  known targets add up to (issue 10), and a closed quarter is hit or missed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from alignment_lib.cli import main
from alignment_lib.index_page import findings_of

pytestmark = pytest.mark.slow

QUARTER = "FY2026-Q3"


def _cell_text(notebook: Path, marker: str) -> list[str]:
    """The lines printed by the first code cell whose source holds ``marker``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and marker in cell.source:
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("text/plain")
                if text:
                    text = "".join(text) if isinstance(text, list) else text
                    return [line for line in text.split("\n") if line.strip()]
    raise AssertionError(f"no output for {marker!r} in {notebook.name}")


@pytest.fixture(scope="module")
def mid_august(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> Path:
    out = tmp_path_factory.mktemp("mid-august")
    argv = ["report", "--quarter", QUARTER, "--as-of", "2026-08-15", "--no-images"]
    argv += ["--no-benchmarks", "--out", str(out)]
    assert main([*argv, "--workbook", "scorecard", "--workbook", "pipeline_vs_closes"]) == 0
    return out / QUARTER


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALIGNMENT_STATIC_PICTURES", "0")
        yield patch


def test_mid_august_bookings_are_at_risk_not_behind(mid_august: Path) -> None:
    index = (mid_august / "index.html").read_text(encoding="utf-8")
    row = index.split("<td>Bookings</td>", 1)[1].split("</tr>", 1)[0]
    assert ">at risk</span>" in row and "behind" not in row
    lines = _cell_text(mid_august / "notebooks" / "scorecard.ipynb", "scorecard_summary")
    bookings = next(line for line in lines if line.startswith("Bookings:"))
    assert bookings.startswith("Bookings: $1.4M against $3.7M (39%), at risk: 80% of where the")
    assert "same quarter of 2 earlier years" in bookings and "it ends at $3.0M" in bookings


def test_mid_august_forecast_sentence_is_the_same_on_every_page(mid_august: Path) -> None:
    notebooks = mid_august / "notebooks"
    pipeline = findings_of(notebooks / "pipeline_vs_closes.ipynb")
    forecast = [line for line in pipeline if "bookings are forecast at" in line]
    assert forecast == [
        "FY2026-Q3 bookings are forecast at $3.6M (80% range $3.1M to $4.1M), 96% of the "
        "$3.7M target."
    ]
    record = next(line for line in pipeline if "the 80% range held in" in line)
    assert record.startswith("Forecast 50% of the way through a quarter, the 80% range held in")
    scorecard = _cell_text(notebooks / "scorecard.ipynb", "scorecard_summary")
    assert forecast[0] in scorecard and record in scorecard
    index = (mid_august / "index.html").read_text(encoding="utf-8")
    assert forecast[0] in index
    # the current quarter and the three after it, each with its record
    summary = _cell_text(notebooks / "pipeline_vs_closes.ipynb", "forecast_summary")
    assert [line.split(" bookings")[0] for line in summary] == [
        "FY2026-Q3",
        "FY2026-Q4",
        "FY2027-Q1",
        "FY2027-Q2",
    ]
    assert "the pace so far ($3.0M, 10%)" in summary[0]
    # --no-benchmarks: no published ranges on the scorecard
    page = (mid_august / "scorecard.html").read_text(encoding="utf-8")
    assert "How the numbers compare with typical B2B ranges" not in page


def test_quarter_end_pages(sample_report: Path) -> None:
    folder = sample_report / QUARTER
    index = (folder / "index.html").read_text(encoding="utf-8")
    row = index.split("<td>Bookings</td>", 1)[1].split("</tr>", 1)[0]
    assert ">hit</span>" in row
    assert "at risk" not in index.split("<h2>The pages</h2>")[0]  # FY2026-Q3 is over
    first = (
        "FY2026-Q4 bookings are forecast at $6.2M (80% range $4.9M to $7.7M), 94% of the "
        "$6.6M target."
    )
    notebooks = folder / "notebooks"
    assert first in findings_of(notebooks / "pipeline_vs_closes.ipynb")
    assert first in index
    assert first in _cell_text(notebooks / "scorecard.ipynb", "scorecard_summary")
    attention = findings_of(notebooks / "scorecard.ipynb")
    assert (
        "$16.9M of pipeline still has to be created in FY2026-Q4 for the bookings targets of "
        "FY2026-Q4, FY2027-Q1 and FY2027-Q2"
    ) in " ".join(attention)
    page = (folder / "scorecard.html").read_text(encoding="utf-8")
    assert "How the numbers compare with typical B2B ranges" in page
    assert "Pipeline to create in FY2026-Q4" in page
