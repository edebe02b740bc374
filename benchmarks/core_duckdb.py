"""The benchmark's core metric set as DuckDB SQL over the Parquet files.

Written from the definitions (docs/metrics.md, docs/metrics/*.md), not from
the polars code, like the cross-checks in ``tests/crosscheck/``: the same
as-of cut as ``FunnelData.at`` (events after the as-of instant blanked, deals
closed later reopened with the stage and amount their stage history recorded
then), then the nine metrics of ``benchmarks/metrics.py``'s ``CORE`` with the
workbooks' arguments. Quarters are those of UTC timestamps in a fiscal year
that starts in January (the generated data's calendar); day and hour
durations are elapsed microseconds; quantiles are ``quantile_cont`` (linear
interpolation), the kit's definition.

Each query returns only the rows with something in them (the kit's grids add
zero rows; the comparison drops those).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

#: the core metrics' SQL, by name; $first, $last: quarter indexes; $as_of: the instant
QUERIES: dict[str, str] = {}

_Q = "(year({t}) * 4 + (month({t}) - 1) // 3)"


def _q(column: str) -> str:
    return _Q.format(t=column)


CUT = """
CREATE OR REPLACE TEMP VIEW history_cut AS
SELECT * FROM read_parquet($history) WHERE changed_at <= $as_of;

CREATE OR REPLACE TEMP TABLE last_change AS
SELECT opportunity_id, min(changed_at) AS first_change,
       arg_max_null(stage, changed_at) AS h_stage,
       arg_max_null(amount, changed_at) AS h_amount
FROM history_cut GROUP BY opportunity_id;

CREATE OR REPLACE TEMP TABLE opps AS
SELECT o.opportunity_id, o.created_at, o.source, o.segment,
       CASE WHEN (o.closed_at IS NULL OR o.closed_at > $as_of) AND h.h_stage IS NOT NULL
            THEN h.h_amount ELSE o.amount END AS amount,
       CASE WHEN o.closed_at > $as_of THEN NULL ELSE o.closed_at END AS closed_at,
       CASE WHEN o.closed_at > $as_of THEN NULL ELSE o.outcome END AS outcome
FROM read_parquet($opportunities) o LEFT JOIN last_change h USING (opportunity_id)
WHERE coalesce(o.created_at, least(o.closed_at, h.first_change)) IS NULL
   OR coalesce(o.created_at, least(o.closed_at, h.first_change)) <= $as_of;

CREATE OR REPLACE TEMP TABLE leads AS
SELECT l.channel, l.segment, l.created_at,
       CASE WHEN l.mql_at > $as_of THEN NULL ELSE l.mql_at END AS mql_at,
       CASE WHEN l.accepted_at > $as_of THEN NULL ELSE l.accepted_at END AS accepted_at,
       CASE WHEN l.rejected_at > $as_of THEN NULL ELSE l.rejected_at END AS rejected_at,
       CASE WHEN l.first_touch_at > $as_of THEN NULL ELSE l.first_touch_at END AS first_touch_at,
       CASE WHEN l.sql_at > $as_of THEN NULL ELSE l.sql_at END AS sql_at,
       CASE WHEN l.rejected_at > $as_of OR l.rejected_at IS NULL THEN NULL
            ELSE l.rejection_reason END AS rejection_reason,
       o.created_at AS opp_created_at,
       CASE WHEN o.outcome = 'won' THEN o.closed_at END AS won_at
FROM read_parquet($leads) l LEFT JOIN opps o USING (opportunity_id)
WHERE l.created_at <= $as_of;
"""

QUERIES["pvb"] = f"""
SELECT quarter_index::INTEGER AS quarter_index, measure, source,
       count(*)::BIGINT AS deals, coalesce(sum(amount), 0)::DOUBLE AS amount
FROM (
    SELECT 'pipeline_created' AS measure, source, amount, {_q("created_at")} AS quarter_index
    FROM opps
    UNION ALL
    SELECT 'bookings', source, amount, {_q("closed_at")} FROM opps WHERE outcome = 'won'
) WHERE quarter_index BETWEEN $first AND $last
GROUP BY ALL
"""

QUERIES["lag"] = f"""
WITH won AS (
    SELECT amount, {_q("closed_at")} AS quarter_index,
           least(greatest({_q("closed_at")} - {_q("created_at")}, 0), 3) AS lag_quarters
    FROM opps WHERE outcome = 'won' AND closed_at IS NOT NULL
), buckets AS (
    SELECT quarter_index, lag_quarters, count(*) AS deals, coalesce(sum(amount), 0) AS amount
    FROM won WHERE quarter_index BETWEEN $first AND $last GROUP BY ALL
)
SELECT quarter_index::INTEGER AS quarter_index, lag_quarters::INTEGER AS lag_quarters,
       deals::BIGINT AS deals, amount::DOUBLE AS amount,
       (amount / nullif(sum(amount) OVER (PARTITION BY quarter_index), 0))::DOUBLE AS share
