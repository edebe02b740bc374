"""What a page states about the forecast: each displayed quarter with its record and baseline.

Definition: docs/metrics/forecast.md ("What a page states").
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import QUARTER
from alignment_lib.metrics.deals import _instant, _ratio
from alignment_lib.metrics.forecast._common import _now, _quarter_index, _whole
from alignment_lib.metrics.forecast.backtest import (
    forecast_accuracy,
    forecast_backtest,
    forecast_track_record,
    seasonal_naive_forecast,
)
from alignment_lib.metrics.forecast.bookings import (
    CALIBRATIONS,
    FORECAST_COLUMNS,
    Z_80,
    bookings_forecast,
)
from alignment_lib.metrics.forecast.seasonal import DEFAULT_SEASON_WEIGHT
from alignment_lib.metrics.forecast.track import DEFAULT_TRACK_QUARTERS

__all__ = ["RECORD_COLUMNS", "forecast_overview"]

#: the farthest horizon a track record is kept for (forecast_track_record's limit)
_MAX_HORIZON = 8

#: the track-record columns of :func:`forecast_overview`, after the forecast's own
RECORD_COLUMNS: tuple[str, ...] = (
    "record_first",
    "record_last",
    "record_quarters",
    "record_inside",
    "record_mean_absolute_error",
    "record_bias",
    "record_baseline_quarters",
    "record_baseline_mean_absolute_error",
    "record_mean_absolute_error_same_quarters",
)


class _Options(TypedDict):
    """The options :func:`forecast_overview` passes on to the forecast and its record."""

    window_days: int
    creation_quarters: int
    z: float
    calibration_quarters: int
    season_weight: float | None
    track_quarters: int


def _displayed(report: int, current: int, ahead: int) -> tuple[int, int]:
    """First and last quarter shown: the quarter current at as-of (forecasting a complete
    quarter says nothing) up to ``ahead`` quarters after the report quarter, at least
    ``ahead`` quarters in all."""
    return current, max(report + ahead, current + ahead - 1)


def _record_rows(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None,
    *,
    calendar: FiscalCalendar,
    current: int,
    elapsed: float,
    horizons: list[int],
    as_of: dt.datetime,
    calibration: str,
    options: _Options,
) -> pl.LazyFrame:
    """Past forecasts at the same point (elapsed share, horizon) for the ``track_quarters``
    quarters before ``current``: (elapsed, quarters_ahead, error, inside_interval,
    baseline_error), as :func:`forecast_accuracy` reads them."""
    track = options["track_quarters"]
    first = FiscalCalendar.quarter_from_index(current - track)
    last = FiscalCalendar.quarter_from_index(current - 1)
    if calibration == "seasonal":
        return forecast_track_record(
            opportunities,
            stage_history,
            targets,
            calendar=calendar,
            first=first,
            last=last,
            as_of=as_of,
            elapsed=elapsed,
            quarters_ahead=horizons,
            **options,
        ).select("elapsed", "quarters_ahead", "error", "inside_interval", "baseline_error")
    # the forecasts before issue 10 are backtested from the quarter's own start (or the same
    # share of the way through it) only: a record for the current quarter, none further out
    backtest = forecast_backtest(
        opportunities,
        stage_history,
        targets,
        calendar=calendar,
        first=first,
        last=last,
        as_of=as_of,
        elapsed=elapsed,
        calibration=calibration,
        window_days=options["window_days"],
        creation_quarters=options["creation_quarters"],
        z=options["z"],
        calibration_quarters=options["calibration_quarters"],
    )
    baseline = seasonal_naive_forecast(
        opportunities, calendar=calendar, quarter=first, as_of=as_of, quarters=track
    ).select(QUARTER, "baseline_forecast")
    return (
        backtest.join(baseline, on=QUARTER, how="left")
        .with_columns(
            pl.lit(elapsed).alias("elapsed"),
            pl.lit(0, dtype=pl.Int32).alias("quarters_ahead"),
            (_ratio(pl.col("baseline_forecast"), pl.col("actual")) - 1.0).alias("baseline_error"),
        )
        .select("elapsed", "quarters_ahead", "error", "inside_interval", "baseline_error")
    )


def forecast_overview(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    ahead: int = 3,
    calibration: str = "seasonal",
    window_days: int = 730,
    creation_quarters: int = 4,
    z: float = Z_80,
    calibration_quarters: int = 8,
    season_weight: float | None = DEFAULT_SEASON_WEIGHT,
    track_quarters: int = DEFAULT_TRACK_QUARTERS,
) -> pl.LazyFrame:
    """The forecast of each quarter a report shows, its track record and the baseline beside it.

    ``quarter`` is the report quarter. The quarters shown run from the quarter
    current at ``as_of`` (``N``: the quarter after the report quarter at its
    end; the report quarter itself when ``as_of`` lies inside it) to ``ahead``
    quarters after the report quarter (at least ``ahead`` quarters): three at
    a quarter's end, four mid-quarter.

    Grain: one row per quarter shown, sorted; every column of
    :func:`bookings_forecast` (``calibration`` and the other options passed
    on), then ``calibration``, ``elapsed`` (of ``N`` at ``as_of``), the
    seasonal-naive baseline (:func:`seasonal_naive_forecast`:
    ``baseline_quarter``, ``baseline_forecast``) and the track record at the
    same point (:data:`RECORD_COLUMNS`): ``record_first`` .. ``record_last``
    (the ``track_quarters`` quarters before ``N``), and over them
    :func:`forecast_accuracy` of the forecasts made ``quarters_ahead``
    quarters before each, at the same elapsed share: ``record_quarters`` (with
    a forecast), ``record_inside`` (the 80% range held), ``record_mean_absolute_error``,
    ``record_bias``, ``record_baseline_quarters``,
    ``record_baseline_mean_absolute_error`` (the same quarter last year, over
    the quarters that have both) and ``record_mean_absolute_error_same_quarters``
    (the forecast's over those quarters: the fair comparison). The
    season-aware forecast has a record at every horizon
    (:func:`forecast_track_record`); the forecasts before issue 10
    (``"in_quarter"``, ``"ever"``: what data without stage history supports)
    only for the current quarter (:func:`forecast_backtest`), null further
    out. ``record_quarters`` is 0, and the means null, with no past
    forecast at that point (the first quarters of an extract).

    The tables must be cut at ``as_of`` (``FunnelData.at``), as
    :func:`bookings_forecast` requires. Units: currency; fractions; counts.
    """
    if calibration not in CALIBRATIONS:
        raise ParameterError(
            f"calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}"
        )
    ahead = _whole("ahead", ahead)
    track_quarters = _whole("track_quarters", track_quarters)
    report = _quarter_index(quarter)
    as_of = _instant(as_of)
    current, elapsed = _now(calendar, as_of)
    first, last = _displayed(report, current, ahead)
    shown = last - first + 1
    options: _Options = {
        "window_days": window_days,
        "creation_quarters": creation_quarters,
        "z": z,
        "calibration_quarters": calibration_quarters,
        "season_weight": season_weight,
        "track_quarters": track_quarters,
    }
    start = FiscalCalendar.quarter_from_index(first)
    forecast = bookings_forecast(
        opportunities,
        stage_history,
        targets,
        calendar=calendar,
        quarter=start,
        as_of=as_of,
        quarters=shown,
        calibration=calibration,
        **options,
    )
    baseline = seasonal_naive_forecast(
        opportunities, calendar=calendar, quarter=start, as_of=as_of, quarters=shown
    ).select(QUARTER, "baseline_quarter", "baseline_forecast")
    ks = [k for k in range(first - current, last - current + 1) if 0 <= k <= _MAX_HORIZON]
    if calibration != "seasonal":
        ks = [k for k in ks if k == 0]
    record = (
        forecast_accuracy(
            _record_rows(
                opportunities,
                stage_history,
                targets,
                calendar=calendar,
                current=current,
                elapsed=elapsed,
                horizons=ks,
                as_of=as_of,
                calibration=calibration,
                options=options,
            )
        ).select(
            pl.col("quarters_ahead").cast(pl.Int32),
            pl.col("quarters").alias("record_quarters"),
            pl.col("inside").alias("record_inside"),
            pl.col("mean_absolute_error").alias("record_mean_absolute_error"),
            pl.col("bias").alias("record_bias"),
            pl.col("baseline_quarters").alias("record_baseline_quarters"),
            pl.col("baseline_mean_absolute_error").alias("record_baseline_mean_absolute_error"),
            pl.col("mean_absolute_error_same_quarters").alias(
                "record_mean_absolute_error_same_quarters"
            ),
        )
        if ks
        else pl.LazyFrame(
            schema={
                "quarters_ahead": pl.Int32,
                "record_quarters": pl.Int64,
                "record_inside": pl.Int64,
                "record_mean_absolute_error": pl.Float64,
                "record_bias": pl.Float64,
                "record_baseline_quarters": pl.Int64,
                "record_baseline_mean_absolute_error": pl.Float64,
                "record_mean_absolute_error_same_quarters": pl.Float64,
            }
        )
    )
    span = (
        FiscalCalendar.quarter_from_index(current - track_quarters).label,
        FiscalCalendar.quarter_from_index(current - 1).label,
    )
    return (
        forecast.join(baseline, on=QUARTER, how="left")
        .join(record, on="quarters_ahead", how="left")
        .with_columns(
            pl.lit(calibration).alias("calibration"),
            pl.lit(elapsed).alias("elapsed"),
            pl.lit(span[0]).alias("record_first"),
            pl.lit(span[1]).alias("record_last"),
            pl.col("record_quarters", "record_inside").fill_null(0),
            pl.col("record_baseline_quarters").fill_null(0),
        )
        .select(
            *FORECAST_COLUMNS,
            "calibration",
            "elapsed",
            "baseline_quarter",
            "baseline_forecast",
            *RECORD_COLUMNS,
        )
        .sort(QUARTER)
    )
