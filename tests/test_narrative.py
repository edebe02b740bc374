from __future__ import annotations

import polars as pl
import pytest

from alignment_lib import (
    FiscalQuarter,
    pipeline_vs_bookings,
    pipeline_vs_bookings_headline,
    pipeline_vs_bookings_summary,
)
from alignment_lib.narrative import escape_markdown, format_money
from tests.metrics.test_pipeline import DEALS, UTC

Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)


def test_summary_sentences_worked_by_hand() -> None:
    frame = pipeline_vs_bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    # Q2: bookings 125 (A + E, both marketing), target 250 -> 50%; FY2025-Q2 is outside
    # the frame, so no year-on-year claim. Pipeline created in Q2: E 25 + D (no amount).
    assert pipeline_vs_bookings_summary(frame, quarter=Q2, bookings_target=250.0) == [
        "Bookings in FY2026-Q2 were $125, 50% of the $250 target.",
        "Marketing-sourced deals made 100% of them.",
        "Pipeline created in FY2026-Q2 was $25, 100% of it sourced by marketing.",
    ]


def test_summary_without_target_or_bookings() -> None:
    frame = pipeline_vs_bookings(DEALS.clear(), calendar=UTC, first=Q1, last=Q1).collect()
    assert pipeline_vs_bookings_summary(frame, quarter=Q1, bookings_target=None) == [
        "Bookings in FY2026-Q1 were $0.",
        "No pipeline was created in FY2026-Q1.",
    ]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "$0"),
        (950, "$950"),
        (12_345, "$12.3K"),
        (4_560_000, "$4.6M"),
        (2.5e9, "$2.5B"),
        (-1500, "-$1.5K"),
    ],
)
def test_format_money(amount: float, text: str) -> None:
    assert format_money(amount) == text


def test_escape_markdown_neutralises_markup() -> None:
    out = escape_markdown("</script><img src=x onerror=alert(1)> *bold*")
    assert "<" not in out and ">" not in out and "\\*bold\\*" in out


def test_headline_worked_by_hand() -> None:
    frame = pipeline_vs_bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    # Q1: bookings 110, none marketing (0%); pipeline 200, marketing 160 (80%).
    assert pipeline_vs_bookings_headline(frame, quarter=Q1) == (
        "Marketing sourced 0% of FY2026-Q1 bookings and 80% of its new pipeline"
    )
    empty = pipeline_vs_bookings(DEALS.clear(), calendar=UTC, first=Q1, last=Q1).collect()
    assert pipeline_vs_bookings_headline(empty, quarter=Q1) == (
        "No bookings and no new pipeline in FY2026-Q1"
    )


def test_long_clock_and_forecast_sentences_worked_by_hand() -> None:
    import polars as pl

    from alignment_lib import cohort_summary, creation_to_close_lag, lag_summary

    # Q2 bookings: A (created Q1, 100) and E (created Q2, 25): 100/125 = 80% earlier, 0% older.
    lag = creation_to_close_lag(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    assert lag_summary(lag, quarter=Q2) == (
        "80% of FY2026-Q2 bookings came from pipeline created in earlier quarters (0% from two "
        "or more quarters before): this quarter's closes stand on earlier quarters' pipeline."
    )
    curves = pl.DataFrame(
        {
            "quarter_index": [1, 2],
            "fiscal_quarter": ["A", "B"],
            "months_since_creation": [6, 6],
            "share": [0.2, 0.3],
            "observed": [True, False],
        }
    )
    assert (
        cohort_summary(curves) == "Of the pipeline created in A, 20% had been won 6 months later."
    )


#: a forecast_overview row worked by hand (the sample's FY2026-Q4 at 2026-09-30, rounded)
OVERVIEW_ROW = {
    "quarter_index": 8107,
    "fiscal_quarter": "FY2026-Q4",
    "quarters_ahead": 0,
    "elapsed": 0.0,
    "calibration": "seasonal",
    "booked_to_date": 0.0,
    "pipeline_forecast": 6_630_000.0,
    "creation_growth": 1.18,
    "naive_forecast": 6_070_000.0,
    "curve_forecast": None,
    "curve_basis": None,
    "pipeline_weight": 0.2,
    "naive_weight": 0.8,
    "curve_weight": 0.0,
    "forecast": 6_180_000.0,
    "forecast_low": 4_940_000.0,
    "forecast_high": 7_720_000.0,
    "track_quarters": 8,
    "target": 6_560_000.0,
    "baseline_quarter": "FY2025-Q4",
    "baseline_forecast": 5_140_000.0,
    "record_first": "FY2024-Q4",
    "record_last": "FY2026-Q3",
    "record_quarters": 8,
    "record_inside": 7,
    "record_mean_absolute_error": 0.1018,
    "record_bias": -0.011,
    "record_baseline_quarters": 7,
    "record_baseline_mean_absolute_error": 0.1403,
    "record_mean_absolute_error_same_quarters": 0.074,
}


def overview(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows))