FROM buckets
"""

_MQLS = f"""
WITH m AS (
    SELECT *, {_q("mql_at")} AS q,
           (epoch_us($as_of) - epoch_us(mql_at)) / 3600e6 > 24.0 AS overdue,
           (epoch_us(first_touch_at) - epoch_us(mql_at)) / 3600e6 AS response_h
    FROM leads WHERE mql_at IS NOT NULL
)
"""

QUERIES["outcomes"] = (
    _MQLS
    + """, stall AS (
    -- the p99 of the decision times known at the as-of (at least 1 day; 30 days with
    -- fewer than 100 decisions), over every MQL
    SELECT CASE WHEN count(*) >= 100 THEN greatest(quantile_cont(days, 0.99), 1.0)
                ELSE 30.0 END AS stall_days
    FROM (SELECT (epoch_us(coalesce(accepted_at, rejected_at)) - epoch_us(mql_at)) / 86400e6
                 AS days
          FROM m WHERE coalesce(accepted_at, rejected_at) <= $as_of)
), s AS (
    SELECT m.*, accepted_at IS NULL AND rejected_at IS NULL AS undecided,
           (first_touch_at IS NULL AND overdue)
           OR (first_touch_at IS NOT NULL
               AND (epoch_us($as_of) - epoch_us(mql_at)) / 86400e6 > stall.stall_days) AS lost
    FROM m, stall
)
SELECT q::INTEGER AS quarter_index, channel,
       count(*)::BIGINT AS mqls,
       count(accepted_at)::BIGINT AS accepted,
       count(*) FILTER (WHERE rejected_at IS NOT NULL AND accepted_at IS NULL)::BIGINT
           AS rejected,
       count(*) FILTER (WHERE undecided AND NOT lost)::BIGINT AS pending,
       count(*) FILTER (WHERE undecided AND lost)::BIGINT AS leaked
FROM s WHERE q BETWEEN $first AND $last
GROUP BY ALL
"""
)

QUERIES["response"] = (
    _MQLS
    + """
SELECT q::INTEGER AS quarter_index, channel,
       count(*) FILTER (WHERE first_touch_at IS NOT NULL OR overdue)::BIGINT AS mqls_due,
       count(first_touch_at)::BIGINT AS touched,
       quantile_cont(response_h, 0.5) AS median_hours,
       quantile_cont(response_h, 0.9) AS p90_hours,
       count(*) FILTER (WHERE response_h <= 24.0)::BIGINT AS within_sla
FROM m WHERE q BETWEEN $first AND $last
GROUP BY ALL
"""
)

QUERIES["reasons"] = f"""
WITH r AS (
    SELECT {_q("rejected_at")} AS q, channel,
           coalesce(rejection_reason, '(no reason given)') AS rejection_reason,
           count(*) AS rejected
    FROM leads WHERE rejected_at IS NOT NULL GROUP BY ALL
)
SELECT q::INTEGER AS quarter_index, rejection_reason, channel, rejected::BIGINT AS rejected,
       (rejected / sum(rejected) OVER (PARTITION BY q, channel))::DOUBLE AS share
