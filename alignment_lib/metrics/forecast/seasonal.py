"""The season-aware bookings forecast: every rate from the same fiscal quarter of the year.

Definitions: docs/metrics/forecast.md ("Season-aware rates", "Bookings forecast").

Each rate the forecast uses (the chance an open deal is won in a quarter, the
creation level's seasonal index, the share of a quarter's new pipeline won k
quarters later) is measured twice on the complete quarters before the forecast
date: pooled over all of them, and over those of the **same fiscal quarter of
the year** as the quarter it is applied to. The two are combined as

    rate = (won_same + w x a x rate_pooled) / (amount_same + w x a)

where ``a`` is the pooled amount per calibration quarter and ``w`` the
*season weight* (a prior worth ``w`` average quarters of the pooled rate): with
no quarter of the same season the rate is the pooled one, with many it tends
to the season's own. In quarters: ``(n x rate_same + w x rate_pooled) / (n +
w)`` for ``n`` same-season quarters of average size.

**One plan for many forecast dates.** :func:`seasonal_points` forecasts from
several *origins* at once (the quarters a backtest forecasts from, each seen
at the same share of it): the deals open at every origin and calibration
snapshot are read in one pass (:func:`_at_snapshots` over the quarters
involved), and every rate is an aggregate over a window of snapshots joined to
its origin. What an origin uses is only what was known at its instant: open
deals as recorded then, outcomes of quarters complete by then, created amounts
as recorded then (an open deal's amount is corrected to its value at the
origin), so the row of an origin equals the forecast made on the tables cut at
that origin (tested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.metrics._quarters import QUARTER, quarter_of
from alignment_lib.metrics._sums import money_sum, stable_mean, stable_std, stable_sum
from alignment_lib.metrics.deals import _instant, _ratio
from alignment_lib.metrics.forecast._common import _US, _now, _start_of, _sum_or_null, _whole
from alignment_lib.metrics.forecast.probabilities import _at_snapshots
from alignment_lib.schema import TIMESTAMP

__all__ = [
    "DEFAULT_SEASON_WEIGHT",
    "OFFSET_MAX",
    "OFFSET_NO_DATE",
    "OFFSET_OVERDUE",
    "seasonal_win_probabilities",
]

#: the prior weight, in quarters of average size, of the pooled rate (chosen on the
#: backtest targets FY2024-Q4..FY2025-Q2 only; docs/metrics/forecast.md)
DEFAULT_SEASON_WEIGHT = 0.5
#: expected-close offset of an open deal expected in a quarter before the snapshot's
OFFSET_OVERDUE = -1
#: expected-close offset of an open deal without an expected close date
OFFSET_NO_DATE = -2
#: offsets of 3 quarters or more are pooled into 3
OFFSET_MAX = 3

_ORIGIN = "origin"
_LEVELS = (["stage", "_j", "_k"], ["_j", "_k"], ["_k"])


def _season_weight(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ParameterError(
            f"season_weight must be a number of quarters >= 0 (or None: pooled over the "
            f"year, no season), got {value!r}"
        )
    if value == float("inf"):
        return None
    return float(value)


def origin_instant(calendar: FiscalCalendar, quarter: int, elapsed: float) -> dt.datetime:
    """The instant a snapshot of ``quarter`` sees: ``elapsed`` of it, less 1 us (at 0 the
    previous quarter's last microsecond, as ``FunnelData.at`` of that quarter's end)."""
    q = FiscalCalendar.quarter_from_index(quarter)
    begin, end = _start_of(calendar, q), _start_of(calendar, q.shift(1))
    return begin + (end - begin) * elapsed - _US


def _grid(
    calendar: FiscalCalendar, lo: int, hi: int, elapsed: float, cuts: Mapping[int, dt.datetime]
) -> pl.LazyFrame:
    """Quarters lo..hi with the instant each is seen at (``_cut``) and its end (``_next_at``).

    ``cuts`` overrides the instant of some quarters (the forecast date itself).
    """
    quarters = list(range(lo, hi + 1))
    seen = [cuts.get(q, origin_instant(calendar, q, elapsed)) for q in quarters]
    ends = [_start_of(calendar, FiscalCalendar.quarter_from_index(q).shift(1)) for q in quarters]
    return pl.LazyFrame(
        {QUARTER: quarters, "_snap": [elapsed > 0] * len(quarters), "_cut": seen, "_next_at": ends},
        schema={QUARTER: pl.Int32, "_snap": pl.Boolean, "_cut": TIMESTAMP, "_next_at": TIMESTAMP},
    )


def _offset(expected: pl.Expr, quarter: pl.Expr) -> pl.Expr:
    """Quarters from ``quarter`` to the expected close: -1 overdue .. 3 (3 or more), -2 none."""
    return (
        pl.when(expected.is_null())
        .then(pl.lit(OFFSET_NO_DATE))
        .otherwise((expected - quarter).clip(OFFSET_OVERDUE, OFFSET_MAX))
        .cast(pl.Int32)
    )


def _shrunk(weight: float | None) -> pl.Expr:
    """The season's rate shrunk toward the pooled one (columns ``_w``, ``_a``, ``_ws``,
    ``_as``, ``_nq``: pooled won and amount, same-season won and amount, quarters)."""
    pooled = _ratio(pl.col("_w"), pl.col("_a"))
    if weight is None:
        return pooled
    prior = weight * _ratio(pl.col("_a"), pl.col("_nq").cast(pl.Float64))
    denominator = pl.col("_as") + prior
    return (
        pl.when(denominator > 0)
        .then((pl.col("_ws") + prior * pooled) / denominator)
        .otherwise(pooled)
    )


def _same_season(quarter: pl.Expr) -> pl.Expr:
    return ((quarter - pl.col(_ORIGIN)) % 4) == 0


def _origins(horizons: Mapping[int, int]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {_ORIGIN: list(horizons), "_kmax": list(horizons.values())},
        schema={_ORIGIN: pl.Int32, "_kmax": pl.Int32},
    )


# -- open deals: the chance of being won k quarters ahead ------------------------------------------
def _open_rates(
    snapshots: pl.LazyFrame,
    origins: pl.LazyFrame,
    *,
    quarters: int,
    weight: float | None,
    horizon: int,
    last: int,
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Per origin, the shrunk rates at three levels, and the stage-level cells.

    Calibration cells: (snapshot quarter Q, stage, offset j, k) with the amount
    open then and the part won in Q + k, for k up to ``horizon`` and Q + k
    before ``last`` (the last origin). An origin o uses the cells with
    o - ``quarters`` <= Q and Q + k <= o - 1 (outcome known at o), k <= its
    horizon; same season: Q and o the same fiscal quarter of the year.
    """
    q = pl.col(QUARTER)
    cells = (
        snapshots.select(
            QUARTER,
            "stage",
            "_amount",
            "_won_q",
            _offset(pl.col("_expected_q"), q).alias("_j"),
            pl.min_horizontal(pl.lit(horizon), pl.lit(last - 1) - q).cast(pl.Int32).alias("_top"),
        )
        .filter(pl.col("_top") >= 0)
        .with_columns(pl.int_ranges(0, pl.col("_top") + 1, dtype=pl.Int32).alias("_k"))
        .explode("_k")
        .with_columns(((pl.col("_won_q") - q) == pl.col("_k")).fill_null(False).alias("_won_k"))
        .group_by(QUARTER, "stage", "_j", "_k")
        .agg(
            money_sum(pl.col("_amount")).alias("_cell_a"),
            money_sum(pl.col("_amount").filter(pl.col("_won_k"))).alias("_cell_w"),
        )
    )
    windowed = (
        origins.join(cells, how="cross")
        .filter(
            q >= pl.col(_ORIGIN) - quarters,
            q + pl.col("_k") <= pl.col(_ORIGIN) - 1,
            pl.col("_k") <= pl.col("_kmax"),
        )
        .with_columns(_same_season(q).alias("_same"))
    )
    counts = windowed.group_by(_ORIGIN, "_k").agg(pl.col(QUARTER).n_unique().alias("_nq"))
    same = pl.col("_same")

    def level(keys: list[str], name: str) -> pl.LazyFrame:
        return (
            windowed.group_by(_ORIGIN, *keys)
            .agg(
                money_sum(pl.col("_cell_a")).alias("_a"),
                money_sum(pl.col("_cell_w")).alias("_w"),
                money_sum(pl.col("_cell_a").filter(same)).alias("_as"),
                money_sum(pl.col("_cell_w").filter(same)).alias("_ws"),
            )
            .join(counts, on=[_ORIGIN, "_k"], how="left")
            .with_columns(_shrunk(weight).alias(name))
        )

    stage_cells = level(_LEVELS[0], "_p_stage")
    stage = stage_cells.select(_ORIGIN, *_LEVELS[0], "_p_stage")
    kind = level(_LEVELS[1], "_p_kind").select(_ORIGIN, *_LEVELS[1], "_p_kind")
    overall = level(_LEVELS[2], "_p_all").select(_ORIGIN, *_LEVELS[2], "_p_all")
    return stage, kind, overall, stage_cells


