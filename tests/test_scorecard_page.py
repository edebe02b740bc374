"""The 'Shared scorecard' page: attention ranking worked by hand, chart and table specs."""

from __future__ import annotations

import html
import re

import polars as pl

from alignment_lib import (
    Tracking,
    attention_items,
    chart_pipeline_needed,
    chart_pipeline_to_create,
    chart_scorecard,
    pipeline_to_create_headline,
    scorecard_summary,
    table_benchmarks,
    table_coverage,
    table_pipeline_needed,
    table_pipeline_to_create,
    table_scorecard,
)
from alignment_lib.charts.scorecard import STATUS_COLORS
from alignment_lib.narrative.scorecard import pace_clause
from alignment_lib.theme import SOURCE_COLORS
from tests._charts import layer

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
#: pipeline_to_create output: Q-now (in progress) feeds Q-now (target 400, share 0.5, win
#: rate 0.2: 1000), Q-next (600 x 0.25 / 0.2 = 750) and Q-later (no target); total 1750,
#: created 500 so far: 1250 still to create; marketing 40%: 700, 100 created, 600 to go;
#: MQLs (marketing part / 40 per MQL): 17.5 in all, 5 so far, 12.5 to go.
TO_CREATE = pl.DataFrame(
    {
        "creation_quarter_index": [1] * 3,
        "creation_fiscal_quarter": ["Q-now"] * 3,
        "creation_status": ["in progress"] * 3,
        "quarter_index": [1, 2, 3],
        "fiscal_quarter": ["Q-now", "Q-next", "Q-later"],
        "lag_quarters": [0, 1, 2],
        "lag_bucket": ["same quarter", "1 quarter before", "2 quarters before"],
        "target": [400.0, 600.0, None],
        "win_rate": [0.2] * 3,
        "lag_share": [0.5, 0.25, 0.25],
        "pipeline_required": [1000.0, 750.0, None],
        "marketing_share": [0.4] * 3,
        "marketing_pipeline_required": [400.0, 300.0, None],
        "avg_marketing_opportunity": [100.0] * 3,
        "mql_to_opportunity": [0.25] * 3,
        "mqls_required": [10.0, 7.5, None],
        "targets_counted": [2] * 3,
        "total_pipeline_required": [1750.0] * 3,
        "total_marketing_pipeline_required": [700.0] * 3,
        "total_mqls_required": [17.5] * 3,
        "pipeline_created_so_far": [500.0] * 3,
        "marketing_pipeline_created_so_far": [100.0] * 3,
        "mqls_so_far": [5.0] * 3,
        "gap": [1250.0] * 3,
        "marketing_gap": [600.0] * 3,
        "mqls_gap": [12.5] * 3,
    }
)
#: forecast_overview output (the columns the scorecard reads): the nearest quarter forecast
#: at 300 against a target of 400 (75%)
FORECAST = pl.DataFrame(
    {
        "quarter_index": [1, 2],
        "fiscal_quarter": ["Q-now", "Q-next"],
        "quarters_ahead": [0, 1],
        "elapsed": [0.5, 0.5],
        "calibration": ["seasonal"] * 2,
        "forecast": [300.0, 700.0],
        "forecast_low": [250.0, 500.0],
        "forecast_high": [380.0, 900.0],
        "target": [400.0, 600.0],
        "record_first": ["Q-a"] * 2,
        "record_last": ["Q-b"] * 2,
        "record_quarters": [8, 8],
        "record_inside": [7, 8],
        "record_mean_absolute_error": [0.1, 0.12],
        "record_baseline_quarters": [8, 8],
        "record_baseline_mean_absolute_error": [0.15, 0.15],
        "record_mean_absolute_error_same_quarters": [0.1, 0.12],
    }
)


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_attention_items_ranked_by_severity() -> None:
    # severities: bookings 1 - 0.7 = 0.30; SLA target 0.9 - 0.8 = 0.10; next-quarter
    # coverage 1 - 2/4 = 0.50 (the later quarter does not compete); pipeline still to
    # create in the current quarter 0.5 (standing action); the nearest forecast 1 - 300 /
    # 400 = 0.25; Events SLA 0.9 - 0.6 = 0.30; Webinar meets it.
    items = attention_items(
        SCORECARD, COVERAGE, TO_CREATE, SLA, sla_target=0.9, forecast=FORECAST, limit=6
    )
    assert items == [
        "Q-next open pipeline covers 2.0x of what is left to book, against the 4.0x its "
        "in-quarter conversion requires.",
        "$1.2K of pipeline still has to be created in Q-now for the bookings targets of Q-now "
        "and Q-next ($600 of it by marketing, about 12 MQLs).",
        "Bookings is behind: $140 against $400.",
        "Only 60% of Events MQLs were touched within the SLA (target 90%).",
        "Q-now bookings are forecast at $300 (80% range $250 to $380), 75% of the $400 target.",
        "MQLs touched within SLA (sales) is behind: 80% against 90%.",
    ]
    # nothing left to create, a forecast at target: neither is an item
    done = TO_CREATE.with_columns(pl.lit(0.0).alias("gap"))
    at_target = FORECAST.with_columns(pl.col("target") * 0 + 300.0)
    items = attention_items(
        SCORECARD, COVERAGE.clear(), done, SLA.clear(), forecast=at_target, limit=6
    )
    assert items == [
        "Bookings is behind: $140 against $400.",
        "MQLs touched within SLA (sales) is behind: 80% against 90%.",
    ]


