"""Stage win probabilities, pipeline coverage and the forecast's parts: polars vs DuckDB.

Definitions written again in SQL from docs/metrics/forecast.md, without calling
the kit: quarters of UTC timestamps (and of expected close dates) in a calendar
fiscal year, trailing windows as ``(as_of - INTERVAL n DAY, as_of]``. At the
cross-check instant (the last microsecond of FY2026-Q3) the current quarter is
FY2026-Q4 with nothing of it elapsed, and FY2026-Q3 is the last complete one.
In-quarter rates are calibrated on the 8 quarters FY2024-Q4..FY2026-Q3, each at
its first instant (the sample's calendar is UTC, so quarter starts are UTC
midnights).
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib.metrics.forecast import (
    bookings_forecast,
    in_quarter_win_probabilities,
    pipeline_coverage,
    stage_win_probabilities,
)
from tests.crosscheck.conftest import AS_OF, QUARTER, quarter_number, sql

NEXT = QUARTER.shift(1)

STAGES = """
WITH closed AS (
    SELECT opportunity_id, closed_at, outcome = 'won' AS is_won,
           coalesce(amount, 0) AS amount
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 730 DAY AND closed_at <= $as_of
), visits AS (
    SELECT DISTINCT h.opportunity_id, h.stage
    FROM stage_history h JOIN closed c ON h.opportunity_id = c.opportunity_id
    WHERE h.changed_at < c.closed_at
)
SELECT v.stage,
       count(*)::BIGINT AS deals,
       count(*) FILTER (WHERE is_won)::BIGINT AS won,
       sum(amount)::DOUBLE AS amount,
       coalesce(sum(amount) FILTER (WHERE is_won), 0)::DOUBLE AS won_amount,
       (count(*) FILTER (WHERE is_won) / count(*))::DOUBLE AS p_win_count,
       (coalesce(sum(amount) FILTER (WHERE is_won), 0) / nullif(sum(amount), 0))::DOUBLE
           AS p_win_amount
FROM visits v JOIN closed c ON v.opportunity_id = c.opportunity_id
GROUP BY v.stage ORDER BY v.stage
"""

# Coverage: qualified (not Discovery), in-period open pipeline against 1 / the in-quarter
# conversion by amount of qualified pipeline expected in each of the 8 calibration quarters at
# its start (AT_STARTS, below); qualified deals expected before the first quarter (the current
# one here) are the overdue line. The targets that apply are the company's (no segment, no
# region).
COVERAGE = """
WITH quarters AS (
    SELECT range::INTEGER AS quarter_index FROM range($first, $last + 1)
), qualified AS (
    SELECT year(expected_close_date) * 4 + (month(expected_close_date) - 1) // 3
               AS quarter_index, amount
    FROM opportunities
    WHERE created_at <= $as_of AND (closed_at IS NULL OR closed_at > $as_of)
      AND expected_close_date IS NOT NULL AND stage <> 'Discovery'
), pipeline AS (
    SELECT quarter_index, count(*) AS open_deals, coalesce(sum(amount), 0) AS open_pipeline,
           count(*) FILTER (WHERE amount IS NULL) AS open_deals_without_amount
    FROM qualified GROUP BY 1
), overdue AS (
    SELECT count(*)::BIGINT AS overdue_deals,
           coalesce(sum(amount), 0)::DOUBLE AS overdue_pipeline
    FROM qualified WHERE quarter_index < $first
), booked AS (
    SELECT year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS quarter_index,
           sum(amount) AS booked
    FROM opportunities WHERE outcome = 'won' AND closed_at <= $as_of
    GROUP BY 1
), goal AS (
    SELECT substr(fiscal_quarter, 3, 4)::INTEGER * 4 + substr(fiscal_quarter, 9, 1)::INTEGER - 1
               AS quarter_index,
           value AS target
    FROM targets
    WHERE metric = 'bookings' AND team = 'shared' AND segment IS NULL AND region IS NULL
), calibration AS (AT_STARTS), rate AS (
    SELECT (coalesce(sum(amount) FILTER (WHERE won), 0) / nullif(sum(amount), 0))::DOUBLE
               AS conversion
    FROM calibration WHERE NOT overdue AND stage <> 'Discovery'
), joined AS (
    SELECT q.quarter_index,
           coalesce(p.open_deals, 0)::BIGINT AS open_deals,
           coalesce(p.open_pipeline, 0)::DOUBLE AS open_pipeline,
           coalesce(p.open_deals_without_amount, 0)::BIGINT AS open_deals_without_amount,
           coalesce(b.booked, 0)::DOUBLE AS bookings_to_date,
           g.target,
           greatest(g.target - coalesce(b.booked, 0), 0)::DOUBLE AS remaining,
           r.conversion, o.overdue_deals, o.overdue_pipeline
    FROM quarters q
    LEFT JOIN pipeline p ON p.quarter_index = q.quarter_index
    LEFT JOIN booked b ON b.quarter_index = q.quarter_index
    LEFT JOIN goal g ON g.quarter_index = q.quarter_index
    CROSS JOIN rate r CROSS JOIN overdue o
), ratios AS (
    SELECT *, open_pipeline / nullif(remaining, 0) AS coverage,
           1 / nullif(conversion, 0) AS required_coverage
    FROM joined
)
SELECT *, coverage - required_coverage AS coverage_gap,
       CASE WHEN remaining = 0 THEN 'covered'
            WHEN coverage IS NULL OR required_coverage IS NULL THEN NULL
            WHEN coverage >= required_coverage THEN 'covered' ELSE 'short' END AS status