def seasonal_win_probabilities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    quarters: int = 8,
    horizon: int = 3,
    season_weight: float | None = DEFAULT_SEASON_WEIGHT,
) -> pl.LazyFrame:
    """By stage and expected-close offset, the chance an open deal is won k quarters ahead.

    Calibrated on snapshots of the ``quarters`` complete quarters Q before the
    quarter ``N`` current at ``as_of``, each seen at the share of it that has
    elapsed of ``N`` at ``as_of`` (its first instant at a quarter's start): the
    deals open then, with the stage, amount and expected close date recorded
    then (as :func:`in_quarter_win_probabilities` takes them; a deal without a
    stage history row by then is left out). Each has an *offset*
    ``expected_offset`` = quarter of its expected close - Q (-1: overdue,
    expected before Q; 0 .. 3, 3 meaning 3 or more; -2: no expected close
    date) and, for each ``quarters_ahead`` k = 0 .. ``horizon`` with Q + k
    complete, an outcome: won in Q + k (for k = 0, in the rest of Q), or not.

    Grain: one row per (stage, expected_offset, quarters_ahead) seen, sorted.
    Columns (amounts as recorded at the snapshot, a missing one adds 0;
    currency; rates 0-1, null on a zero denominator):

    - ``amount``, ``won_amount``: pooled over the snapshots;
      ``calibration_quarters``: snapshots with any open deal at that k;
    - ``season_amount``, ``season_won_amount``: over the snapshots of the same
      fiscal quarter of the year as ``N`` (so Q + k is the same fiscal quarter
      of the year as the target N + k);
    - ``p_pooled`` = won_amount / amount; ``p_season`` = season_won_amount /
      season_amount;
    - ``p`` = (season_won_amount + w x a x p_pooled) / (season_amount + w x a)
      with a = amount / calibration_quarters and w = ``season_weight``
      (``None``: p = p_pooled, the rate pooled over the year).

    :func:`bookings_forecast` weighs each open deal with ``p`` of its stage and
    offset, falling back to the same rate pooled over stages, then over offsets.
    """
    quarters = _whole("quarters", quarters)
    horizon = _whole("horizon", horizon, minimum=0)
    weight = _season_weight(season_weight)
    as_of = _instant(as_of)
    current, elapsed = _now(calendar, as_of)
    lo = current - quarters
    snapshots = _at_snapshots(
        opportunities,
        stage_history,
        calendar,
        lo,
        current - 1,
        grid=_grid(calendar, lo, current - 1, elapsed, {}),
    )
    _, _, _, cells = _open_rates(
        snapshots,
        _origins({current: horizon}),
        quarters=quarters,
        weight=weight,
        horizon=horizon,
        last=current,
    )
    return cells.select(
        "stage",
        pl.col("_j").alias("expected_offset"),
        pl.col("_k").alias("quarters_ahead"),
        pl.col("_a").alias("amount"),
        pl.col("_w").alias("won_amount"),
        pl.col("_nq").cast(pl.Int64).alias("calibration_quarters"),
        pl.col("_as").alias("season_amount"),
        pl.col("_ws").alias("season_won_amount"),
        _ratio(pl.col("_w"), pl.col("_a")).alias("p_pooled"),
        _ratio(pl.col("_ws"), pl.col("_as")).alias("p_season"),
        pl.col("_p_stage").alias("p"),
    ).sort("stage", "expected_offset", "quarters_ahead")


