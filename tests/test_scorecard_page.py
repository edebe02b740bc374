"""The 'Shared scorecard' page: attention ranking worked by hand, chart and table specs."""

from __future__ import annotations

import polars as pl

from alignment_lib import (
    attention_items,
    chart_pipeline_needed,
    chart_scorecard,
    scorecard_summary,
    table_coverage,
    table_pipeline_needed,
    table_scorecard,
)
from alignment_lib.charts.scorecard import STATUS_COLORS
from alignment_lib.theme import SOURCE_COLORS

SCORECARD = pl.DataFrame(
    {
        "metric": ["bookings", "mqls", "sla_compliance"],
        "team": ["shared", "marketing", "sales"],
        "label": ["Bookings", "MQLs", "MQLs touched within SLA"],
        "kind": ["amount", "count", "rate"],
        "target": [400.0, 100.0, 0.9],
        "actual": [140.0, 95.0, 0.8],
        "attainment": [0.35, 0.95, 0.8 / 0.9],
        "elapsed_share": [0.5] * 3,
        "expected_to_date": [200.0, 50.0, 0.9],
        "pacing": [0.7, 1.9, 0.8 / 0.9],
        "status": ["behind", "on track", "behind"],
        "marketing": [100.0, None, None],
        "sales": [40.0, None, None],
        "partner": [0.0, None, None],
    }
)
COVERAGE = pl.DataFrame(
    {
        "quarter_index": [2, 3],
        "fiscal_quarter": ["Q-next", "Q-later"],
        "open_deals": [20, 1],
        "open_pipeline": [200.0, 10.0],
        "open_deals_without_amount": [0, 0],
        "bookings_to_date": [0.0, 0.0],
        "target": [100.0, 100.0],
        "remaining": [100.0, 100.0],
        "coverage": [2.0, 0.1],
        "conversion": [0.25, 0.25],
        "required_coverage": [4.0, 4.0],
        "status": ["short", "short"],
        "overdue_deals": [3, 3],
        "overdue_pipeline": [30.0, 30.0],
    }
)
NEEDED = pl.DataFrame(
    {
        "target_fiscal_quarter": ["Q-target"] * 2,
        "quarter_index": [1, 2],
        "fiscal_quarter": ["Q-now", "Q-next"],
        "creation_status": ["complete", "not started"],
        "lag_share": [0.5, 0.5],
        "pipeline_required": [1000.0, 2000.0],
        "pipeline_created_so_far": [5000.0, 0.0],
        "gap": [0.0, 2000.0],
        "marketing_pipeline_required": [400.0, 800.0],
        "mqls_required": [10.0, 20.4],
    }
)
SLA = pl.DataFrame({"channel": ["Events", "Webinar"], "sla_compliance": [0.6, 0.95]})


def test_attention_items_ranked_by_severity() -> None:
    # severities: bookings 1 - 0.7 = 0.30; SLA target 0.9 - 0.8 = 0.10; next-quarter
    # coverage 1 - 2/4 = 0.50 (the later quarter does not compete); pipeline still to
    # create in Q-next 0.5 (standing action); Events SLA 0.9 - 0.6 = 0.30; Webinar meets it.
    items = attention_items(SCORECARD, COVERAGE, NEEDED, SLA, sla_target=0.9, limit=4)
    assert items == [
        "Q-next open pipeline covers 2.0x of what is left to book, against the 4.0x its "
        "in-quarter conversion requires.",
        "For Q-target's target, $2.0K of pipeline still has to be created in Q-next, $800 of it "
        "by marketing (about 20 MQLs).",
        "Bookings is behind: $140 against $400.",
        "Only 60% of Events MQLs were touched within the SLA (target 90%).",
    ]


def test_scorecard_summary_sentences() -> None:
    assert scorecard_summary(SCORECARD) == [
        "Bookings: $140 against $400 (35%), behind.",
        "MQLs (marketing): 95 against 100 (95%), on track.",
        "MQLs touched within SLA (sales): 80% against 90% (89%), behind.",
    ]


def test_scorecard_chart_uses_status_colours_and_writes_the_status() -> None:
    d = chart_scorecard(SCORECARD, title="t").to_dict()
    colour = d["layer"][0]["encoding"]["color"]["scale"]
    mapping = dict(zip(colour["domain"], colour["range"], strict=True))
    assert all(mapping[k] == v for k, v in STATUS_COLORS.items())
    assert not set(STATUS_COLORS.values()) & set(SOURCE_COLORS.values())
    assert d["layer"][1]["encoding"]["text"]["field"] == "status"


def test_pipeline_needed_chart_caps_created_at_required() -> None:
    d = chart_pipeline_needed(NEEDED, title="t").to_dict()
    rows = next(iter(d["datasets"].values()))
    assert [r["covered"] for r in rows] == [1000.0, 0.0]


def test_tables_read_well() -> None:
    html = table_scorecard(SCORECARD).as_raw_html()
    assert "$140" in html and "35%" in html and "behind" in html and "f64" not in html
    assert "2.0x" in table_coverage(COVERAGE).as_raw_html()
    needed = table_pipeline_needed(NEEDED).as_raw_html()
    assert "Pipeline needed for Q-target" in needed and "$2,000" in needed


def no_data(chart) -> str:
    d = chart.to_dict()
    assert [layer["mark"]["type"] for layer in d["layer"]] == ["text"]
    return d["description"]


def test_without_targets_the_page_says_so() -> None:
    # a targets table with no row for the quarter: the scorecard has no row
    empty = SCORECARD.clear()
    sentence = "No targets are set for this quarter: the targets table has no row for it."
    assert scorecard_summary(empty) == [sentence]
    assert attention_items(empty, COVERAGE.clear(), NEEDED.clear(), SLA.clear()) == [sentence]
    assert no_data(chart_scorecard(empty, title="FY2026-Q3")) == "No targets set for this quarter"
    html = table_scorecard(empty).as_raw_html()
    assert "No targets set for this quarter" in html and "Attainment" not in html
    # no bookings target for the quarter two out: nothing is required of any quarter
    unknown = NEEDED.with_columns(pl.lit(None, dtype=pl.Float64).alias("pipeline_required"))
    assert no_data(chart_pipeline_needed(unknown, title="Needed")) == (
        "No bookings target set for Q-target"
    )
    assert "No bookings target set for Q-target" in table_pipeline_needed(unknown).as_raw_html()