def test_a_quarter_that_is_over_is_hit_or_missed_on_the_page() -> None:
    """At 1 - attainment a missed target is an item (bookings 350 / 400: 0.125), a rate by
    its gap (0.9 - 0.8 = 0.1); a hit target is none. Never "at risk" once it is over."""
    over = SCORECARD.with_columns(
        pl.Series("actual", [350.0, 120.0, 0.8]),
        pl.Series("attainment", [0.875, 1.2, 0.8 / 0.9]),
        pl.Series("status", ["missed", "hit", "missed"]),
    )
    assert attention_items(over, COVERAGE.clear(), TO_CREATE.clear(), SLA.clear()) == [
        "Bookings missed its target: $350 against $400 (88%).",
        "MQLs touched within SLA (sales) missed its target: 80% against 90% (89%).",
    ]
    assert scorecard_summary(over) == [
        "Bookings: $350 against $400 (88%), missed.",
        "MQLs (marketing): 120 against 100 (120%), hit.",
        "MQLs touched within SLA (sales): 80% against 90% (89%), missed.",
    ]
    chart = chart_scorecard(over, title="t").to_dict()
    rows = next(iter(chart["datasets"].values()))
    # a quarter that is over: its legend says hit and missed
    colour = layer(chart, "bar", color="status")["encoding"]["color"]["scale"]
    assert colour["domain"][:2] == ["hit", "missed"]
    assert colour["range"][:2] == [STATUS_COLORS["hit"], STATUS_COLORS["missed"]]
    # a quarter that is over has no usual-pace tick and no projection
    assert {r["usual_share"] for r in rows} == {None}
    assert {r["projected_finish_share"] for r in rows} == {None}


def _paced(**row) -> dict:
    base = {
        "kind": "amount",
        "status": "at risk",
        "pacing": 0.8,
        "curve_basis": "same quarter",
        "curve_quarters": 2,
        "curve_share": 0.48,
        "projected_finish": 300.0,
        "projected_low": 250.0,
        "projected_high": 360.0,
    }
    return base | row


