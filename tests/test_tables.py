from __future__ import annotations

from alignment_lib import FiscalQuarter, pipeline_vs_bookings, table_pipeline_vs_bookings
from tests.metrics.test_pipeline import DEALS, UTC


def html() -> str:
    frame = pipeline_vs_bookings(
        DEALS, calendar=UTC, first=FiscalQuarter(2026, 1), last=FiscalQuarter(2026, 2)
    )
    return table_pipeline_vs_bookings(frame).as_raw_html()


def test_values_formatted_for_reading() -> None:
    text = html()
    # Q1 pipeline total 160 + 40 = 200; Q2 bookings 125; shares 0% and 100%.
    assert "$200" in text and "$125" in text
    assert "0%" in text and "100%" in text
    assert "Float64" not in text and "f64" not in text


def test_fixed_id_gives_identical_html() -> None:
    assert html() == html()
    assert 'id="pipeline-vs-bookings"' in html()


def test_spanners_name_both_measures() -> None:
    text = html()
    assert "Pipeline created" in text and "Bookings" in text and "Marketing share" in text
