"""Pipeline created and bookings on a hand-built table; expected values worked by hand.

Calendar: fiscal year = calendar year, UTC. Quarters FY2026-Q1 (Jan-Mar), FY2026-Q2 (Apr-Jun).

| deal | created    | source    | amount | outcome | closed     |
|------|------------|-----------|--------|---------|------------|
| A    | 2026-01-15 | marketing | 100    | won     | 2026-04-10 |
| B    | 2026-02-01 | sales     | 40     | won     | 2026-03-31 |
| C    | 2026-03-01 | marketing | 60     | lost    | 2026-05-01 |
| D    | 2026-04-02 | partner   | (none) | open    |            |
| E    | 2026-05-05 | marketing | 25     | won     | 2026-06-30 |
| F    | 2025-12-20 | sales     | 70     | won     | 2026-01-20 |

Pipeline created (by created quarter, all statuses): Q1 marketing A+C = 2 deals, 160;
Q1 sales B = 1, 40; Q2 marketing E = 1, 25; Q2 partner D = 1 deal, amount 0 (none
recorded: left out of the amount, counted in deals_without_amount = 1); F was created in
FY2025-Q4, outside the range.
Bookings (won, by close quarter): Q1 sales B+F = 2, 110; Q2 marketing A+E = 2, 125.
Marketing share of bookings: Q1 0/110 = 0; Q2 125/125 = 1.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import (
    FiscalCalendar,
    FiscalQuarter,
    bookings,
    marketing_share,
    pipeline_created,
    pipeline_vs_bookings,
)
from alignment_lib.schema import OPPORTUNITIES

Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)
UTC = FiscalCalendar(1, "UTC")


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def opportunities(rows: list[tuple]) -> pl.LazyFrame:
    cols = ["opportunity_id", "created_at", "source", "amount", "outcome", "closed_at"]
    frame = pl.DataFrame(
        [dict(zip(cols, r, strict=True)) for r in rows],
        schema={c: OPPORTUNITIES.polars_schema[c] for c in cols},
    )
    return frame.lazy()


DEALS = opportunities(
    [
        ("A", t("2026-01-15T10:00"), "marketing", 100.0, "won", t("2026-04-10T10:00")),
        ("B", t("2026-02-01T10:00"), "sales", 40.0, "won", t("2026-03-31T23:00")),
        ("C", t("2026-03-01T10:00"), "marketing", 60.0, "lost", t("2026-05-01T10:00")),
        ("D", t("2026-04-02T10:00"), "partner", None, None, None),
        ("E", t("2026-05-05T10:00"), "marketing", 25.0, "won", t("2026-06-30T10:00")),
        ("F", t("2025-12-20T10:00"), "sales", 70.0, "won", t("2026-01-20T10:00")),
    ]
)


def expected(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "quarter_index": pl.Int32,
            "fiscal_quarter": pl.String,
            "source": pl.String,
            "deals": pl.Int64,
            "amount": pl.Float64,
            "deals_without_amount": pl.Int64,
        },
        orient="row",
    )


Q1I, Q2I = 2026 * 4, 2026 * 4 + 1


def test_pipeline_created_counts_every_status_by_created_quarter() -> None:
    got = pipeline_created(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    assert_frame_equal(
        got,
        expected(
            [
                (Q1I, "FY2026-Q1", "marketing", 2, 160.0, 0),
                (Q1I, "FY2026-Q1", "partner", 0, 0.0, 0),
                (Q1I, "FY2026-Q1", "sales", 1, 40.0, 0),
                (Q2I, "FY2026-Q2", "marketing", 1, 25.0, 0),
                (Q2I, "FY2026-Q2", "partner", 1, 0.0, 1),
                (Q2I, "FY2026-Q2", "sales", 0, 0.0, 0),
            ]
        ),
    )


def test_bookings_are_won_amount_by_close_quarter() -> None:
    got = bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    assert_frame_equal(
        got,
        expected(
            [
                (Q1I, "FY2026-Q1", "marketing", 0, 0.0, 0),
                (Q1I, "FY2026-Q1", "partner", 0, 0.0, 0),
                (Q1I, "FY2026-Q1", "sales", 2, 110.0, 0),
                (Q2I, "FY2026-Q2", "marketing", 2, 125.0, 0),
                (Q2I, "FY2026-Q2", "partner", 0, 0.0, 0),
                (Q2I, "FY2026-Q2", "sales", 0, 0.0, 0),
            ]
        ),
    )


def test_marketing_share_of_bookings() -> None:
    got = marketing_share(bookings(DEALS, calendar=UTC, first=Q1, last=Q2)).collect()
    assert got.select("fiscal_quarter", "total", "marketing", "share").rows() == [
        ("FY2026-Q1", 110.0, 0.0, 0.0),
        ("FY2026-Q2", 125.0, 125.0, 1.0),
    ]


def test_quarter_without_bookings_shows_zero_and_null_share() -> None:
    q4 = FiscalQuarter(2025, 4)
    got = bookings(DEALS, calendar=UTC, first=q4, last=q4).collect()
    assert got["amount"].to_list() == [0.0, 0.0, 0.0]
    assert marketing_share(got.lazy()).collect()["share"].to_list() == [None]


def test_time_zone_moves_a_close_across_the_quarter_boundary() -> None:
    # B closed 2026-03-31 23:00 UTC = 2026-04-01 01:00 in Berlin: a Q2 booking there.
    berlin = FiscalCalendar(1, "Europe/Berlin")
    got = bookings(DEALS, calendar=berlin, first=Q1, last=Q2).collect()
    by = {(r["fiscal_quarter"], r["source"]): r["amount"] for r in got.iter_rows(named=True)}
    assert by[("FY2026-Q1", "sales")] == 70.0
    assert by[("FY2026-Q2", "sales")] == 40.0


def test_deal_created_and_closed_the_same_day() -> None:
    same_day = opportunities(
        [("S", t("2026-02-03T09:00"), "sales", 10.0, "won", t("2026-02-03T15:00"))]
    )
    pvb = pipeline_vs_bookings(same_day, calendar=UTC, first=Q1, last=Q1).collect()
    sales = pvb.filter(pl.col("source") == "sales")
    assert sales.select("measure", "deals", "amount").sort("measure").rows() == [
        ("bookings", 1, 10.0),
        ("pipeline_created", 1, 10.0),
    ]


def test_empty_input_gives_a_zero_grid() -> None:
    got = pipeline_vs_bookings(DEALS.clear(), calendar=UTC, first=Q1, last=Q2).collect()
    assert got.height == 2 * 3 * 2
    assert got["amount"].sum() == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_result_does_not_depend_on_row_order(seed: int) -> None:
    shuffled = DEALS.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()
    assert_frame_equal(
        pipeline_vs_bookings(shuffled, calendar=UTC, first=Q1, last=Q2).collect(),
        pipeline_vs_bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect(),
    )


# -- split by an extra dimension ---------------------------------------------------------------
# Products: A P, B Q, C P, D none, E Q, F P. In range by creation: A, B, C (Q1), D, E (Q2);
# groups seen: P, Q and none. Pipeline created, non-zero cells: Q1 P marketing A+C = 2, 160;
# Q1 Q sales B = 1, 40; Q2 Q marketing E = 1, 25; Q2 none partner D = 1, 0 (no amount).
# Bookings, won in range: Q1 P sales F = 1, 70; Q1 Q sales B = 1, 40; Q2 P marketing A = 1,
# 100; Q2 Q marketing E = 1, 25 (D is open: no "none" group). Marketing share by product:
# Q1 P 0/70 = 0, Q1 Q 0/40 = 0, Q2 P 100/100 = 1, Q2 Q 25/25 = 1. The groups add up to
# the totals above (Q1 110, Q2 125).
PRODUCTS = {"A": "P", "B": "Q", "C": "P", "D": None, "E": "Q", "F": "P"}
BY_PRODUCT = DEALS.with_columns(
    pl.col("opportunity_id").replace_strict(PRODUCTS, return_dtype=pl.String).alias("product")
)


def _nonzero(frame: pl.LazyFrame) -> list[tuple]:
    got = frame.collect()
    return (
        got.filter(pl.col("deals") > 0)
        .select("fiscal_quarter", "product", "source", "deals", "amount")
        .rows()
    )


def test_pipeline_created_by_a_dimension() -> None:
    got = pipeline_created(BY_PRODUCT, calendar=UTC, first=Q1, last=Q2, by=["product"])
    assert got.collect().height == 2 * 3 * 3  # quarters x groups (P, Q, none) x sources
    assert _nonzero(got) == [
        ("FY2026-Q1", "P", "marketing", 2, 160.0),
        ("FY2026-Q1", "Q", "sales", 1, 40.0),
        ("FY2026-Q2", "Q", "marketing", 1, 25.0),
        ("FY2026-Q2", None, "partner", 1, 0.0),
    ]


def test_bookings_and_marketing_share_by_a_dimension() -> None:
    got = bookings(BY_PRODUCT, calendar=UTC, first=Q1, last=Q2, by=["product"])
    assert got.collect().height == 2 * 2 * 3  # no won deal without a product
    assert _nonzero(got) == [
        ("FY2026-Q1", "P", "sales", 1, 70.0),
        ("FY2026-Q1", "Q", "sales", 1, 40.0),
        ("FY2026-Q2", "P", "marketing", 1, 100.0),
        ("FY2026-Q2", "Q", "marketing", 1, 25.0),
    ]
    share = marketing_share(got, by=["product"]).collect()
    assert share.select("fiscal_quarter", "product", "total", "marketing", "share").rows() == [
        ("FY2026-Q1", "P", 70.0, 0.0, 0.0),
        ("FY2026-Q1", "Q", 40.0, 0.0, 0.0),
        ("FY2026-Q2", "P", 100.0, 100.0, 1.0),
        ("FY2026-Q2", "Q", 25.0, 25.0, 1.0),
    ]
    totals = share.group_by("fiscal_quarter").agg(pl.col("total").sum()).sort("fiscal_quarter")
    assert totals.rows() == [("FY2026-Q1", 110.0), ("FY2026-Q2", 125.0)]


def test_pipeline_vs_bookings_by_a_dimension_keeps_its_column() -> None:
    got = pipeline_vs_bookings(BY_PRODUCT, calendar=UTC, first=Q1, last=Q2, by=["product"])
    assert got.collect_schema().names() == [
        "quarter_index",
        "fiscal_quarter",
        "measure",
        "product",
        "source",
        "deals",
        "amount",
        "deals_without_amount",
    ]


def test_pipeline_split_by_a_column_the_data_lacks_is_a_parameter_error() -> None:
    from alignment_lib.exceptions import ParameterError

    with pytest.raises(ParameterError, match=r"'product'.*not a column"):
        pipeline_created(DEALS, calendar=UTC, first=Q1, last=Q2, by=["product"])
