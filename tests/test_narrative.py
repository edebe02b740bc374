from __future__ import annotations

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

    from alignment_lib import cohort_summary, creation_to_close_lag, forecast_summary, lag_summary

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
    forecast = pl.DataFrame(
        {
            "quarter_index": [1],
            "fiscal_quarter": ["FY2026-Q4"],
            "forecast": [6_700_000.0],
            "forecast_low": [5_800_000.0],
            "forecast_high": [7_600_000.0],
            "target": [6_560_000.0],
        }
    )
    assert forecast_summary(forecast) == (
        "FY2026-Q4 bookings are forecast at $6.7M (80% range $5.8M to $7.6M), 102% of the "
        "$6.6M target."
    )


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
