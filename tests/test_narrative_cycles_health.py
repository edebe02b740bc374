"""Findings of the 'Business cycles' and 'Data health' pages, on hand-built metric frames.

Business cycles (every frame below is written out by hand in the metric's shape):

- Linearity, FY2026-Q1..Q3: month-3 shares 30% (healthy), 50% (back-loaded), 62%
  (severe hockey stick); last-two-weeks shares 10%, 25%, 44%. Two of three are
  above the healthy 40%. Median of the three = 50%, so by the end of month 2
  expect 1 - 50% = 50%. With Q3 in progress it gets no status and leaves the
  median: (30% + 50%) / 2 = 40%, one of two above 40% (40% itself is healthy),
  expect 60%.
- Weekly curve, FY2026-Q1 (13 weeks): cumulative share 0.06 a week up to 0.48
  in week 8, 0.55 in week 9: half is reached in week 9 of 13.
- Seasonality: bookings indexes 0.8, 1.0, 0.9, 1.3 (Q4 30% above, Q1 20%
  below); pipeline peaks in Q1 (1.1), MQLs in Q2 (1.2); 2 quarters each: 8.
- Sales cycle, FY2026-Q3 won medians: Enterprise 150.4 -> 150, Mid-Market 90.2
  -> 90, SMB 30.0; segment null has no wins (left out). Bands (in the metric's
  sort order null, 25K-100K, <25K, >=100K): 60.3, 20.1, 170.0 -> stated
  smallest first: <25K 20, 25K-100K 60, >=100K 170.
- By source, FY2026-Q3: marketing 133.1 -> 133, partner no wins, sales 44.9 ->
  45: marketing's clock is the longest (stated first, longest first).
- Slipped, FY2026-Q3: 10 expected ($1,000,000): 4 won (40%), 2 lost, 3 pushed past the
  quarter ($250,000 -> $250.0K), 1 still open ($50,000): 4 + 2 + 3 + 1 = 10. Slipped (did
  not close in it) = 3 + 1 = 4 ($300,000 -> $300.0K), 30% of the expected amount.

Data health: the hand-built funnel of tests/metrics/test_health.py (its
docstring works out every count) seen as of 2026-03-31. Rows: leads 6 in the
data, 1 hidden, 5 in the report (MQLs L1, L2, L5 = 3); opportunities 6 / 1 / 5
(open O2, O3 and O5 reopened = 3; won O1; lost O4); stage history 5 / 2 / 3;
no targets. Rule shares of their population: lost_without_amount and
lost_no_decision 1 of 1 lost = 100%; mql_never_touched and mql_pending 2 of 3
MQLs = 67%; open_past_expected_close 2 of 3 open = 67%; then no_stage_history
3 of 5 = 60%, skipped_mql 2 of 5 = 40%, ... Every one of the 18 checks flags a
row. The largest share of its table: no_stage_history (3 of 5 = 60%).
"""

from __future__ import annotations

import polars as pl
import pytest

from alignment_lib import (
    FiscalQuarter,
    business_cycles_summary,
    data_health,
    data_health_headline,
    data_health_summary,
    hockey_stick_headline,
    linearity_headline,
    load_funnel,
    load_uncut,
    rows_loaded,
    sales_cycle_headline,
    seasonality_headline,
    slipped_deals_headline,
)
from tests.conftest import lead, opp
from tests.metrics.test_health import AS_OF, FULL

Q1, Q3 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 3)
LABELS = ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3"]


def linearity(month3=(0.30, 0.50, 0.62), last2=(0.10, 0.25, 0.44)) -> pl.DataFrame:
    status = [
        None
        if s is None
        else "healthy"
        if s <= 0.4
        else "back-loaded"
        if s < 0.6
        else "severe hockey stick"
        for s in month3
    ]
    return pl.DataFrame(
        {
            "quarter_index": [8104, 8105, 8106],
            "fiscal_quarter": LABELS,
            "month3_share": list(month3),
            "last_two_weeks_share": list(last2),
            "linearity_status": status,
        },
        schema_overrides={"month3_share": pl.Float64, "last_two_weeks_share": pl.Float64},
    )


def seasons(quarters=(2, 2, 2, 2)) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter_of_year": [1, 2, 3, 4],
            "quarter_label": ["Q1", "Q2", "Q3", "Q4"],
            "quarters": list(quarters),
            "bookings_index": [0.8, 1.0, 0.9, 1.3],
            "pipeline_created_index": [1.1, 1.0, 0.95, 0.95],
            "mqls_index": [1.0, 1.2, 0.9, 0.9],
        }
    )