FROM ratios ORDER BY quarter_index
"""

# Weighted open pipeline: p = the stage's calibrated win rate by count (730 days), or the
# window's overall win rate by count for a stage without one.
WEIGHTED = f"""
WITH stage_p AS ({STAGES.replace("ORDER BY v.stage", "")}),
overall AS (
    SELECT (count(*) FILTER (WHERE outcome = 'won') / count(*))::DOUBLE AS p_all
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 730 DAY AND closed_at <= $as_of
), open_deals AS (
    SELECT year(o.expected_close_date) * 4 + (month(o.expected_close_date) - 1) // 3
               AS quarter_index,
           coalesce(o.amount, 0) AS amount,
           coalesce(s.p_win_count, a.p_all) AS p
    FROM opportunities o
    LEFT JOIN stage_p s ON s.stage = o.stage
    CROSS JOIN overall a
    WHERE o.created_at <= $as_of AND (o.closed_at IS NULL OR o.closed_at > $as_of)
      AND o.expected_close_date IS NOT NULL
)
SELECT quarter_index::INTEGER AS quarter_index,
       count(*)::BIGINT AS open_deals,
       sum(amount)::DOUBLE AS open_pipeline,
       sum(amount * p)::DOUBLE AS open_expected,
       sum(amount * amount * p * (1 - p))::DOUBLE AS open_variance
