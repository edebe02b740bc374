"""Tables of the 'Business cycles' and 'Data health' pages: formats, fixed ids, escaping.

Inputs: metric-shaped frames written out below, the hand-built funnel of
tests/metrics/test_health.py (calendar year, UTC) and its metric results, and
hostile names for escaping.
"""

from __future__ import annotations

import polars as pl

from alignment_lib import (
    FiscalQuarter,
    data_health,
    deal_size_band,
    rows_loaded,
    sales_cycle,
    table_business_cycles,
    table_data_health,
    table_rows_loaded,
    table_sales_cycle,
)
from tests.metrics.test_health import AS_OF, FULL, UTC

SPAN = {"calendar": UTC, "first": FiscalQuarter(2026, 1), "last": FiscalQuarter(2026, 2)}
HOSTILE = "</td><script>alert(1)</script>"


LINEARITY = pl.DataFrame(
    {
        "quarter_index": [8105, 8106],
        "fiscal_quarter": ["FY2026-Q2", "FY2026-Q3"],
        "deals": [0, 12],
        "bookings": [0.0, 1_234_567.0],
        "month3_bookings": [0.0, 563_827.0],
        "month3_share": [None, 0.4567],
        "last_two_weeks_bookings": [0.0, 246_913.4],
        "last_two_weeks_share": [None, 0.2],
        "linearity_status": [None, "back-loaded"],
    },
    schema_overrides={"month3_share": pl.Float64, "last_two_weeks_share": pl.Float64},
)
SLIPPED = pl.DataFrame(
    {
        "quarter_index": [8105, 8106],
        "fiscal_quarter": ["FY2026-Q2", "FY2026-Q3"],
        "expected_deals": [0, 40],
        "slipped_deals": [0, 6],
        "slipped_amount": [0.0, 250_000.0],
        "pushed_deals": [0, 4],
        "still_open_deals": [0, 2],
        "won_deals": [0, 10],
        "slipped_share_deals": [None, 0.15],
    },
    schema_overrides={"slipped_share_deals": pl.Float64},
)


def cycles_html() -> str:
    return table_business_cycles(LINEARITY, SLIPPED).as_raw_html()


def test_business_cycles_table_values_formatted_for_reading() -> None:
    text = cycles_html()
    # FY2026-Q3: $1,234,567 from 12 deals, 46% in month 3, 20% in the last two weeks;
    # 6 of 40 expected deals slipped (15%, $250,000): 4 pushed out, 2 still open; 10 of 40
    # won (25%).
    for value in ("$1,234,567", ">12<", ">46%<", ">20%<", "back-loaded", ">40<", ">6<"):
        assert value in text, value
    for value in (">4<", ">2<", "Pushed out", "Still open"):
        assert value in text, value
    for value in (">15%<", "$250,000", ">25%<"):
        assert value in text, value
    # FY2026-Q2 had no bookings and nothing expected: shares are a dash, never "None" or 0%.
    assert text.count("–") == 5
    assert "None" not in text and "0.4567" not in text and "e+" not in text


def test_business_cycles_table_has_a_fixed_id_and_both_spanners() -> None:
    text = cycles_html()
    assert text == cycles_html()
    assert 'id="business-cycles"' in text
    assert "Bookings closed in the quarter" in text
    assert "Deals expected at the quarter" in text
    assert "Healthy: up to 40%" in text and "60% and up" in text


def cycle_frames(segment_name: str = "SMB") -> tuple[pl.DataFrame, pl.DataFrame]:
    opps = FULL.opportunities.with_columns(
        pl.when(pl.col("segment").is_not_null()).then(pl.lit(segment_name)).alias("segment")
    )
    by_segment = sales_cycle(opps, **SPAN, by=("segment",)).collect()
    sized = opps.with_columns(deal_size_band(pl.col("amount")))
    by_band = sales_cycle(sized, **SPAN, by=("deal_size_band",)).collect()
    return by_segment, by_band


