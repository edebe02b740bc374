"""The forecast's combination: polars vs DuckDB SQL (issue 10).

Definitions written again in SQL from docs/metrics/forecast.md ("Bookings forecast",
steps 3 and 4: creation growth, the reference lag, last year's quarter grown, the
weights), without calling the kit for them. At the cross-check instant (the last
microsecond of FY2026-Q3) the current quarter is FY2026-Q4, nothing of it elapsed; the
sample's calendar is a calendar fiscal year in UTC, so a quarter index is
``year * 4 + (month - 1) // 3``.

The weights need the errors of the estimates made at past origins: those estimates are
taken from the kit's track record (``forecast_track_record``, itself checked against
forecasts made on cut tables in ``tests/metrics/test_forecast_seasonal.py``); the SQL
recomputes from them the errors, the shrunk mean squares, the weights and the forecast.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalQuarter
from alignment_lib.metrics.forecast import (
    bookings_forecast,
    forecast_track_record,
    seasonal_naive_forecast,
)
from tests.crosscheck.conftest import AS_OF, QUARTER, quarter_number, sql

NEXT = QUARTER.shift(1)

# Created amount (a missing one 0) per quarter of creation; the last four complete
# quarters over the four before them, when both years lie inside the data. Reference
# lag: of the won amount closed by as-of, by quarters from creation to close, the
# smallest lag whose cumulative share reaches 90%. Last year's quarter T - 4 counts when
# complete and at least max(lag, 1) quarters after the data's first quarter, and booked
# something; grown by the creation growth.
NAIVE = """
WITH deals AS (
    SELECT year(created_at) * 4 + (month(created_at) - 1) // 3 AS cq,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS wq,
           outcome, coalesce(amount, 0) AS amount
    FROM opportunities WHERE created_at <= $as_of
), first_q AS (SELECT min(cq) AS f FROM deals),
growth AS (
    SELECT CASE WHEN $current - 8 >= (SELECT f FROM first_q)
                THEN sum(amount) FILTER (WHERE cq BETWEEN $current - 4 AND $current - 1)
                     / nullif(sum(amount) FILTER (WHERE cq BETWEEN $current - 8
                                                                AND $current - 5), 0)
           END AS g
    FROM deals
), lags AS (
    SELECT wq - cq AS lag, sum(amount) AS won FROM deals
    WHERE outcome = 'won' GROUP BY lag
), cum AS (
    SELECT a.lag, (SELECT sum(b.won) FROM lags b WHERE b.lag <= a.lag) AS upto,
           (SELECT sum(won) FROM lags) AS total
    FROM lags a
), lag AS (SELECT min(lag) AS l FROM cum WHERE upto >= 0.9 * total),
targets AS (SELECT range AS t FROM range($current, $current + 3)),
booked AS (SELECT wq, sum(amount) AS b FROM deals WHERE outcome = 'won' GROUP BY wq)
SELECT t.t::INTEGER AS quarter_index, g.g::DOUBLE AS creation_growth,
       l.l::INTEGER AS reference_lag,
       CASE WHEN t.t - 4 < $current AND t.t - 4 >= f.f + greatest(l.l, 1) AND b.b > 0
            THEN b.b END::DOUBLE AS naive_reference,
       CASE WHEN t.t - 4 < $current AND t.t - 4 >= f.f + greatest(l.l, 1) AND b.b > 0
            THEN b.b * coalesce(g.g, 1) END::DOUBLE AS naive_forecast
