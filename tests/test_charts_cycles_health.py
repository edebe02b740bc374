"""Chart specs of the 'Business cycles' and 'Data health' pages: asserted on to_dict().

Inputs are the metric results on the hand-built funnel of
tests/metrics/test_health.py (calendar year, UTC): O1 won 100 on 15 February
(FY2026-Q1), O5 won 70 on 15 April (FY2026-Q2), nothing won in FY2026-Q3.
"""

from __future__ import annotations

import polars as pl
import pytest

from alignment_lib import (
    FiscalQuarter,
    bookings_by_week,
    bookings_linearity,
    chart_bookings_linearity,
    chart_health_issues,
    chart_hockey_stick,
    chart_sales_cycle,
    chart_seasonality,
    chart_slipped_deals,
    data_health,
    deal_size_band,
    sales_cycle,
    seasonality,
    slipped_deals,
)
from alignment_lib.charts.cycles import GROUP_COLORS, HIGHLIGHT, OUTCOME_LABELS, STATUS_COLORS
from alignment_lib.metrics.cycles import LINEARITY_STATUSES
from alignment_lib.theme import SOURCE_COLORS
from tests._charts import ANY, layer
from tests.metrics.test_health import AS_OF, FULL, UTC

SPAN = {"calendar": UTC, "first": FiscalQuarter(2026, 1), "last": FiscalQuarter(2026, 3)}
OPPS = FULL.opportunities


def rows(spec: dict) -> list[dict]:
    return [r for v in spec["datasets"].values() for r in v]


def tooltip_formats(encoding: dict) -> dict:
    return {t["title"]: t.get("format") for t in encoding["tooltip"]}


def legend_params(spec: dict) -> list[dict]:
    return [p for p in spec.get("params", []) if p.get("bind") == "legend"]


# -- hockey stick ----------------------------------------------------------------------------
def hockey(**kw) -> dict:
    return chart_hockey_stick(bookings_by_week(OPPS, **SPAN), **kw).to_dict()


def test_hockey_stick_one_line_per_quarter_with_bookings_report_quarter_highlighted() -> None:
    d = hockey(
        title="FY2026-Q2 reached half of its bookings in week 3 of 13", report_quarter="FY2026-Q2"
    )
    assert d["title"]["text"] == "FY2026-Q2 reached half of its bookings in week 3 of 13"
    lines = layer(d, "line", color="fiscal_quarter")
    scale = lines["encoding"]["color"]["scale"]
    # FY2026-Q3 has no bookings: no curve. The report quarter is last, in the highlight colour.
    assert scale["domain"] == ["FY2026-Q1", "FY2026-Q2"]
    assert scale["range"][-1] == HIGHLIGHT
    assert lines["encoding"]["strokeWidth"]["condition"][0]["test"] == (
        "(datum.fiscal_quarter === 'FY2026-Q2')"
    )


def test_hockey_stick_curves_start_at_zero_and_carry_only_weekly_aggregates() -> None:
    curve = [r for r in rows(hockey()) if "fiscal_quarter" in r]
    # 13 weeks in each of Q1 (90 days) and Q2 (91 days), plus a week-0 start point each.
    assert len(curve) == 28
    starts = [r for r in curve if r["week_of_quarter"] == 0]
    assert [(r["fiscal_quarter"], r["cumulative_share"]) for r in starts] == [
        ("FY2026-Q1", 0.0),
        ("FY2026-Q2", 0.0),
    ]
    q1 = {
        r["week_of_quarter"]: r["cumulative_share"]
        for r in curve
        if r["fiscal_quarter"] == "FY2026-Q1"
    }
    # O1 closed on 15 February = day 45 = week 7
    assert q1[6] == 0.0 and q1[7] == 1.0 and q1[13] == 1.0


