"""The bookings forecast: booked + weighted open pipeline + pipeline not yet created.

Definition: docs/metrics/forecast.md ("Bookings forecast").
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of, with_label
from alignment_lib.metrics._sums import money_sum, stable_mean, stable_std, stable_sum
from alignment_lib.metrics.deals import (
    _closed_in_window,
    _instant,
    _lit_instant,
    _ratio,
    closed_deal_stats,
)
from alignment_lib.metrics.forecast._common import (
    _booked,
    _bookings_targets,
    _expected_quarter,
    _index_frame,
    _now,
    _open_at,
    _quarter_index,
    _sum_or_null,
    _whole,
    refuse_uncut,
)
from alignment_lib.metrics.forecast.probabilities import (
    _at_snapshots,
    stage_win_probabilities,
)
from alignment_lib.metrics.forecast.seasonal import (
    DEFAULT_SEASON_WEIGHT,
    _season_weight,
    seasonal_points,
)
from alignment_lib.metrics.forecast.track import DEFAULT_TRACK_QUARTERS, combine

__all__ = ["CALIBRATIONS", "FORECAST_COLUMNS", "Z_80", "bookings_forecast"]

#: the normal quantile of a central 80% interval (10% in each tail)
Z_80 = 1.2816


# -- bookings forecast --------------------------------------------------------------------------
def _created_by_quarter(
    opportunities: pl.LazyFrame, calendar: FiscalCalendar, cut: pl.Expr
) -> pl.LazyFrame:
    """Created amount by fiscal quarter of creation (created on or before the cutoff)."""
    return (
        opportunities.filter(pl.col("created_at") <= cut)
        .with_columns(quarter_of(calendar, pl.col("created_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(money_sum(pl.col("amount")).alias("_created"))
    )


def _won_after_creation(
    opportunities: pl.LazyFrame, calendar: FiscalCalendar, cut: pl.Expr
) -> pl.LazyFrame:
    """Won amount by (creation quarter, quarters from creation to close ``_k``)."""
    created = calendar.quarter_index_expr(calendar.local_date_expr(pl.col("created_at")))
    return (
        opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at") <= cut)
        .with_columns(quarter_of(calendar, pl.col("closed_at")).cast(pl.Int32).alias("_closed_q"))
        .with_columns(
            created.cast(pl.Int32).alias(QUARTER),
            (pl.col("_closed_q") - created).cast(pl.Int32).alias("_k"),
        )
        .group_by(QUARTER, "_k")
        .agg(money_sum(pl.col("amount")).alias("_won"))
    )


#: the ways :func:`bookings_forecast` can weigh an open deal (``calibration=``)
CALIBRATIONS: tuple[str, ...] = ("seasonal", "in_quarter", "ever")


def _weigh_open(deals: pl.LazyFrame) -> pl.LazyFrame:
    """Per target quarter: counts, pipeline, sum amount x p and sum amount^2 x p x (1 - p).

    ``deals`` has one row per open deal with its target ``QUARTER``, ``_amount``
    (missing = 0), ``_p`` (the probability used), ``_p_stage`` (null when the
    stage had no calibrated rate) and ``_overdue``.
    """
    p, amount, overdue = pl.col("_p"), pl.col("_amount"), pl.col("_overdue")
    return deals.group_by(QUARTER).agg(
        pl.len().cast(pl.Int64).alias("open_deals"),
        money_sum(amount).alias("open_pipeline"),
        overdue.sum().cast(pl.Int64).alias("overdue_deals"),
        money_sum(amount.filter(overdue)).alias("overdue_pipeline"),
        _sum_or_null(amount * p, p.is_not_null()).alias("open_expected"),
        _sum_or_null(amount.pow(2) * p * (1.0 - p), p.is_not_null()).alias("_open_bernoulli"),
        pl.col("_p_stage").is_null().sum().cast(pl.Int64).alias("open_deals_without_stage_rate"),
    )


def _open_ever(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    as_of: dt.datetime,
    window_days: int,
    open_: pl.LazyFrame,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The open pipeline weighed by "ever won" stage probabilities (the previous forecast).

    Only deals expected in their target quarter (no overdue deals); no shock term.
    """
    probabilities = stage_win_probabilities(
        opportunities, stage_history, as_of=as_of, window_days=window_days
    ).select("stage", pl.col("p_win_count").alias("_p_stage"))
    overall = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_count").alias("_overall")
    )
    weighed = _weigh_open(
        open_.filter(~pl.col("_overdue"))
        .join(probabilities, on="stage", how="left")
        .join(overall, how="cross")
        .with_columns(pl.coalesce("_p_stage", "_overall").alias("_p"))
    )
    shock = pl.LazyFrame(
        {"_snap": [False, True], "open_shock_sd": [None, None]},
        schema={"_snap": pl.Boolean, "open_shock_sd": pl.Float64},
    )
    return weighed, shock


