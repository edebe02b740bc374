"""The forecast's track record: rolling-origin forecasts of past quarters, their errors, and
the interval and mid-quarter weights set from them.

Definitions: docs/metrics/forecast.md ("Track record", "Bookings forecast").

A *past origin* ``o`` is a complete quarter seen at the same share of it as the
forecast date (its start, or halfway through it, ...), the tables cut there
(:func:`alignment_lib.asof.cut_opportunities`): what a forecast made then knew.
The season-aware point forecast is made at each past origin; its *log error*
for a quarter T is ln(actual / forecast). Two things are set from the errors
of the last ``track_quarters`` quarters that were complete at the forecast date
(never from a quarter that was not):

- mid-quarter, the weights of the two estimates of the current quarter
  (pipeline and curve), inverse to their mean squared log errors at the same
  point of past quarters;
- the interval: forecast x exp(+-t x s), where s^2 = (prior_weight x model
  cv^2 + sum of squared log errors) / (prior_weight + n) at the same point and
  quarters ahead, and t is Student's t quantile with prior_weight + n degrees
  of freedom (the model's own spread counts as ``prior_weight`` past errors,
  so a short record gives a wide, honest interval).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.metrics._quarters import QUARTER
from alignment_lib.metrics._sums import stable_sum
from alignment_lib.metrics.forecast._student import normal_cdf, t_quantile

__all__ = ["DEFAULT_TRACK_QUARTERS", "PRIOR_WEIGHT", "combine", "student_multiplier"]

#: quarters of past errors the interval and the mid-quarter weights are set from
DEFAULT_TRACK_QUARTERS = 8
#: how many past errors the model's own spread is worth while the record is short
PRIOR_WEIGHT = 1


def _t_table(z: float, track_quarters: int) -> pl.LazyFrame:
    """t quantiles at the normal tail probability of ``z``, for every possible dof."""
    p = normal_cdf(z)
    dofs = list(range(PRIOR_WEIGHT, PRIOR_WEIGHT + track_quarters + 1))
    values = [t_quantile(p, d) if z > 0 else 0.0 for d in dofs]
    return pl.LazyFrame({"_dof": dofs, "_t": values}, schema={"_dof": pl.Int64, "_t": pl.Float64})


def _log_error(actual: pl.Expr, forecast: pl.Expr) -> pl.Expr:
    return pl.when((actual > 0) & (forecast > 0)).then((actual / forecast).log())


def _past_errors(
    rows: pl.LazyFrame, errors: pl.LazyFrame, names: Sequence[str], track_quarters: int
) -> pl.LazyFrame:
    """Per row of ``rows`` (origin, quarters_ahead): sum of squares and count of each named
    error over the past rows whose target was among the ``track_quarters`` quarters
    before the row's origin (same quarters_ahead)."""
    key = ["origin", "quarters_ahead"]
    past = errors.select(
        pl.col("quarters_ahead"), pl.col(QUARTER).alias("_past_t"), *(pl.col(n) for n in names)
    )
    sums = (
        rows.select(key)
        .unique()
        .join(past, on="quarters_ahead", how="inner")
        .filter(
            pl.col("_past_t") < pl.col("origin"),
            pl.col("_past_t") >= pl.col("origin") - track_quarters,
        )
        .group_by(key)
        .agg(
            *(stable_sum(pl.col(n).pow(2)).alias(f"_ss{n}") for n in names),
            *(pl.col(n).is_not_null().sum().cast(pl.Int64).alias(f"_n{n}") for n in names),
        )
    )
    return rows.join(sums, on=key, how="left").with_columns(
        *(pl.col(f"_ss{n}").fill_null(0.0) for n in names),
        *(pl.col(f"_n{n}").fill_null(0) for n in names),
    )


def _blend(prior_cv: pl.Expr, name: str) -> pl.Expr:
    """(prior_weight x prior_cv^2 + sum of squares) / (prior_weight + n); without a prior,
    the mean square of the errors; null with neither."""
    ss, n = pl.col(f"_ss{name}"), pl.col(f"_n{name}").cast(pl.Float64)
    return (
        pl.when(prior_cv.is_not_null())
        .then((PRIOR_WEIGHT * prior_cv.pow(2) + ss) / (PRIOR_WEIGHT + n))
        .when(n > 0)
        .then(ss / n)
    )