def test_hockey_stick_tooltips_legend_and_axes() -> None:
    d = hockey()
    points = layer(d, "point")["encoding"]
    assert tooltip_formats(points) == {
        "Quarter": None,
        "Week": "d",
        "Week starts": None,
        "Closed so far": ".1%",
        "Bookings so far": "$,.0f",
        "Bookings this week": "$,.0f",
        "Deals this week": ",d",
    }
    assert [p["name"] for p in legend_params(d)] == ["pick_quarter"]
    # points: the picked quarters', else the report quarter's while nothing is picked;
    # the others are transparent but keep their tooltips
    assert layer(hockey(report_quarter="FY2026-Q2"), "point")["encoding"]["opacity"] == {
        "condition": [
            {"param": "pick_quarter", "empty": False, "value": 0.9},
            {
                "test": "((datum.fiscal_quarter === 'FY2026-Q2') && "
                "(length(data('pick_quarter_store')) === 0))",
                "value": 0.9,
            },
        ],
        "value": 0.0,
    }
    lines = layer(d, "line", color="fiscal_quarter")["encoding"]
    assert lines["y"]["axis"]["format"] == ".0%"
    assert lines["x"]["scale"]["domain"] == [0, 13]


def test_hockey_stick_without_bookings_says_so() -> None:
    empty = bookings_by_week(OPPS.clear(), **SPAN)
    d = chart_hockey_stick(empty, title="No bookings").to_dict()
    assert [each["mark"]["type"] for each in d["layer"]] == ["text"]
    assert rows(d) == [{"message": "No bookings in the quarters shown"}]
    assert d["title"] == "No bookings"


# -- linearity -------------------------------------------------------------------------------
def linearity_spec(**kw) -> dict:
    return chart_bookings_linearity(bookings_linearity(OPPS, **SPAN), **kw).to_dict()


def test_linearity_thresholds_drawn_as_rules_with_labels() -> None:
    d = linearity_spec()
    rules = layer(d, "rule")
    thresholds = d["datasets"][rules["data"]["name"]]
    assert [r["share"] for r in thresholds] == [0.4, 0.6]
    assert [r["text"] for r in thresholds] == ["healthy: up to 40%", "severe: 60% and up"]
    assert rules["encoding"]["y"]["field"] == "share"


def test_linearity_status_colours_fixed_and_not_team_colours() -> None:
    bars = layer(linearity_spec(), "bar", color="status")["encoding"]
    scale = bars["color"]["scale"]
    assert scale["domain"] == list(LINEARITY_STATUSES)
    assert scale["range"] == list(STATUS_COLORS.values())
    assert not set(scale["range"]) & set(SOURCE_COLORS.values())
    assert tooltip_formats(bars) == {
        "Quarter": None,
        "Bookings": "$,.0f",
        "Won deals": ",d",
        "Closed in month 3": ".1%",
        "Closed in the last two weeks": ".1%",
        "Status": None,
    }


def test_linearity_report_quarter_outlined_and_legend_picks_status() -> None:
    d = linearity_spec(report_quarter="FY2026-Q1")
    outlined = layer(d, "bar", color=None)
    assert outlined["mark"]["stroke"] == "#222222"
    assert outlined["transform"] == [{"filter": "(datum.fiscal_quarter === 'FY2026-Q1')"}]
    assert [p["select"]["fields"] for p in legend_params(d)] == [["status"]]
    # Q1: O1 closed in February (month 2): share 0, healthy; Q3 has no bookings.
    statuses = {r["fiscal_quarter"]: r["status"] for r in rows(d) if "status" in r}
    assert statuses == {"FY2026-Q1": "healthy", "FY2026-Q2": "healthy", "FY2026-Q3": "no bookings"}


# -- seasonality -----------------------------------------------------------------------------
def test_seasonality_grouped_indexes_with_average_rule_and_formatted_means() -> None:
    d = chart_seasonality(seasonality(OPPS, FULL.leads, **SPAN), title="Q1 books most").to_dict()
    bars = layer(d, "bar")["encoding"]
    assert bars["x"]["sort"] == ["Q1", "Q2", "Q3", "Q4"]
    assert bars["xOffset"]["field"] == "measure"
    assert bars["color"]["scale"]["domain"] == ["Bookings", "Pipeline created", "MQLs"]
    assert not set(bars["color"]["scale"]["range"]) & set(SOURCE_COLORS.values())
    assert rows(d)[-1] == {"index": 1.0}  # the average-quarter rule
    q1 = {r["measure"]: r["mean_text"] for r in rows(d) if r.get("quarter_label") == "Q1"}
    # Q1 2026: bookings O1 100; pipeline created O1 100 + O2 (no amount) + O3 50 + O4 (none)
    # + O5 70 = 220; MQLs L1, L2, L5 = 3.
    assert q1 == {"Bookings": "$100", "Pipeline created": "$220", "MQLs": "3"}
    assert tooltip_formats(bars)["Index"] == ".2f"


