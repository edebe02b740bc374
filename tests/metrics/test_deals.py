"""Win rates, sales cycle, closed-deal stats and velocity on a hand-built table.

Calendar: fiscal year = calendar year, UTC (FY2026-Q1 = Jan-Mar 2026, Q2 = Apr-Jun,
Q3 = Jul-Sep). All times 00:00 UTC unless written. Days are elapsed days.

| deal | created          | closed           | outcome          | amount  | segment    | lead |
|------|------------------|------------------|------------------|---------|------------|------|
| A    | 2026-01-05       | 2026-02-04       | won              | 10,000  | SMB        | L1   |
| B    | 2026-01-10       | 2026-03-11       | lost No decision | 30,000  | Mid-Market | L2   |
| C    | 2025-12-31 12:00 | 2026-03-31 12:00 | won              | 50,000  | Mid-Market | L3   |
| D    | 2026-02-01 09:00 | 2026-02-01 15:00 | won              | 0       | SMB        | L4   |
| E    | 2026-03-01       | (open)           |                  | 20,000  | Enterprise | L5   |
| F    | 2026-02-15       | 2026-05-16       | won              | 120,000 | Enterprise | -    |
| G    | 2026-04-01       | 2026-04-11       | lost Price       | (none)  | SMB        | L6   |
| H    | 2026-06-01       | (open)           |                  | (none)  | SMB        | -    |
| J    | 2026-06-10       | 2026-10-05       | lost Timing      | 40,000  | Mid-Market | -    |
| K    | 2026-07-15       | (open)           |                  | 5,000   | SMB        | -    |

Days: A Jan 5 -> Feb 4 = 26 + 4 = 30; B Jan 10 -> Mar 11 = 31 + 28 + 1 = 60;
C Dec 31 -> Mar 31 = 31 + 28 + 31 = 90; D 6 hours = 0.25; F Feb 15 -> May 16 =
28 + 31 + 30 + 1 = 90; G 10.

Win rates by close quarter (Q1..Q3). D (won, amount 0) counts as a win worth 0; F has
no lead and counts like any deal; B's "No decision" is a loss; E, H, K are open.
- Q1: A, B, C, D closed. won 3, lost 1, won_amount 60,000, lost_amount 30,000:
  win_rate_count 3/4 = 0.75, win_rate_amount 60/90 = 2/3, avg_deal_size 60,000/3 = 20,000.
- Q2: F won 120,000, G lost without an amount: won 1, lost 1, 120,000 / 0: rate by
  count 0.5, by amount 120/120 = 1.0 (G is left out of the amount rate: it has no amount,
  as it has none in pipeline created), avg 120,000; closed_without_amount 1 (G).
- Q3: no closes (J closes in Q4): zeros, null rates (a quarter with no bookings).
By segment (grid: Enterprise, Mid-Market, SMB, every quarter):
- Q1 Enterprise: zeros, nulls. Q1 Mid-Market: C won 50k, B lost 30k: 0.5, 50/80 =
  0.625, avg 50,000. Q1 SMB: A 10k and D 0 won: 1.0, 10/10 = 1.0, avg 5,000.
- Q2 Enterprise: F: 1.0, 1.0, 120,000. Q2 Mid-Market: zeros. Q2 SMB: G lost: rate by
  count 0.0, by amount 0/0 = null, avg null.
Fiscal year starting in February (FY2027-Q1 = Feb-Apr 2026, FY2026-Q4 = Nov 2025 -
Jan 2026, FY2027-Q2 = May-Jul 2026): FY2026-Q4 no closes; FY2027-Q1 A, B, C, D, G:
won 3, lost 2, 0.6, 60/90 = 2/3, avg 20,000; FY2027-Q2: F: 1.0, 1.0, 120,000.

Sales cycle (median with linear interpolation; p90 at position 0.9 * (n - 1)):
- Q1: won days [0.25, 30, 90] median 30; closed [0.25, 30, 60, 90] median
  (30 + 60) / 2 = 45; p90 position 2.7: 60 + 0.7 * 30 = 81. won 3, closed 4.
- Q2: won [90] median 90; closed [10, 90] median 50; p90 10 + 0.9 * 80 = 82.
- Q3: won 0, closed 0, nulls.
- By deal-size band in Q1: "25K-100K" = B, C: median won 90, closed 75, p90
  60 + 0.9 * 30 = 87; "<25K" = A, D: medians (0.25 + 30) / 2 = 15.125, p90
  0.25 + 0.9 * 29.75 = 27.025.

Closed-deal stats, as of 2026-06-30 23:59:59.999999, 365 days: A, B, C, D, F, G (J
closes after as-of): won 4, lost 2, won 180,000, lost 30,000: 4/6 = 2/3, 180/210 =
6/7, avg 45,000; cycle won [0.25, 30, 90, 90] median 60, mean 210.25 / 4 = 52.5625;
closed [0.25, 10, 30, 60, 90, 90] median 45; closed without an amount: G = 1.
By segment: Enterprise F: 1, 0, 1.0, 1.0, 120,000, 90, 90;
Mid-Market B, C: 1, 1, 0.5, 0.625, 50,000, 90, 75; SMB A, D, G: 2, 1, 2/3, 1.0,
5,000, 15.125, 10. Window of 60 days (from 2026-05-01 23:59:59.999999): F only.
Window edges, as of 2026-05-16 00:00 (F's close, included): 66 days starts exactly at
B's close (excluded): C, F won, G lost; 67 days adds B: 2 won, 2 lost.

Velocity, as of 2026-06-30 end (open qualified deals x win rate of qualified closes x
average deal size / MEAN won cycle): open deals E, H and J (closed later, so open then;
stage Proposal, no expected close date: qualified and not overdue); K is created later.
Without stage history every close counts: 3 x 2/3 x 45,000 / 52.5625 = 90,000 / 52.5625
= 1,712.25 per day (the median cycle, 60, gave 1,500). By segment (two won deals at
most: mean = median): Enterprise E: 1 x 1.0 x 120,000 / 90 = 1,333.33; Mid-Market J:
1 x 0.5 x 50,000 / 90 = 277.78; SMB H: 1 x 2/3 x 5,000 / 15.125 = 220.39.
With a stage history that has A, B, C, F in Qualification and D in Proposal before they
closed, and G only in Discovery (lost there): the qualified closes are A, B, C, D, F, 4
won of 5: 3 x 0.8 x 45,000 / 52.5625 = 108,000 / 52.5625 = 2,054.70 per day.
Four more open deals: P in Discovery (not qualified), Q expected 2026-06-15 and R
expected 2026-06-30 (overdue: their day is over at the end of 30 June), S expected
2026-07-01 (counted): 4 open deals, 4 x 2/3 x 45,000 / 52.5625 = 2,283.00.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError
from alignment_lib.metrics.deals import (
    closed_deal_stats,
    deal_size_band,
    sales_cycle,
    sales_velocity,
    win_rates,
)
from alignment_lib.schema import OPPORTUNITIES

UTC = FiscalCalendar(1, "UTC")
Q1, Q2, Q3 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2), FiscalQuarter(2026, 3)
Q1I = 2026 * 4
JUNE_END = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
NAN = None


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def opportunities(rows: list[dict]) -> pl.LazyFrame:
    """A canonical opportunities frame; columns not given are empty."""
    schema = OPPORTUNITIES.polars_schema
    full = [{c: r.get(c) for c in schema} for r in rows]
    return pl.DataFrame(full, schema=schema).lazy()


def deal(oid, created, closed, outcome, amount, segment, lead=None, reason=None) -> dict:
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "closed_at": t(closed) if closed else None,
        "outcome": outcome,
        "lost_reason": reason,
        "amount": amount,
        "segment": segment,
        "lead_id": lead,
        "source": "marketing",
        "stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome, "Proposal"),
    }


DEALS = opportunities(
    [
        deal("A", "2026-01-05", "2026-02-04", "won", 10_000.0, "SMB", "L1"),
        deal("B", "2026-01-10", "2026-03-11", "lost", 30_000.0, "Mid-Market", "L2", "No decision"),
        deal("C", "2025-12-31T12:00", "2026-03-31T12:00", "won", 50_000.0, "Mid-Market", "L3"),
        deal("D", "2026-02-01T09:00", "2026-02-01T15:00", "won", 0.0, "SMB", "L4"),
        deal("E", "2026-03-01", None, None, 20_000.0, "Enterprise", "L5"),
        deal("F", "2026-02-15", "2026-05-16", "won", 120_000.0, "Enterprise"),
        deal("G", "2026-04-01", "2026-04-11", "lost", None, "SMB", "L6", "Price"),
        deal("H", "2026-06-01", None, None, None, "SMB"),
        deal("J", "2026-06-10", "2026-10-05", "lost", 40_000.0, "Mid-Market", None, "Timing"),
        deal("K", "2026-07-15", None, None, 5_000.0, "SMB"),
    ]
)

RATE_COLUMNS = [
    "won",
    "lost",
    "won_amount",
    "lost_amount",
    "win_rate_count",
    "win_rate_amount",
    "avg_deal_size",
]


def rows(frame: pl.LazyFrame, *columns: str) -> list[tuple]:
    return frame.collect().select(columns).rows()


# -- win rates --------------------------------------------------------------------
def test_win_rates_by_close_quarter() -> None:
    got = win_rates(DEALS, calendar=UTC, first=Q1, last=Q3).collect()
    want = pl.DataFrame(
        [
            (Q1I, "FY2026-Q1", 3, 1, 60_000.0, 30_000.0, 0, 0.75, 2 / 3, 20_000.0),
            (Q1I + 1, "FY2026-Q2", 1, 1, 120_000.0, 0.0, 1, 0.5, 1.0, 120_000.0),
            (Q1I + 2, "FY2026-Q3", 0, 0, 0.0, 0.0, 0, None, None, None),
        ],
        schema={
            "quarter_index": pl.Int32,
            "fiscal_quarter": pl.String,
            "won": pl.Int64,
            "lost": pl.Int64,
            "won_amount": pl.Float64,
            "lost_amount": pl.Float64,
            "closed_without_amount": pl.Int64,
            "win_rate_count": pl.Float64,
            "win_rate_amount": pl.Float64,
            "avg_deal_size": pl.Float64,
        },
        orient="row",
    )
    assert_frame_equal(got, want)


def test_win_rates_by_segment_fill_the_grid() -> None:
    got = win_rates(DEALS, calendar=UTC, first=Q1, last=Q3, by=("segment",))
    assert rows(got, "fiscal_quarter", "segment", *RATE_COLUMNS) == [
        ("FY2026-Q1", "Enterprise", 0, 0, 0.0, 0.0, None, None, None),
        ("FY2026-Q1", "Mid-Market", 1, 1, 50_000.0, 30_000.0, 0.5, 0.625, 50_000.0),
        ("FY2026-Q1", "SMB", 2, 0, 10_000.0, 0.0, 1.0, 1.0, 5_000.0),
        ("FY2026-Q2", "Enterprise", 1, 0, 120_000.0, 0.0, 1.0, 1.0, 120_000.0),
        ("FY2026-Q2", "Mid-Market", 0, 0, 0.0, 0.0, None, None, None),
        ("FY2026-Q2", "SMB", 0, 1, 0.0, 0.0, 0.0, None, None),
        ("FY2026-Q3", "Enterprise", 0, 0, 0.0, 0.0, None, None, None),
        ("FY2026-Q3", "Mid-Market", 0, 0, 0.0, 0.0, None, None, None),
        ("FY2026-Q3", "SMB", 0, 0, 0.0, 0.0, None, None, None),
    ]


def test_win_rates_with_a_fiscal_year_starting_in_february() -> None:
    feb = FiscalCalendar(2, "UTC")
    got = win_rates(DEALS, calendar=feb, first=FiscalQuarter(2026, 4), last=FiscalQuarter(2027, 2))
    assert rows(got, "quarter_index", "fiscal_quarter", *RATE_COLUMNS) == [
        (2026 * 4 + 3, "FY2026-Q4", 0, 0, 0.0, 0.0, None, None, None),
        (2027 * 4, "FY2027-Q1", 3, 2, 60_000.0, 30_000.0, 0.6, pytest.approx(2 / 3), 20_000.0),
        (2027 * 4 + 1, "FY2027-Q2", 1, 0, 120_000.0, 0.0, 1.0, 1.0, 120_000.0),
    ]


def test_time_zone_decides_the_close_quarter() -> None:
    # T1 closes 2026-03-31 23:30 UTC = 2026-04-01 08:30 Tokyo = 2026-03-31 19:30 New York;
    # T2 closes 2026-04-01 03:00 UTC = 12:00 Tokyo = 2026-03-31 23:00 New York.
    pair = opportunities(
        [
            deal("T1", "2026-03-01", "2026-03-31T23:30", "won", 100.0, "SMB"),
            deal("T2", "2026-03-02", "2026-04-01T03:00", "lost", 100.0, "SMB"),
        ]
    )
    expected = {
        "UTC": [("FY2026-Q1", 1, 0), ("FY2026-Q2", 0, 1)],
        "Asia/Tokyo": [("FY2026-Q1", 0, 0), ("FY2026-Q2", 1, 1)],
        "America/New_York": [("FY2026-Q1", 1, 1), ("FY2026-Q2", 0, 0)],
    }
    for zone, want in expected.items():
        got = win_rates(pair, calendar=FiscalCalendar(1, zone), first=Q1, last=Q2)
        assert rows(got, "fiscal_quarter", "won", "lost") == want, zone


def test_empty_input_gives_zero_quarters() -> None:
    got = win_rates(DEALS.clear(), calendar=UTC, first=Q1, last=Q3).collect()
    assert got["won"].to_list() == [0, 0, 0]
    assert got["win_rate_count"].null_count() == 3
    by = win_rates(DEALS.clear(), calendar=UTC, first=Q1, last=Q3, by=("segment",)).collect()
    assert by.height == 0


# -- sales cycle ------------------------------------------------------------------
def test_sales_cycle_medians_and_p90() -> None:
    got = sales_cycle(DEALS, calendar=UTC, first=Q1, last=Q3)
    assert rows(
        got,
        "fiscal_quarter",
        "won",
        "closed",
        "median_days_won",
        "median_days_closed",
        "p90_days_closed",
    ) == [
        ("FY2026-Q1", 3, 4, 30.0, 45.0, pytest.approx(81.0)),
        ("FY2026-Q2", 1, 2, 90.0, 50.0, pytest.approx(82.0)),
        ("FY2026-Q3", 0, 0, None, None, None),
    ]
    schema = got.collect_schema()
    assert schema["median_days_won"] == pl.Float64
    assert schema["closed"] == pl.Int64


def test_sales_cycle_by_deal_size_band() -> None:
    banded = DEALS.with_columns(deal_size_band(pl.col("amount")))
    got = sales_cycle(banded, calendar=UTC, first=Q1, last=Q1, by=("deal_size_band",))
    assert rows(
        got, "deal_size_band", "won", "closed", "median_days_won", "median_days_closed"
    ) == [
        # the grid holds every band seen among Q1's closes (none of them lacks an amount)
        ("25K-100K", 1, 2, 90.0, 75.0),
        ("<25K", 2, 2, 15.125, 15.125),
    ]
    p90 = dict(rows(got, "deal_size_band", "p90_days_closed"))
    assert p90 == {"25K-100K": pytest.approx(87.0), "<25K": pytest.approx(27.025)}


def test_deal_size_band_edges() -> None:
    amounts = pl.DataFrame({"amount": [0.0, 24_999.99, 25_000.0, 99_999.0, 100_000.0, None]})
    got = amounts.select(deal_size_band(pl.col("amount")))
    assert got["deal_size_band"].to_list() == [
        "<25K",
        "<25K",
        "25K-100K",
        "25K-100K",
        ">=100K",
        None,
    ]


def test_same_day_deal_has_a_fractional_cycle() -> None:
    got = sales_cycle(
        DEALS.filter(pl.col("opportunity_id") == "D"), calendar=UTC, first=Q1, last=Q1
    )
    assert rows(got, "median_days_won", "p90_days_closed") == [(0.25, 0.25)]


# -- closed-deal stats --------------------------------------------------------------
STAT_COLUMNS = [
    *RATE_COLUMNS,
    "median_cycle_days_won",
    "median_cycle_days_closed",
]


def test_closed_deal_stats_over_the_trailing_year() -> None:
    got = closed_deal_stats(DEALS, as_of=JUNE_END)
    assert rows(got, *STAT_COLUMNS) == [
        (
            4,
            2,
            180_000.0,
            30_000.0,
            pytest.approx(2 / 3),
            pytest.approx(6 / 7),
            45_000.0,
            60.0,
            45.0,
        )
    ]


def test_closed_deal_stats_count_deals_without_amount_and_the_mean_cycle() -> None:
    got = closed_deal_stats(DEALS, as_of=JUNE_END)
    assert rows(got, "closed_without_amount", "mean_cycle_days_won") == [(1, 52.5625)]


def test_closed_deal_stats_by_segment() -> None:
    got = closed_deal_stats(DEALS, as_of=JUNE_END, by=("segment",))
    assert rows(got, "segment", *STAT_COLUMNS) == [
        ("Enterprise", 1, 0, 120_000.0, 0.0, 1.0, 1.0, 120_000.0, 90.0, 90.0),
        ("Mid-Market", 1, 1, 50_000.0, 30_000.0, 0.5, 0.625, 50_000.0, 90.0, 75.0),
        ("SMB", 2, 1, 10_000.0, 0.0, pytest.approx(2 / 3), 1.0, 5_000.0, 15.125, 10.0),
    ]


def test_closed_deal_stats_window_edges() -> None:
    assert rows(closed_deal_stats(DEALS, as_of=JUNE_END, window_days=60), "won", "lost") == [(1, 0)]
    at_f = t("2026-05-16")
    assert rows(closed_deal_stats(DEALS, as_of=at_f, window_days=66), "won", "lost") == [(2, 1)]
    assert rows(closed_deal_stats(DEALS, as_of=at_f, window_days=67), "won", "lost") == [(2, 2)]


def test_closed_deal_stats_with_nothing_closed_is_one_empty_row() -> None:
    got = closed_deal_stats(DEALS, as_of=t("2025-01-01"))
    assert rows(got, *STAT_COLUMNS) == [(0, 0, 0.0, 0.0, None, None, None, None, None)]


# -- velocity -----------------------------------------------------------------------
VELOCITY_COLUMNS = [
    "open_deals",
    "win_rate_count",
    "avg_deal_size",
    "mean_cycle_days_won",
    "velocity_per_day",
]


def velocity(opps: pl.LazyFrame = DEALS, **kw) -> pl.LazyFrame:
    return sales_velocity(opps, **({"calendar": UTC, "as_of": JUNE_END} | kw))


def history(oid: str, day: str, stage: str) -> dict:
    return {"opportunity_id": oid, "changed_at": t(day), "stage": stage}


#: A, B, C, F in Qualification and D in Proposal before they closed; G only in Discovery
HISTORY = pl.DataFrame(
    [
        history("A", "2026-01-05", "Qualification"),
        history("B", "2026-01-10", "Qualification"),
        history("C", "2025-12-31", "Qualification"),
        history("D", "2026-02-01T09:00", "Proposal"),
        history("F", "2026-02-15", "Qualification"),
        history("G", "2026-04-01", "Discovery"),
        history("G", "2026-04-11", "Closed Lost"),
    ],
    schema={
        "opportunity_id": pl.String,
        "changed_at": pl.Datetime("us", "UTC"),
        "stage": pl.String,
    },
).lazy()


def test_sales_velocity() -> None:
    assert rows(velocity(), *VELOCITY_COLUMNS) == [
        (3, pytest.approx(2 / 3), 45_000.0, 52.5625, pytest.approx(90_000 / 52.5625))
    ]


def test_sales_velocity_takes_the_win_rate_of_qualified_closes() -> None:
    # G, lost in Discovery, is not in the rate, as a Discovery deal is not in the open deals
    assert rows(velocity(stage_history=HISTORY), *VELOCITY_COLUMNS) == [
        (3, pytest.approx(0.8), 45_000.0, 52.5625, pytest.approx(108_000 / 52.5625))
    ]


def test_sales_velocity_counts_open_qualified_deals_not_overdue() -> None:
    more = pl.concat(
        [
            DEALS,
            opportunities(
                [
                    deal("P", "2026-06-01", None, None, 1.0, "SMB") | {"stage": "Discovery"},
                    *(
                        deal(oid, "2026-06-01", None, None, 1.0, "SMB")
                        | {"expected_close_date": dt.date.fromisoformat(day)}
                        for oid, day in (
                            ("Q", "2026-06-15"),
                            ("R", "2026-06-30"),
                            ("S", "2026-07-01"),
                        )
                    ),
                ]
            ),
        ]
    )
    got = velocity(more)
    assert rows(got, "open_deals", "velocity_per_day") == [(4, pytest.approx(120_000 / 52.5625))]
    # at noon of 30 June R's day is not over yet: it still counts
    noon = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    assert rows(velocity(more, as_of=noon), "open_deals") == [(5,)]


def test_sales_velocity_by_segment() -> None:
    got = velocity(by=("segment",))
    assert rows(got, "segment", "open_deals", "velocity_per_day") == [
        ("Enterprise", 1, pytest.approx(120_000 / 90)),
        ("Mid-Market", 1, pytest.approx(0.5 * 50_000 / 90)),
        ("SMB", 1, pytest.approx(2 / 3 * 5_000 / 15.125)),
    ]


def test_sales_velocity_is_null_without_a_cycle() -> None:
    # the only win closed at the instant it was created: a 0-day cycle gives no velocity
    instant = opportunities(
        [
            deal("X", "2026-05-01T10:00", "2026-05-01T10:00", "won", 500.0, "SMB"),
            deal("Y", "2026-05-02", None, None, 500.0, "SMB"),
        ]
    )
    got = velocity(instant)
    assert rows(got, *VELOCITY_COLUMNS) == [(1, 1.0, 500.0, 0.0, None)]
    empty = velocity(DEALS.clear())
    assert rows(empty, *VELOCITY_COLUMNS) == [(0, None, None, None, None)]


# -- parameters ---------------------------------------------------------------------
def test_bad_parameters_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="deal_size_band"):
        win_rates(DEALS, calendar=UTC, first=Q1, last=Q1, by=("deal_size_band",))
    with pytest.raises(ParameterError, match="time-zone aware"):
        closed_deal_stats(DEALS, as_of=dt.datetime(2026, 6, 30))
    with pytest.raises(ParameterError, match="window_days"):
        velocity(window_days=0)


def test_a_single_column_name_is_accepted_as_by() -> None:
    assert_frame_equal(
        win_rates(DEALS, calendar=UTC, first=Q1, last=Q1, by="segment").collect(),
        win_rates(DEALS, calendar=UTC, first=Q1, last=Q1, by=["segment"]).collect(),
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_row_order_does_not_matter(seed: int) -> None:
    shuffled = DEALS.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()
    kw = {"calendar": UTC, "first": Q1, "last": Q3, "by": ("segment",)}
    assert_frame_equal(win_rates(shuffled, **kw).collect(), win_rates(DEALS, **kw).collect())
    assert_frame_equal(sales_cycle(shuffled, **kw).collect(), sales_cycle(DEALS, **kw).collect())
    assert_frame_equal(
        velocity(shuffled, by=("segment",), stage_history=HISTORY).collect(),
        velocity(DEALS, by=("segment",), stage_history=HISTORY).collect(),
    )