def _open_in_quarter(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    calendar: FiscalCalendar,
    lo: int,
    hi: int,
    elapsed: float,
    open_: pl.LazyFrame,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The open pipeline weighed by in-quarter probabilities calibrated on quarters lo..hi.

    Rates per snapshot point ``_snap`` (False: the quarters' starts, for every
    quarter after the current one; True: ``elapsed`` of the way through, for the
    current quarter when part of it has elapsed) and kind ``_overdue`` (expected
    in the quarter, or in an earlier one and still open). p = the rate of the
    deal's stage, else the kind's rate pooled over stages, else the rate pooled
    over both kinds; all by amount. Also returns ``open_shock_sd`` per ``_snap``.
    """
    points = [0.0] if elapsed == 0 else [0.0, elapsed]
    won, amount = pl.col("_won"), pl.col("_amount")
    # one pass over the calibration deals: sums per (point, quarter, kind, stage)
    cells = (
        _at_snapshots(opportunities, stage_history, calendar, lo, hi, points)
        .filter(pl.col("_expected_q") <= pl.col(QUARTER))
        .with_columns((pl.col("_expected_q") < pl.col(QUARTER)).alias("_overdue"))
        .group_by("_snap", QUARTER, "_overdue", "stage")
        .agg(
            money_sum(amount).alias("_amount"),
            money_sum(amount.filter(won)).alias("_won_amount"),
            stable_sum(amount.pow(2)).alias("_amount_sq"),
        )
    )

    def rate(keys: list[str], name: str) -> pl.LazyFrame:
        return cells.group_by(keys).agg(
            _ratio(money_sum(pl.col("_won_amount")), money_sum(pl.col("_amount"))).alias(name)
        )

    by_stage = rate(["_snap", "_overdue", "stage"], "_p_stage")
    by_kind = rate(["_snap", "_overdue"], "_p_kind")
    pooled = rate(["_snap"], "_p_all")

    def weigh(frame: pl.LazyFrame) -> pl.LazyFrame:
        return (
            frame.join(by_stage, on=["_snap", "_overdue", "stage"], how="left")
            .join(by_kind, on=["_snap", "_overdue"], how="left")
            .join(pooled, on="_snap", how="left")
            .with_columns(pl.coalesce("_p_stage", "_p_kind", "_p_all").alias("_p"))
        )

    # A quarter-level shock: how far each calibration quarter's won amount fell from what the
    # rates predict, beyond the chance variation of independent deals (method of moments).
    p = pl.col("_p")
    per_quarter = (
        weigh(cells)
        .group_by("_snap", QUARTER)
        .agg(
            stable_sum(pl.col("_amount") * p).alias("_predicted"),
            money_sum(pl.col("_won_amount")).alias("_observed"),
            stable_sum(pl.col("_amount_sq") * p * (1.0 - p)).alias("_chance"),
        )
    )
    excess = (pl.col("_observed") - pl.col("_predicted")).pow(2) - pl.col("_chance")
    shock = per_quarter.group_by("_snap").agg(
        _ratio(stable_sum(excess), stable_sum(pl.col("_predicted").pow(2)))
        .clip(lower_bound=0.0)
        .sqrt()
        .alias("open_shock_sd")
    )
    return _weigh_open(weigh(open_)), shock


def _new_deal_spread(
    opportunities: pl.LazyFrame,
    calendar: FiscalCalendar,
    cut: pl.Expr,
    quarters: range,
) -> pl.LazyFrame:
    """Coefficient of variation of what each quarter won from deals it created itself.

    Over ``quarters`` (complete creation quarters): the amount created and won
    in the same quarter, a quarter without any counting 0; sample standard
    deviation (n - 1) / mean; null with fewer than two quarters or a mean of 0.
    """
    same_quarter = (
        _won_after_creation(opportunities, calendar, cut)
        .filter(pl.col("_k") == 0)
        .select(QUARTER, "_won")
    )
    won = pl.col("_won")
    return (
        _index_frame(QUARTER, quarters)
        .join(same_quarter, on=QUARTER, how="left")
        .with_columns(won.fill_null(0.0))
        .select(
            pl.when(pl.len() >= 2)
            .then(_ratio(stable_std(won, ddof=1), stable_mean(won)))
            .alias("not_yet_created_cv")
        )
    )


#: the columns of :func:`bookings_forecast`, in order
FORECAST_COLUMNS: tuple[str, ...] = (
    QUARTER,
    LABEL,
    "quarters_ahead",
    "booked_to_date",
    "open_deals",
    "open_pipeline",
    "overdue_deals",
    "overdue_pipeline",
    "open_expected",
    "open_variance",
    "open_shock_sd",
    "open_deals_without_stage_rate",
    "creation_rate",
    "not_yet_created_share",
    "not_yet_created_expected",
    "not_yet_created_variance",
    "not_yet_created_cv",
    "pipeline_forecast",
    "creation_growth",
    "naive_reference",
    "naive_forecast",
    "curve_basis",
    "curve_share",
    "curve_forecast",
    "pipeline_weight",
    "naive_weight",
    "curve_weight",
    "forecast",
    "forecast_sd",
    "forecast_low",
    "forecast_high",
    "track_quarters",
    "track_rms_error",
    "target",
    "forecast_to_target",
)


def _pooled_forecast(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None,
    *,
    calendar: FiscalCalendar,
    first: int,
    quarters: int,
    as_of: dt.datetime,
    window_days: int,
    creation_quarters: int,
    z: float,
    calibration: str,
    calibration_quarters: int,
) -> pl.LazyFrame:
    """The forecast with rates pooled over the year (``calibration`` "in_quarter" or "ever").

    The forecast before issue 10, unchanged; :func:`bookings_forecast` documents the
    columns. Parameters are checked by the caller.

    Grain: one row per fiscal quarter ``T`` from ``quarter`` on, ``quarters`` of
    them, sorted. Amounts in the reporting currency, variances in currency
    squared. Components (``N`` = current quarter, ``elapsed`` its elapsed share;
    module docstring):

    1. ``booked_to_date``: won amount closed in ``T`` on or before ``as_of``.
    2. Open pipeline, for ``T >= N`` only: the opportunities open at ``as_of``
       whose ``expected_close_date`` is in ``T``, and for ``T = N`` also the
       *overdue* ones (expected in a quarter before ``N``, still open):
       ``open_deals``, ``open_pipeline`` (a missing amount counts 0), of which
       ``overdue_deals``, ``overdue_pipeline``. Each deal is won in ``T`` with
       probability ``p``:

       - ``calibration="in_quarter"`` (default): ``p_in_quarter_amount`` of the
         deal's stage from :func:`in_quarter_win_probabilities` over the
         ``calibration_quarters`` complete quarters before ``N``; overdue deals
         take the same rate calibrated on the deals overdue at those quarters'
         starts (``overdue=True``). For ``T = N`` with part of it elapsed the
         rates are calibrated at the same share of each past quarter
         (``elapsed=``), for later quarters at their starts. A stage without a
         rate takes the rate pooled over all stages of its kind (expected or
         overdue), or over both kinds when its kind has none. By amount, since
         large deals are won less often than small ones.
       - ``calibration="ever"``: the previous forecast, unchanged:
         ``p_win_count`` of the stage from :func:`stage_win_probabilities` (same
         ``window_days``), else the window's overall win rate by count;
         overdue deals are left out (``overdue_deals`` is 0).

       ``open_deals_without_stage_rate`` counts the deals that took a pooled
       rate. ``open_expected`` = sum amount x p (null when some deal has no p at
       all: nothing to calibrate on). ``open_variance`` = sum amount^2 x p x
       (1 - p) (independent deals) + (``open_shock_sd`` x open_expected)^2.
       ``open_shock_sd`` (in-quarter only; null for "ever" or with nothing
       calibrated, then counted as 0) is the relative size of a quarter-wide
       shock, estimated on the calibration quarters: the squared gaps between
       each quarter's won amount and what the rates predicted for it, less the
       independent-deal variance, over the squared predictions (clipped at 0).
       Budget freezes, seasons and slips that hit many deals at once live there.
    3. Pipeline not yet created, for ``T >= N`` only:
       ``creation_rate`` = mean created amount per quarter (all outcomes) over
       the ``creation_quarters`` complete quarters before ``N``;
       ``w(k)`` = of the amount created in a quarter C, the share won in
       quarter C + k, pooled over the ``creation_quarters`` most recent
       creation quarters whose quarter C + k is complete (sum of won / sum of
       created); ``not_yet_created_share`` = (1 - elapsed) x w(T - N) + sum of
       w(k) for k = 0 .. T - N - 1 (the rest of quarter N and every full quarter
       N+1 .. T still to be created); ``not_yet_created_expected`` =
       creation_rate x not_yet_created_share.
       ``not_yet_created_variance``: compound Poisson, expected x E[S^2] /
       E[S] with S the amounts of deals won in the trailing window (wins arrive
       independently, each the size of a past win); with ``"in_quarter"`` it
       is at least (``not_yet_created_cv`` x expected)^2, where
       ``not_yet_created_cv`` = sample standard deviation / mean of the amount
       each of the ``creation_quarters`` complete quarters won from deals it
       created itself (how much new-deal bookings really vary from quarter to
       quarter; null for "ever" or with fewer than two quarters).

    For a complete quarter (``T < N``) components 2 and 3 are 0: the forecast
    is what was booked.

    ``forecast`` = booked_to_date + open_expected + not_yet_created_expected;
    ``forecast_sd`` = sqrt(open_variance + not_yet_created_variance);
    ``forecast_low`` = max(forecast - z x sd, booked_to_date);
    ``forecast_high`` = forecast + z x sd (z = 1.2816: a central 80% interval
    under a normal approximation; :func:`forecast_backtest` shows how often it
    held). ``target`` (shared bookings target, null if none; ``targets`` may be
    omitted) and ``forecast_to_target`` = forecast / target.
    """
    in_quarter = calibration == "in_quarter"
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    last = first + quarters - 1
    current, elapsed = _now(calendar, as_of)
    complete = current - 1  # the last complete quarter
    grid = _index_frame(QUARTER, range(first, last + 1)).pipe(with_label)

    # (2) open pipeline: each deal's target quarter (an overdue deal's is the current one)
    expected_q = _expected_quarter(calendar)
    open_ = (
        _open_at(opportunities, cut)
        .filter(pl.col("expected_close_date").is_not_null())
        .select(
            "stage",
            pl.col("amount").fill_null(0.0).alias("_amount"),
            (expected_q < current).alias("_overdue"),
            pl.max_horizontal(expected_q, pl.lit(current, dtype=pl.Int32)).alias(QUARTER),
        )
        .filter(pl.col(QUARTER).is_between(first, last))
        .select("stage", "_amount", "_overdue", QUARTER)
    )
    if in_quarter:
        weighed, shock = _open_in_quarter(
            opportunities,
            stage_history,
            calendar,
            current - calibration_quarters,
            complete,
            elapsed,
            open_.with_columns(((pl.col(QUARTER) == current) & pl.lit(elapsed > 0)).alias("_snap")),
        )
    else:
        weighed, shock = _open_ever(opportunities, stage_history, as_of, window_days, open_)

    # (3) pipeline not created yet: creation rate x share of a quarter's creation won k later
    created = _created_by_quarter(opportunities, calendar, cut)
    creation_range = range(complete - creation_quarters + 1, complete + 1)
    rate = (
        _index_frame(QUARTER, creation_range)
        .join(created, on=QUARTER, how="left")
        .select(stable_mean(pl.col("_created").fill_null(0.0)).alias("creation_rate"))
    )
    if in_quarter:
        spread = _new_deal_spread(opportunities, calendar, cut, creation_range)
    else:
        spread = pl.LazyFrame(
            {"not_yet_created_cv": [None]}, schema={"not_yet_created_cv": pl.Float64}
        )
    horizon = last - current  # largest k needed
    pairs = [
        (k, c)
        for k in range(horizon + 1)
        for c in range(complete - k - creation_quarters + 1, complete - k + 1)
    ]
    share_won = (
        pl.LazyFrame(
            {"_k": [k for k, _ in pairs], QUARTER: [c for _, c in pairs]},
            schema={"_k": pl.Int32, QUARTER: pl.Int32},
        )
        .join(created, on=QUARTER, how="left")
        .join(_won_after_creation(opportunities, calendar, cut), on=[QUARTER, "_k"], how="left")
        .group_by("_k")
        .agg(_ratio(money_sum(pl.col("_won")), money_sum(pl.col("_created"))).alias("_w"))
    )
    weights = [
        (t, k, (1.0 - elapsed) if k == t - current else 1.0)
        for t in range(max(first, current), last + 1)
        for k in range(t - current + 1)
    ]
    not_created = (
        pl.LazyFrame(
            {
                QUARTER: [t for t, _, _ in weights],
                "_k": [k for _, k, _ in weights],
                "_weight": [w for _, _, w in weights],
            },
            schema={QUARTER: pl.Int32, "_k": pl.Int32, "_weight": pl.Float64},
        )
        .join(share_won, on="_k", how="left")
        .group_by(QUARTER)
        .agg(
            _sum_or_null(pl.col("_weight") * pl.col("_w"), pl.col("_w").is_not_null()).alias(
                "_nyc_share"
            )
        )
    )
    sizes = (
        _closed_in_window(opportunities, as_of, window_days)
        .filter(pl.col("outcome") == "won")
        .select(
            _ratio(stable_sum(pl.col("amount").pow(2)), money_sum(pl.col("amount"))).alias(
                "_size_ratio"
            )
        )
    )

    zero = pl.lit(0.0)
    nyc, expected = pl.col("not_yet_created_expected"), pl.col("open_expected")
    total_variance = pl.col("open_variance") + pl.col("not_yet_created_variance")
    forecast, sd = pl.col("forecast"), pl.col("forecast_sd")
    future = pl.col(QUARTER) >= current
    no_open = pl.col("open_deals").is_null()  # before it is filled with 0
    poisson = nyc * pl.col("_size_ratio")
    spread_variance = (pl.col("not_yet_created_cv") * nyc).pow(2)
    return (
        grid.join(_booked(opportunities, calendar, cut), on=QUARTER, how="left")
        .join(weighed, on=QUARTER, how="left")
        .join(not_created, on=QUARTER, how="left")
        .join(rate, how="cross")
        .join(sizes, how="cross")
        .with_columns(((pl.col(QUARTER) == current) & pl.lit(elapsed > 0)).alias("_snap"))
        .join(shock, on="_snap", how="left")
        .join(spread, how="cross")
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .with_columns(
            # a quarter with no open deal in it has nothing to weigh: 0, not null
            *(
                pl.when(no_open).then(zero).otherwise(pl.col(c)).alias(c)
                for c in ("open_expected", "_open_bernoulli")
            ),
            pl.when(future).then(pl.col("_nyc_share")).otherwise(zero).alias(_NYC_SHARE),
        )
        .with_columns(
            pl.col("_booked").fill_null(0.0).alias("booked_to_date"),
            pl.col("open_deals", "overdue_deals", "open_deals_without_stage_rate").fill_null(0),
            pl.col("open_pipeline", "overdue_pipeline").fill_null(0.0),
            (pl.col("creation_rate") * pl.col(_NYC_SHARE)).alias("not_yet_created_expected"),
            (
                pl.col("_open_bernoulli")
                + (pl.col("open_shock_sd").fill_null(0.0) * expected).pow(2)
            ).alias("open_variance"),
        )
        .with_columns(
            pl.when(nyc == 0)
            .then(zero)
            .when(spread_variance.is_null())
            .then(poisson)
            .otherwise(pl.max_horizontal(poisson, spread_variance))
            .alias("not_yet_created_variance")
        )
        .with_columns(
            (pl.col("booked_to_date") + expected + nyc).alias("forecast"),
            total_variance.sqrt().alias("forecast_sd"),
        )
        .with_columns(
            pl.when(forecast.is_not_null() & sd.is_not_null())
            .then(pl.max_horizontal(forecast - z * sd, pl.col("booked_to_date")))
            .alias("forecast_low"),
            (forecast + z * sd).alias("forecast_high"),
            _ratio(forecast, pl.col("target")).alias("forecast_to_target"),
            (pl.col(QUARTER) - current).cast(pl.Int32).alias("quarters_ahead"),
            forecast.alias("pipeline_forecast"),
            pl.lit(None, dtype=pl.String).alias("curve_basis"),
            pl.lit(None, dtype=pl.Float64).alias("curve_share"),
            pl.lit(None, dtype=pl.Float64).alias("curve_forecast"),
            pl.lit(None, dtype=pl.Float64).alias("creation_growth"),
            pl.lit(None, dtype=pl.Float64).alias("naive_reference"),
            pl.lit(None, dtype=pl.Float64).alias("naive_forecast"),
            pl.lit(1.0).alias("pipeline_weight"),
            pl.lit(0.0).alias("naive_weight"),
            pl.lit(0.0).alias("curve_weight"),
            pl.lit(None, dtype=pl.Int64).alias("track_quarters"),
            pl.lit(None, dtype=pl.Float64).alias("track_rms_error"),
        )
        .select(FORECAST_COLUMNS)
        .sort(QUARTER)
    )


_NYC_SHARE = "not_yet_created_share"


def bookings_forecast(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 3,
    window_days: int = 730,
    creation_quarters: int = 4,
    z: float = Z_80,
    calibration: str = "seasonal",
    calibration_quarters: int = 8,
    season_weight: float | None = DEFAULT_SEASON_WEIGHT,
    track_quarters: int = DEFAULT_TRACK_QUARTERS,
) -> pl.LazyFrame:
    """An explainable bookings forecast: booked + weighted open pipeline + pipeline not yet created.

    Grain: one row per fiscal quarter ``T`` from ``quarter`` on, ``quarters`` of
    them, sorted; ``quarters_ahead`` = T - N (``N`` the quarter current at
    ``as_of``, ``elapsed`` its elapsed share; module docstring). Amounts in the
    reporting currency, variances in currency squared.

    **The tables must be cut at** ``as_of`` (``FunnelData.at(as_of)``,
    :func:`alignment_lib.asof.cut_at`): an open deal's stage, amount and
    expected close date are the ones recorded then, which only the cut
    rebuilds. Tables with an opportunity created or closed, or a stage change
    recorded, after ``as_of`` are refused (:class:`ParameterError`); this check
    reads the tables once (a small aggregate).

    ``calibration="seasonal"`` (default; docs/metrics/forecast.md, "Bookings
    forecast"), for ``T >= N``:

    1. ``booked_to_date``: won amount closed in ``T`` on or before ``as_of``.
    2. ``open_expected`` = sum over every open deal of amount x p, p the chance
       that a deal of its stage and expected-close offset is won in ``T``
       (:func:`seasonal_win_probabilities`: snapshots of the
       ``calibration_quarters`` complete quarters before ``N`` at the same
       elapsed share, the same fiscal quarter of the year shrunk toward the
       pooled rate with ``season_weight``); falls back to the rate pooled over
       stages, then over offsets. ``open_deals``, ``open_pipeline``: the deals
       expected in ``T`` (for ``T = N`` also the overdue ones: ``overdue_deals``,
       ``overdue_pipeline``); ``open_variance`` = sum amount^2 x p x (1 - p);
       ``open_deals_without_stage_rate``: deals weighed with a fallback rate.
    3. ``not_yet_created_expected`` = ``creation_rate`` x
       ``not_yet_created_share``: creation_rate = mean created amount per
       quarter over the ``creation_quarters`` complete quarters before ``N``
       (quarters before the data's first deal left out); the share = sum over
       creation quarters C = N .. T of (1 - elapsed for C = N) x the season
       index of C (mean created in C's fiscal quarter of the year / mean
       created, over the calibration quarters, shrunk toward 1) x the share of
       a quarter's created amount won T - C quarters later (same fiscal
       quarter of the year, shrunk toward pooled; for C = N mid-quarter, of
       the amount created after the same share of past quarters), x the
       creation growth carried from the level's centre to C (g^(d / 4), d in
       quarters; 1 while the growth is unknown).
       ``not_yet_created_variance``: compound Poisson (expected x E[S^2] / E[S]
       over the wins of the trailing ``window_days``), at least
       (``not_yet_created_cv`` x expected)^2.
    4. Three estimates: ``pipeline_forecast`` = booked_to_date + open_expected
       + not_yet_created_expected; ``naive_forecast`` = ``naive_reference``
       (what T - 4 booked, when it lies at least max(``reference_lag``, 1)
       quarters after the data's first quarter) x ``creation_growth``
       (pipeline created in the last four complete quarters over the four
       before them), at least booked_to_date; for ``T = N`` with part of it
       elapsed, ``curve_forecast`` = booked_to_date / ``curve_share``, the
       share of a quarter's bookings the past quarters had booked by the same
       share of them (``curve_basis``: "same quarter" with two or more of the
       same fiscal quarter of the year, else "all quarters").
       ``forecast`` = the estimates taking part (above 0; the pipeline
       estimate always, null without it) weighted by ``pipeline_weight``,
       ``naive_weight``, ``curve_weight``: inverse to each one's mean squared
       log error at the same point of the last ``track_quarters`` quarters,
       shrunk toward the others' (module
       :mod:`~alignment_lib.metrics.forecast.track`).
    5. The interval: ``forecast_low`` = max(forecast x exp(-t x s),
       booked_to_date), ``forecast_high`` = forecast x exp(t x s), with s^2 the
       mean squared log error of the same forecast (same elapsed share, same
       quarters ahead) for the last ``track_quarters`` quarters complete at
       ``as_of``, each made at its own past date from the tables as they were
       then, blended with the pipeline model's own relative variance counted
       as one error; t = Student's t quantile at the normal tail of ``z`` (80%
       for 1.2816) with 1 + ``track_quarters`` degrees of freedom.
       ``track_quarters`` (column): past errors used; ``track_rms_error``:
       their root mean square (log scale); ``forecast_sd`` = forecast x s.

    For a complete quarter (``T < N``) the forecast is what was booked.
    ``target`` (shared bookings target, null if none; ``targets`` may be
    omitted) and ``forecast_to_target`` = forecast / target.

    ``calibration="in_quarter"`` (the forecast before issue 10: in-quarter
    rates pooled over the year, a normal interval of ``z`` model standard
    deviations) and ``"ever"`` (the first forecast) are kept for comparison;
    their curve and naive columns are null, ``pipeline_weight`` 1 and the
    other weights 0.
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    creation_quarters = _whole("creation_quarters", creation_quarters)
    calibration_quarters = _whole("calibration_quarters", calibration_quarters)
    track_quarters = _whole("track_quarters", track_quarters)
    if isinstance(z, bool) or not isinstance(z, int | float) or not math.isfinite(z) or z < 0:
        raise ParameterError(f"z must be a finite number of standard deviations >= 0, got {z!r}")
    if calibration not in CALIBRATIONS:
        raise ParameterError(
            f"calibration must be one of {', '.join(map(repr, CALIBRATIONS))}, got {calibration!r}"
        )
    weight = _season_weight(season_weight)
    as_of = _instant(as_of)
    _window_days(window_days)
    refuse_uncut(opportunities, stage_history, as_of=as_of, function="bookings_forecast")
    if calibration != "seasonal":
        frame = _pooled_forecast(
            opportunities,
            stage_history,
            targets,
            calendar=calendar,
            first=first,
            quarters=quarters,
            as_of=as_of,
            window_days=window_days,
            creation_quarters=creation_quarters,
            z=z,
            calibration=calibration,
            calibration_quarters=calibration_quarters,
        )
        return frame.select(FORECAST_COLUMNS)
    options = {
        "window_days": window_days,
        "creation_quarters": creation_quarters,
        "calibration_quarters": calibration_quarters,
        "season_weight": weight,
    }
    return _seasonal_forecast(
        opportunities,
        stage_history,
        targets,
        calendar=calendar,
        first=first,
        last=first + quarters - 1,
        as_of=as_of,
        z=z,
        track_quarters=track_quarters,
        options=options,
    )