# -- sales cycle -----------------------------------------------------------------------------
def cycle_spec(**kw) -> dict:
    by_segment = sales_cycle(OPPS, **SPAN, by=("segment",))
    sized = OPPS.with_columns(deal_size_band(pl.col("amount")))
    by_band = sales_cycle(sized, **SPAN, by=("deal_size_band",))
    return chart_sales_cycle(by_segment, by_band, title="Cycle", **kw).to_dict()


def test_sales_cycle_by_source_comes_first_in_the_team_colours() -> None:
    d = cycle_spec(by_source=sales_cycle(OPPS, **SPAN, by=("source",)))
    assert [p["title"] for p in d["hconcat"]] == ["By source", "By segment", "By deal size"]
    scale = d["hconcat"][0]["encoding"]["color"]["scale"]
    # closed deals: O1 marketing, O4 partner, O5 sales (won in Q2) -> all three sources
    assert scale["domain"] == ["Marketing-sourced", "Sales-sourced", "Partner-sourced"]
    assert scale["range"] == list(SOURCE_COLORS.values())
    assert len(legend_params(d)) == 3


def test_sales_cycle_dropdown_picks_won_or_all_closed_medians() -> None:
    d = cycle_spec()
    dropdown = next(p for p in d["params"] if "input" in p.get("bind", {}))
    assert dropdown["bind"]["input"] == "select"
    assert dropdown["bind"]["options"] == ["Won deals", "All closed deals"]
    assert dropdown["value"] == "Won deals"
    for panel in d["hconcat"]:
        assert panel["transform"] == [{"filter": "(datum.measure === cycle_measure)"}]
    assert [p["title"] for p in d["hconcat"]] == ["By segment", "By deal size"]


def test_sales_cycle_medians_only_never_a_mean() -> None:
    d = cycle_spec()
    assert "mean" not in str(d)
    enc = d["hconcat"][1]["encoding"]
    # O1 (100) and O5 (70) are small; O4 was lost without an amount: grey
    assert enc["color"]["scale"]["domain"] == ["<25K", "no amount"]
    assert enc["color"]["scale"]["range"][-1] == "#6B6B6B"
    assert tooltip_formats(enc) == {
        "Closed in": None,
        "Deal size": None,
        "Median over": None,
        "Median days": ",.0f",
        "Deals": ",d",
    }
    assert len(legend_params(d)) == 2  # one legend per panel


def test_sales_cycle_bands_smallest_first_not_alphabetical() -> None:
    segment = pl.DataFrame(
        {
            "quarter_index": [8104],
            "fiscal_quarter": ["FY2026-Q1"],
            "segment": ["SMB"],
            "won": [1],
            "closed": [1],
            "median_days_won": [10.0],
            "median_days_closed": [10.0],
            "p90_days_closed": [10.0],
        }
    )
    # the metric sorts bands as strings: null, "25K-100K", "<25K", ">=100K"
    bands = pl.concat(
        [
            segment.drop("segment").with_columns(deal_size_band=pl.lit(b))
            for b in ("25K-100K", "<25K", ">=100K")
        ]
    )
    enc = chart_sales_cycle(segment, bands).to_dict()["hconcat"][1]["encoding"]
    assert enc["color"]["scale"]["domain"] == ["<25K", "25K-100K", ">=100K"]
    assert enc["color"]["scale"]["range"] == list(GROUP_COLORS[:3])


# -- slipped deals ---------------------------------------------------------------------------
def test_slipped_deals_two_panels_stacked_by_outcome() -> None:
    frame = slipped_deals(OPPS, FULL.stage_history, **SPAN)
    d = chart_slipped_deals(frame, title="Slipped", report_quarter="FY2026-Q1").to_dict()
    deals, amount = (layer(panel, "bar", order=ANY)["encoding"] for panel in d["hconcat"])
    assert deals["y"]["field"] == "deals" and amount["y"]["field"] == "amount"
    assert amount["y"]["axis"]["format"] == "$~s"
    assert deals["color"]["scale"]["domain"] == list(OUTCOME_LABELS.values())
    assert deals["order"] == {"field": "stack_order", "sort": "ascending", "type": "quantitative"}
    assert tooltip_formats(deals)["Amount at quarter start"] == "$,.0f"
    assert tooltip_formats(deals)["Share of expected deals"] == ".1%"
    # 3 quarters x 4 outcomes, aggregated
    assert len([r for r in rows(d) if "outcome" in r]) == 12
    assert layer(d["hconcat"][0], "bar", order=None)["transform"] == [
        {"filter": "(datum.fiscal_quarter === 'FY2026-Q1')"}
    ]