def test_forecast_sentences_worked_by_hand() -> None:
    """6.18 / 6.56 = 94%; growth 1.18: "grown 18%"; 7 of the last 8 held, errors to one
    decimal; the baseline over 7 of the 8 quarters: the forecast's own error on those 7."""
    from alignment_lib import forecast_findings, forecast_headline, forecast_summary

    frame = overview(OVERVIEW_ROW)
    first = (
        "FY2026-Q4 bookings are forecast at $6.2M (80% range $4.9M to $7.7M), 94% of the "
        "$6.6M target."
    )
    record = (
        "Forecast at a quarter's start, the 80% range held in 7 of the last 8 quarters; mean "
        "error 10.2% (7.4% on the 7 quarters that have a year-ago quarter, against 14.0% for "
        "the same quarter last year)."
    )
    weights = (
        "It weighs the open pipeline and pipeline still to be created ($6.6M, 20%) and last "
        "year's FY2025-Q4 grown 18% with pipeline creation ($6.1M, 80%) by how accurate each "
        "has been over the last 8 quarters."
    )
    baseline = "The same quarter last year (FY2025-Q4) booked $5.1M (the seasonal-naive baseline)."
    assert forecast_findings(frame) == [first, record]
    assert forecast_headline(frame) == first.removesuffix(".")
    assert forecast_summary(frame) == [" ".join([first, baseline, record, weights])]


def test_forecast_sentences_mid_quarter_short_record_and_without_stage_history() -> None:
    from alignment_lib import forecast_summary

    mid = OVERVIEW_ROW | {
        "fiscal_quarter": "FY2026-Q3",
        "elapsed": 0.5,
        "booked_to_date": 1_430_000.0,
        "curve_forecast": 2_980_000.0,
        "curve_basis": "same quarter",
        "curve_weight": 0.1,
        "naive_weight": 0.6,
        "pipeline_weight": 0.3,
        "creation_growth": 0.95,
        "record_baseline_quarters": 2,
        "track_quarters": 2,
        "record_quarters": 2,
        "record_inside": 2,
    }
    (text,) = forecast_summary(overview(mid))
    assert "Forecast 50% of the way through a quarter, the 80% range held in 2 of the last 2" in (
        text
    )
    assert "mean error 10.2% (same quarter last year: 14.0%)." in text
    assert (
        "($6.6M, 30%), last year's FY2025-Q4 lowered 5% with pipeline creation ($6.1M, 60%) "
        "and the pace so far ($3.0M, 10%) by how accurate" in text
    )
    assert "$1.4M is booked; at the usual pace of the same quarter in earlier years that " in text
    assert text.endswith(
        "The range is wide: the kit has forecast only 2 quarters of this data at this point so far."
    )
    ahead = OVERVIEW_ROW | {"quarters_ahead": 2, "record_quarters": 0, "naive_forecast": None}
    (text,) = forecast_summary(overview(ahead))
    assert "Forecast 2 quarters ahead, the kit has no past forecast of this data to check " in text
    assert "It rests on the open pipeline and pipeline still to be created ($6.6M, 20%) alone" in (
        text
    )
    ever = OVERVIEW_ROW | {"calibration": "ever", "record_inside": 1}
    (text,) = forecast_summary(overview(ever))
    assert "Without stage history the kit cannot see which stage each open deal was in" in text
    assert "It weighs" not in text
    missing = OVERVIEW_ROW | {"forecast": None}
    assert forecast_summary(overview(missing)) == [
        "FY2026-Q4: no forecast, there is not yet enough history to calibrate one."
    ]


def test_cohort_findings_say_still_maturing_where_wins_are_expected() -> None:
    import polars as pl

    from alignment_lib import cohort_curves_headline, cohort_summary

    # three cohorts, maturity 7 months: A observed through 9 months (mature), B through 6
    # and C through 3 (still maturing)
    def cohort(index: int, name: str, shares: list[float], observed: int, mature: bool):
        return [
            {
                "quarter_index": index,
                "fiscal_quarter": name,
                "months_since_creation": m,
                "cohort_size": 100.0,
                "won_cumulative": share * 100,
                "share": share,
                "observed": m <= observed,
                "maturity_months": 7,
                "mature": mature,
            }
            for m, share in enumerate(shares)
        ]

    shares = [0.0, 0.05, 0.1, 0.15, 0.18, 0.2, 0.22, 0.24, 0.25, 0.26]
    frame = pl.DataFrame(
        cohort(1, "A", shares, 9, True)
        + cohort(2, "B", shares, 6, False)
        + cohort(3, "C", shares, 3, False)
    )
    assert cohort_summary(frame) == (
        "Of the pipeline created in B, 22% had been won 6 months later, and it is still "
        "maturing: 9 in 10 wins come within 7 months of creation; A, the latest mature "
        "cohort, had 26% won after 9 months."
    )
    assert cohort_summary(frame.filter(pl.col("fiscal_quarter") == "A")) == (
        "Of the pipeline created in A, 22% had been won 6 months later."
    )
    assert cohort_curves_headline(frame) == (
        "9 in 10 wins come within 7 months of creation; B to C are still maturing"
    )
    only_a = frame.filter(pl.col("fiscal_quarter") != "C").with_columns(mature=True)
    assert cohort_curves_headline(only_a) == (
        "9 in 10 wins come within 7 months of creation; every cohort shown is mature"
    )
    assert cohort_curves_headline(frame.filter(pl.col("fiscal_quarter") != "B")) == (
        "9 in 10 wins come within 7 months of creation; C is still maturing"
    )
    none_won = frame.with_columns(won_cumulative=pl.lit(0.0))
    assert cohort_curves_headline(none_won) == (
        "No pipeline created in the quarters shown has been won yet"
    )