def test_pace_clause_says_what_the_pace_is_compared_with() -> None:
    assert pace_clause(_paced()) == (
        ": 80% of where the same quarter of 2 earlier years were by this day (48% of their "
        "total); at that pace it ends at $300 ($250 to $360 at their paces)"
    )
    assert pace_clause(_paced(curve_basis="all quarters", curve_quarters=5)) == (
        ": 80% of where 5 recent quarters were by this day (48% of their total); at that "
        "pace it ends at $300 ($250 to $360 at their paces)"
    )
    assert pace_clause(_paced(curve_basis="linear", curve_quarters=0)) == (
        ": 80% of a linear pace (no earlier quarter to compare with, so the elapsed share of "
        "the quarter)"
    )
    assert pace_clause(_paced(kind="count", projected_finish=720.6, curve_quarters=1)) == (
        ": 80% of where the same quarter of 1 earlier years were by this day (48% of their "
        "total); at that pace it ends at 721"
    )
    assert pace_clause(_paced(status="missed")) == ""
    assert pace_clause(_paced(kind="rate")) == ""
    scorecard = SCORECARD.head(1).with_columns(
        *(pl.lit(v).alias(k) for k, v in _paced().items() if k not in ("kind", "pacing"))
    )
    assert scorecard_summary(scorecard) == [
        "Bookings: $140 against $400 (35%), at risk: 70% of where the same quarter of 2 "
        "earlier years were by this day (48% of their total); at that pace it ends at $300 "
        "($250 to $360 at their paces)."
    ]


def test_scorecard_summary_sentences() -> None:
    assert scorecard_summary(SCORECARD) == [
        "Bookings: $140 against $400 (35%), behind.",
        "MQLs (marketing): 95 against 100 (95%), on track.",
        "MQLs touched within SLA (sales): 80% against 90% (89%), behind.",
    ]


def test_scorecard_chart_uses_status_colours_and_writes_the_status() -> None:
    d = chart_scorecard(SCORECARD, title="t").to_dict()
    colour = layer(d, "bar", color="status")["encoding"]["color"]["scale"]
    mapping = dict(zip(colour["domain"], colour["range"], strict=True))
    assert list(mapping)[:3] == ["on track", "at risk", "behind"]
    assert all(mapping[k] == STATUS_COLORS[k] for k in ("on track", "at risk", "behind"))
    assert {"hit", "missed"} <= set(STATUS_COLORS)
    assert not set(STATUS_COLORS.values()) & set(SOURCE_COLORS.values())
    assert layer(d, "text", text="status")["encoding"]["text"]["field"] == "status"


def test_scorecard_chart_marks_the_usual_pace_and_the_projected_finish() -> None:
    """Bookings at risk: the tick at the curve share (48%), the diamond at the projected
    finish 300 / 400 = 75% and the dashed line from 250 / 400 to 360 / 400."""
    paced = SCORECARD.head(1).with_columns(
        *(pl.lit(v).alias(k) for k, v in _paced().items() if k not in ("kind", "pacing"))
    )
    d = chart_scorecard(paced, title="t").to_dict()
    usual = layer(d, x="usual_share")
    spread = layer(d, x="projected_low_share")
    finish = layer(d, x="projected_finish_share")
    assert usual["encoding"]["x"]["field"] == "usual_share"
    assert (spread["encoding"]["x"]["field"], spread["encoding"]["x2"]["field"]) == (
        "projected_low_share",
        "projected_high_share",
    )
    assert finish["encoding"]["x"]["field"] == "projected_finish_share"
    row = next(iter(d["datasets"].values()))[0]
    assert row["usual_share"] == 0.48 and row["projected_finish_share"] == 0.75
    assert (row["projected_low_share"], row["projected_high_share"]) == (0.625, 0.9)


def test_pipeline_needed_chart_caps_created_at_required() -> None:
    d = chart_pipeline_needed(NEEDED, title="t").to_dict()
    rows = next(iter(d["datasets"].values()))
    assert [r["covered"] for r in rows] == [1000.0, 0.0]


