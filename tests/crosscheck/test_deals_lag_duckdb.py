"""Win rates, sales cycle, closed-deal stats, velocity, lag and cohort curves: polars vs DuckDB.

Definitions written again in SQL from docs/metrics/deals-lag.md, without calling
the kit: quarters of UTC timestamps in a calendar fiscal year, cycle days as elapsed
microseconds / 86,400e6, quantiles as ``quantile_cont`` (linear interpolation),
months since creation as calendar months (``timestamp + to_months(n)``).
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from alignment_lib.metrics.deals import (
    closed_deal_stats,
    sales_cycle,
    sales_velocity,
    win_rates,
)
from alignment_lib.metrics.lag import cohort_conversion_curve, creation_to_close_lag
from tests.crosscheck.conftest import AS_OF, QUARTER, quarter_number, sql

FIRST = QUARTER.shift(-11)

CLOSED = """
closed AS (
    SELECT *,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS quarter_index,
           (epoch_us(closed_at) - epoch_us(created_at)) / 86400e6 AS days,
           outcome = 'won' AS is_won
    FROM opportunities WHERE closed_at IS NOT NULL
)
"""

WIN_RATES = f"""
WITH {CLOSED}
SELECT quarter_index::INTEGER AS quarter_index,
       count(*) FILTER (WHERE is_won)::BIGINT AS won,
       count(*) FILTER (WHERE NOT is_won)::BIGINT AS lost,
       coalesce(sum(amount) FILTER (WHERE is_won), 0)::DOUBLE AS won_amount,
       coalesce(sum(amount) FILTER (WHERE NOT is_won), 0)::DOUBLE AS lost_amount,
       count(*) FILTER (WHERE amount IS NULL)::BIGINT AS closed_without_amount,
       (count(*) FILTER (WHERE is_won) / count(*))::DOUBLE AS win_rate_count,
       -- by amount: only the deals with an amount (SQL's sum skips the others)
       (sum(amount) FILTER (WHERE is_won) / nullif(sum(amount), 0))::DOUBLE AS win_rate_amount,
       (sum(amount) FILTER (WHERE is_won)
           / count(amount) FILTER (WHERE is_won))::DOUBLE AS avg_deal_size
FROM closed WHERE quarter_index BETWEEN $first AND $last
GROUP BY ALL ORDER BY quarter_index
"""

SALES_CYCLE = f"""
WITH {CLOSED}
SELECT quarter_index::INTEGER AS quarter_index,
       count(*) FILTER (WHERE is_won)::BIGINT AS won,
       count(*)::BIGINT AS closed,
       quantile_cont(days, 0.5) FILTER (WHERE is_won) AS median_days_won,
       quantile_cont(days, 0.5) AS median_days_closed,
       quantile_cont(days, 0.9) AS p90_days_closed
FROM closed WHERE quarter_index BETWEEN $first AND $last
GROUP BY ALL ORDER BY quarter_index
"""

LAG = """
WITH won AS (
    SELECT amount,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS quarter_index,
           least(
               year(closed_at) * 4 + (month(closed_at) - 1) // 3
               - (year(created_at) * 4 + (month(created_at) - 1) // 3),
               3
           ) AS lag_quarters
    FROM opportunities WHERE outcome = 'won'
), buckets AS (
    SELECT quarter_index, lag_quarters, count(*) AS deals, sum(amount) AS amount
    FROM won WHERE quarter_index BETWEEN $first AND $last
    GROUP BY ALL
)
SELECT quarter_index::INTEGER AS quarter_index, lag_quarters::INTEGER AS lag_quarters,
       deals::BIGINT AS deals, amount::DOUBLE AS amount,
       (amount / nullif(sum(amount) OVER (PARTITION BY quarter_index), 0))::DOUBLE AS share
FROM buckets ORDER BY quarter_index, lag_quarters
"""

TRAILING = """
WITH closed AS (
    SELECT segment, amount, outcome = 'won' AS is_won,
           (epoch_us(closed_at) - epoch_us(created_at)) / 86400e6 AS days
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 365 DAY AND closed_at <= $as_of
)
SELECT segment,
       count(*) FILTER (WHERE is_won)::BIGINT AS won,
       count(*) FILTER (WHERE NOT is_won)::BIGINT AS lost,
       coalesce(sum(amount) FILTER (WHERE is_won), 0)::DOUBLE AS won_amount,
       coalesce(sum(amount) FILTER (WHERE NOT is_won), 0)::DOUBLE AS lost_amount,
       count(*) FILTER (WHERE amount IS NULL)::BIGINT AS closed_without_amount,
       (count(*) FILTER (WHERE is_won) / count(*))::DOUBLE AS win_rate_count,
       (sum(amount) FILTER (WHERE is_won) / nullif(sum(amount), 0))::DOUBLE AS win_rate_amount,
       (sum(amount) FILTER (WHERE is_won) / count(amount) FILTER (WHERE is_won))::DOUBLE
           AS avg_deal_size,
       quantile_cont(days, 0.5) FILTER (WHERE is_won) AS median_cycle_days_won,
       quantile_cont(days, 0.5) AS median_cycle_days_closed,
       avg(days) FILTER (WHERE is_won) AS mean_cycle_days_won
FROM closed GROUP BY ALL ORDER BY segment
"""

# Velocity (docs/metrics/deals-lag.md): open deals at as-of in a stage other than Discovery
# whose expected close day is not over (the sample's calendar is UTC) x the win rate by count
# of the closes in the 365 days that stage_history shows in a stage other than Discovery
# before they closed x won amount / won deals with an amount x 1 / the MEAN won cycle.
VELOCITY = """
WITH closed AS (
    SELECT o.opportunity_id, o.segment, o.amount, o.outcome = 'won' AS is_won,
           (epoch_us(o.closed_at) - epoch_us(o.created_at)) / 86400e6 AS days
    FROM opportunities o
    WHERE o.closed_at > $as_of - INTERVAL 365 DAY AND o.closed_at <= $as_of
      AND EXISTS (
          SELECT 1 FROM stage_history h
          WHERE h.opportunity_id = o.opportunity_id AND h.stage <> 'Discovery'
            AND h.changed_at < o.closed_at
      )
), stats AS (
    SELECT segment,
           (count(*) FILTER (WHERE is_won) / count(*))::DOUBLE AS win_rate_count,
           (sum(amount) FILTER (WHERE is_won) / count(amount) FILTER (WHERE is_won))::DOUBLE
               AS avg_deal_size,
           avg(days) FILTER (WHERE is_won) AS mean_cycle_days_won
    FROM closed GROUP BY ALL
), moving AS (
    SELECT segment, count(*)::BIGINT AS open_deals FROM opportunities
    WHERE created_at <= $as_of AND (closed_at IS NULL OR closed_at > $as_of)
      AND stage <> 'Discovery'
      AND (expected_close_date IS NULL
           OR expected_close_date >= CAST($as_of + INTERVAL 1 MICROSECOND AS DATE))
    GROUP BY ALL
)
SELECT segment, m.open_deals, s.win_rate_count, s.avg_deal_size, s.mean_cycle_days_won,
       m.open_deals * s.win_rate_count * s.avg_deal_size / s.mean_cycle_days_won
           AS velocity_per_day
FROM stats s JOIN moving m USING (segment)
ORDER BY segment
"""

COHORTS = """
WITH members AS (
    SELECT amount, created_at,
           year(created_at) * 4 + (month(created_at) - 1) // 3 AS quarter_index,
           CASE WHEN outcome = 'won' AND closed_at <= $as_of THEN closed_at END AS won_at
    FROM opportunities WHERE created_at <= $as_of
), months_to_win AS (
    SELECT *, datediff('month', created_at, won_at) AS k0 FROM members
), wins AS (
    SELECT quarter_index, amount,
           k0 + CASE WHEN won_at > created_at + to_months(k0::INTEGER) THEN 1 ELSE 0 END AS k
    FROM months_to_win WHERE won_at IS NOT NULL
), sizes AS (
    SELECT quarter_index, coalesce(sum(amount), 0) AS cohort_size, count(*) AS cohort_count
    FROM members GROUP BY ALL
), grid AS (
    SELECT q.quarter_index, m.m AS months_since_creation
    FROM range($first, $last + 1) q(quarter_index), range(0, $max_months + 1) m(m)
)
SELECT g.quarter_index::INTEGER AS quarter_index,
       g.months_since_creation::INTEGER AS months_since_creation,
       coalesce(s.cohort_size, 0)::DOUBLE AS cohort_size,
       (SELECT coalesce(sum(w.amount), 0) FROM wins w
        WHERE w.quarter_index = g.quarter_index AND w.k <= g.months_since_creation)::DOUBLE
           AS won_cumulative,
       coalesce(s.cohort_count, 0)::BIGINT AS cohort_count,
       (SELECT count(*) FROM wins w
        WHERE w.quarter_index = g.quarter_index AND w.k <= g.months_since_creation)::BIGINT
           AS won_count,
       -- observed: the m-th whole month after the cohort quarter is over at as-of
       make_date((g.quarter_index + 1) // 4, ((g.quarter_index + 1) % 4) * 3 + 1, 1)
           + to_months(g.months_since_creation::INTEGER)
           <= date_trunc('month', $as_of + INTERVAL 1 MICROSECOND) AS observed
FROM grid g LEFT JOIN sizes s USING (quarter_index)
ORDER BY quarter_index, months_since_creation
"""


MATURITY = """
-- maturity: the p90 of whole months from creation to a win over every deal won by the
-- as-of (all cohorts), rounded up; a cohort is mature once that many whole months after
-- its quarter are over
WITH won AS (
    SELECT created_at, closed_at AS won_at, datediff('month', created_at, closed_at) AS k0
    FROM opportunities
    WHERE outcome = 'won' AND created_at <= $as_of AND closed_at <= $as_of
), p AS (
    SELECT ceil(quantile_cont(
        greatest(k0 + CASE WHEN won_at > created_at + to_months(k0::INTEGER) THEN 1 ELSE 0 END,
                 0), 0.9))::INTEGER AS maturity_months
    FROM won
)
SELECT q.quarter_index::INTEGER AS quarter_index, p.maturity_months,
       make_date((q.quarter_index + 1) // 4, ((q.quarter_index + 1) % 4) * 3 + 1, 1)
           + to_months(p.maturity_months)
           <= date_trunc('month', $as_of + INTERVAL 1 MICROSECOND) AS mature
FROM range($first, $last + 1) q(quarter_index), p
ORDER BY quarter_index
"""


def bounds() -> dict[str, int]:
    return {"first": quarter_number(FIRST), "last": quarter_number(QUARTER)}


def test_win_rates_agree_with_sql(sample, duck) -> None:
    got = (
        win_rates(sample.opportunities, calendar=sample.calendar, first=FIRST, last=QUARTER)
        .filter(pl.col("won") + pl.col("lost") > 0)
        .drop("fiscal_quarter")
        .collect()
    )
    want = sql(duck, WIN_RATES, **bounds())
    assert got.height == 12
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_sales_cycle_agrees_with_sql(sample, duck) -> None:
    got = (
        sales_cycle(sample.opportunities, calendar=sample.calendar, first=FIRST, last=QUARTER)
        .filter(pl.col("closed") > 0)
        .drop("fiscal_quarter")
        .collect()
    )
    want = sql(duck, SALES_CYCLE, **bounds())
    assert got.height == 12
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_creation_to_close_lag_agrees_with_sql(sample, duck) -> None:
    got = (
        creation_to_close_lag(
            sample.opportunities, calendar=sample.calendar, first=FIRST, last=QUARTER
        )
        .filter(pl.col("deals") > 0)
        .select("quarter_index", "lag_quarters", "deals", "amount", "share")
        .collect()
    )
    want = sql(duck, LAG, **bounds())
    assert got.height > 30
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_trailing_stats_agree_with_sql(sample, duck) -> None:
    got = closed_deal_stats(sample.opportunities, as_of=AS_OF, by=("segment",)).collect()
    want = sql(duck, TRAILING, as_of=AS_OF)
    assert got.height == 3 and got["closed_without_amount"].sum() > 0
    assert_frame_equal(got, want.select(got.columns), check_exact=False, rel_tol=1e-9)


def test_velocity_agrees_with_sql(sample, duck) -> None:
    got = sales_velocity(
        sample.opportunities,
        calendar=sample.calendar,
        as_of=AS_OF,
        stage_history=sample.stage_history,
        by=("segment",),
    ).collect()
    want = sql(duck, VELOCITY, as_of=AS_OF)
    assert got.height == 3
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_cohort_curves_agree_with_sql(sample, duck) -> None:
    first, max_months = QUARTER.shift(-8), 24
    kw = {
        "calendar": sample.calendar,
        "first": first,
        "last": QUARTER,
        "as_of": AS_OF,
        "max_months": max_months,
    }
    keys = ["quarter_index", "months_since_creation"]
    by_amount = cohort_conversion_curve(sample.opportunities, **kw).collect()
    by_count = cohort_conversion_curve(sample.opportunities, **kw, measure="count").collect()
    got = by_amount.select(*keys, "cohort_size", "won_cumulative").join(
        by_count.select(
            *keys,
            pl.col("cohort_size").alias("cohort_count"),
            pl.col("won_cumulative").alias("won_count"),
            "observed",
        ),
        on=keys,
    )
    want = sql(
        duck,
        COHORTS,
        first=quarter_number(first),
        last=quarter_number(QUARTER),
        max_months=max_months,
        as_of=AS_OF,
    )
    assert got.height == 9 * 25
    assert got["observed"].any() and not got["observed"].all()
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)
    maturity = by_amount.select("quarter_index", "maturity_months", "mature").unique(
        maintain_order=True
    )
    want_maturity = sql(
        duck, MATURITY, first=quarter_number(first), last=quarter_number(QUARTER), as_of=AS_OF
    )
    assert_frame_equal(maturity, want_maturity)
    # the sample: 9 in 10 wins come within 7 months of creation; the three newest cohorts
    # (FY2026-Q1 to Q3) are still maturing
    assert maturity["maturity_months"][0] == 7
    assert maturity["mature"].to_list() == [True] * 6 + [False] * 3