FROM targets t CROSS JOIN growth g CROSS JOIN lag l CROSS JOIN first_q f
LEFT JOIN booked b ON b.wq = t.t - 4
ORDER BY t.t
"""

# Per horizon k: each estimate's log errors ln(actual / estimate) over the track record's
# quarters N - 8 .. N - 1 (same k); an estimate takes part when above 0 (the pipeline
# estimate when known); m = the mean square of the errors of those taking part; mse =
# (sum of squares + m) / (errors + 1); weight = (1 / mse) / sum of 1 / mse.
WEIGHTS = """
WITH errors AS (
    SELECT quarters_ahead AS k,
           CASE WHEN pipeline_forecast > 0 AND actual > 0
                THEN ln(actual / pipeline_forecast) END AS e_p,
           CASE WHEN naive_forecast > 0 AND actual > 0
                THEN ln(actual / naive_forecast) END AS e_n
    FROM record WHERE quarter_index BETWEEN $current - 8 AND $current - 1
), sums AS (
    SELECT k, coalesce(sum(e_p * e_p), 0) AS ss_p, count(e_p) AS n_p,
           coalesce(sum(e_n * e_n), 0) AS ss_n, count(e_n) AS n_n
    FROM errors GROUP BY k
), now AS (
    SELECT f.quarter_index, f.quarters_ahead AS k, f.pipeline_forecast AS p,
           f.naive_forecast AS nv, coalesce(f.naive_forecast > 0, false) AS on_n,
           s.ss_p, s.n_p, s.ss_n, s.n_n
    FROM forecast f JOIN sums s ON s.k = f.quarters_ahead
), shrunk AS (
    SELECT *, CASE WHEN n_p + CASE WHEN on_n THEN n_n ELSE 0 END > 0
                   THEN (ss_p + CASE WHEN on_n THEN ss_n ELSE 0 END)
                        / (n_p + CASE WHEN on_n THEN n_n ELSE 0 END)
                   ELSE 1 END AS m
    FROM now
), inverse AS (
    SELECT quarter_index, p, nv, on_n,
           1 / ((ss_p + m) / (n_p + 1)) AS i_p,
           CASE WHEN on_n THEN 1 / ((ss_n + m) / (n_n + 1)) ELSE 0 END AS i_n
    FROM shrunk
)
SELECT quarter_index::INTEGER AS quarter_index,
       (i_p / (i_p + i_n))::DOUBLE AS pipeline_weight,
       (i_n / (i_p + i_n))::DOUBLE AS naive_weight,
       ((i_p * p + CASE WHEN on_n THEN i_n * nv ELSE 0 END) / (i_p + i_n))::DOUBLE AS forecast
FROM inverse ORDER BY quarter_index
"""


def test_last_years_quarter_grown_agrees_with_sql(sample, duck) -> None:
    want = sql(duck, NAIVE, as_of=AS_OF, current=quarter_number(NEXT))
    got = (
        seasonal_naive_forecast(
            sample.opportunities, calendar=sample.calendar, quarter=NEXT, as_of=AS_OF
        )
        .collect()
        .select(want.columns)
    )
    assert got["creation_growth"][0] == pytest.approx(1.1798, rel=1e-3)
    assert got["reference_lag"].to_list() == [2, 2, 2]
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, check_dtypes=False)


@pytest.mark.slow
def test_combination_weights_agree_with_sql(sample, duck) -> None:
    forecast = bookings_forecast(
        sample.opportunities,
        sample.stage_history,
        sample.targets,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
    ).collect()
    record = forecast_track_record(
        sample.opportunities,
        sample.stage_history,
        calendar=sample.calendar,
        first=FiscalQuarter(2024, 4),
        last=QUARTER,
        as_of=AS_OF,
        quarters_ahead=(0, 1, 2),
    ).collect()
    # at a quarter's start there is no pace-so-far estimate: two estimates take part
    assert forecast["curve_forecast"].null_count() == 3
    assert forecast["curve_weight"].to_list() == [0.0, 0.0, 0.0]
    duck.register("record", record)
    duck.register("forecast", forecast.drop("forecast", "pipeline_weight", "naive_weight"))
    try:
        want = sql(duck, WEIGHTS, current=quarter_number(NEXT))
    finally:
        duck.unregister("record")
        duck.unregister("forecast")
    got = forecast.select(want.columns)
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, check_dtypes=False)
    assert got["naive_weight"].to_list() == pytest.approx([0.800, 0.763, 0.579], abs=1e-3)
    bounds = forecast.select(
        "forecast",
        pl.min_horizontal("naive_forecast", "pipeline_forecast").alias("lo"),
        pl.max_horizontal("naive_forecast", "pipeline_forecast").alias("hi"),
    )
    assert bounds.select(pl.col("forecast").is_between("lo", "hi").all()).item()
