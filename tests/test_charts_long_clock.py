"""Specs of the long-clock and forecast charts of 'Pipeline vs closes'."""

from __future__ import annotations

import polars as pl

from alignment_lib import (
    chart_bookings_forecast,
    chart_cohort_curves,
    chart_creation_to_close_lag,
)
from alignment_lib.theme import SOURCE_COLORS
from tests._charts import layer

LAG = pl.DataFrame(
    {
        "quarter_index": [8106] * 4,
        "fiscal_quarter": ["FY2026-Q3"] * 4,
        "lag_quarters": [0, 1, 2, 3],
        "lag_bucket": [
            "same quarter",
            "1 quarter before",
            "2 quarters before",
            "3+ quarters before",
        ],
        "deals": [1, 2, 3, 0],
        "amount": [10.0, 20.0, 30.0, 0.0],
        "share": [1 / 6, 2 / 6, 3 / 6, 0.0],
    }
)


def test_lag_chart_stacks_to_100_percent_with_legend_highlight() -> None:
    d = chart_creation_to_close_lag(LAG, title="t", report_quarter="FY2026-Q3").to_dict()
    bars = layer(d, "bar", color="lag_bucket")
    assert bars["encoding"]["y"]["stack"] == "normalize"
    assert bars["encoding"]["color"]["scale"]["domain"] == LAG["lag_bucket"].to_list()
    params = bars.get("params") or d["params"]  # altair hoists params of layered charts
    assert params[0]["select"]["fields"] == ["lag_bucket"] and params[0]["bind"] == "legend"
    assert {t["format"] for t in bars["encoding"]["tooltip"] if "format" in t} == {
        ".1%",
        "$,.0f",
        ",d",
    }