FROM r WHERE q BETWEEN $first AND $last
"""

_PAIRS = """
WITH pairs AS (
    SELECT channel, segment, 1 AS step, created_at AS a, mql_at AS b FROM leads
    UNION ALL SELECT channel, segment, 2, mql_at, accepted_at FROM leads
    UNION ALL SELECT channel, segment, 3, accepted_at, sql_at FROM leads
    UNION ALL SELECT channel, segment, 4, sql_at, opp_created_at FROM leads
    UNION ALL SELECT channel, segment, 5, opp_created_at, won_at FROM leads
), d AS (
    SELECT *, (epoch_us(b) - epoch_us(a)) / 86400e6 AS days FROM pairs WHERE a IS NOT NULL
)
"""

QUERIES["cohorts"] = (
    _PAIRS
    + f""", typical AS (
    -- the p90 of the conversion times known at the as-of
    SELECT step, quantile_cont(days, 0.9) AS maturity_days FROM d WHERE b <= $as_of
    GROUP BY step
), cohorts AS (
    SELECT {_q("a")} AS q, step, channel, segment, count(*) AS entered, count(b) AS reached,
           quantile_cont(days, 0.5) FILTER (WHERE b IS NOT NULL) AS median_days
    FROM d WHERE {_q("a")} BETWEEN $first AND $last GROUP BY ALL
)
SELECT c.q::INTEGER AS quarter_index, c.step::INTEGER AS step, c.channel, c.segment,
       c.entered::BIGINT AS entered, c.reached::BIGINT AS reached, c.median_days,
       t.maturity_days,
       -- the quarter's last microsecond (UTC) + the typical A->B days is not after the as-of
       (epoch_us($as_of)
          - epoch_us(make_timestamptz(c.q // 4, (c.q % 4) * 3 + 1, 1, 0, 0, 0, 'UTC')
                     + INTERVAL 3 MONTH - INTERVAL 1 MICROSECOND)
       ) / 86400e6 >= coalesce(t.maturity_days, 0) AS mature
FROM cohorts c LEFT JOIN typical t USING (step)
"""
)

QUERIES["durations"] = (
    _PAIRS
    + f"""
SELECT {_q("b")}::INTEGER AS quarter_index, step::INTEGER AS step, count(*)::BIGINT AS records,
       quantile_cont(days, 0.5) AS median_days, quantile_cont(days, 0.9) AS p90_days
FROM d WHERE b IS NOT NULL AND {_q("b")} BETWEEN $first AND $last
GROUP BY ALL
"""
)

QUERIES["cycle"] = f"""
WITH closed AS (
    SELECT segment, outcome = 'won' AS is_won, {_q("closed_at")} AS q,
           (epoch_us(closed_at) - epoch_us(created_at)) / 86400e6 AS days
    FROM opps WHERE closed_at IS NOT NULL
)
SELECT q::INTEGER AS quarter_index, segment,
       count(*) FILTER (WHERE is_won)::BIGINT AS won, count(*)::BIGINT AS closed,
       quantile_cont(days, 0.5) FILTER (WHERE is_won) AS median_days_won,
       quantile_cont(days, 0.5) AS median_days_closed,
       quantile_cont(days, 0.9) AS p90_days_closed
FROM closed WHERE q BETWEEN $first AND $last
GROUP BY ALL
"""

QUERIES["linearity"] = f"""
WITH won AS (
    SELECT amount, {_q("closed_at")} AS q, closed_at::DATE AS day,
           (make_date(year(closed_at), ((month(closed_at) - 1) // 3) * 3 + 1, 1)
               + INTERVAL 3 MONTH - INTERVAL 1 DAY)::DATE AS last_day
    FROM opps WHERE outcome = 'won' AND closed_at IS NOT NULL
)
SELECT q::INTEGER AS quarter_index, count(*)::BIGINT AS deals,
       coalesce(sum(amount), 0)::DOUBLE AS bookings,
       coalesce(sum(amount) FILTER (WHERE day >= date_trunc('month', last_day)), 0)::DOUBLE
           AS month3_bookings,
       coalesce(sum(amount) FILTER (WHERE day > last_day - INTERVAL 14 DAY), 0)::DOUBLE
           AS last_two_weeks_bookings
FROM won WHERE q BETWEEN $first AND $last
GROUP BY ALL
"""


def _path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def run(data: Path, *, first: int, last: int, as_of: dt.datetime) -> dict[str, pl.DataFrame]:
    """The core metrics of the data folder ``data`` (canonical Parquet files), by name."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # DDL takes no prepared parameters: the paths and the instant are written in
        literals = {
            "$history": _path(data / "stage_history.parquet"),
            "$opportunities": _path(data / "opportunities.parquet"),
            "$leads": _path(data / "leads.parquet"),
            "$as_of": f"TIMESTAMPTZ '{as_of.isoformat()}'",
        }
        script = CUT
        for name, value in literals.items():
            script = script.replace(name, value)
        con.execute(script)
        results = {}
        for name, query in QUERIES.items():
            params = {"first": first, "last": last, "as_of": as_of}
            used = {k: v for k, v in params.items() if f"${k}" in query}
            results[name] = pl.from_arrow(con.sql(query, params=used).to_arrow_table())
        return results
    finally:
        con.close()
