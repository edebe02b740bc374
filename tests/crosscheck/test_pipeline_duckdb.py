"""Pipeline created and bookings: polars vs an independent DuckDB SQL version."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from alignment_lib import pipeline_vs_bookings
from tests.crosscheck.conftest import QUARTER, quarter_number, sql

SQL = """
WITH q AS (
    SELECT 'pipeline_created' AS measure, source, amount,
           year(created_at) * 4 + (month(created_at) - 1) // 3 AS quarter_index
    FROM opportunities
    UNION ALL
    SELECT 'bookings', source, amount,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3
    FROM opportunities WHERE outcome = 'won'
)
SELECT quarter_index::INTEGER AS quarter_index, measure, source,
       count(*)::BIGINT AS deals, coalesce(sum(amount), 0)::DOUBLE AS amount,
       count(*) FILTER (WHERE amount IS NULL)::BIGINT AS deals_without_amount
FROM q WHERE quarter_index BETWEEN $first AND $last
GROUP BY ALL
"""


def test_pipeline_and_bookings_agree_with_sql(sample, duck) -> None:
    first = QUARTER.shift(-11)
    got = (
        pipeline_vs_bookings(
            sample.opportunities, calendar=sample.calendar, first=first, last=QUARTER
        )
        .filter(pl.col("deals") > 0)
        .select("quarter_index", "measure", "source", "deals", "amount", "deals_without_amount")
        .collect()
        .sort("quarter_index", "measure", "source")
    )
    want = sql(duck, SQL, first=quarter_number(first), last=quarter_number(QUARTER)).sort(
        "quarter_index", "measure", "source"
    )
    assert got.height > 50
    # deals without an amount are counted (left out of the amount), never silently 0
    assert got.filter(pl.col("measure") == "pipeline_created")["deals_without_amount"].sum() > 0
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)