def _window_days(window_days: object) -> None:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days <= 0:
        raise ParameterError(
            f"window_days must be a whole number of days above 0, got {window_days!r}"
        )


def _seasonal_forecast(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None,
    *,
    calendar: FiscalCalendar,
    first: int,
    last: int,
    as_of: dt.datetime,
    z: float,
    track_quarters: int,
    options: dict[str, Any],
) -> pl.LazyFrame:
    """The season-aware forecast at ``as_of`` with its track-record interval (tables cut)."""
    current, elapsed = _now(calendar, as_of)
    horizon = max(last - current, 0)
    # past origins: the weights need the estimates' errors for the last track_quarters complete
    # quarters at every horizon, the interval the errors of the weighted forecasts for them,
    # whose weights need the track_quarters before them in turn
    earliest = current - 2 * (track_quarters + horizon)
    horizons = {o: horizon for o in range(earliest, current + 1)}
    points = seasonal_points(
        opportunities,
        stage_history,
        calendar=calendar,
        elapsed=elapsed,
        horizons=horizons,
        cuts={current: as_of},
        **options,
    )
    booked = _booked(opportunities, calendar, _lit_instant(as_of)).select(
        QUARTER, pl.col("_booked").alias("actual")
    )
    combined = combine(
        points, booked.filter(pl.col(QUARTER) < current), track_quarters=track_quarters, z=z
    ).filter(pl.col("origin") == current, pl.col(QUARTER).is_between(first, last))
    zero = pl.lit(0.0)
    complete = (
        _index_frame(QUARTER, range(first, min(last, current - 1) + 1))
        .join(booked, on=QUARTER, how="left")
        .with_columns(pl.col("actual").fill_null(0.0).alias("booked_to_date"))
        .with_columns(
            (pl.col(QUARTER) - current).cast(pl.Int32).alias("quarters_ahead"),
            *(
                pl.lit(0, dtype=pl.Int64).alias(c)
                for c in ("open_deals", "overdue_deals", "open_deals_without_stage_rate")
            ),
            *(
                zero.alias(c)
                for c in (
                    "open_pipeline",
                    "overdue_pipeline",
                    "open_expected",
                    "open_variance",
                    _NYC_SHARE,
                    "not_yet_created_expected",
                    "not_yet_created_variance",
                    "naive_weight",
                    "curve_weight",
                    "forecast_sd",
                )
            ),
            pl.lit(1.0).alias("pipeline_weight"),
            *(
                pl.col("booked_to_date").alias(c)
                for c in ("pipeline_forecast", "forecast", "forecast_low", "forecast_high")
            ),
        )
    )
    return (
        pl.concat([combined, complete], how="diagonal_relaxed")
        .pipe(with_label)
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .with_columns(
            pl.lit(None, dtype=pl.Float64).alias("open_shock_sd"),
            _ratio(pl.col("forecast"), pl.col("target")).alias("forecast_to_target"),
        )
        .select(FORECAST_COLUMNS)
        .sort(QUARTER)
    )
