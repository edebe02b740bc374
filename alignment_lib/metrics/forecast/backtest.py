"""How the bookings forecast did: past quarters forecast from what was known then.

Definitions: docs/metrics/forecast.md ("Track record", "Forecast backtest",
"Seasonal-naive baseline").

- :func:`forecast_track_record`: for every quarter T of a range and every
  horizon k, the season-aware forecast made k quarters before T (at the start
  of quarter T - k, or the same share of the way through it), its interval, the
  actual, the error, and the seasonal-naive baseline beside it. One lazy plan:
  every origin is a row of :func:`~alignment_lib.metrics.forecast.seasonal.seasonal_points`.
- :func:`forecast_accuracy`: the track record summarised per horizon (mean
  absolute error, bias, how often the interval held), kit and baseline.
- :func:`seasonal_naive_forecast`: the baseline, same quarter last year.
- :func:`forecast_backtest`: the quarter-ahead backtest of any calibration
  (the previous ones included), for comparisons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl

from alignment_lib.asof import cut_opportunities
from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of, with_label
from alignment_lib.metrics._sums import stable_mean
from alignment_lib.metrics.deals import _instant, _lit_instant, _ratio
from alignment_lib.metrics.forecast._common import (
    _booked,
    _bookings_targets,
    _index_frame,
    _now,
    _quarter_index,
    _share_of_quarter,
    _whole,
)
from alignment_lib.metrics.forecast.bookings import (
    CALIBRATIONS,
    Z_80,
    _pooled_forecast,
    _window_days,
)
from alignment_lib.metrics.forecast.seasonal import (
    DEFAULT_SEASON_WEIGHT,
    _season_weight,
    grown_naive,
    origin_instant,
    seasonal_points,
)
from alignment_lib.metrics.forecast.track import DEFAULT_TRACK_QUARTERS, combine
from alignment_lib.schema import TIMESTAMP

__all__ = [
    "DISPLAYED_HORIZONS",
    "forecast_accuracy",
    "forecast_backtest",
    "forecast_track_record",
    "seasonal_naive_forecast",
]

#: the quarters ahead a report shows: the next three quarters from a quarter's start
DISPLAYED_HORIZONS: tuple[int, ...] = (0, 1, 2)


# -- the baseline ---------------------------------------------------------------------------------
def _first_data_quarter(opportunities: pl.LazyFrame, calendar: FiscalCalendar) -> pl.LazyFrame:
    """``_first``: the quarter of the first created deal (of the first close, without dates)."""
    return opportunities.select(
        pl.coalesce(
            quarter_of(calendar, pl.col("created_at")).min(),
            quarter_of(calendar, pl.col("closed_at")).min(),
        )
        .cast(pl.Int32)
        .alias("_first")
    )


def _naive(
    opportunities: pl.LazyFrame,
    calendar: FiscalCalendar,
    cut: pl.Expr,
    current: int,
    quarters: pl.LazyFrame,
) -> pl.LazyFrame:
    """``baseline_forecast`` for each quarter T of ``quarters``: what T - 4 booked (0 if
    nothing), null when T - 4 is not complete (``current`` or later) or is the data's
    first quarter or earlier."""
    return (
        quarters.select(QUARTER)
        .with_columns((pl.col(QUARTER) - 4).cast(pl.Int32).alias("_year_ago"))
        .join(
            _booked(opportunities, calendar, cut).rename({QUARTER: "_year_ago"}),
            on="_year_ago",
            how="left",
        )
        .join(_first_data_quarter(opportunities, calendar), how="cross")
        .select(
            QUARTER,
            pl.when((pl.col("_year_ago") > pl.col("_first")) & (pl.col("_year_ago") < current))
            .then(pl.col("_booked").fill_null(0.0))
            .alias("baseline_forecast"),
        )
    )


def seasonal_naive_forecast(
    opportunities: pl.LazyFrame,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 3,
) -> pl.LazyFrame:
    """The seasonal-naive baseline: each quarter forecast at what the same quarter last year booked.

    Grain: one row per fiscal quarter T from ``quarter`` on, ``quarters`` of
    them, sorted. Columns: ``baseline_quarter`` (label of T - 4, the same fiscal
    quarter one year earlier), ``baseline_forecast`` = won amount closed in T - 4
    (on or before ``as_of``; currency), null when T - 4 is not complete at
    ``as_of`` (the quarter current at ``as_of`` or later) or is the data's first
    quarter or earlier (the quarter of the first created deal: an extract's or a
    business's first quarter is partial, so its bookings are no year-ago
    reference); ``target`` (shared bookings target, null without one) and
    ``forecast_to_target`` = baseline_forecast / target.

    Beside it, as the forecast weighs last year's quarter (``bookings_forecast``
    step 4, the same values; pass the tables cut at ``as_of``):
    ``creation_growth`` (pipeline created in the last four complete quarters
    over the four before them; null until both years lie inside the data),
    ``reference_lag`` (quarters from creation to close that hold 90% of the won
    amount), ``naive_reference`` (T - 4's bookings when T - 4 lies at least
    max(reference_lag, 1) quarters after the data's first quarter and booked
    something) and ``naive_forecast`` = naive_reference x creation_growth (x 1
    while unknown), at least what T has booked.

    The baseline itself has no growth term, as issue 10 defines it: the kit's
    forecast must beat it to be worth its complexity;
    :func:`forecast_track_record` sets the two side by side.
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    as_of = _instant(as_of)
    current, _ = _now(calendar, as_of)
    grid = _index_frame(QUARTER, range(first, first + quarters))
    return (
        grid.join(
            _naive(opportunities, calendar, _lit_instant(as_of), current, grid),
            on=QUARTER,
            how="left",
        )
        .join(
            grown_naive(opportunities, calendar, as_of=as_of, quarters=grid), on=QUARTER, how="left"
        )
        .pipe(with_label)
        .with_columns(
            FiscalCalendar.quarter_label_expr(pl.col(QUARTER) - 4).alias("baseline_quarter")
        )
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .with_columns(
            _ratio(pl.col("baseline_forecast"), pl.col("target")).alias("forecast_to_target")
        )
        .select(
            QUARTER,
            LABEL,
            "baseline_quarter",
            "baseline_forecast",
            "target",
            "forecast_to_target",
            "creation_growth",
            "reference_lag",
            "naive_reference",
            "naive_forecast",
        )
        .sort(QUARTER)
    )