def test_sales_cycle_table_medians_by_segment_and_band() -> None:
    html = table_sales_cycle(*cycle_frames(), quarter="FY2026-Q1").as_raw_html()
    # FY2026-Q1 closes: O1 won (created 10 Jan, won 15 Feb: 36 days, SMB, $100 -> <25K);
    # O4 lost 1 March (created 1 Feb: 28 days, SMB, no amount).
    assert 'id="sales-cycle"' in html
    assert "By segment" in html and "By deal size" in html
    assert ">36<" in html and ">28<" in html and ">32<" in html  # won, lost, median of both
    assert "no amount" in html and "lost deals recorded without an amount" in html
    assert "mean" not in html.replace("never a mean", "")


def test_sales_cycle_table_by_source_first_with_team_labels() -> None:
    by_segment, by_band = cycle_frames()
    by_source = sales_cycle(FULL.opportunities, **SPAN, by=("source",))
    html = table_sales_cycle(by_segment, by_band, quarter="FY2026-Q1", by_source=by_source)
    html = html.as_raw_html()
    # FY2026-Q1: O1 marketing won (36 days), O4 partner lost (28 days); sales closed
    # only in Q2 (O5), so its Q1 row reads 0 deals and no median. House order of sources.
    assert html.index("By source") < html.index("By segment") < html.index("By deal size")
    assert (
        html.index("Marketing-sourced")
        < html.index("Sales-sourced")
        < html.index("Partner-sourced")
    )


def test_sales_cycle_table_escapes_group_names() -> None:
    html = table_sales_cycle(*cycle_frames(HOSTILE), quarter="FY2026-Q1").as_raw_html()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_rows_loaded_table_indents_parts_and_formats_counts() -> None:
    html = table_rows_loaded(rows_loaded(AS_OF, full=FULL)).as_raw_html()
    assert 'id="rows-loaded"' in html
    for label in ("Leads", "of which MQLs", "Opportunities", "of which open", "Stage history"):
        assert label in html
    assert "Hidden by the as-of cut" in html
    # the helper column `part` is hidden; unknown counts (the parts' sources) are blank
    assert ">all<" not in html and "None" not in html
    assert ">6<" in html and ">1<" in html and ">5<" in html  # leads: data, hidden, report


def test_data_health_table_grouped_by_table_with_every_rule() -> None:
    health = data_health(AS_OF, full=FULL).collect()
    html = table_data_health(health).as_raw_html()
    assert html == table_data_health(health).as_raw_html()
    assert 'id="data-health"' in html
    for group in ("Leads", "Opportunities", "Stage history"):
        assert f">{group}<" in html
    assert html.count('class="gt_row') >= health.height  # one row per rule
    assert "MQL never touched by sales" in html and "60.0%" in html  # no_stage_history 3 of 5
    # notes for the analyst calling data_health ("needs `full`") are not for the reader
    assert "`full`" not in html and "leads created after the as-of instant<" in html


def test_data_health_table_unknown_rules_read_not_checked() -> None:
    health = data_health(AS_OF).collect()  # no `full`: the as-of rules cannot be checked
    html = table_data_health(health).as_raw_html()
    # rows and share of the 6 as-of rules (open_values_after_as_of among them)
    assert html.count("not checked") == 2 * 6


def test_data_health_table_escapes_values() -> None:
    health = data_health(AS_OF, full=FULL).collect()
    hostile = health.with_columns(pl.lit(HOSTILE).alias("effect"))
    html = table_data_health(hostile).as_raw_html()
    assert "<script>" not in html and "&lt;/td&gt;&lt;script&gt;" in html


def test_sales_cycle_table_without_closed_deals_says_so() -> None:
    by_segment, by_band = cycle_frames()
    html = table_sales_cycle(by_segment, by_band, quarter="FY2025-Q1").as_raw_html()
    assert "No deals closed in FY2025-Q1" in html
    assert "Sales cycle of the deals closed in FY2025-Q1" in html
    assert "Median" not in html
