"""Chart specs: asserted on to_dict(), never on pixels."""

from __future__ import annotations

import polars as pl
import pytest

from alignment_lib import FiscalQuarter, chart_pipeline_vs_bookings, pipeline_vs_bookings
from alignment_lib.theme import SOURCE_COLORS
from tests._charts import layer
from tests.metrics.test_pipeline import DEALS, UTC


def spec(**kw) -> dict:
    frame = pipeline_vs_bookings(
        DEALS, calendar=UTC, first=FiscalQuarter(2026, 1), last=FiscalQuarter(2026, 2)
    )
    return chart_pipeline_vs_bookings(frame, **kw).to_dict()


def test_two_panels_pipeline_then_bookings() -> None:
    d = spec(title="Bookings were $125")
    assert d["title"]["text"] == "Bookings were $125"
    titles = [layer(panel, "bar", color="source")["title"] for panel in d["vconcat"]]
    assert titles[0].startswith("Pipeline created") and titles[1].startswith("Bookings")


def test_sources_keep_the_house_colours() -> None:
    for panel in spec()["vconcat"]:
        scale = layer(panel, "bar", color="source")["encoding"]["color"]["scale"]
        assert dict(zip(scale["domain"], scale["range"], strict=True)) == SOURCE_COLORS


def test_chart_carries_only_aggregates() -> None:
    d = spec()
    rows = sum(len(v) for v in d["datasets"].values())
    # 2 quarters x 3 sources per panel, 2 panels: 12 aggregated rows, no CRM rows.
    assert rows == 12
    assert all(
        set(r) >= {"fiscal_quarter", "source", "amount"} for v in d["datasets"].values() for r in v
    )


def test_tooltips_are_formatted() -> None:
    tooltip = layer(spec()["vconcat"][0], "bar", color="source")["encoding"]["tooltip"]
    formats = {t["title"]: t.get("format") for t in tooltip}
    assert formats == {"Quarter": None, "Source": None, "Amount": "$,.0f", "Deals": ",d"}


def test_report_quarter_is_outlined() -> None:
    outlined = layer(spec(report_quarter="FY2026-Q2")["vconcat"][1], "bar", color=None)
    assert outlined["mark"]["stroke"] == "#222222"
    assert outlined["transform"] == [{"filter": "(datum.fiscal_quarter === 'FY2026-Q2')"}]


def test_quarters_in_time_order_not_alphabetical() -> None:
    frame = pl.DataFrame(
        {
            "quarter_index": [8099, 8100],
            "fiscal_quarter": ["FY2024-Q4", "FY2025-Q1"],
            "measure": ["bookings", "bookings"],
            "source": ["sales", "sales"],
            "deals": [1, 1],
            "amount": [1.0, 2.0],
        }
    )
    bookings = chart_pipeline_vs_bookings(frame).to_dict()["vconcat"][1]
    x = layer(bookings, "bar", color="source")["encoding"]["x"]
    assert x["sort"] == ["FY2024-Q4", "FY2025-Q1"]


def test_no_pipeline_and_no_bookings_says_so() -> None:
    frame = pipeline_vs_bookings(
        DEALS.clear(), calendar=UTC, first=FiscalQuarter(2026, 1), last=FiscalQuarter(2026, 2)
    )
    d = chart_pipeline_vs_bookings(frame, title="Nothing").to_dict()
    assert [each["mark"]["type"] for each in d["layer"]] == ["text"]
    assert d["description"] == "No pipeline created and no bookings in the quarters shown"
    assert d["title"] == "Nothing"


@pytest.mark.slow
def test_no_data_placeholder_has_a_fixed_size_and_draws() -> None:
    import vl_convert

    from alignment_lib import chart_no_data

    d = chart_no_data("No MQLs in FY2026-Q3", title="Headline").to_dict()
    assert (d["width"], d["height"]) == (480, 120)
    assert [r for v in d["datasets"].values() for r in v] == [{"message": "No MQLs in FY2026-Q3"}]
    png = vl_convert.vegalite_to_png(d)
    assert png.startswith(b"\x89PNG")