CYCLE_SEGMENT = pl.DataFrame(
    {
        "fiscal_quarter": ["FY2026-Q3"] * 4 + ["FY2026-Q2"],
        "segment": [None, "Enterprise", "Mid-Market", "SMB", "Enterprise"],
        "median_days_won": [None, 150.4, 90.2, 30.0, 999.0],
    },
    schema_overrides={"median_days_won": pl.Float64},
)
CYCLE_SOURCE = pl.DataFrame(
    {
        "fiscal_quarter": ["FY2026-Q3"] * 3,
        "source": ["marketing", "partner", "sales"],
        "median_days_won": [133.1, None, 44.9],
    },
    schema_overrides={"median_days_won": pl.Float64},
)
CYCLE_BAND = pl.DataFrame(
    {
        "fiscal_quarter": ["FY2026-Q3"] * 4,
        "deal_size_band": [None, "25K-100K", "<25K", ">=100K"],
        "median_days_won": [None, 60.3, 20.1, 170.0],
    },
    schema_overrides={"median_days_won": pl.Float64},
)


def slipped(expected: int | None = 10, *, counts: tuple[int, int, int, int] = (4, 2, 3, 1)):
    """The FY2026-Q3 row of slipped_deals: won, lost, pushed, still open."""
    known = expected is not None
    won, lost, pushed, still_open = counts
    amounts = {"won": 400_000.0, "lost": 300_000.0, "pushed": 250_000.0, "still_open": 50_000.0}
    if pushed == 0 and still_open == 0:
        amounts |= {"pushed": 0.0, "still_open": 0.0}
    parts = {"won": won, "lost": lost, "pushed": pushed, "still_open": still_open}
    row: dict[str, list] = {"fiscal_quarter": ["FY2026-Q3"], "expected_deals": [expected]}
    for name, n in parts.items():
        row[f"{name}_deals"] = [n if known else None]
        row[f"{name}_amount"] = [amounts[name] if known else None]
    row["slipped_deals"] = [pushed + still_open if known else None]
    row["slipped_amount"] = [amounts["pushed"] + amounts["still_open"] if known else None]
    row["slipped_share_amount"] = [row["slipped_amount"][0] / 1_000_000 if known else None]
    ints = [c for c in row if c.endswith("_deals")]
    floats = [c for c in row if c.endswith(("_amount", "_share_amount"))]
    return pl.DataFrame(
        row,
        schema_overrides={**dict.fromkeys(ints, pl.Int64), **dict.fromkeys(floats, pl.Float64)},
    )


def weeks(shares: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "fiscal_quarter": ["FY2026-Q1"] * len(shares),
            "week_of_quarter": list(range(1, len(shares) + 1)),
            "cumulative_share": shares,
        },
        schema_overrides={"cumulative_share": pl.Float64},
    )


def summary(**kw) -> list[str]:
    frames = {
        "linearity": linearity(),
        "seasonality": seasons(),
        "cycle_by_segment": CYCLE_SEGMENT,
        "cycle_by_band": CYCLE_BAND,
        "slipped": slipped(),
        "quarter": Q3,
    }
    return business_cycles_summary(**{**frames, **kw})


# -- business cycles -------------------------------------------------------------------------
def test_business_cycles_summary_worked_by_hand() -> None:
    assert summary() == [
        "62% of FY2026-Q3 bookings closed in the quarter's last month (severe hockey stick); "
        "44% in its last two weeks.",
        "For planning: across 3 quarters a median 50% of bookings closed in month 3 (2 of 3 "
        "above the healthy 40%), so by the end of month 2 expect about 50% of the number.",
        "4 of the 10 deals expected in FY2026-Q3 at its start did not close in it ($300.0K, "
        "30% of the expected amount): 3 were pushed past the quarter ($250.0K) and 1 is still "
        "open, the date not moved out ($50.0K); 4 (40%) were won in it and 2 lost.",
        "Over the 8 quarters shown, Q4 books 30% above an average quarter and Q1 20% below; "
        "pipeline creation peaks in Q1 and MQLs peak in Q2.",
        "Median days from creation to a win in FY2026-Q3: by segment Enterprise 150, "
        "Mid-Market 90, SMB 30; by deal size <25K 20, 25K-100K 60, >=100K 170.",
    ]


def test_sources_run_on_different_clocks_and_come_first() -> None:
    assert summary(cycle_by_source=CYCLE_SOURCE)[-1] == (
        "Median days from creation to a win in FY2026-Q3: by source Marketing-sourced 133, "
        "Sales-sourced 45; by segment Enterprise 150, Mid-Market 90, SMB 30; by deal size "
        "<25K 20, 25K-100K 60, >=100K 170."
    )
    assert sales_cycle_headline(CYCLE_SEGMENT, quarter=Q3, cycle_by_source=CYCLE_SOURCE) == (
        "Marketing-sourced deals took longest to win in FY2026-Q3: a median 133 days "
        "(Sales-sourced 45)"
    )
    # one source with wins says nothing about clocks: the segments decide
    one = CYCLE_SOURCE.filter(pl.col("source") == "sales")
    assert sales_cycle_headline(CYCLE_SEGMENT, quarter=Q3, cycle_by_source=one).startswith(
        "Enterprise deals took longest"
    )