def test_slipped_deals_without_stage_history_says_so() -> None:
    frame = slipped_deals(OPPS, FULL.stage_history.clear(), **SPAN)
    d = chart_slipped_deals(frame, title="Slipped").to_dict()
    assert [each["mark"]["type"] for each in d["layer"]] == ["text"]
    assert "stage_history" in rows(d)[0]["message"]


# -- data health -----------------------------------------------------------------------------
def health_spec(**kw) -> dict:
    return chart_health_issues(data_health(AS_OF, full=FULL), **kw).to_dict()


def test_health_chart_largest_flags_first_without_the_as_of_rules() -> None:
    d = health_spec(title="Largest flag", top=3)
    bars = [r for r in rows(d) if "check" in r]
    # shares of the table: no_stage_history 3/5 = 0.6; then 0.4: skipped_mql, mql_never_touched
    # (ties keep the rule order); the as-of rules never appear.
    assert [r["check"] for r in bars] == [
        "Opportunities: no stage history",
        "Leads: skipped the MQL stage",
        "Leads: MQL never touched by sales",
    ]
    assert layer(d, "bar")["encoding"]["y"]["sort"] == [r["check"] for r in bars]
    assert [r["bar_text"] for r in bars] == ["3 (60.0%)", "2 (40.0%)", "2 (40.0%)"]
    every = [r["rule"] for r in rows(health_spec(top=50)) if "rule" in r]
    assert len(every) == 18 and not [r for r in every if r.endswith("_after_as_of")]


def test_health_chart_tooltips_colours_and_legend() -> None:
    d = health_spec()
    enc = layer(d, "bar")["encoding"]
    assert tooltip_formats(enc) == {
        "Table": None,
        "Check": None,
        "Rule": None,
        "Rows": ",d",
        "Share of the table": ".1%",
        "What it counts": None,
        "Effect on the numbers": None,
    }
    assert enc["color"]["scale"]["domain"] == ["Leads", "Opportunities"]
    assert enc["color"]["scale"]["range"] == list(GROUP_COLORS[:2])
    assert enc["x"]["axis"]["format"] == ".0%"
    assert [p["name"] for p in legend_params(d)] == ["pick_table"]


def test_health_chart_with_nothing_flagged_says_so() -> None:
    clean = data_health(AS_OF, full=FULL).with_columns(pl.lit(0, dtype=pl.Int64).alias("rows"))
    d = chart_health_issues(clean).to_dict()
    assert d["mark"]["type"] == "text"


def test_group_palette_is_colour_blind_safe_and_never_a_team_colour() -> None:
    # Okabe-Ito minus the team colours, plus the neutral grey
    okabe_ito = {
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
        "#000000",
    }
    assert set(GROUP_COLORS) - {"#6B6B6B"} <= okabe_ito
    assert not set(GROUP_COLORS) & set(SOURCE_COLORS.values())


# -- no bookings at all: the charts say so and stay drawable -----------------------------------
@pytest.mark.slow
def test_cycle_charts_without_deals_say_so() -> None:
    import vl_convert

    none = OPPS.clear()
    linearity = chart_bookings_linearity(bookings_linearity(none, **SPAN), title="Linearity")
    d = linearity.to_dict()
    assert rows(d) == [{"message": "No bookings in the quarters shown"}]
    # before: every share null gave a y scale vl-convert sized as infinite, and the render died
    assert vl_convert.vegalite_to_png(d).startswith(b"\x89PNG")
    sized = none.with_columns(deal_size_band(pl.col("amount")))
    cycle = chart_sales_cycle(
        sales_cycle(none, **SPAN, by=("segment",)),
        sales_cycle(sized, **SPAN, by=("deal_size_band",)),
        by_source=sales_cycle(none, **SPAN, by=("source",)),
        title="Cycle",
    ).to_dict()
    assert rows(cycle) == [{"message": "No deals closed in the quarters shown"}]
    seasons = chart_seasonality(seasonality(none, FULL.leads.clear(), **SPAN), title="S")
    assert rows(seasons.to_dict()) == [
        {"message": "Too few quarters with data to compare the seasons"}
    ]