def test_tables_read_well() -> None:
    html = table_scorecard(SCORECARD).as_raw_html()
    assert "$140" in html and "35%" in html and "behind" in html and "f64" not in html
    paced = SCORECARD.head(1).with_columns(
        *(pl.lit(v).alias(k) for k, v in _paced().items() if k not in ("kind", "pacing"))
    )
    row = text(table_scorecard(paced).as_raw_html())
    assert "Bookings $400 $140 35% 70% (same quarter) $300 ($250 to $360) at risk" in row
    assert "Pacing (same quarter): actual / (target x the share of its total" in row
    assert "2.0x" in table_coverage(COVERAGE).as_raw_html()
    needed = table_pipeline_needed(NEEDED).as_raw_html()
    assert "Pipeline needed for Q-target" in needed and "$2,000" in needed


def test_pipeline_to_create_headline_chart_and_table() -> None:
    assert pipeline_to_create_headline(TO_CREATE) == (
        "$1.8K of pipeline has to be created in Q-now for the bookings targets of Q-now and "
        "Q-next ($700 of it by marketing, about 18 MQLs); $500 created so far, $1.2K still to "
        "create"
    )
    # without leads: no MQLs; a quarter not started yet says so
    not_started = TO_CREATE.with_columns(pl.lit("not started").alias("creation_status"))
    assert pipeline_to_create_headline(not_started, tracking=Tracking(has_leads=False)) == (
        "$1.8K of pipeline has to be created in Q-now for the bookings targets of Q-now and "
        "Q-next ($700 of it by marketing); Q-now has not started yet"
    )
    d = chart_pipeline_to_create(TO_CREATE, title="t").to_dict()
    assert len(d["layer"]) == 2
    required, created = layer(d, "bar", color="slice"), layer(d, "bar", color=None)
    slices = d["datasets"][required["data"]["name"]]
    assert [r["slice"] for r in slices] == ["for Q-now", "for Q-next"]
    assert required["encoding"]["x"]["stack"] == "zero"
    assert d["datasets"][created["data"]["name"]][0]["amount"] == 500.0
    assert d["title"]["subtitle"][-1] == "No target yet for Q-later: not counted"
    table = text(table_pipeline_to_create(TO_CREATE).as_raw_html())
    assert "For Q-now's target $400 50% $1,000 $400 10" in table
    assert "For Q-later (no target yet) – 25% – – –" in table
    assert "Total to create – – $1,750 $700 18" in table
    assert "Created so far in Q-now – – $500 $100 5" in table
    assert "Still to create – – $1,250 $600 12" in table
    no_leads = text(
        table_pipeline_to_create(TO_CREATE, tracking=Tracking(has_leads=False)).as_raw_html()
    )
    assert "Total to create – – $1,750 $700 needs a leads table" in no_leads
    unknown = TO_CREATE.with_columns(pl.lit(None, pl.Float64).alias("pipeline_required"))
    assert no_data(chart_pipeline_to_create(unknown, title="t")) == (
        "No bookings target set for Q-now or the quarters it feeds"
    )


def test_benchmarks_table_is_context_without_colour() -> None:
    frame = pl.DataFrame(
        {
            "norm": ["win_rate"],
            "measure": ["Win rate by count (deals closed in the last 12 months)"],
            "value": [0.26],
            "shown": ["26%"],
            "typical": ["~19-20% overall; 20-30% enterprise"],
            "compared": ["above the ~19-20% overall"],
            "source": ["Ebsta x Pavilion B2B Sales Benchmarks 2025"],
        }
    )
    page = table_benchmarks(frame).as_raw_html()
    row = text(page)
    assert (
        "Win rate by count (deals closed in the last 12 months) 26% ~19-20% overall; 20-30% "
        "enterprise above the ~19-20% overall Ebsta x Pavilion B2B Sales Benchmarks 2025"
    ) in row
    assert "not targets" in row and "docs/benchmarks.md" in row
    assert not any(c in page for c in STATUS_COLORS.values())


def no_data(chart) -> str:
    d = chart.to_dict()
    assert [each["mark"]["type"] for each in d["layer"]] == ["text"]
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
