"""How the bookings forecast did: past quarters forecast from their start, against what they booked.

Definition: docs/metrics/forecast.md ("Forecast backtest").
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.load import FunnelData
from alignment_lib.metrics._quarters import LABEL, QUARTER
from alignment_lib.metrics.deals import (
    _instant,
    _lit_instant,
    _ratio,
)
from alignment_lib.metrics.forecast._common import (
    _US,
    _booked,
    _now,
    _quarter_index,
    _share_of_quarter,
    _start_of,
)
from alignment_lib.metrics.forecast.bookings import Z_80, bookings_forecast
from alignment_lib.schema import LEADS, TARGETS, TIMESTAMP

__all__ = ["forecast_backtest"]


# -- forecast backtest ---------------------------------------------------------------------------
def forecast_backtest(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
    window_days: int = 730,
    creation_quarters: int = 4,
    z: float = Z_80,
    calibration: str = "in_quarter",
    calibration_quarters: int = 8,
    elapsed: float = 0.0,
) -> pl.LazyFrame:
    """How the bookings forecast did: each quarter forecast at its start against what it booked.

    For each fiscal quarter ``T`` in ``first``..``last`` (each must be complete
    at ``as_of``, the instant the tables are seen at), the tables are cut at
    ``T``'s start as :meth:`FunnelData.at <alignment_lib.load.FunnelData.at>`
    cuts them (at the previous quarter's last microsecond: later deals, closes
    and stage changes are invisible; open deals get the stage, amount and
    expected close date recorded then), and :func:`bookings_forecast` forecasts
    ``T`` from there with the given options (nothing of ``T`` elapsed, so the
    forecast is open pipeline + pipeline not yet created). With ``elapsed``
    (0 <= elapsed < 1) each quarter is forecast that share of the way through
    it instead (at the instant before start + elapsed x duration), to test the
    forecast a report makes mid-quarter.

    Grain: one row per quarter, sorted. Columns: ``forecast_as_of`` (the
    instant forecast from, UTC), ``forecast``, ``forecast_low``,
    ``forecast_high``, ``open_expected``, ``not_yet_created_expected`` (as in
    :func:`bookings_forecast`), ``target``, ``actual`` (won amount closed in
    ``T``, on or before ``as_of``), ``error`` = forecast / actual - 1 (null when
    nothing was booked), ``inside_interval`` = forecast_low <= actual <=
    forecast_high (null when the forecast is).

    A validation tool: one small lazy forecast per quarter, concatenated (the
    result is still lazy). Summaries such as the mean absolute error
    (``error.abs().mean()``) and the interval's hit rate
    (``inside_interval.mean()``) are the reader's to take.
    """
    lo, hi = _quarter_index(first), _quarter_index(last)
    elapsed = _share_of_quarter(elapsed)
    if hi < lo:
        raise ParameterError(f"last ({last.label}) must not be before first ({first.label})")
    as_of = _instant(as_of)
    current, _ = _now(calendar, as_of)
    if hi >= current:
        raise ParameterError(
            f"{last.label} is not complete at {as_of.isoformat()}: a backtest needs what the "
            f"quarter booked; the last complete quarter is "
            f"{FiscalCalendar.quarter_from_index(current - 1).label}"
        )
    # cut the tables with the loader's own as-of logic (lazily, once per quarter)
    data = FunnelData(
        leads=pl.LazyFrame(schema=LEADS.polars_schema),
        opportunities=opportunities,
        stage_history=stage_history,
        targets=pl.LazyFrame(schema=TARGETS.polars_schema),
        calendar=calendar,
        source="backtest",
        has_stage_history=True,
    ).at(as_of)
    actual = _booked(data.opportunities, calendar, _lit_instant(as_of)).select(
        QUARTER, pl.col("_booked").alias("actual")
    )
    frames = []
    for index in range(lo, hi + 1):
        quarter = FiscalCalendar.quarter_from_index(index)
        begin, end = _start_of(calendar, quarter), _start_of(calendar, quarter.shift(1))
        start = begin + (end - begin) * elapsed - _US
        seen = data.at(start)
        frames.append(
            bookings_forecast(
                seen.opportunities,
                seen.stage_history,
                targets,
                calendar=calendar,
                quarter=quarter,
                as_of=start,
                quarters=1,
                window_days=window_days,
                creation_quarters=creation_quarters,
                z=z,
                calibration=calibration,
                calibration_quarters=calibration_quarters,
            ).with_columns(pl.lit(start, dtype=TIMESTAMP).alias("forecast_as_of"))
        )
    forecast, low, high = pl.col("forecast"), pl.col("forecast_low"), pl.col("forecast_high")
    return (
        pl.concat(frames, how="vertical")
        .join(actual, on=QUARTER, how="left")
        .with_columns(pl.col("actual").fill_null(0.0))
        .with_columns(
            (_ratio(forecast, pl.col("actual")) - 1.0).alias("error"),
            ((low <= pl.col("actual")) & (pl.col("actual") <= high)).alias("inside_interval"),
        )
        .select(
            QUARTER,
            LABEL,
            "forecast_as_of",
            "forecast",
            "forecast_low",
            "forecast_high",
            "open_expected",
            "not_yet_created_expected",
            "target",
            "actual",
            "error",
            "inside_interval",
        )
        .sort(QUARTER)
    )