def combine(
    points: pl.LazyFrame, actuals: pl.LazyFrame, *, track_quarters: int, z: float
) -> pl.LazyFrame:
    """Mid-quarter weights, then the interval, from the errors of the earlier rows.

    ``points``: point forecasts at several origins (``origin``, ``quarters_ahead``,
    ``quarter_index``, ``pipeline_forecast``, ``pipeline_cv``, ``curve_forecast``,
    ``curve_cv``, ``booked_to_date``); ``actuals``: ``quarter_index``, ``actual``
    (complete quarters only). Returns every row of ``points`` with
    ``curve_weight``, ``forecast``, ``track_quarters`` (errors the interval used),
    ``track_rms_error``, ``forecast_sd``, ``forecast_low``, ``forecast_high``.
    """
    # every later step reads the points (and the staged rows) several times: without the
    # cache polars re-runs each past forecast per reference (measured 30 s against 5 s)
    points = points.cache()
    with_actual = points.join(actuals, on=QUARTER, how="left")
    errors = with_actual.select(
        "quarters_ahead",
        QUARTER,
        _log_error(pl.col("actual"), pl.col("pipeline_forecast")).alias("_rp"),
        _log_error(pl.col("actual"), pl.col("curve_forecast")).alias("_rc"),
    )
    sp2, sc2 = pl.col("_sp2"), pl.col("_sc2")
    curve = pl.col("curve_forecast").is_not_null() & sc2.is_not_null() & sp2.is_not_null()
    weight = pl.when(curve & (sp2 + sc2 > 0)).then(sp2 / (sp2 + sc2)).otherwise(0.0)
    staged = (
        _past_errors(points, errors, ["_rp", "_rc"], track_quarters)
        .with_columns(
            _blend(pl.col("pipeline_cv"), "_rp").alias("_sp2"),
            _blend(pl.col("curve_cv"), "_rc").alias("_sc2"),
        )
        .with_columns(weight.alias("curve_weight"))
        .with_columns(
            (
                (1.0 - pl.col("curve_weight")) * pl.col("pipeline_forecast")
                + pl.col("curve_weight") * pl.col("curve_forecast").fill_null(0.0)
            ).alias("forecast"),
            pl.when(pl.col("curve_weight") > 0)
            .then((sp2 * sc2 / (sp2 + sc2)).sqrt())
            .otherwise(pl.col("pipeline_cv"))
            .alias("_prior_cv"),
        )
        .drop("_ss_rp", "_ss_rc", "_n_rp", "_n_rc", "_sp2", "_sc2")
        .cache()
    )
    final_errors = staged.join(actuals, on=QUARTER, how="left").select(
        "quarters_ahead", QUARTER, _log_error(pl.col("actual"), pl.col("forecast")).alias("_rf")
    )
    s = pl.col("_sf2").sqrt()
    spread = pl.col("_t") * s
    return (
        _past_errors(staged, final_errors, ["_rf"], track_quarters)
        .with_columns(_blend(pl.col("_prior_cv"), "_rf").alias("_sf2"))
        .with_columns(
            pl.col("_n_rf").alias("track_quarters"),
            pl.when(pl.col("_n_rf") > 0)
            .then((pl.col("_ss_rf") / pl.col("_n_rf")).sqrt())
            .alias("track_rms_error"),
            (PRIOR_WEIGHT + pl.col("_n_rf")).alias("_dof"),
        )
        .join(_t_table(z, track_quarters), on="_dof", how="left")
        .with_columns(
            (pl.col("forecast") * s).alias("forecast_sd"),
            pl.when(pl.col("forecast").is_not_null())
            .then(pl.max_horizontal(pl.col("forecast") * (-spread).exp(), pl.col("booked_to_date")))
            .alias("forecast_low"),
            (pl.col("forecast") * spread.exp()).alias("forecast_high"),
        )
        .drop("_ss_rf", "_n_rf", "_sf2", "_dof", "_t", "_prior_cv")
    )


def student_multiplier(z: float, dof: int) -> float:
    """The t multiplier the interval uses with ``dof`` degrees of freedom (for the docs)."""
    return t_quantile(normal_cdf(z), dof) if z > 0 else 0.0
