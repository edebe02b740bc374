"""End to end: the sample with two extra dimensions and amounts in euros, rendered.

A copy of the sample gets ``product`` on the opportunities (four products, one of
them hostile markup; every 11th deal without one) and ``lead_type`` on the leads
(one value a 10,000-character name, one with a right-to-left override), and a
mapping file names them and the currency EUR (docs/mapping.md). The render must
show "€" on money figures and no "$" on any page, a "By <dimension>" section on
each page that has figures to split, the values escaped and cut, and charts whose
number locale writes "€".
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import polars as pl
import pytest

from alignment_lib.cli import main
from alignment_lib.workbook import STATIC_PICTURES_ENV

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
QUARTER = "FY2026-Q3"
HOSTILE = "</script><img src=x onerror=alert(1)>"
LONG = "T" * 10_000
PRODUCTS = ["Platform", "Analytics", "Add-ons", HOSTILE]
LEAD_TYPES = ["Inbound", "Event", "\u202eReferral", LONG]
MONEY_PAGES = ("scorecard", "pipeline_vs_closes", "business_cycles")


def _with_dimensions(folder: Path) -> Path:
    folder.mkdir()
    for file in SAMPLE.glob("*.csv"):
        shutil.copy(file, folder / file.name)
    opps = pl.read_csv(SAMPLE / "opportunities.csv", infer_schema=False)
    product = [PRODUCTS[i % 4] if i % 11 else None for i in range(opps.height)]
    opps.with_columns(product=pl.Series(product, dtype=pl.String)).write_csv(
        folder / "opportunities.csv"
    )
    leads = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False)
    lead_type = [LEAD_TYPES[i % 4] for i in range(leads.height)]
    leads.with_columns(lead_type=pl.Series(lead_type)).write_csv(folder / "leads.csv")
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = _with_dimensions(tmp_path_factory.mktemp("dimensions") / "data")
    out = tmp_path_factory.mktemp("dimensions-report")
    mapping = data.parent / "mapping.toml"
    mapping.write_text('currency = "EUR"\ndimensions = ["product", "lead_type"]\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STATIC_PICTURES_ENV, "0")
        args = ["report", "--data", str(data), "--mapping", str(mapping)]
        assert main([*args, "--out", str(out), "--no-images"]) == 0
    return out / QUARTER


class _Text(HTMLParser):
    """The text a reader sees: no script, no style."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _text(page: Path) -> str:
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def test_every_money_figure_is_in_euros(report: Path) -> None:
    for name in (*MONEY_PAGES, "handoff", "funnel", "data_health"):
        text = _text(report / f"{name}.html")
        assert "$" not in text, name
        if name in MONEY_PAGES:
            assert re.search(r"€\d", text), name
    index = _text(report / "index.html")
    assert "€3.9M" in index and "$" not in index  # bookings of the quarter
    pipeline = _text(report / "pipeline_vs_closes.html")
    assert "Bookings in FY2026-Q3 were €3.9M" in pipeline


def test_charts_write_amounts_in_euros(report: Path) -> None:
    import vl_convert

    nb = nbformat.read(report / "notebooks" / "pipeline_vs_closes.ipynb", as_version=4)
    specs = [
        output["data"]["application/vnd.vegalite.v6+json"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "application/vnd.vegalite.v6+json" in output.get("data", {})
    ]
    assert specs and all(s["config"]["locale"]["number"]["currency"] == ["€", ""] for s in specs)
    svg = vl_convert.vegalite_to_svg(specs[0])
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert any(label.startswith("€") for label in labels)
    assert not any("$" in label for label in labels)


@pytest.mark.parametrize(
    ("name", "headings", "titles"),
    [
        ("pipeline_vs_closes", ["By product"], ["Pipeline and bookings by product, FY2026-Q3"]),
        ("business_cycles", ["By product"], ["Bookings and sales cycles by product, FY2026-Q3"]),
        ("handoff", ["By lead type"], ["The handoff by lead type, FY2026-Q3 MQLs"]),
        ("funnel", ["By lead type"], ["Stage conversion by lead type"]),
        ("scorecard", ["By product", "By lead type"], ["FY2026-Q3 by product"]),
    ],
)
def test_each_page_has_its_dimension_splits(
    report: Path, name: str, headings: list[str], titles: list[str]
) -> None:
    page = (report / f"{name}.html").read_text(encoding="utf-8")
    text = _text(report / f"{name}.html")
    for heading in headings:
        assert heading in text, (name, heading)
    for title in titles:
        assert title in text, (name, title)
    if "product" in headings[0]:
        assert "Platform" in text and "(not set)" in text
        assert HOSTILE in text  # shown as typed ...
        assert "<img src=x" not in page  # ... never as markup
    else:
        assert "Inbound" in text and "\u202e" not in text
        assert "T" * 61 not in text  # the 10,000-character lead type is cut at 60
    if name != "scorecard":  # the scorecard's splits are tables only
        assert "dimension_value" in page  # the dropdown's parameter


def test_data_health_page_has_no_split(report: Path) -> None:
    text = _text(report / "data_health.html")
    assert "By product" not in text and "By lead type" not in text
