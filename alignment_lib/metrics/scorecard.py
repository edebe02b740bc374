"""The shared scorecard: one page of targets both teams are held to.

For a fiscal quarter, each target in the targets table (bookings, pipeline
created, marketing-sourced pipeline, MQLs, SLA compliance, and the counts
won deals and opportunities created) next to its actual, attainment, pacing
against the historical cumulative curve of the same metric
(:mod:`alignment_lib.metrics.pacing`), a projected finish, a status, and each
source's contribution. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import QUARTER, quarter_of
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.handoff import SlaClock, response_times
from alignment_lib.metrics.pacing import AT_RISK_PACING, _with_pace, pacing
from alignment_lib.schema import OPPORTUNITY_SOURCES, TARGET_METRICS, TARGET_TEAMS

__all__ = [
    "AT_RISK_PACING",
    "AT_RISK_RATE_GAP",
    "PACE_COLUMNS",
    "elapsed_share",
    "shared_scorecard",
]

#: rate targets (SLA compliance): at target is on track, within this many points at risk
AT_RISK_RATE_GAP = 0.05

#: how each target metric is measured; "rate" metrics are not cumulative over the quarter
_KIND = {
    "bookings": "amount",
    "pipeline_created": "amount",
    "marketing_pipeline_created": "amount",
    "mqls": "count",
    "sla_compliance": "rate",
    "won_deals": "count",
    "opportunities_created": "count",
}
_LABEL = {
    "bookings": "Bookings",
    "pipeline_created": "Pipeline created",
    "marketing_pipeline_created": "Marketing-sourced pipeline created",
    "mqls": "MQLs",
    "sla_compliance": "MQLs touched within SLA",
    "won_deals": "Won deals",
    "opportunities_created": "Opportunities created",
}
#: the metrics measured on deals, split by the source that brought them
_DEAL_METRICS = (
    "bookings",
    "pipeline_created",
    "marketing_pipeline_created",
    "won_deals",
    "opportunities_created",
)


def elapsed_share(calendar: FiscalCalendar, quarter: FiscalQuarter, as_of: dt.datetime) -> float:
    """Share of the quarter elapsed at ``as_of`` (0 before it starts, 1 once it has ended).

    Measured in local calendar days of the quarter, as of the end of the as-of day.
    """
    start, end = calendar.quarter_start(quarter), calendar.quarter_end(quarter)
    day = calendar.local_date(as_of)
    total = (end - start).days + 1
    return min(max(((day - start).days + 1) / total, 0.0), 1.0)


#: the columns a scorecard row keeps without a target (what happened, whatever the target)
_ACTUAL_COLUMNS = ("metric", "team", "label", "kind", "actual", *OPPORTUNITY_SOURCES)


def _quarter_targets(targets: pl.LazyFrame, quarter: FiscalQuarter) -> pl.LazyFrame:
    """(metric, team, target) of the quarter; without any, one row per metric of team shared
    with a null target, so the actuals are still shown (a filtered report without targets of
    its own, a quarter the targets table has no row for)."""
    rows = targets.filter(pl.col("fiscal_quarter") == quarter.label).select(
        "metric", "team", pl.col("value").cast(pl.Float64).alias("target")
    )
    untargeted = (
        pl.LazyFrame(
            {"metric": list(TARGET_METRICS), "team": ["shared"] * len(TARGET_METRICS)},
            schema={"metric": pl.String, "team": pl.String},
        )
        .with_columns(pl.lit(None, dtype=pl.Float64).alias("target"))
        .join(rows.select(pl.len().alias("_targets")), how="cross")
        .filter(pl.col("_targets") == 0)
        .drop("_targets")
    )
    return pl.concat([rows, untargeted])


def _without_target(scorecard: pl.LazyFrame) -> pl.LazyFrame:
    """Rows without a target keep their actuals only: attainment, pacing, status and every
    other column measured against the target are null (never "behind" nothing)."""
    names = scorecard.collect_schema().names()
    has_target = pl.col("target").is_not_null()
    return scorecard.with_columns(
        pl.when(has_target).then(pl.col(c)).alias(c)
        for c in names
        if c not in (*_ACTUAL_COLUMNS, "target", "elapsed_share")
    )


def _by_source(frame: pl.LazyFrame, metric: str, value: pl.Expr) -> pl.LazyFrame:
    """One row per source plus nothing else: (metric, source, value)."""
    return (
        frame.group_by("source")
        .agg(value.alias("actual"))
        .with_columns(pl.lit(metric).alias("metric"))
        .select("metric", "source", "actual")
    )


def shared_scorecard(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    sla_hours: float = 24.0,
    channel_sla_hours: Mapping[str, float] | None = None,
    sla_clock: SlaClock = "calendar",
    pace_quarters: int = 8,
) -> pl.LazyFrame:
    """Each target of ``quarter`` with its actual, attainment, pacing and status.

    Grain: one row per (metric, team) target of the quarter in ``targets``
    (the targets that apply to the data: ``FunnelData.targets``, those of the
    data's filter). When ``targets`` has no row for the quarter, one row per
    metric of :data:`~alignment_lib.schema.TARGET_METRICS` for team ``shared``
    with a null ``target``: the actuals, with attainment, expected to date,
    pacing and status null. Actuals count what happened in the quarter up to
    ``as_of``:

    - bookings: won amount closed in the quarter; pipeline_created: amount of
      opportunities created in it; marketing_pipeline_created: the
      marketing-sourced part of that; won_deals and opportunities_created:
      the number of those deals (counts, never money). A target whose team is
      a source (marketing, sales, partner) is measured on that source's part;
      team ``shared`` on the total.
    - mqls: leads whose mql_at falls in the quarter (whatever the team).
    - sla_compliance: MQLs of the quarter touched within the SLA / MQLs due
      (:func:`alignment_lib.metrics.handoff.response_times`, on ``sla_clock``:
      calendar hours, or business hours in the lead's region, as the handoff
      page counts them).

    Columns: metric, team, label, kind (amount/count/rate), target, actual,
    attainment (actual / target), elapsed_share (the linear share of the
    quarter elapsed, for comparison), then the pacing columns
    (:data:`PACE_COLUMNS`): for a cumulative target (amounts and counts), as
    :func:`~alignment_lib.metrics.pacing.pacing` defines them over the
    ``pace_quarters`` complete quarters before ``quarter``: curve_basis ("same
    quarter", "all quarters" or "linear": no history), curve_quarters,
    curve_share (the share of a quarter's total usually reached by this day),
    curve_share_low / _high, expected_to_date = target x curve_share, pacing =
    actual / expected_to_date, projected_finish = actual / curve_share and its
    range projected_low / projected_high (at the fastest and slowest past
    pace), linear_pacing = actual / (target x elapsed share); for a rate,
    expected_to_date = the target, pacing = actual / target and the curve
    columns null. status: a quarter over at ``as_of`` is "hit" (actual >=
    target) or "missed"; otherwise, cumulative: "on track" at pacing >= 1,
    "behind" when even at the slowest past pace it ends below AT_RISK_PACING x
    target, else "at risk"; rates: "on track" at the target, "at risk" within
    AT_RISK_RATE_GAP, else "behind". Then marketing / sales / partner: each
    source's part of a deal actual (an amount, or a count for won_deals and
    opportunities_created; null for mqls and rates).
    Sorted by metric, then team.
    """
    q = FiscalCalendar.quarter_index(quarter)
    elapsed = elapsed_share(calendar, quarter, as_of)
    in_quarter = pl.col(QUARTER) == q

    opps = opportunities.with_columns(quarter_of(calendar, pl.col("created_at")))
    won = opportunities.filter(pl.col("outcome") == "won").with_columns(
        quarter_of(calendar, pl.col("closed_at"))
    )
    amount = money_sum(pl.col("amount"))
    count = pl.len().cast(pl.Float64)
    parts = pl.concat(
        [
            _by_source(won.filter(in_quarter), "bookings", amount),
            _by_source(opps.filter(in_quarter), "pipeline_created", amount),
            _by_source(
                opps.filter(in_quarter & (pl.col("source") == "marketing")),
                "marketing_pipeline_created",
                amount,
            ),
            _by_source(won.filter(in_quarter), "won_deals", count),
            _by_source(opps.filter(in_quarter), "opportunities_created", count),
        ]
    )
    sources = pl.LazyFrame({"source": list(OPPORTUNITY_SOURCES)})
    metrics = pl.LazyFrame({"metric": list(_DEAL_METRICS)})
    # every (metric, source) present, zeros where nothing happened; the shared total also
    # counts deals without a source (a source column that is not tracked)
    grid = metrics.join(sources, how="cross").join(parts, on=["metric", "source"], how="left")
    totals = parts.group_by("metric").agg(money_sum(pl.col("actual")).alias("shared"))
    wide = (
        grid.with_columns(pl.col("actual").fill_null(0.0))
        .group_by("metric")
        .agg(
            *(
                money_sum(pl.col("actual").filter(pl.col("source") == s)).alias(s)
                for s in OPPORTUNITY_SOURCES
            ),
        )
        .join(totals, on="metric", how="left")
        .with_columns(pl.col("shared").fill_null(0.0))
    )
    amounts = wide.unpivot(
        index=["metric", *OPPORTUNITY_SOURCES],
        on=["shared"],
        variable_name="team",
        value_name="actual",
    )
    amounts = pl.concat(
        [
            amounts,
            *(
                wide.with_columns(pl.lit(s).alias("team"), pl.col(s).alias("actual")).select(
                    "metric", *OPPORTUNITY_SOURCES, "team", "actual"
                )
                for s in OPPORTUNITY_SOURCES
            ),
        ]
    ).select("metric", "team", "actual", *OPPORTUNITY_SOURCES)

    teams = pl.LazyFrame({"team": list(TARGET_TEAMS)})
    mqls = (
        leads.with_columns(quarter_of(calendar, pl.col("mql_at")))
        .filter(in_quarter)
        .select(pl.len().cast(pl.Float64).alias("actual"), pl.lit("mqls").alias("metric"))
    )
    sla = response_times(
        leads,
        calendar=calendar,
        first=quarter,
        last=quarter,
        as_of=as_of,
        sla_hours=sla_hours,
        channel_sla_hours=channel_sla_hours,
        sla_clock=sla_clock,
    ).select(pl.col("sla_compliance").alias("actual"), pl.lit("sla_compliance").alias("metric"))
    others = (
        pl.concat([mqls, sla])
        .join(teams, how="cross")
        .with_columns(*(pl.lit(None, dtype=pl.Float64).alias(s) for s in OPPORTUNITY_SOURCES))
        .select("metric", "team", "actual", *OPPORTUNITY_SOURCES)
    )
    actuals = pl.concat([amounts, others])

    kind = pl.col("metric").replace_strict(_KIND, default="amount")
    scored = (
        _quarter_targets(targets, quarter)
        .join(actuals, on=["metric", "team"], how="left")
        .with_columns(
            pl.col("metric").replace_strict(_LABEL, default=pl.col("metric")).alias("label"),
            kind.alias("kind"),
            pl.when(pl.col("target") > 0)
            .then(pl.col("actual") / pl.col("target"))
            .alias("attainment"),
            pl.lit(elapsed).alias("elapsed_share"),
        )
    )
    # only the curve of each (metric, team) is read from pacing, never its target: one row
    # per (metric, team) whatever else the targets table distinguishes
    paced = pacing(
        opportunities,
        leads,
        targets.filter(pl.col("fiscal_quarter") == quarter.label).unique(
            ["fiscal_quarter", "metric", "team"], keep="first", maintain_order=True
        ),
        calendar=calendar,
        quarter=quarter,
        as_of=as_of,
        quarters=pace_quarters,
    )
    over = as_of >= calendar.quarter_end_instant(quarter)
    return (
        _with_status(scored, paced, over=over)
        .select(
            "metric",
            "team",
            "label",
            "kind",
            "target",
            "actual",
            "attainment",
            "elapsed_share",
            *PACE_COLUMNS,
            "status",
            *OPPORTUNITY_SOURCES,
        )
        .pipe(_without_target)
        .sort("metric", "team")
    )


#: the pacing columns of the scorecard, after ``elapsed_share`` (docs/metrics/pacing.md)
PACE_COLUMNS: tuple[str, ...] = (
    "curve_basis",
    "curve_quarters",
    "curve_share",
    "curve_share_low",
    "curve_share_high",
    "expected_to_date",
    "pacing",
    "projected_finish",
    "projected_low",
    "projected_high",
    "linear_pacing",
)


def _with_status(scored: pl.LazyFrame, paced: pl.LazyFrame, *, over: bool) -> pl.LazyFrame:
    """Pacing, projected finish and status of each scorecard row.

    A cumulative target (amounts and counts) is paced against the historical
    curve of :func:`~alignment_lib.metrics.pacing.pacing` (its shares joined
    by metric and team), on the scorecard's own actual, by the same rule
    (:func:`~alignment_lib.metrics.pacing._with_pace`). A rate (SLA compliance)
    is not cumulative: expected to date = the target, pacing = actual / target,
    on track at the target, at risk within AT_RISK_RATE_GAP, else behind. A
    quarter that is over (``over``) is "hit" or "missed" whatever the kind.
    """
    curve = paced.select(
        "metric",
        "team",
        "curve_basis",
        "curve_quarters",
        "curve_share",
        "curve_share_low",
        "curve_share_high",
        "linear_share",
    )
    cumulative = _with_pace(
        scored.filter(pl.col("kind") != "rate").join(curve, on=["metric", "team"], how="left"),
        over=over,
    )
    actual, target = pl.col("actual"), pl.col("target")
    rate_status = (
        pl.when(actual.is_null() | target.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.lit(over))
        .then(pl.when(actual >= target).then(pl.lit("hit")).otherwise(pl.lit("missed")))
        .when(actual >= target)
        .then(pl.lit("on track"))
        .when(actual >= target - AT_RISK_RATE_GAP)
        .then(pl.lit("at risk"))
        .otherwise(pl.lit("behind"))
    )
    rates = scored.filter(pl.col("kind") == "rate").with_columns(
        pl.lit(None, dtype=pl.String).alias("curve_basis"),
        pl.lit(None, dtype=pl.Int64).alias("curve_quarters"),
        *(
            pl.lit(None, dtype=pl.Float64).alias(c)
            for c in (
                "curve_share",
                "curve_share_low",
                "curve_share_high",
                "linear_share",
                "projected_finish",
                "projected_low",
                "projected_high",
                "linear_pacing",
            )
        ),
        target.alias("expected_to_date"),
        pl.when(target > 0).then(actual / target).alias("pacing"),
        rate_status.alias("status"),
    )
    return pl.concat([cumulative, rates], how="diagonal_relaxed")