# -- pipeline not created yet ------------------------------------------------------------------
def _created(
    opportunities: pl.LazyFrame,
    snapshots: pl.LazyFrame,
    origins: pl.LazyFrame,
    grid: pl.LazyFrame,
    calendar: FiscalCalendar,
) -> pl.LazyFrame:
    """Amount created per (origin, creation quarter C < origin, ``_late``) as known at the origin.

    ``_late`` False: every deal created in C; True: those created after the
    snapshot instant of C (its elapsed share). The table amount of every deal,
    corrected for the deals still open at the origin to the amount recorded
    then (the snapshot rows of the origin's own quarter).
    """
    cuts = grid.select(pl.col(QUARTER).alias("_cq"), pl.col("_cut").alias("_c_cut"))
    deals = (
        opportunities.filter(pl.col("created_at").is_not_null())
        .select(
            "opportunity_id",
            quarter_of(calendar, pl.col("created_at")).cast(pl.Int32).alias("_cq"),
            "created_at",
            pl.col("amount").fill_null(0.0).alias("_value"),
        )
        .join(cuts, on="_cq", how="left")
        .with_columns((pl.col("created_at") > pl.col("_c_cut")).fill_null(False).alias("_late"))
    )
    variants = pl.LazyFrame({"_v": [False, True]}, schema={"_v": pl.Boolean})
    base = (
        deals.join(variants, how="cross")
        .filter(~pl.col("_v") | pl.col("_late"))
        .group_by("_cq", "_v")
        .agg(money_sum(pl.col("_value")).alias("_base"))
    )
    correction = (
        snapshots.select(
            "opportunity_id",
            pl.col(QUARTER).alias(_ORIGIN),
            (pl.col("_amount") - pl.col("_table_amount").fill_null(0.0)).alias("_delta"),
        )
        .join(origins.select(_ORIGIN), on=_ORIGIN, how="semi")
        .join(deals.select("opportunity_id", "_cq", "_late"), on="opportunity_id", how="inner")
        .filter(pl.col("_cq") < pl.col(_ORIGIN))
        .join(variants, how="cross")
        .filter(~pl.col("_v") | pl.col("_late"))
        .group_by(_ORIGIN, "_cq", "_v")
        .agg(money_sum(pl.col("_delta")).alias("_corr"))
    )
    return (
        origins.select(_ORIGIN)
        .join(base, how="cross")
        .filter(pl.col("_cq") < pl.col(_ORIGIN))
        .join(correction, on=[_ORIGIN, "_cq", "_v"], how="left")
        .select(
            _ORIGIN,
            "_cq",
            "_v",
            (pl.col("_base") + pl.col("_corr").fill_null(0.0)).alias("_known"),
        )
    )