# -- the track record -----------------------------------------------------------------------------
def _horizons(value: object) -> list[int]:
    items = [value] if isinstance(value, int) else value
    ks: list[int] = []
    if isinstance(items, Iterable):
        try:
            ks = sorted(set(items))
        except TypeError:  # unhashable or unorderable items: refused below
            ks = []
    if not ks or not all(
        isinstance(k, int) and not isinstance(k, bool) and 0 <= k <= 8 for k in ks
    ):
        raise ParameterError(
            f"quarters_ahead must be whole numbers from 0 (the quarter forecast from) to 8, "
            f"e.g. (0, 1, 2), got {value!r}"
        )
    return ks


def forecast_track_record(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
    elapsed: float = 0.0,
    quarters_ahead: Sequence[int] = DISPLAYED_HORIZONS,
    window_days: int = 730,
    creation_quarters: int = 4,
    z: float = Z_80,
    calibration_quarters: int = 8,
    season_weight: float | None = DEFAULT_SEASON_WEIGHT,
    track_quarters: int = DEFAULT_TRACK_QUARTERS,
) -> pl.LazyFrame:
    """How the season-aware forecast did: each quarter, forecast k quarters ahead, vs its actual.

    For each target quarter T in ``first``..``last`` (each complete at
    ``as_of``) and each k in ``quarters_ahead``, the forecast of T made from
    quarter T - k seen ``elapsed`` of the way through it (0: at its start, the
    instant before it began; 0.5: halfway), exactly as :func:`bookings_forecast`
    would have made it on the tables cut at that instant (later deals, closes,
    stage changes and amounts invisible), with its interval set from the errors
    of the forecasts made before it. The tables must be cut at ``as_of`` or
    later (later events are invisible to every origin; the actuals count closes
    up to ``as_of``).

    Grain: one row per (quarters_ahead, quarter), sorted. Columns:
    ``quarters_ahead``, ``quarter_index``, ``fiscal_quarter``, ``elapsed``,
    ``forecast_as_of`` (UTC), ``forecast``, ``forecast_low``, ``forecast_high``,
    ``open_expected``, ``not_yet_created_expected``, ``pipeline_forecast``,
    ``creation_growth``, ``naive_forecast``, ``curve_forecast``,
    ``pipeline_weight``, ``naive_weight``, ``curve_weight`` (as in
    :func:`bookings_forecast`), ``track_quarters`` (past errors the interval
    used), ``actual`` (won amount closed in T), ``error`` = forecast / actual -
    1 (null when either is missing or nothing was booked), ``inside_interval``
    = low <= actual <= high (null without a forecast), ``baseline_forecast``
    (:func:`seasonal_naive_forecast`, known at every origin since T - 4 is
    complete by then), ``baseline_error`` = baseline / actual - 1, ``target``.
    A forecast made before the data could calibrate it (the first quarters of
    an extract) is null.
    """
    lo, hi = _quarter_index(first), _quarter_index(last)
    if hi < lo:
        raise ParameterError(f"last ({last.label}) must not be before first ({first.label})")
    elapsed = _share_of_quarter(elapsed)
    ks = _horizons(quarters_ahead)
    creation_quarters = _whole("creation_quarters", creation_quarters)
    calibration_quarters = _whole("calibration_quarters", calibration_quarters)
    track_quarters = _whole("track_quarters", track_quarters)
    _window_days(window_days)
    weight = _season_weight(season_weight)
    as_of = _instant(as_of)
    current, _ = _now(calendar, as_of)
    if hi >= current:
        raise ParameterError(
            f"{last.label} is not complete at {as_of.isoformat()}: a track record needs what "
            f"the quarter booked; the last complete quarter is "
            f"{FiscalCalendar.quarter_from_index(current - 1).label}"
        )
    top = max(ks)
    # the rows' origins reach back top quarters; their weights need the estimates' errors
    # track_quarters (+ top) before, and their intervals the weighted forecasts' errors as far
    horizons = {o: top for o in range(lo - 3 * top - 2 * track_quarters, hi + 1)}
    points = seasonal_points(
        opportunities,
        stage_history,
        calendar=calendar,
        elapsed=elapsed,
        horizons=horizons,
        cuts={},
        window_days=window_days,
        creation_quarters=creation_quarters,
        calibration_quarters=calibration_quarters,
        season_weight=weight,
    )
    cut = _lit_instant(as_of)
    actuals = (
        _booked(opportunities, calendar, cut)
        .select(QUARTER, pl.col("_booked").alias("actual"))
        .filter(pl.col(QUARTER) < current)
    )
    wanted = pl.LazyFrame(
        {
            "quarters_ahead": [k for k in ks for _ in range(lo, hi + 1)],
            QUARTER: [t for _ in ks for t in range(lo, hi + 1)],
        },
        schema={"quarters_ahead": pl.Int32, QUARTER: pl.Int32},
    )
    forecast, actual = pl.col("forecast"), pl.col("actual")
    return (
        wanted.join(
            combine(points, actuals, track_quarters=track_quarters, z=z),
            on=["quarters_ahead", QUARTER],
            how="left",
        )
        .join(actuals, on=QUARTER, how="left")
        .join(
            _naive(opportunities, calendar, cut, current, wanted.unique(QUARTER)),
            on=QUARTER,
            how="left",
        )
        .pipe(with_label)
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .with_columns(
            pl.col("actual").fill_null(0.0),
            pl.lit(elapsed).alias("elapsed"),
        )
        .with_columns(
            (_ratio(forecast, actual) - 1.0).alias("error"),
            ((pl.col("forecast_low") <= actual) & (actual <= pl.col("forecast_high"))).alias(
                "inside_interval"
            ),
            (_ratio(pl.col("baseline_forecast"), actual) - 1.0).alias("baseline_error"),
        )
        .select(
            "quarters_ahead",
            QUARTER,
            LABEL,
            "elapsed",
            "forecast_as_of",
            "forecast",
            "forecast_low",
            "forecast_high",
            "open_expected",
            "not_yet_created_expected",
            "pipeline_forecast",
            "creation_growth",
            "naive_forecast",
            "curve_forecast",
            "pipeline_weight",
            "naive_weight",
            "curve_weight",
            "track_quarters",
            "actual",
            "error",
            "inside_interval",
            "baseline_forecast",
            "baseline_error",
            "target",
        )
        .sort("quarters_ahead", QUARTER)
    )


