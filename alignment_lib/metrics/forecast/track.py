"""The forecast's track record at work: the weights of its estimates and its interval,
set from the errors of rolling-origin forecasts of past quarters.

Definitions: docs/metrics/forecast.md ("Track record", "Bookings forecast").

A *past origin* ``o`` is a complete quarter seen at the same share of it as the
forecast date (its start, or halfway through it, ...), the tables cut there
(:func:`alignment_lib.asof.cut_opportunities`): what a forecast made then knew.
Each estimate (:data:`COMPONENTS`: the pipeline estimate, last year's same
quarter grown, the pace so far) is made at each past origin; its *log error*
for a quarter T is ln(actual / estimate). Two things are set from the errors of
the last ``track_quarters`` quarters that were complete at the forecast date
(never from a quarter that was not):

- the weights of the estimates (Bates and Granger): inverse to their mean
  squared log errors at the same point (elapsed share, quarters ahead), each
  shrunk toward the mean square of all of them by ``PRIOR_WEIGHT`` errors;
- the interval: forecast x exp(+-t x s), where s^2 = (prior_weight x model
  cv^2 + sum of squared log errors of the weighted forecast) / (prior_weight +
  n) at the same point, and t is Student's t quantile with prior_weight + n
  degrees of freedom (the pipeline model's own spread counts as
  ``prior_weight`` past errors, so a short record gives a wide, honest
  interval).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.metrics._quarters import QUARTER
from alignment_lib.metrics._sums import stable_sum
from alignment_lib.metrics.forecast._student import normal_cdf, t_quantile

__all__ = [
    "COMPONENTS",
    "DEFAULT_TRACK_QUARTERS",
    "PRIOR_WEIGHT",
    "combine",
    "student_multiplier",
]

#: quarters of past errors the weights and the interval are set from
DEFAULT_TRACK_QUARTERS = 8
#: how many past errors the model's own spread (interval) and the average accuracy of the
#: estimates (weights) are worth while the record is short
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


#: the estimates the forecast weighs: (name, column); the weights are ``{name}_weight``
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("pipeline", "pipeline_forecast"),
    ("naive", "naive_forecast"),
    ("curve", "curve_forecast"),
)


def _weights(names: Sequence[str]) -> list[pl.Expr]:
    """``{name}_weight`` from the staged ``_ss{n}``, ``_n{n}`` and ``_on{n}`` (takes part).

    Each taking part: mse = (ss + PRIOR_WEIGHT x m) / (n + PRIOR_WEIGHT), m the
    mean square of all the errors of the components taking part (so a
    component without errors starts at the average, and with none at all the
    weights are equal); weight = (1 / mse) / sum of 1 / mse. 0 when not taking
    part; all 0 when none does.
    """
    on = [pl.col(f"_on{n}") for n in names]
    ss = [pl.when(o).then(pl.col(f"_ss{n}")).otherwise(0.0) for o, n in zip(on, names, strict=True)]
    cnt = [
        pl.when(o).then(pl.col(f"_n{n}").cast(pl.Float64)).otherwise(0.0)
        for o, n in zip(on, names, strict=True)
    ]
    total_ss, total_n = pl.sum_horizontal(ss), pl.sum_horizontal(cnt)
    mean_square = pl.when(total_n > 0).then(total_ss / total_n).otherwise(1.0)
    inverse = [
        pl.when(o).then(
            1.0
            / pl.max_horizontal(
                (s + PRIOR_WEIGHT * mean_square) / (c + PRIOR_WEIGHT), pl.lit(_TINY)
            )
        )
        for o, s, c in zip(on, ss, cnt, strict=True)
    ]
    total = pl.sum_horizontal(inverse)
    return [
        pl.when(total > 0).then(inv / total).otherwise(0.0).fill_null(0.0).alias(f"{n}_weight")
        for inv, n in zip(inverse, names, strict=True)
    ]


#: floor of a mean squared error (perfect past forecasts) so that 1 / mse stays finite
_TINY = 1e-12


def combine(
    points: pl.LazyFrame, actuals: pl.LazyFrame, *, track_quarters: int, z: float
) -> pl.LazyFrame:
    """The weights of the estimates, then the interval, from the errors of the earlier rows.

    ``points``: point forecasts at several origins (``origin``, ``quarters_ahead``,
    ``quarter_index``, ``booked_to_date``, ``pipeline_forecast``, ``pipeline_cv``
    and the other estimates of :data:`COMPONENTS`: ``naive_forecast``,
    ``curve_forecast``); ``actuals``: ``quarter_index``, ``actual`` (complete
    quarters only).

    An estimate *takes part* in a row when it is above 0 (the pipeline estimate
    whenever it is known). Its weight is inverse to its mean squared log error
    ln(actual / estimate) over the rows of the same quarters ahead whose quarter
    was among the ``track_quarters`` before the row's origin (complete then),
    shrunk toward the others' (:func:`_weights`): the Bates-Granger combination.
    ``forecast`` = sum of weight x estimate (null when the pipeline estimate is).

    Returns every row of ``points`` with ``pipeline_weight``, ``naive_weight``,
    ``curve_weight``, ``forecast``, ``track_quarters`` (errors the interval
    used), ``track_rms_error``, ``forecast_sd``, ``forecast_low``,
    ``forecast_high``.
    """
    # every later step reads the points (and the staged rows) several times: without the
    # cache polars re-runs each past forecast per reference (measured 30 s against 5 s)
    points = points.cache()
    names = [n for n, _ in COMPONENTS]
    with_actual = points.join(actuals, on=QUARTER, how="left")
    errors = with_actual.select(
        "quarters_ahead",
        QUARTER,
        *(_log_error(pl.col("actual"), pl.col(c)).alias(n) for n, c in COMPONENTS),
    )
    pipeline = pl.col("pipeline_forecast")
    takes_part = {
        n: (pipeline.is_not_null() if n == "pipeline" else (pl.col(c) > 0).fill_null(False))
        for n, c in COMPONENTS
    }
    staged = (
        _past_errors(points, errors, names, track_quarters)
        .with_columns(*(v.alias(f"_on{n}") for n, v in takes_part.items()))
        .with_columns(_weights(names))
        .with_columns(
            pl.when(pipeline.is_not_null())
            .then(
                pl.sum_horizontal(
                    pl.col(f"{n}_weight") * pl.col(c).fill_null(0.0) for n, c in COMPONENTS
                )
            )
            .alias("forecast"),
        )
        .drop(*(f"_{w}{n}" for n in names for w in ("ss", "n", "on")))
        .cache()
    )
    final_errors = staged.join(actuals, on=QUARTER, how="left").select(
        "quarters_ahead", QUARTER, _log_error(pl.col("actual"), pl.col("forecast")).alias("_rf")
    )
    s = pl.col("_sf2").sqrt()
    spread = pl.col("_t") * s
    return (
        _past_errors(staged, final_errors, ["_rf"], track_quarters)
        .with_columns(_blend(pl.col("pipeline_cv"), "_rf").alias("_sf2"))
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
        .drop("_ss_rf", "_n_rf", "_sf2", "_dof", "_t")
    )


def student_multiplier(z: float, dof: int) -> float:
    """The t multiplier the interval uses with ``dof`` degrees of freedom (for the docs)."""
    return t_quantile(normal_cdf(z), dof) if z > 0 else 0.0