def test_quarter_in_progress_is_said_and_left_out_of_the_planning_median() -> None:
    assert summary(in_progress=True) == [
        "FY2026-Q3 is still in progress at the as-of date: its month 3 is not over, so its "
        "linearity cannot be judged yet (so far 62% of its bookings closed in its last "
        "month, 44% in its last two weeks).",
        "For planning: across 2 quarters a median 40% of bookings closed in month 3 (1 of 2 "
        "above the healthy 40%), so by the end of month 2 expect about 60% of the number.",
        "So far, 3 of the 10 deals expected in FY2026-Q3 at its start were pushed past the "
        "quarter ($250.0K); 4 (40%) were won in it and 2 lost; 1 is still open and can close "
        "in it.",
        "Over the 8 quarters shown, Q4 books 30% above an average quarter and Q1 20% below; "
        "pipeline creation peaks in Q1 and MQLs peak in Q2 (the report quarter is not over "
        "and pulls its quarter of the year down).",
        "Median days from creation to a win in FY2026-Q3: by segment Enterprise 150, "
        "Mid-Market 90, SMB 30; by deal size <25K 20, 25K-100K 60, >=100K 170.",
    ]


def test_no_bookings_no_history_one_year() -> None:
    lines = summary(
        linearity=linearity(month3=(None, None, None), last2=(None, None, None)),
        slipped=slipped(expected=None),
        seasonality=seasons(quarters=(1, 1, 1, 1)),
        cycle_by_segment=CYCLE_SEGMENT.clear(),
        cycle_by_band=CYCLE_BAND.clear(),
    )
    assert lines == [
        "No bookings closed in FY2026-Q3.",
        "Slipped deals are unknown: they need the close-date history of a stage_history "
        "table, which this data does not have.",
        "Over the 4 quarters shown, Q4 books 30% above an average quarter and Q1 20% below; "
        "pipeline creation peaks in Q1 and MQLs peak in Q2 (each quarter of the year seen "
        "once: one year is not yet a pattern).",
    ]


def test_nothing_expected_in_the_quarter() -> None:
    frame = slipped().with_columns(pl.lit(0, dtype=pl.Int64).alias("expected_deals"))
    assert summary(slipped=frame)[2] == (
        "No open deals were expected to close in FY2026-Q3 at its start."
    )
    assert slipped_deals_headline(frame, quarter=Q3) == (
        "No deals were expected to close in FY2026-Q3 at its start"
    )


def test_headlines_worked_by_hand() -> None:
    assert linearity_headline(linearity()) == (
        "Month 3 carried more than the healthy 40% of bookings in 2 of 3 quarters"
    )
    assert linearity_headline(linearity(month3=(0.3, 0.4, 0.35))) == (
        "Month 3 stayed within the healthy 40% in each of the 3 quarters shown"
    )
    assert seasonality_headline(seasons()) == "Q4 books 30% above an average quarter, Q1 20% below"
    assert sales_cycle_headline(CYCLE_SEGMENT, quarter=Q3) == (
        "Enterprise deals took longest to win in FY2026-Q3: a median 150 days "
        "(Mid-Market 90, SMB 30)"
    )
    assert slipped_deals_headline(slipped(), quarter=Q3) == (
        "4 of 10 deals expected in FY2026-Q3 did not close in it ($300.0K): 3 pushed past the "
        "quarter, 1 still open"
    )
    assert slipped_deals_headline(slipped(), quarter=Q3, in_progress=True) == (
        "So far 3 of 10 deals expected in FY2026-Q3 were pushed past it ($250.0K); 1 more is open"
    )
    closed = slipped(counts=(4, 6, 0, 0))
    assert slipped_deals_headline(closed, quarter=Q3) == (
        "Every one of the 10 deals expected in FY2026-Q3 closed in it"
    )
    assert summary(slipped=closed)[2] == (
        "All 10 deals expected in FY2026-Q3 closed in it: 4 (40%) were won in it and 6 lost."
    )
    assert slipped_deals_headline(slipped(expected=None), quarter=Q3) == (
        "Slipped deals are unknown: the data has no stage history"
    )


def test_headlines_without_data() -> None:
    assert linearity_headline(linearity(month3=(None, None, None))) == (
        "No bookings in the quarters shown"
    )
    assert seasonality_headline(seasons().with_columns(pl.lit(None).alias("bookings_index"))) == (
        "Too few quarters with bookings to compare the seasons"
    )
    assert sales_cycle_headline(CYCLE_SEGMENT, quarter=Q1) == "No deals won in FY2026-Q1"