FROM open_deals WHERE quarter_index BETWEEN $first AND $last
GROUP BY 1 ORDER BY 1
"""

# Not yet created: the mean created amount of the 4 complete quarters before the current one,
# times the sum over k = 0 .. T - current of w(k) (nothing of the current quarter is elapsed),
# w(k) = won k quarters after creation / created, pooled over the 4 latest creation quarters
# whose quarter + k is complete.
NOT_YET_CREATED = """
WITH created AS (
    SELECT year(created_at) * 4 + (month(created_at) - 1) // 3 AS cq,
           coalesce(sum(amount), 0) AS amount
    FROM opportunities WHERE created_at <= $as_of GROUP BY 1
), won AS (
    SELECT year(created_at) * 4 + (month(created_at) - 1) // 3 AS cq,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3
               - (year(created_at) * 4 + (month(created_at) - 1) // 3) AS k,
           sum(amount) AS amount
    FROM opportunities WHERE outcome = 'won' AND closed_at <= $as_of GROUP BY 1, 2
), pairs AS (
    SELECT k, unnest(range($complete - k - 3, $complete - k + 1)) AS cq
    FROM (SELECT unnest(range(0, $last - $current + 1)) AS k)
), w AS (
    SELECT p.k, sum(coalesce(won.amount, 0)) / nullif(sum(coalesce(c.amount, 0)), 0) AS w
    FROM pairs p
    LEFT JOIN created c ON c.cq = p.cq
    LEFT JOIN won ON won.cq = p.cq AND won.k = p.k
    GROUP BY p.k
), rate AS (
    SELECT sum(coalesce(c.amount, 0)) / 4 AS creation_rate
    FROM (SELECT unnest(range($complete - 3, $complete + 1)) AS cq) q
    LEFT JOIN created c ON c.cq = q.cq
), quarters AS (SELECT unnest(range($current, $last + 1)) AS quarter_index)
SELECT q.quarter_index::INTEGER AS quarter_index,
       any_value(r.creation_rate)::DOUBLE AS creation_rate,
       sum(w.w)::DOUBLE AS not_yet_created_share,
       (any_value(r.creation_rate) * sum(w.w))::DOUBLE AS not_yet_created_expected
FROM quarters q JOIN w ON w.k <= q.quarter_index - $current CROSS JOIN rate r
GROUP BY 1 ORDER BY 1
"""


# Each deal open at the first instant of each calibration quarter, as stage_history had it:
# its last change strictly before the quarter began; kind = expected in the quarter or overdue.
AT_STARTS = """
WITH quarters AS (
    SELECT q AS quarter_index,
           make_timestamptz(q // 4, (q % 4) * 3 + 1, 1, 0, 0, 0, 'UTC') AS starts,
           make_timestamptz(q // 4, (q % 4) * 3 + 1, 1, 0, 0, 0, 'UTC') + INTERVAL 3 MONTH
               AS next_starts
    FROM range($current - 8, $current) t(q)
), open_at_start AS (
    SELECT o.opportunity_id, o.closed_at, o.outcome, q.*
    FROM opportunities o JOIN quarters q
      ON o.created_at < q.starts AND (o.closed_at IS NULL OR o.closed_at >= q.starts)
), at_start AS (
    SELECT s.*, h.stage, coalesce(h.amount, 0) AS amount,
           year(h.expected_close_date) * 4 + (month(h.expected_close_date) - 1) // 3
               AS expected_q
    FROM open_at_start s JOIN stage_history h
      ON h.opportunity_id = s.opportunity_id AND h.changed_at < s.starts
    QUALIFY row_number() OVER (
        PARTITION BY s.opportunity_id, s.quarter_index ORDER BY h.changed_at DESC) = 1
)
SELECT quarter_index, stage, amount, expected_q < quarter_index AS overdue,
       coalesce(outcome = 'won' AND closed_at < next_starts, false) AS won
FROM at_start WHERE expected_q <= quarter_index
"""

COVERAGE = COVERAGE.replace("AT_STARTS", AT_STARTS)

IN_QUARTER = f"""
WITH calibration AS ({AT_STARTS})
SELECT stage,
       count(*)::BIGINT AS deals,
       count(*) FILTER (WHERE won)::BIGINT AS won_in_quarter,
       sum(amount)::DOUBLE AS amount,
       coalesce(sum(amount) FILTER (WHERE won), 0)::DOUBLE AS won_amount,
       (count(*) FILTER (WHERE won) / count(*))::DOUBLE AS p_in_quarter_count,
       (coalesce(sum(amount) FILTER (WHERE won), 0) / nullif(sum(amount), 0))::DOUBLE
           AS p_in_quarter_amount
FROM calibration WHERE overdue = $overdue
GROUP BY stage ORDER BY stage
"""

# The open pipeline weighed by in-quarter rates by amount: the stage's rate of the deal's kind,
# else the kind's pooled rate, else the rate pooled over both kinds; overdue deals (expected
# before the current quarter) count in the current quarter. The shock: per calibration quarter
# predicted, observed and independent-deal variance; sd^2 = max(sum(gap^2 - chance) /
# sum(predicted^2), 0).
WEIGHED_IN_QUARTER = f"""
WITH calibration AS ({AT_STARTS}),
by_stage AS (
    SELECT overdue, stage,
           coalesce(sum(amount) FILTER (WHERE won), 0) / nullif(sum(amount), 0) AS p_stage
    FROM calibration GROUP BY overdue, stage
), by_kind AS (
    SELECT overdue, coalesce(sum(amount) FILTER (WHERE won), 0) / nullif(sum(amount), 0) AS p_kind
    FROM calibration GROUP BY overdue
), pooled AS (
    SELECT coalesce(sum(amount) FILTER (WHERE won), 0) / nullif(sum(amount), 0) AS p_all
    FROM calibration
), open_deals AS (
    SELECT greatest(year(o.expected_close_date) * 4 + (month(o.expected_close_date) - 1) // 3,
                    $current) AS quarter_index,
           year(o.expected_close_date) * 4 + (month(o.expected_close_date) - 1) // 3 < $current
               AS overdue,
           o.stage, coalesce(o.amount, 0) AS amount
    FROM opportunities o
    WHERE o.created_at <= $as_of AND (o.closed_at IS NULL OR o.closed_at > $as_of)
      AND o.expected_close_date IS NOT NULL
), weighed AS (
    SELECT d.*, coalesce(s.p_stage, k.p_kind, a.p_all) AS p
    FROM open_deals d
    LEFT JOIN by_stage s ON s.overdue = d.overdue AND s.stage = d.stage
    LEFT JOIN by_kind k ON k.overdue = d.overdue
    CROSS JOIN pooled a
), calibrated AS (
    SELECT c.quarter_index, sum(c.amount * p) AS predicted,
           sum(c.amount) FILTER (WHERE c.won) AS observed,
           sum(c.amount * c.amount * p * (1 - p)) AS chance
    FROM (
        SELECT c.*, coalesce(s.p_stage, k.p_kind, a.p_all) AS p
        FROM calibration c
        LEFT JOIN by_stage s ON s.overdue = c.overdue AND s.stage = c.stage
        LEFT JOIN by_kind k ON k.overdue = c.overdue
        CROSS JOIN pooled a
    ) c GROUP BY c.quarter_index
), shock AS (
    SELECT sqrt(greatest(
        sum(power(coalesce(observed, 0) - predicted, 2) - chance) / sum(predicted * predicted),
        0)) AS open_shock_sd
    FROM calibrated
)
SELECT quarter_index::INTEGER AS quarter_index,
       count(*)::BIGINT AS open_deals,
       sum(amount)::DOUBLE AS open_pipeline,
       count(*) FILTER (WHERE overdue)::BIGINT AS overdue_deals,
       coalesce(sum(amount) FILTER (WHERE overdue), 0)::DOUBLE AS overdue_pipeline,
       sum(amount * p)::DOUBLE AS open_expected,
       (sum(amount * amount * p * (1 - p))
           + power(any_value(open_shock_sd) * sum(amount * p), 2))::DOUBLE AS open_variance,
       any_value(open_shock_sd)::DOUBLE AS open_shock_sd
FROM weighed CROSS JOIN shock
WHERE quarter_index BETWEEN $first AND $last
GROUP BY 1 ORDER BY 1
"""


# The spread of new-deal bookings: won amount of deals created and won in the same quarter,
# for each of the 4 complete quarters before the current one; sample sd / mean.
NEW_DEAL_CV = """
WITH quarters AS (SELECT unnest(range($current - 4, $current)) AS q),
same AS (
    SELECT year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS q, sum(amount) AS won
    FROM opportunities
    WHERE outcome = 'won' AND closed_at <= $as_of
      AND year(closed_at) * 4 + (month(closed_at) - 1) // 3
          = year(created_at) * 4 + (month(created_at) - 1) // 3
    GROUP BY 1
)
SELECT (stddev_samp(coalesce(won, 0)) / avg(coalesce(won, 0)))::DOUBLE AS not_yet_created_cv
FROM quarters LEFT JOIN same USING (q)
"""


def test_in_quarter_win_probabilities_agree_with_sql(sample, duck) -> None:
    for overdue in (False, True):
        got = in_quarter_win_probabilities(
            sample.opportunities,
            sample.stage_history,
            calendar=sample.calendar,
            as_of=AS_OF,
            overdue=overdue,
        ).collect()
        want = sql(duck, IN_QUARTER, current=quarter_number(NEXT), overdue=overdue)
        assert got.height == 4 and got["deals"].min() > 50
        assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_stage_win_probabilities_agree_with_sql(sample, duck) -> None:
    got = stage_win_probabilities(sample.opportunities, sample.stage_history, as_of=AS_OF).collect()
    want = sql(duck, STAGES, as_of=AS_OF)
    assert got.height >= 4
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_pipeline_coverage_agrees_with_sql(sample, duck) -> None:
    got = pipeline_coverage(
        sample.opportunities,
        sample.targets,
        stage_history=sample.stage_history,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
    ).collect()
    want = sql(
        duck,
        COVERAGE,
        as_of=AS_OF,
        first=quarter_number(NEXT),
        last=quarter_number(NEXT.shift(2)),
        current=quarter_number(NEXT),
    )
    # the sample's overdue line: the 53 qualified deals expected in FY2026-Q3 or before
    assert got["open_pipeline"][0] > 0 and got["overdue_deals"][0] == 53
    assert got["required_coverage"][0] > 1
    assert_frame_equal(
        got.drop("fiscal_quarter"),
        want.select(got.drop("fiscal_quarter").columns).with_columns(
            pl.col("quarter_index").cast(pl.Int32)
        ),
        check_exact=False,
        rel_tol=1e-9,
    )


@pytest.mark.slow
def test_forecast_parts_agree_with_sql(sample, duck) -> None:
    got = bookings_forecast(
        sample.opportunities,
        sample.stage_history,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
        calibration="ever",
    ).collect()
    first, last = quarter_number(NEXT), quarter_number(NEXT.shift(2))
    weighted = sql(duck, WEIGHTED, as_of=AS_OF, first=first, last=last)
    assert weighted.height >= 2
    assert_frame_equal(
        got.join(weighted.select("quarter_index"), on="quarter_index").select(weighted.columns),
        weighted,
        check_exact=False,
        rel_tol=1e-9,
    )
    fresh = sql(duck, NOT_YET_CREATED, as_of=AS_OF, last=last, current=first, complete=first - 1)
    assert_frame_equal(got.select(fresh.columns), fresh, check_exact=False, rel_tol=1e-9)


@pytest.mark.slow
def test_in_quarter_forecast_open_part_agrees_with_sql(sample, duck) -> None:
    got = bookings_forecast(
        sample.opportunities,
        sample.stage_history,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
        calibration="in_quarter",
    ).collect()
    first, last = quarter_number(NEXT), quarter_number(NEXT.shift(2))
    want = sql(duck, WEIGHED_IN_QUARTER, as_of=AS_OF, first=first, last=last, current=first)
    assert want["overdue_deals"][0] > 20 and want["open_shock_sd"][0] > 0
    cv = sql(duck, NEW_DEAL_CV, as_of=AS_OF, current=first)["not_yet_created_cv"][0]
    assert got["not_yet_created_cv"].to_list() == pytest.approx([cv] * 3, rel=1e-9)
    assert_frame_equal(
        got.join(want.select("quarter_index"), on="quarter_index").select(want.columns),
        want,
        check_exact=False,
        rel_tol=1e-9,
    )


# Data health's overdue rule, with the same day rule as coverage's overdue line: an open deal
# whose expected close day had ended by the as-of instant (the sample's calendar is UTC).
OPEN_PAST_EXPECTED_CLOSE = """
SELECT count(*)::BIGINT AS all_stages,
       count(*) FILTER (WHERE stage <> 'Discovery')::BIGINT AS qualified
FROM opportunities
WHERE closed_at IS NULL
  AND expected_close_date < CAST($as_of + INTERVAL 1 MICROSECOND AS DATE)
"""


def test_open_past_expected_close_agrees_with_sql_and_with_coverage(sample, duck) -> None:
    from alignment_lib.metrics.health import data_health

    health = data_health(sample).collect()
    rows = health.filter(pl.col("rule") == "open_past_expected_close")["rows"].item()
    want = sql(duck, OPEN_PAST_EXPECTED_CLOSE, as_of=AS_OF).row(0, named=True)
    # 70 open deals, all expected on the quarter's last day (a strict < on it counted 0)
    assert rows == want["all_stages"] == 70
    coverage = pipeline_coverage(
        sample.opportunities,
        sample.targets,
        stage_history=sample.stage_history,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
        quarters=1,
    ).collect()
    # at a quarter's end the two rules pick the same deals; coverage keeps the qualified ones
    assert coverage["overdue_deals"][0] == want["qualified"] == 53