def _first_quarter(opportunities: pl.LazyFrame, calendar: FiscalCalendar) -> pl.LazyFrame:
    """The quarter of the first created deal (``_first``): the data's first quarter."""
    return opportunities.select(
        quarter_of(calendar, pl.col("created_at")).min().cast(pl.Int32).alias("_first")
    )


def _not_yet_created(
    opportunities: pl.LazyFrame,
    created: pl.LazyFrame,
    origins: pl.LazyFrame,
    calendar: FiscalCalendar,
    *,
    quarters: int,
    creation_quarters: int,
    weight: float | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Per origin the creation level (``creation_rate``: mean amount created per quarter
    over the last ``creation_quarters``), per (origin, season) the shrunk seasonal index
    of creation (over the last ``quarters``), and the won deals by creation quarter and
    quarters to win (final amounts) for :func:`_conversion`. Quarters before the data's
    first deal are left out: the data had not begun."""
    first = _first_quarter(opportunities, calendar)
    complete = (
        created.filter(~pl.col("_v"))
        .join(first, how="cross")
        .filter(pl.col("_cq") >= pl.col("_first"))
    )
    # every quarter since the data began counts, a quarter that created nothing as 0
    span = (
        origins.select(_ORIGIN)
        .join(first, how="cross")
        .with_columns(
            pl.int_ranges(
                pl.max_horizontal(
                    pl.col(_ORIGIN) - max(quarters, creation_quarters), pl.col("_first")
                ),
                pl.col(_ORIGIN),
                dtype=pl.Int32,
            ).alias("_cq")
        )
        .explode("_cq")
        .drop_nulls("_cq")
        .join(complete.select(_ORIGIN, "_cq", "_known"), on=[_ORIGIN, "_cq"], how="left")
        .with_columns(pl.col("_known").fill_null(0.0))
    )
    recent = pl.col("_cq") >= pl.col(_ORIGIN) - creation_quarters
    window = pl.col("_cq") >= pl.col(_ORIGIN) - quarters
    level = span.group_by(_ORIGIN).agg(
        stable_mean(pl.col("_known").filter(recent)).alias("creation_rate"),
        stable_mean(pl.col("_known").filter(window)).alias("_mean"),
    )
    seasons = pl.LazyFrame({"_s": [0, 1, 2, 3]}, schema={"_s": pl.Int32})
    by_season = (
        span.filter(window)
        .with_columns((pl.col("_cq") % 4).cast(pl.Int32).alias("_s"))
        .group_by(_ORIGIN, "_s")
        .agg(stable_mean(pl.col("_known")).alias("_mean_s"), pl.len().cast(pl.Float64).alias("_n"))
    )
    raw = _ratio(pl.col("_mean_s"), pl.col("_mean")).fill_null(1.0)
    if weight is None:  # no season: every quarter creates the level
        index = pl.lit(1.0)
    else:
        n = pl.col("_n").fill_null(0.0)
        index = pl.when(n + weight > 0).then((n * raw + weight) / (n + weight)).otherwise(1.0)
    season_index = (
        origins.select(_ORIGIN)
        .join(seasons, how="cross")
        .join(by_season, on=[_ORIGIN, "_s"], how="left")
        .join(level.select(_ORIGIN, "_mean"), on=_ORIGIN, how="left")
        .select(_ORIGIN, "_s", index.alias("_index"))
    )

    # won amount by (creation quarter, variant, k): final amounts (closed before the origin)
    won = opportunities.filter(
        pl.col("outcome") == "won", pl.col("created_at").is_not_null()
    ).select(
        quarter_of(calendar, pl.col("created_at")).cast(pl.Int32).alias("_cq"),
        (quarter_of(calendar, pl.col("closed_at")) - quarter_of(calendar, pl.col("created_at")))
        .cast(pl.Int32)
        .alias("_k"),
        "created_at",
        pl.col("amount").fill_null(0.0).alias("_value"),
    )
    return level.select(_ORIGIN, "creation_rate"), season_index, won


def _conversion(
    created: pl.LazyFrame,
    won: pl.LazyFrame,
    grid: pl.LazyFrame,
    origins: pl.LazyFrame,
    *,
    quarters: int,
    weight: float | None,
    late: bool,
) -> pl.LazyFrame:
    """Per (origin, variant ``_v``, season ``_s``, k): the shrunk share of a creation
    quarter's amount won k quarters later (creation quarters o - quarters .. o - 1 - k)."""
    cuts = grid.select(pl.col(QUARTER).alias("_cq"), pl.col("_cut").alias("_c_cut"))
    variants = pl.LazyFrame({"_v": [False, True]}, schema={"_v": pl.Boolean})
    won_cells = (
        won.join(cuts, on="_cq", how="left")
        .with_columns((pl.col("created_at") > pl.col("_c_cut")).fill_null(False).alias("_late"))
        .join(variants, how="cross")
        .filter(~pl.col("_v") | pl.col("_late"))
        .group_by("_cq", "_v", "_k")
        .agg(money_sum(pl.col("_value")).alias("_won_cell"))
    )
    ks = origins.select(_ORIGIN, pl.int_ranges(0, pl.col("_kmax") + 1, dtype=pl.Int32).alias("_k"))
    rows = (
        created.filter(pl.col("_v") if late else ~pl.col("_v"))
        .join(ks.explode("_k"), on=_ORIGIN, how="inner")
        .filter(
            pl.col("_cq") >= pl.col(_ORIGIN) - quarters,
            pl.col("_cq") + pl.col("_k") <= pl.col(_ORIGIN) - 1,
        )
        .join(won_cells, on=["_cq", "_v", "_k"], how="left")
        .with_columns(
            pl.col("_won_cell").fill_null(0.0), (pl.col("_cq") % 4).cast(pl.Int32).alias("_s")
        )
    )
    pooled = rows.group_by(_ORIGIN, "_v", "_k").agg(
        money_sum(pl.col("_known")).alias("_a"),
        money_sum(pl.col("_won_cell")).alias("_w"),
        pl.col("_cq").n_unique().alias("_nq"),
    )
    season = rows.group_by(_ORIGIN, "_v", "_s", "_k").agg(
        money_sum(pl.col("_known")).alias("_as"), money_sum(pl.col("_won_cell")).alias("_ws")
    )
    seasons = pl.LazyFrame({"_s": [0, 1, 2, 3]}, schema={"_s": pl.Int32})
    return (
        pooled.join(seasons, how="cross")
        .join(season, on=[_ORIGIN, "_v", "_s", "_k"], how="left")
        .with_columns(pl.col("_as", "_ws").fill_null(0.0))
        .select(_ORIGIN, "_v", "_s", "_k", _shrunk(weight).alias("_conv"))
    )


# -- the usual pace of a quarter ----------------------------------------------------------------
def _pace(
    opportunities: pl.LazyFrame,
    grid: pl.LazyFrame,
    origins: pl.LazyFrame,
    calendar: FiscalCalendar,
    *,
    quarters: int,
) -> pl.LazyFrame:
    """Per origin: the share of a quarter's bookings usually booked by the same share of it.

    Over the ``quarters`` complete quarters before the origin with bookings,
    the data's first quarter left out (it starts from nothing): those of the
    same fiscal quarter of the year when there are two or more (``curve_basis``
    = "same quarter"), else all of them ("all quarters"), else none (null).
    ``curve_share`` = sum booked by then / sum booked; ``curve_cv`` = sample
    standard deviation of the quarters' own shares / their mean (null with
    fewer than two quarters).
    """
    per_quarter = (
        opportunities.filter(pl.col("outcome") == "won")
        .with_columns(quarter_of(calendar, pl.col("closed_at")).cast(pl.Int32))
        .join(grid.select(QUARTER, "_cut"), on=QUARTER, how="inner")
        .group_by(QUARTER)
        .agg(
            money_sum(pl.col("amount")).alias("_total"),
            money_sum(pl.col("amount").filter(pl.col("closed_at") <= pl.col("_cut"))).alias("_by"),
        )
        .filter(pl.col("_total") > 0)
        .join(_first_quarter(opportunities, calendar), how="cross")
        .filter(pl.col(QUARTER) > pl.col("_first"))
        .with_columns((pl.col("_by") / pl.col("_total")).alias("_share"))
    )
    rows = (
        origins.select(_ORIGIN)
        .join(per_quarter, how="cross")
        .filter(pl.col(QUARTER).is_between(pl.col(_ORIGIN) - quarters, pl.col(_ORIGIN) - 1))
        .with_columns(_same_season(pl.col(QUARTER)).alias("_same"))
        .with_columns(pl.col("_same").sum().over(_ORIGIN).alias("_n_same"))
        .filter((pl.col("_n_same") < 2) | pl.col("_same"))
    )
    share = pl.col("_share")
    return rows.group_by(_ORIGIN).agg(
        pl.when(pl.col("_n_same").first() >= 2)
        .then(pl.lit("same quarter"))
        .otherwise(pl.lit("all quarters"))
        .alias("curve_basis"),
        _ratio(money_sum(pl.col("_by")), money_sum(pl.col("_total"))).alias("curve_share"),
        pl.when(pl.len() > 1)
        .then(_ratio(stable_std(share, ddof=1), stable_mean(share)))
        .alias("curve_cv"),
    )


# -- the point forecasts ---------------------------------------------------------------------------
def seasonal_points(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    elapsed: float,
    horizons: Mapping[int, int],
    cuts: Mapping[int, dt.datetime],
    window_days: int,
    creation_quarters: int,
    calibration_quarters: int,
    season_weight: float | None,
) -> pl.LazyFrame:
    """Season-aware point forecasts from several origins at once, one row per (origin, T).

    ``horizons`` maps each origin quarter o (index) to its largest k: quarters
    T = o .. o + k are forecast from o seen at ``elapsed`` of it (``cuts``
    overrides the instant of some origins, the forecast date itself). The
    tables must be cut at (or after) every origin's instant; later events are
    invisible to each origin. Columns: ``origin``, ``forecast_as_of``,
    ``quarter_index``, ``quarters_ahead`` and the components of
    :func:`bookings_forecast` up to ``pipeline_forecast``, ``pipeline_cv``
    (model relative spread), ``curve_basis``, ``curve_share``, ``curve_cv``,
    ``curve_forecast`` (the current quarter mid-quarter only). Lazy, sorted.
    """
    weight = _season_weight(season_weight)
    quarters = calibration_quarters
    horizon = max(horizons.values())
    lo_origin, hi_origin = min(horizons), max(horizons)
    lo = lo_origin - max(quarters, creation_quarters)
    grid = _grid(calendar, lo, hi_origin, elapsed, cuts)
    origins = _origins(horizons)
    origin_cuts = grid.select(pl.col(QUARTER).alias(_ORIGIN), pl.col("_cut").alias("_o_cut"))
    snapshots = _at_snapshots(opportunities, stage_history, calendar, lo, hi_origin, grid=grid)

    # (2) open pipeline: every deal open at the origin, weighed for every T = o + k
    p_stage, p_kind, p_all, _ = _open_rates(
        snapshots, origins, quarters=quarters, weight=weight, horizon=horizon, last=hi_origin
    )
    ks = origins.select(_ORIGIN, pl.int_ranges(0, pl.col("_kmax") + 1, dtype=pl.Int32).alias("_k"))
    open_ = (
        snapshots.select(
            pl.col(QUARTER).alias(_ORIGIN),
            "stage",
            "_amount",
            pl.col("_expected_q").alias("_eq"),
            _offset(pl.col("_expected_q"), pl.col(QUARTER)).alias("_j"),
        )
        .join(ks.explode("_k"), on=_ORIGIN, how="inner")
        .with_columns((pl.col(_ORIGIN) + pl.col("_k")).cast(pl.Int32).alias(QUARTER))
        .join(p_stage, on=[_ORIGIN, "stage", "_j", "_k"], how="left")
        .join(p_kind, on=[_ORIGIN, "_j", "_k"], how="left")
        .join(p_all, on=[_ORIGIN, "_k"], how="left")
        .with_columns(pl.coalesce("_p_stage", "_p_kind", "_p_all").alias("_p"))
    )
    amount, p = pl.col("_amount"), pl.col("_p")
    overdue = (pl.col("_j") == OFFSET_OVERDUE) & (pl.col("_k") == 0)
    expected_in = (pl.col("_eq") == pl.col(QUARTER)) | overdue
    weighed = open_.group_by(_ORIGIN, QUARTER).agg(
        expected_in.sum().cast(pl.Int64).alias("open_deals"),
        money_sum(amount.filter(expected_in)).alias("open_pipeline"),
        overdue.sum().cast(pl.Int64).alias("overdue_deals"),
        money_sum(amount.filter(overdue)).alias("overdue_pipeline"),
        _sum_or_null(amount * p, p.is_not_null()).alias("open_expected"),
        _sum_or_null(amount.pow(2) * p * (1.0 - p), p.is_not_null()).alias("open_variance"),
        pl.col("_p_stage").is_null().sum().cast(pl.Int64).alias("open_deals_without_stage_rate"),
    )

    # (3) pipeline not created yet: level x season index x share won k quarters later
    created = _created(opportunities, snapshots, origins, grid, calendar)
    level, season_index, won = _not_yet_created(
        opportunities,
        created,
        origins,
        calendar,
        quarters=quarters,
        creation_quarters=creation_quarters,
        weight=weight,
    )
    conversion = pl.concat(
        [
            _conversion(created, won, grid, origins, quarters=quarters, weight=weight, late=late)
            for late in ((False, True) if elapsed > 0 else (False,))
        ]
    )
    # creation quarters C = o .. T feed T: C = o only for its rest (mid-quarter), later ones whole
    pairs = (
        ks.explode("_k")
        .with_columns(pl.int_ranges(0, pl.col("_k") + 1, dtype=pl.Int32).alias("_c"))
        .explode("_c")
        .select(
            _ORIGIN,
            (pl.col(_ORIGIN) + pl.col("_k")).cast(pl.Int32).alias(QUARTER),
            (pl.col("_k") - pl.col("_c")).cast(pl.Int32).alias("_k"),
            ((pl.col(_ORIGIN) + pl.col("_c")) % 4).cast(pl.Int32).alias("_s"),
            ((pl.col("_c") == 0) & pl.lit(elapsed > 0)).alias("_v"),
            pl.when(pl.col("_c") == 0).then(pl.lit(1.0 - elapsed)).otherwise(1.0).alias("_part"),
        )
    )
    not_created = (
        pairs.join(season_index, on=[_ORIGIN, "_s"], how="left")
        .join(conversion, on=[_ORIGIN, "_v", "_s", "_k"], how="left")
        .group_by(_ORIGIN, QUARTER)
        .agg(
            _sum_or_null(
                pl.col("_part") * pl.col("_index") * pl.col("_conv"),
                pl.col("_conv").is_not_null() & pl.col("_index").is_not_null(),
            ).alias("not_yet_created_share")
        )
    )
    won_final = won.filter(pl.col("_k") == 0)
    spread = (
        origins.select(_ORIGIN)
        .join(_first_quarter(opportunities, calendar), how="cross")
        .with_columns(
            pl.int_ranges(
                pl.max_horizontal(pl.col(_ORIGIN) - creation_quarters, pl.col("_first")),
                pl.col(_ORIGIN),
                dtype=pl.Int32,
            ).alias("_cq")
        )
        .explode("_cq")
        .drop_nulls("_cq")
        .join(
            won_final.group_by("_cq").agg(money_sum(pl.col("_value")).alias("_same_q")),
            on="_cq",
            how="left",
        )
        .with_columns(pl.col("_same_q").fill_null(0.0))
        .group_by(_ORIGIN)
        .agg(
            pl.when(pl.len() >= 2)
            .then(_ratio(stable_std(pl.col("_same_q"), ddof=1), stable_mean(pl.col("_same_q"))))
            .alias("not_yet_created_cv")
        )
    )
    sizes = (
        opportunities.filter(pl.col("outcome") == "won")
        .select("closed_at", pl.col("amount").fill_null(0.0).alias("_value"))
        .join(origin_cuts.join(origins.select(_ORIGIN), on=_ORIGIN, how="semi"), how="cross")
        .filter(
            pl.col("closed_at") <= pl.col("_o_cut"),
            pl.col("closed_at") > pl.col("_o_cut") - pl.duration(days=window_days),
        )
        .group_by(_ORIGIN)
        .agg(
            _ratio(stable_sum(pl.col("_value").pow(2)), money_sum(pl.col("_value"))).alias(
                "_size_ratio"
            )
        )
    )

    # (1) booked so far: the origin's own quarter, closes by its instant
    booked = (
        opportunities.filter(pl.col("outcome") == "won")
        .with_columns(quarter_of(calendar, pl.col("closed_at")).cast(pl.Int32).alias(_ORIGIN))
        .join(origin_cuts, on=_ORIGIN, how="inner")
        .filter(pl.col("closed_at") <= pl.col("_o_cut"))
        .group_by(_ORIGIN)
        .agg(money_sum(pl.col("amount")).alias("_booked"))
        .with_columns(pl.col(_ORIGIN).alias(QUARTER))
    )
    # (4) the usual pace of the origin's quarter (mid-quarter only)
    pace = _pace(opportunities, grid, origins, calendar, quarters=quarters)

    zero = pl.lit(0.0)
    nyc = pl.col("not_yet_created_expected")
    poisson = nyc * pl.col("_size_ratio")
    spread_variance = (pl.col("not_yet_created_cv") * nyc).pow(2)
    current = pl.col("quarters_ahead") == 0
    curve_row = current & pl.lit(elapsed > 0)
    return (
        ks.explode("_k")
        .select(
            _ORIGIN,
            (pl.col(_ORIGIN) + pl.col("_k")).cast(pl.Int32).alias(QUARTER),
            pl.col("_k").alias("quarters_ahead"),
        )
        .join(origin_cuts.select(_ORIGIN, pl.col("_o_cut").alias("forecast_as_of")), on=_ORIGIN)
        .join(booked, on=[_ORIGIN, QUARTER], how="left")
        .join(weighed, on=[_ORIGIN, QUARTER], how="left")
        .join(not_created, on=[_ORIGIN, QUARTER], how="left")
        .join(level, on=_ORIGIN, how="left")
        .join(sizes, on=_ORIGIN, how="left")
        .join(spread, on=_ORIGIN, how="left")
        .join(pace, on=_ORIGIN, how="left")
        .with_columns(
            pl.col("_booked").fill_null(0.0).alias("booked_to_date"),
            pl.col("open_deals", "overdue_deals", "open_deals_without_stage_rate").fill_null(0),
            pl.col("open_pipeline", "overdue_pipeline").fill_null(0.0),
            # no open deal at all: nothing to weigh (0), unless nothing is calibrated either
            pl.when(pl.col("open_deals").is_null() & pl.col("open_expected").is_null())
            .then(zero)
            .otherwise(pl.col("open_expected"))
            .alias("open_expected"),
            pl.col("open_variance").fill_null(0.0),
            (pl.col("creation_rate") * pl.col("not_yet_created_share")).alias(
                "not_yet_created_expected"
            ),
        )
        .with_columns(
            pl.when(nyc == 0)
            .then(zero)
            .when(spread_variance.is_null())
            .then(poisson)
            .otherwise(pl.max_horizontal(poisson, spread_variance))
            .alias("not_yet_created_variance"),
            (pl.col("booked_to_date") + pl.col("open_expected") + nyc).alias("pipeline_forecast"),
        )
        .with_columns(
            pl.when(pl.col("pipeline_forecast") > 0)
            .then(
                (pl.col("open_variance") + pl.col("not_yet_created_variance")).sqrt()
                / pl.col("pipeline_forecast")
            )
            .alias("pipeline_cv"),
            pl.when(curve_row)
            .then(_ratio(pl.col("booked_to_date"), pl.col("curve_share")))
            .alias("curve_forecast"),
            pl.when(curve_row).then(pl.col("curve_basis")).alias("curve_basis"),
            pl.when(curve_row).then(pl.col("curve_share")).alias("curve_share"),
            pl.when(curve_row).then(pl.col("curve_cv")).alias("curve_cv"),
        )
        .select(
            _ORIGIN,
            "forecast_as_of",
            QUARTER,
            "quarters_ahead",
            "booked_to_date",
            "open_deals",
            "open_pipeline",
            "overdue_deals",
            "overdue_pipeline",
            "open_expected",
            "open_variance",
            "open_deals_without_stage_rate",
            "creation_rate",
            "not_yet_created_share",
            "not_yet_created_expected",
            "not_yet_created_variance",
            "not_yet_created_cv",
            "pipeline_forecast",
            "pipeline_cv",
            "curve_basis",
            "curve_share",
            "curve_cv",
            "curve_forecast",
        )
        .sort(_ORIGIN, QUARTER)
    )