@pytest.mark.parametrize(
    ("shares", "text"),
    [
        (
            [0.06 * w for w in range(1, 9)] + [0.55, 0.6, 0.8, 0.9, 1.0],
            "FY2026-Q1 reached half of its bookings in week 9 of 13",
        ),
        ([0.5, 1.0], "FY2026-Q1 reached half of its bookings in week 1 of 2"),
        ([None, None], "No bookings in FY2026-Q1"),
        ([], "No bookings in FY2026-Q1"),
    ],
)
def test_hockey_stick_headline(shares, text) -> None:
    assert hockey_stick_headline(weeks(shares), quarter=Q1) == text


# -- data health -----------------------------------------------------------------------------
def test_rows_loaded_before_and_after_the_cut() -> None:
    loaded = rows_loaded(AS_OF, full=FULL)
    assert loaded.rows() == [
        ("leads", "all", 6, 1, 5),
        ("leads", "MQLs", None, None, 3),
        ("opportunities", "all", 6, 1, 5),
        ("opportunities", "open", None, None, 3),
        ("opportunities", "won", None, None, 1),
        ("opportunities", "lost", None, None, 1),
        ("stage_history", "all", 5, 2, 3),
        ("targets", "all", 0, 0, 0),
    ]
    # Without the un-cut data what was hidden is unknown; data never cut hides nothing.
    assert rows_loaded(AS_OF)["in_source"].to_list()[:3] == [None, None, None]
    assert rows_loaded(FULL).filter(pl.col("part") == "all")["hidden_by_as_of"].to_list() == [
        0,
        0,
        0,
        0,
    ]


def test_data_health_summary_worked_by_hand() -> None:
    health = data_health(AS_OF, full=FULL).collect()
    lines = data_health_summary(health, rows_loaded(AS_OF, full=FULL), max_rules=4)
    assert lines == [
        "This report computes on 5 leads (3 MQLs), 5 opportunities (3 open, 1 won, 1 lost) "
        "and 3 stage-history rows.",
        "The as-of cut hid what came later: 1 lead, 1 opportunity and 2 stage-history rows; "
        "1 deal closed after it counts as open and 1 lead had later handoff events blanked.",
        "1 lost deal (100% of lost deals) has no amount: it counts as lost but weighs nothing "
        "in the win rate by amount, which it flatters.",
        "1 lost deal (100% of lost deals) was lost to 'No decision': it counts as lost.",
        "2 MQLs (67% of MQLs) were never touched by sales: each is an SLA miss once older "
        "than the SLA.",
        "2 MQLs (67% of MQLs) are neither accepted nor rejected: pending, or leaked once "
        "untouched past the SLA or touched and undecided past the stall threshold.",
        "0 of the 18 checks found no rows; the table below lists every check with its effect "
        "on the numbers.",
    ]
    assert data_health_headline(health) == "Largest flag: no stage history, 3 opportunities (60%)"


def test_data_health_summary_without_full_and_without_flags() -> None:
    health = data_health(AS_OF).collect()
    assert data_health_summary(health, rows_loaded(AS_OF), max_rules=0)[1] == (
        "What the as-of cut hid is unknown: the rows dated after it were not read."
    )
    clean = health.with_columns(pl.lit(0, dtype=pl.Int64).alias("rows"))
    lines = data_health_summary(clean, rows_loaded(AS_OF))
    assert lines[1:] == [
        "The as-of cut hid nothing: no row of the data is dated after it.",
        "18 of the 18 checks found no rows; the table below lists every check with its "
        "effect on the numbers.",
    ]
    assert data_health_headline(clean) == "No check flagged any row"


@pytest.mark.slow
def test_load_uncut_reads_the_same_folder_with_the_same_filters(make_data) -> None:
    folder = make_data(
        leads=[
            lead(lead_id="L1", segment="SMB"),
            lead(lead_id="L2", segment="Enterprise"),
            lead(lead_id="L3", segment="SMB", created_at="2026-05-01T09:00:00Z"),
        ],
        opportunities=[opp(opportunity_id="O1", segment="SMB")],
    )
    data = load_funnel(folder).where(segment="SMB").at("2026-03-31")
    full = load_uncut(data, filters={"segment": "SMB"})
    assert full is not None and full.as_of is None
    # L3 (SMB, created in May) is hidden by the cut; L2 is another segment.
    assert rows_loaded(data, full=full).row(0) == ("leads", "all", 2, 1, 1)
    assert load_uncut(load_funnel(folder)) is None  # not cut: nothing to compare with