def test_cohort_curves_draw_only_observed_points_and_dash_immature_cohorts() -> None:
    curves = pl.DataFrame(
        {
            "quarter_index": [8105, 8105, 8106, 8106],
            "fiscal_quarter": ["Q2", "Q2", "Q3", "Q3"],
            "months_since_creation": [0, 1, 0, 1],
            "cohort_size": [100.0] * 4,
            "won_cumulative": [0.0, 10.0, 0.0, 5.0],
            "share": [0.0, 0.1, 0.0, 0.05],
            "observed": [True, True, True, False],
            "mature": [True, True, False, False],
        }
    )
    d = chart_cohort_curves(curves, title="t").to_dict()
    rows = next(iter(d["datasets"].values()))
    assert len(rows) == 3  # the unobserved point is not drawn
    assert {r["maturity"] for r in rows} == {"mature", "still maturing"}
    assert d["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [5, 3]]
    assert d["title"]["subtitle"][1] == "dashed: cohort still maturing"
    # with the metric's maturity, the subtitle says when a cohort stops maturing
    timed = chart_cohort_curves(curves.with_columns(maturity_months=pl.lit(7)), title="t")
    assert timed.to_dict()["title"]["subtitle"][1] == (
        "dashed: still maturing, younger than 7 months (9 in 10 wins come within that time): "
        "wins are still expected"
    )


def test_forecast_chart_marks_the_forecast_apart_from_the_stacked_parts() -> None:
    """The stacked parts add up to the pipeline estimate (1 + 2 + 3 = 6); the forecast
    weighs it with last year's quarter grown and is 5.5: its own mark (a diamond) with
    its range, beside the same quarter last year (an open circle) and the target."""
    forecast = pl.DataFrame(
        {
            "quarter_index": [8107],
            "fiscal_quarter": ["FY2026-Q4"],
            "booked_to_date": [1.0],
            "open_expected": [2.0],
            "not_yet_created_expected": [3.0],
            "pipeline_forecast": [6.0],
            "naive_forecast": [5.2],
            "curve_forecast": [None],
            "forecast": [5.5],
            "forecast_low": [5.0],
            "forecast_high": [7.0],
            "target": [6.5],
            "baseline_quarter": ["FY2025-Q4"],
            "baseline_forecast": [4.8],
        }
    )
    d = chart_bookings_forecast(forecast, title="t").to_dict()
    assert len(d["layer"]) == 5
    bars = layer(d, "bar")
    interval = layer(d, y2="forecast_high")
    point = layer(d, "point", y="forecast")
    baseline = layer(d, y="baseline_forecast")
    target = layer(d, y="target")
    colours = bars["encoding"]["color"]["scale"]["range"]
    assert not set(colours) & set(SOURCE_COLORS.values())
    assert bars["encoding"]["color"]["title"] == "Pipeline estimate"
    assert interval["encoding"]["y2"]["field"] == "forecast_high"
    assert (point["mark"]["shape"], point["encoding"]["y"]["field"]) == ("diamond", "forecast")
    assert baseline["encoding"]["y"]["field"] == "baseline_forecast"
    assert baseline["mark"]["filled"] is False
    assert target["encoding"]["y"]["field"] == "target"
    rows = d["datasets"][point["data"]["name"]]
    assert rows[0]["forecast"] == 5.5 and rows[0]["pipeline_forecast"] == 6.0
    # bookings_forecast output without the baseline still draws
    plain = chart_bookings_forecast(
        forecast.drop("baseline_quarter", "baseline_forecast"), title="t"
    )
    assert len(plain.to_dict()["layer"]) == 5


def test_long_clock_charts_without_bookings_say_so() -> None:
    no_share = LAG.with_columns(pl.lit(None, dtype=pl.Float64).alias("share"))
    lag = chart_creation_to_close_lag(no_share, title="Lag").to_dict()
    assert lag["description"] == "No bookings in the quarters shown"
    # cohorts with no created pipeline (size 0) have null shares
    empty = pl.DataFrame(
        {
            "quarter_index": [8105, 8105],
            "fiscal_quarter": ["Q2", "Q2"],
            "months_since_creation": [0, 1],
            "cohort_size": [0.0, 0.0],
            "won_cumulative": [0.0, 0.0],
            "share": [None, None],
            "observed": [True, True],
            "mature": [True, True],
        },
        schema_overrides={"share": pl.Float64},
    )
    curves = chart_cohort_curves(empty, title="Curves").to_dict()
    assert curves["description"] == "No pipeline created in the cohorts shown"


def test_forecast_table_states_the_record_on_comparable_quarters() -> None:
    """8 past forecasts, 7 with a year-ago quarter: the comparison is made on those 7."""
    import html
    import re

    from alignment_lib import table_bookings_forecast

    row = {
        "quarter_index": 8107,
        "fiscal_quarter": "FY2026-Q4",
        "calibration": "seasonal",
        "forecast": 6_180_000.0,
        "forecast_low": 4_940_000.0,
        "forecast_high": 7_720_000.0,
        "target": 6_560_000.0,
        "baseline_quarter": "FY2025-Q4",
        "baseline_forecast": 5_140_000.0,
        "pipeline_forecast": 6_630_000.0,
        "pipeline_weight": 0.2,
        "naive_forecast": 6_070_000.0,
        "naive_weight": 0.8,
        "curve_forecast": None,
        "curve_weight": 0.0,
        "record_first": "FY2024-Q4",
        "record_last": "FY2026-Q3",
        "record_quarters": 8,
        "record_inside": 7,
        "record_mean_absolute_error": 0.1018,
        "record_baseline_quarters": 7,
        "record_baseline_mean_absolute_error": 0.1403,
        "record_mean_absolute_error_same_quarters": 0.074,
    }
    page = table_bookings_forecast(pl.DataFrame([row])).as_raw_html()
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert (
        "FY2026-Q4 $6,180,000 $4.9M to $7.7M $6,560,000 94% $5.1M (FY2025-Q4) pipeline $6.6M "
        "(20%) · last year grown $6.1M (80%) range held 7 of 8; mean error 10.2%; on the 7 "
        "with a year-ago quarter 7.4% vs last year's 14.0%"
    ) in text
    assert "for FY2024-Q4 to FY2026-Q3" in text
