"""Pipeline coverage with one population: qualified, in-period pipeline and its in-quarter
conversion; overdue deals on their own line. Expected values worked by hand.

The table is the second one of tests/metrics/test_forecast.py (``IQ_RAW``: deals A1-A13,
B1-B4 with an expected close date on every history row), worked there for the in-quarter
win probabilities. Fiscal year = calendar year, UTC.

In-quarter conversion, calibration quarters FY2026-Q1 and Q2 (at each one's start), the
per-stage table of test_forecast.py:
| stage         | deals | won in quarter | amount | won amount |
| Discovery     | 2     | 1              | 500    | 100        |  excluded: not qualified
| Legal         | 1     | 0              | 200    | 0          |
| Negotiation   | 1     | 0              | 300    | 0          |
| Proposal      | 3     | 2              | 400    | 200        |  (A7 without an amount adds 0)
| Qualification | 2     | 0              | 220    | 0          |
Qualified: 7 deals, 2 won, amount 1120, won 200: conversion 200 / 1120 = 5/28, by count
2/7; required coverage = 1120 / 200 = 5.6. Nothing excluded: 1620 and 300, 5.4.
Half-way through each quarter (elapsed 0.5): Legal 1/0/200/0, Negotiation 3/1/850/50,
Proposal 3/1/700/100, Qualification 2/0/220/0 (no Discovery deal then): 9 deals, 2 won,
1970 and 150: conversion 150 / 1970, required 1970 / 150.

Coverage as of the end of FY2026-Q2 (2026-06-30 23:59:59.999999: FY2026-Q3 is current,
nothing of it elapsed), targets bookings/shared Q3 280, Q4 50, none for FY2027-Q1:
open then: A10 Qualification 120 expected 09-30 (its 06-25 change), B1 Proposal 1000 expected
08-31, B2 Discovery 100 (not qualified), B3 Legal 200 expected 06-15 (a quarter already over:
overdue), B4 Proposal 300 expected 11-20.
| quarter   | deals     | pipeline | booked | remaining | coverage | required | gap  | status  |
| FY2026-Q3 | A10, B1   | 1120     | 0      | 280       | 4.0      | 5.6      | -1.6 | short   |
| FY2026-Q4 | B4        | 300      | 0      | 50        | 6.0      | 5.6      | 0.4  | covered |
| FY2027-Q1 | none      | 0        | 0      | no target: coverage, gap and status null      |
Overdue (every row): B3, 1 deal, 200; in no quarter's pipeline.

As of 2026-08-16 00:00 (half of Q3 elapsed) the Q3 row's conversion is the half-way one
(150 / 1970: required 13.13x), Q4's the start one (5/28: 5.6x); A10 (won 08-20) and B1 are
still open in Q3, B3 still overdue.

Coverage starting at Q4 as of the end of Q2: overdue is what lies before the current quarter
(Q3): B3 only; A10 and B1, expected in Q3, are in no row shown and not overdue. Coverage of
Q2 itself (a quarter already over): B3 is in Q2's row, nothing is overdue before it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalQuarter, in_quarter_conversion, pipeline_coverage
from alignment_lib.exceptions import ParameterError
from tests.metrics.test_forecast import AS_OF, END_Q2, IQ_RAW, TARGETS, UTC, frame

Q2, Q3, Q4 = FiscalQuarter(2026, 2), FiscalQuarter(2026, 3), FiscalQuarter(2026, 4)
SEEN = IQ_RAW.at(END_Q2)
MID = IQ_RAW.at(AS_OF)
GOALS = frame(
    TARGETS,
    [
        {"fiscal_quarter": q, "metric": "bookings", "team": "shared", "value": v}
        for q, v in (("FY2026-Q3", 280.0), ("FY2026-Q4", 50.0))
    ],
)


def coverage(data=SEEN, as_of: dt.datetime = END_Q2, **kw) -> pl.DataFrame:
    options = {"quarter": Q3, "quarters": 3, "calibration_quarters": 2} | kw
    return pipeline_coverage(
        data.opportunities,
        GOALS,
        stage_history=data.stage_history,
        calendar=UTC,
        as_of=as_of,
        **options,
    ).collect()


def test_in_quarter_conversion_of_qualified_pipeline_by_hand() -> None:
    got = in_quarter_conversion(
        SEEN.opportunities, SEEN.stage_history, calendar=UTC, as_of=END_Q2, quarters=2
    ).collect()
    assert got.row(0, named=True) == {
        "deals": 7,
        "won_in_quarter": 2,
        "amount": 1120.0,
        "won_amount": 200.0,
        "conversion": pytest.approx(200 / 1120),
        "conversion_count": pytest.approx(2 / 7),
    }
    every = in_quarter_conversion(
        SEEN.opportunities,
        SEEN.stage_history,
        calendar=UTC,
        as_of=END_Q2,
        quarters=2,
        exclude_stages=(),
    ).collect()
    assert every.select("amount", "won_amount").row(0) == (1620.0, 300.0)
    half = in_quarter_conversion(
        MID.opportunities, MID.stage_history, calendar=UTC, as_of=AS_OF, quarters=2, elapsed=0.5
    ).collect()
    assert half.select("deals", "won_in_quarter", "amount", "won_amount").row(0) == (
        9,
        2,
        1970.0,
        150.0,
    )


def test_coverage_by_hand() -> None:
    got = coverage()
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1"]
    expected = {
        "open_deals": [2, 1, 0],
        "open_pipeline": [1120.0, 300.0, 0.0],
        "open_deals_without_amount": [0, 0, 0],
        "bookings_to_date": [0.0, 0.0, 0.0],
        "target": [280.0, 50.0, None],
        "remaining": [280.0, 50.0, None],
        "coverage": [4.0, 6.0, None],
        "conversion": [200 / 1120] * 3,
        "required_coverage": [5.6] * 3,
        "coverage_gap": [-1.6, 0.4, None],
        "overdue_deals": [1, 1, 1],
        "overdue_pipeline": [200.0, 200.0, 200.0],
    }
    for column, values in expected.items():
        found = got[column].to_list()
        assert [v is None for v in found] == [v is None for v in values], column
        pairs = [(f, v) for f, v in zip(found, values, strict=True) if v is not None]
        assert [f for f, _ in pairs] == pytest.approx([v for _, v in pairs], rel=1e-12), column
    assert got["status"].to_list() == ["short", "covered", None]


def test_nothing_excluded_counts_discovery_on_both_sides() -> None:
    got = coverage(exclude_stages=(), quarters=1)
    # B2 (Discovery 100) joins Q3's pipeline; the conversion takes Discovery in too
    assert got.select("open_deals", "open_pipeline").row(0) == (3, 1220.0)
    assert got["required_coverage"][0] == pytest.approx(1620 / 300)


def test_current_quarter_mid_way_is_compared_with_the_conversion_mid_way() -> None:
    got = coverage(MID, AS_OF, quarters=2)
    assert got.select("open_deals", "open_pipeline", "overdue_deals").rows() == [
        (2, 1120.0, 1),
        (1, 300.0, 1),
    ]
    assert got["required_coverage"].to_list() == pytest.approx([1970 / 150, 5.6])


def test_overdue_is_what_lies_before_the_quarters_shown_and_the_current_one() -> None:
    later = coverage(quarter=Q4, quarters=1)
    assert later.select("open_pipeline", "overdue_deals", "overdue_pipeline").row(0) == (
        300.0,
        1,
        200.0,
    )
    past = coverage(quarter=Q2, quarters=1)
    assert past.select("open_deals", "open_pipeline", "overdue_deals").row(0) == (1, 200.0, 0)


def test_an_open_deal_without_an_amount_counts_as_a_deal_and_adds_nothing() -> None:
    no_amount = SEEN.opportunities.with_columns(
        pl.when(pl.col("opportunity_id") == "B1")
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    got = pipeline_coverage(
        no_amount,
        GOALS,
        stage_history=SEEN.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=1,
        calibration_quarters=2,
    ).collect()
    assert got.select("open_deals", "open_pipeline", "open_deals_without_amount").row(0) == (
        2,
        120.0,
        1,
    )


def test_without_close_date_history_the_required_coverage_is_unknown() -> None:
    got = pipeline_coverage(
        SEEN.opportunities,
        GOALS,
        stage_history=SEEN.stage_history.clear(),
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=1,
    ).collect()
    assert got.select("open_pipeline", "coverage").row(0) == (1120.0, 4.0)
    assert got.select("conversion", "required_coverage", "coverage_gap", "status").row(0) == (
        None,
        None,
        None,
        None,
    )


def test_nothing_won_in_quarter_gives_no_required_coverage() -> None:
    lost = SEEN.opportunities.with_columns(
        outcome=pl.when(pl.col("outcome").is_not_null()).then(pl.lit("lost"))
    )
    got = pipeline_coverage(
        lost,
        GOALS,
        stage_history=SEEN.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=1,
        calibration_quarters=2,
    ).collect()
    assert got.select("conversion", "required_coverage", "status").row(0) == (0.0, None, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calibration_quarters": 0}, "calibration_quarters"),
        ({"quarters": 0}, "quarters"),
        ({"as_of": dt.datetime(2026, 6, 30)}, "aware"),
    ],
)
def test_bad_parameters_are_parameter_errors(options: dict, message: str) -> None:
    kw = {"calendar": UTC, "quarter": Q3, "as_of": END_Q2} | options
    with pytest.raises(ParameterError, match=message):
        pipeline_coverage(SEEN.opportunities, GOALS, stage_history=SEEN.stage_history, **kw)


def test_deals_without_creation_dates_are_known_from_their_history() -> None:
    # every deal's first history row is on its creation day: without creation dates (an
    # export that does not track them) the same deals are open at the same past starts
    undated = SEEN.opportunities.with_columns(
        pl.lit(None, pl.Datetime("us", "UTC")).alias("created_at")
    )
    got = in_quarter_conversion(
        undated, SEEN.stage_history, calendar=UTC, as_of=END_Q2, quarters=2
    ).collect()
    assert got.select("deals", "won_in_quarter", "amount", "won_amount").row(0) == (
        7,
        2,
        1120.0,
        200.0,
    )