def forecast_accuracy(track_record: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """The track record in numbers: per (elapsed, quarters_ahead), the kit against the baseline.

    ``track_record``: :func:`forecast_track_record` output (one or several
    ``elapsed`` concatenated; filter the quarters first to score a subset).
    Grain: one row per (elapsed, quarters_ahead), sorted. Columns:

    - ``quarters``: quarters with a forecast and an error (the kit's);
      ``mean_absolute_error`` = mean |error|, ``bias`` = mean error (fractions;
      positive: forecast too high); ``inside`` (Int64) and ``hit_rate`` =
      inside / quarters: how often the interval held;
    - ``baseline_quarters``: those quarters that also have a baseline;
      ``baseline_mean_absolute_error``, ``baseline_bias`` over them and
      ``mean_absolute_error_same_quarters``: the kit's over the same quarters
      (the fair comparison).

    Means are null over no quarters. A page states it as "the 80% range held in
    {inside} of the last {quarters} quarters; mean error {mean_absolute_error}
    (same quarter last year: {baseline_mean_absolute_error})".
    """
    frame = track_record.lazy() if isinstance(track_record, pl.DataFrame) else track_record
    kit = pl.col("error").is_not_null()
    both = kit & pl.col("baseline_error").is_not_null()
    error, baseline = pl.col("error"), pl.col("baseline_error")
    return (
        frame.group_by("elapsed", "quarters_ahead")
        .agg(
            kit.sum().cast(pl.Int64).alias("quarters"),
            stable_mean(error.abs().filter(kit)).alias("mean_absolute_error"),
            stable_mean(error.filter(kit)).alias("bias"),
            pl.col("inside_interval").filter(kit).sum().cast(pl.Int64).alias("inside"),
            both.sum().cast(pl.Int64).alias("baseline_quarters"),
            stable_mean(baseline.abs().filter(both)).alias("baseline_mean_absolute_error"),
            stable_mean(baseline.filter(both)).alias("baseline_bias"),
            stable_mean(error.abs().filter(both)).alias("mean_absolute_error_same_quarters"),
        )
        .with_columns(_ratio(pl.col("inside"), pl.col("quarters")).alias("hit_rate"))
        .select(
            "elapsed",
            "quarters_ahead",
            "quarters",
            "mean_absolute_error",
            "bias",
            "inside",
            "hit_rate",
            "baseline_quarters",
            "baseline_mean_absolute_error",
            "baseline_bias",
            "mean_absolute_error_same_quarters",
        )
        .sort("elapsed", "quarters_ahead")
    )


# -- the quarter-ahead backtest of any calibration ------------------------------------------
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
    calibration: str = "seasonal",
    calibration_quarters: int = 8,
    elapsed: float = 0.0,
    season_weight: float | None = DEFAULT_SEASON_WEIGHT,
    track_quarters: int = DEFAULT_TRACK_QUARTERS,
) -> pl.LazyFrame:
    """How the bookings forecast did: each quarter forecast at its start against what it booked.

    For each fiscal quarter ``T`` in ``first``..``last`` (each must be complete
    at ``as_of``), the forecast of ``T`` made at ``T``'s start (with
    ``elapsed``, that share of the way through it) from the tables cut there
    (:func:`alignment_lib.asof.cut_opportunities`, as ``FunnelData.at`` cuts
    them: later deals, closes and stage changes invisible, open deals as
    recorded then), with the given options. ``"seasonal"``: the rows of
    :func:`forecast_track_record` with ``quarters_ahead`` 0; ``"in_quarter"``
    and ``"ever"`` (the previous forecasts): one pooled forecast per quarter,
    concatenated (a loop over a handful of quarters, still lazy).

    Grain: one row per quarter, sorted. Columns: ``forecast_as_of`` (UTC),
    ``forecast``, ``forecast_low``, ``forecast_high``, ``open_expected``,
    ``not_yet_created_expected`` (as in :func:`bookings_forecast`), ``target``, ``actual``
    (won amount closed in ``T``, on or before ``as_of``), ``error`` = forecast /
    actual - 1 (null when nothing was booked), ``inside_interval`` =
    forecast_low <= actual <= forecast_high (null when the forecast is).
    """
    lo, hi = _quarter_index(first), _quarter_index(last)
    elapsed = _share_of_quarter(elapsed)
    if hi < lo:
        raise ParameterError(f"last ({last.label}) must not be before first ({first.label})")
    if calibration not in CALIBRATIONS:
        raise ParameterError(
            f"calibration must be one of {', '.join(map(repr, CALIBRATIONS))}, got {calibration!r}"
        )
    columns = [
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
    ]
    if calibration == "seasonal":
        return (
            forecast_track_record(
                opportunities,
                stage_history,
                targets,
                calendar=calendar,
                first=first,
                last=last,
                as_of=as_of,
                elapsed=elapsed,
                quarters_ahead=(0,),
                window_days=window_days,
                creation_quarters=creation_quarters,
                z=z,
                calibration_quarters=calibration_quarters,
                season_weight=season_weight,
                track_quarters=track_quarters,
            )
            .select(columns)
            .sort(QUARTER)
        )
    _whole("creation_quarters", creation_quarters)
    _whole("calibration_quarters", calibration_quarters)
    _window_days(window_days)
    as_of = _instant(as_of)
    current, _ = _now(calendar, as_of)
    if hi >= current:
        raise ParameterError(
            f"{last.label} is not complete at {as_of.isoformat()}: a backtest needs what the "
            f"quarter booked; the last complete quarter is "
            f"{FiscalCalendar.quarter_from_index(current - 1).label}"
        )
    opps, history = cut_opportunities(opportunities, stage_history, as_of=as_of)
    actual = _booked(opps, calendar, _lit_instant(as_of)).select(
        QUARTER, pl.col("_booked").alias("actual")
    )
    frames = []
    for index in range(lo, hi + 1):
        start = origin_instant(calendar, index, elapsed)
        seen_opps, seen_history = cut_opportunities(opps, history, as_of=start)
        frames.append(
            _pooled_forecast(
                seen_opps,
                seen_history,
                targets,
                calendar=calendar,
                first=index,
                quarters=1,
                as_of=start,
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
        .select(columns)
        .sort(QUARTER)
    )
