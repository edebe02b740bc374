"""Coverage and forecast: will the pipeline carry the shared number?

Definitions (docs/metrics/forecast.md, after the domain reference):

- *stage win probability*: of the deals closed in a trailing window that were
  ever in stage S while open, the share won (by count and by amount).
  Calibrated on history, never on the CRM's default stage probabilities.
- *pipeline coverage* = open pipeline expected to close in quarter Q (qualified
  stages only) / (target for Q - bookings so far in Q); *required coverage* =
  1 / win rate (by amount, trailing window). The rule of thumb "3x coverage" is
  only the inverse of a 33% win rate.
- *bookings forecast* = booked to date + weighted open pipeline (amount x
  p(stage)) + bookings expected from pipeline not created yet, each with a
  variance, and an interval around their sum.
- *pipeline needed* (the reverse waterfall): a future quarter's bookings target
  translated, through the win rate and the creation-to-close lag, into the
  pipeline each earlier creation quarter must create, the marketing-sourced
  part of it and the MQLs that takes, next to what has been created so far.

**Where "now" is.** ``as_of`` (an aware datetime) is the report instant. The
*current* quarter ``N`` is the fiscal quarter holding the first instant after
``as_of`` (so at a quarter's last microsecond the next quarter is current, with
nothing of it elapsed); quarters before ``N`` are *complete*. ``elapsed`` is the
share of ``N``'s duration (in time, quarter start to next quarter start in the
calendar's zone) before ``as_of``.

**Inputs** are the tables as seen at ``as_of`` (``FunnelData.at``): an open
deal's stage, amount and expected close date must be the ones recorded at
``as_of``, which only ``FunnelData.at`` rebuilds from ``stage_history``. The
functions also ignore rows created or closed after ``as_of`` themselves, so a
later close is treated as open, but they cannot rebuild its stage.

Expected close dates are calendar dates (already local): their quarter is
``calendar.quarter_index_expr`` of the date, with no time zone conversion.
Instants (``created_at``, ``closed_at``, ``mql_at``) are put in quarters in the
calendar's time zone.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of, with_label
from alignment_lib.metrics.deals import (
    _closed_in_window,
    _instant,
    _lit_instant,
    _ratio,
    closed_deal_stats,
)
from alignment_lib.metrics.lag import LAG_BUCKETS, creation_to_close_lag

__all__ = [
    "DEFAULT_EXCLUDED_STAGES",
    "Z_80",
    "bookings_forecast",
    "pipeline_coverage",
    "pipeline_needed",
    "stage_win_probabilities",
]

#: stages that are not qualified pipeline by default (not counted in coverage)
DEFAULT_EXCLUDED_STAGES: tuple[str, ...] = ("Discovery",)
#: the normal quantile of a central 80% interval (10% in each tail)
Z_80 = 1.2816

_US = dt.timedelta(microseconds=1)
_TARGET_QUARTER = "target_quarter_index"
_TARGET_LABEL = "target_fiscal_quarter"


# -- parameter checks and shared pieces -------------------------------------------------------
def _whole(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value


def _quarter_index(quarter: object) -> int:
    if not isinstance(quarter, FiscalQuarter):
        raise ParameterError(
            f"quarter must be a FiscalQuarter, e.g. FiscalQuarter.parse('FY2026-Q4'), "
            f"got {quarter!r}"
        )
    return FiscalCalendar.quarter_index(quarter)


def _stages(exclude_stages: Sequence[str] | str) -> list[str]:
    names = [exclude_stages] if isinstance(exclude_stages, str) else list(exclude_stages)
    if not all(isinstance(n, str) for n in names):
        raise ParameterError(f"exclude_stages must be stage names, got {exclude_stages!r}")
    return names


def _now(calendar: FiscalCalendar, as_of: dt.datetime) -> tuple[int, float]:
    """The current quarter's index (holding the first instant after as_of) and its elapsed share.

    Elapsed share = (as_of - quarter start) / (next quarter start - quarter
    start), clipped to 0..1, with quarter starts at local midnight in the
    calendar's zone: 0 at the previous quarter's last microsecond, 0.5 halfway
    through (time, not days, so a daylight-saving change shifts it by an hour).
    """
    current = calendar.quarter_of(calendar.local_date(as_of + _US))
    zone = zoneinfo.ZoneInfo(calendar.timezone)

    def start(q: FiscalQuarter) -> dt.datetime:
        day = calendar.quarter_start(q)
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)

    begin, end = start(current), start(current.shift(1))
    elapsed = min(max((as_of - begin) / (end - begin), 0.0), 1.0)
    return FiscalCalendar.quarter_index(current), float(elapsed)


def _index_frame(name: str, values: Sequence[int]) -> pl.LazyFrame:
    return pl.LazyFrame({name: list(values)}, schema={name: pl.Int32})


def _open_at(opportunities: pl.LazyFrame, cut: pl.Expr) -> pl.LazyFrame:
    """Opportunities open at the cutoff: created by it and not closed by it."""
    return opportunities.filter(
        pl.col("created_at") <= cut,
        pl.col("closed_at").is_null() | (pl.col("closed_at") > cut),
    )


def _expected_quarter(calendar: FiscalCalendar) -> pl.Expr:
    """Fiscal quarter of the (local, calendar) expected close date."""
    return calendar.quarter_index_expr(pl.col("expected_close_date")).cast(pl.Int32).alias(QUARTER)


def _booked(opportunities: pl.LazyFrame, calendar: FiscalCalendar, cut: pl.Expr) -> pl.LazyFrame:
    """Won amount by fiscal quarter of close, closes on or before the cutoff only."""
    return (
        opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at") <= cut)
        .with_columns(quarter_of(calendar, pl.col("closed_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(pl.col("amount").sum().alias("_booked"))
    )


def _bookings_targets(targets: pl.LazyFrame | None) -> pl.LazyFrame:
    """The shared bookings target of each quarter label (at most one per quarter)."""
    if targets is None:
        return pl.LazyFrame(schema={LABEL: pl.String, "target": pl.Float64})
    return targets.filter(pl.col("metric") == "bookings", pl.col("team") == "shared").select(
        pl.col("fiscal_quarter").alias(LABEL), pl.col("value").cast(pl.Float64).alias("target")
    )


def _sum_or_null(expr: pl.Expr, weights_known: pl.Expr) -> pl.Expr:
    """Sum of ``expr``; null as soon as one ``weights_known`` is false (a missing factor)."""
    return pl.when(weights_known.all()).then(expr.sum())


# -- stage win probabilities --------------------------------------------------------------------
def stage_win_probabilities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    as_of: dt.datetime,
    window_days: int = 730,
) -> pl.LazyFrame:
    """Win probability of a deal by the stages it went through, calibrated on closed deals.

    The deals are those closed (won or lost) in the trailing window ``(as_of -
    window_days, as_of]`` (elapsed days, as in
    :func:`~alignment_lib.metrics.deals.closed_deal_stats`). A deal *was in stage
    S* when ``stage_history`` has a row with stage S recorded strictly before
    its ``closed_at`` (the change at or after the close is the closing itself,
    e.g. "Closed Won"); each deal counts once per stage however often it entered
    it. Deals without stage history are in no stage.

    Grain: one row per stage seen, sorted by stage. Columns: ``stage``,
    ``deals`` (closed deals that were in the stage, Int64), ``won`` (of those,
    won, Int64), ``amount`` and ``won_amount`` (their final amounts, a missing
    amount adds 0; currency), ``p_win_count`` = won / deals and
    ``p_win_amount`` = won_amount / amount (0-1; null when the denominator is 0).

    Built from the history with joins and group-bys only; no CRM default
    probability is read.
    """
    as_of = _instant(as_of)
    closed = _closed_in_window(opportunities, as_of, window_days).select(
        "opportunity_id",
        "closed_at",
        (pl.col("outcome") == "won").alias("_won"),
        pl.col("amount").fill_null(0.0).alias("_amount"),
    )
    visits = (
        stage_history.select("opportunity_id", "changed_at", "stage")
        .join(closed.select("opportunity_id", "closed_at"), on="opportunity_id", how="inner")
        .filter(pl.col("changed_at") < pl.col("closed_at"))
        .select("opportunity_id", "stage")
        .unique()
        .join(closed.select("opportunity_id", "_won", "_amount"), on="opportunity_id")
    )
    return (
        visits.group_by("stage")
        .agg(
            pl.len().cast(pl.Int64).alias("deals"),
            pl.col("_won").sum().cast(pl.Int64).alias("won"),
            pl.col("_amount").sum().alias("amount"),
            pl.col("_amount").filter(pl.col("_won")).sum().alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won"), pl.col("deals")).alias("p_win_count"),
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("p_win_amount"),
        )
        .select("stage", "deals", "won", "amount", "won_amount", "p_win_count", "p_win_amount")
        .sort("stage")
    )


# -- pipeline coverage --------------------------------------------------------------------------
def pipeline_coverage(
    opportunities: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 3,
    window_days: int = 365,
    exclude_stages: Sequence[str] = DEFAULT_EXCLUDED_STAGES,
) -> pl.LazyFrame:
    """Open pipeline against what is left of each quarter's bookings target.

    Grain: one row per fiscal quarter from ``quarter`` on, ``quarters`` of them,
    sorted. Columns:

    - ``open_deals`` (Int64), ``open_pipeline`` (currency): opportunities open
      at ``as_of`` (created on or before it, not closed by it) whose
      ``expected_close_date`` falls in the quarter and whose stage is not in
      ``exclude_stages`` (only qualified, in-period pipeline counts; a deal
      without an expected close date is in no quarter; a missing amount adds 0);
    - ``bookings_to_date``: won amount closed in the quarter on or before
      ``as_of``;
    - ``target``: the quarter's ``bookings`` target of team ``shared`` (null
      when there is none);
    - ``remaining`` = max(target - bookings_to_date, 0);
    - ``coverage`` = open_pipeline / remaining (a multiple; null when remaining
      is 0 or null);
    - ``win_rate``: win rate **by amount** of the deals closed in the trailing
      ``window_days`` (:func:`~alignment_lib.metrics.deals.closed_deal_stats`),
      the same for every row;
    - ``required_coverage`` = 1 / win_rate (null when the win rate is 0 or
      unknown): 3x is only the inverse of a 33% win rate;
    - ``coverage_gap`` = coverage - required_coverage;
    - ``status``: ``"covered"`` when coverage >= required_coverage or the target
      is already met (remaining 0), ``"short"`` when coverage is below it, null
      when either is unknown (no target, no win rate).
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    excluded = _stages(exclude_stages)
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    grid = _index_frame(QUARTER, range(first, first + quarters)).pipe(with_label)
    open_ = (
        _open_at(opportunities, cut)
        .filter(pl.col("expected_close_date").is_not_null(), ~pl.col("stage").is_in(excluded))
        .with_columns(_expected_quarter(calendar))
        .group_by(QUARTER)
        .agg(
            pl.len().cast(pl.Int64).alias("open_deals"),
            pl.col("amount").sum().alias("open_pipeline"),
        )
    )
    win_rate = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_amount").alias("win_rate")
    )
    coverage, required = pl.col("coverage"), pl.col("required_coverage")
    status = (
        pl.when(pl.col("remaining") == 0)
        .then(pl.lit("covered"))
        .when(coverage.is_null() | required.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(coverage >= required)
        .then(pl.lit("covered"))
        .otherwise(pl.lit("short"))
    )
    return (
        grid.join(open_, on=QUARTER, how="left")
        .join(_booked(opportunities, calendar, cut), on=QUARTER, how="left")
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .join(win_rate, how="cross")
        .with_columns(
            pl.col("open_deals").fill_null(0),
            pl.col("open_pipeline").fill_null(0.0),
            pl.col("_booked").fill_null(0.0).alias("bookings_to_date"),
        )
        .with_columns(
            (pl.col("target") - pl.col("bookings_to_date")).clip(lower_bound=0.0).alias("remaining")
        )
        .with_columns(
            _ratio(pl.col("open_pipeline"), pl.col("remaining")).alias("coverage"),
            _ratio(pl.lit(1.0), pl.col("win_rate")).alias("required_coverage"),
        )
        .with_columns((coverage - required).alias("coverage_gap"))
        .with_columns(status.alias("status"))
        .select(
            QUARTER,
            LABEL,
            "open_deals",
            "open_pipeline",
            "bookings_to_date",
            "target",
            "remaining",
            "coverage",
            "win_rate",
            "required_coverage",
            "coverage_gap",
            "status",
        )
        .sort(QUARTER)
    )


# -- bookings forecast --------------------------------------------------------------------------
def _created_by_quarter(
    opportunities: pl.LazyFrame, calendar: FiscalCalendar, cut: pl.Expr
) -> pl.LazyFrame:
    """Created amount by fiscal quarter of creation (created on or before the cutoff)."""
    return (
        opportunities.filter(pl.col("created_at") <= cut)
        .with_columns(quarter_of(calendar, pl.col("created_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(pl.col("amount").sum().alias("_created"))
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
        .agg(pl.col("amount").sum().alias("_won"))
    )


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
) -> pl.LazyFrame:
    """An explainable bookings forecast: booked + weighted open pipeline + pipeline not yet created.

    Grain: one row per fiscal quarter ``T`` from ``quarter`` on, ``quarters`` of
    them, sorted. Amounts in the reporting currency, variances in currency
    squared. Components (``N`` = current quarter, ``elapsed`` its elapsed share;
    module docstring):

    1. ``booked_to_date``: won amount closed in ``T`` on or before ``as_of``.
    2. Open pipeline, for ``T >= N`` only: the opportunities open at ``as_of``
       whose ``expected_close_date`` is in ``T`` (``open_deals``,
       ``open_pipeline``; a missing amount counts 0). Each deal in stage S is won
       with probability ``p`` = ``p_win_count`` of S from
       :func:`stage_win_probabilities` (same ``window_days``); a stage with no
       calibrated rate (never seen among the window's closed deals, or
       ``Open`` for a deal without history) gets the window's overall win rate
       by count (``open_deals_without_stage_rate`` counts them).
       ``open_expected`` = sum amount x p; ``open_variance`` = sum amount^2 x p
       x (1 - p): deals as independent Bernoulli trials with fixed amounts.
       Null when some deal has no p at all (nothing closed in the window).
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
       ``not_yet_created_variance`` = not_yet_created_expected x E[S^2] / E[S],
       S the amounts of deals won in the trailing window: a compound-Poisson
       approximation (wins arrive independently, each the size of a past win).
       It ignores the uncertainty of the creation rate and of w(k), so it is
       too narrow rather than too wide.

    For a complete quarter (``T < N``) components 2 and 3 are 0: the forecast
    is what was booked.

    ``forecast`` = booked_to_date + open_expected + not_yet_created_expected;
    ``forecast_sd`` = sqrt(open_variance + not_yet_created_variance);
    ``forecast_low`` = max(forecast - z x sd, booked_to_date);
    ``forecast_high`` = forecast + z x sd (z = 1.2816: a central 80% interval
    under a normal approximation). ``target`` (shared bookings target, null if
    none; ``targets`` may be omitted) and ``forecast_to_target`` = forecast /
    target.
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    creation_quarters = _whole("creation_quarters", creation_quarters)
    if isinstance(z, bool) or not isinstance(z, int | float) or not math.isfinite(z) or z < 0:
        raise ParameterError(f"z must be a finite number of standard deviations >= 0, got {z!r}")
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    last = first + quarters - 1
    current, elapsed = _now(calendar, as_of)
    complete = current - 1  # the last complete quarter
    grid = _index_frame(QUARTER, range(first, last + 1)).pipe(with_label)

    # (2) open pipeline weighted by calibrated stage probabilities
    probabilities = stage_win_probabilities(
        opportunities, stage_history, as_of=as_of, window_days=window_days
    ).select("stage", "p_win_count")
    stats = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_count").alias("_overall")
    )
    p, amount = pl.col("_p"), pl.col("_amount")
    open_ = (
        _open_at(opportunities, cut)
        .filter(pl.col("expected_close_date").is_not_null())
        .with_columns(_expected_quarter(calendar))
        .filter(pl.col(QUARTER).is_between(max(first, current), last))
        .join(probabilities, on="stage", how="left")
        .join(stats, how="cross")
        .with_columns(
            pl.coalesce("p_win_count", "_overall").alias("_p"),
            pl.col("amount").fill_null(0.0).alias("_amount"),
        )
        .group_by(QUARTER)
        .agg(
            pl.len().cast(pl.Int64).alias("open_deals"),
            amount.sum().alias("open_pipeline"),
            _sum_or_null(amount * p, p.is_not_null()).alias("open_expected"),
            _sum_or_null(amount.pow(2) * p * (1.0 - p), p.is_not_null()).alias("open_variance"),
            pl.col("p_win_count")
            .is_null()
            .sum()
            .cast(pl.Int64)
            .alias("open_deals_without_stage_rate"),
        )
    )

    # (3) pipeline not created yet: creation rate x share of a quarter's creation won k later
    created = _created_by_quarter(opportunities, calendar, cut)
    rate = (
        _index_frame(QUARTER, range(complete - creation_quarters + 1, complete + 1))
        .join(created, on=QUARTER, how="left")
        .select(pl.col("_created").fill_null(0.0).mean().alias("creation_rate"))
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
        .agg(_ratio(pl.col("_won").sum(), pl.col("_created").sum()).alias("_w"))
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
        .select(_ratio(pl.col("amount").pow(2).sum(), pl.col("amount").sum()).alias("_size_ratio"))
    )

    zero = pl.lit(0.0)
    nyc = pl.col("not_yet_created_expected")
    total_variance = pl.col("open_variance") + pl.col("not_yet_created_variance")
    forecast, sd = pl.col("forecast"), pl.col("forecast_sd")
    future = pl.col(QUARTER) >= current
    no_open = pl.col("open_deals").is_null()  # before it is filled with 0
    return (
        grid.join(_booked(opportunities, calendar, cut), on=QUARTER, how="left")
        .join(open_, on=QUARTER, how="left")
        .join(not_created, on=QUARTER, how="left")
        .join(rate, how="cross")
        .join(sizes, how="cross")
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .with_columns(
            # a quarter with no open deal expected in it has nothing to weigh: 0, not null
            *(pl.when(no_open).then(zero).otherwise(pl.col(c)).alias(c) for c in _OPEN_WEIGHED),
            pl.when(future).then(pl.col("_nyc_share")).otherwise(zero).alias(_NYC_SHARE),
        )
        .with_columns(
            pl.col("_booked").fill_null(0.0).alias("booked_to_date"),
            pl.col("open_deals", "open_deals_without_stage_rate").fill_null(0),
            pl.col("open_pipeline").fill_null(0.0),
            (pl.col("creation_rate") * pl.col(_NYC_SHARE)).alias("not_yet_created_expected"),
        )
        .with_columns(
            pl.when(nyc == 0)
            .then(zero)
            .otherwise(nyc * pl.col("_size_ratio"))
            .alias("not_yet_created_variance")
        )
        .with_columns(
            (pl.col("booked_to_date") + pl.col("open_expected") + nyc).alias("forecast"),
            total_variance.sqrt().alias("forecast_sd"),
        )
        .with_columns(
            pl.when(forecast.is_not_null() & sd.is_not_null())
            .then(pl.max_horizontal(forecast - z * sd, pl.col("booked_to_date")))
            .alias("forecast_low"),
            (forecast + z * sd).alias("forecast_high"),
            _ratio(forecast, pl.col("target")).alias("forecast_to_target"),
        )
        .select(
            QUARTER,
            LABEL,
            "booked_to_date",
            "open_deals",
            "open_pipeline",
            *_OPEN_WEIGHED,
            "open_deals_without_stage_rate",
            "creation_rate",
            _NYC_SHARE,
            "not_yet_created_expected",
            "not_yet_created_variance",
            "forecast",
            "forecast_sd",
            "forecast_low",
            "forecast_high",
            "target",
            "forecast_to_target",
        )
        .sort(QUARTER)
    )


_OPEN_WEIGHED = ("open_expected", "open_variance")
_NYC_SHARE = "not_yet_created_share"


# -- pipeline needed (the reverse waterfall) ---------------------------------------------------
def _status_of(index: int, current: int, elapsed: float) -> str:
    if index < current:
        return "complete"
    if index == current and elapsed > 0:
        return "in progress"
    return "not started"


def pipeline_needed(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    window_days: int = 365,
    lag_quarters: int = 8,
) -> pl.LazyFrame:
    """The reverse waterfall: a quarter's bookings target as pipeline and MQLs per creation quarter.

    For the target quarter ``T`` = ``quarter`` (typically one to three quarters
    ahead), with ``target`` its shared bookings target:

    - ``win_rate``: win rate **by amount** of the deals closed in the trailing
      ``window_days`` (:func:`~alignment_lib.metrics.deals.closed_deal_stats`);
    - ``lag_share`` for ``k`` = 0, 1, 2, 3+ (``lag_quarters``, ``lag_bucket``
      as in :func:`~alignment_lib.metrics.lag.creation_to_close_lag`): of the
      bookings of the last ``lag_quarters`` complete quarters (pooled: summed
      amounts, so an amount-weighted average of the quarterly shares), the
      share created ``k`` quarters before the close quarter;
    - ``pipeline_required`` = target x lag_share / win_rate: the pipeline the
      creation quarter ``T - k`` (``quarter_index``, ``fiscal_quarter``; the 3+
      bucket is assigned to ``T - 3``) must create for ``T``'s bookings;
    - ``pipeline_created_so_far``: amount of the opportunities created in that
      quarter on or before ``as_of`` (all outcomes; 0 for a quarter not begun);
      ``gap`` = max(required - created so far, 0);
    - ``marketing_share``: marketing-sourced share of the pipeline created in
      the trailing ``window_days`` (by amount); ``marketing_pipeline_required``
      = pipeline_required x marketing_share; ``marketing_pipeline_created_so_far``
      and ``marketing_gap`` as above for marketing-sourced opportunities;
    - ``avg_marketing_opportunity`` = amount / number of the marketing-sourced
      opportunities created in the window (a missing amount adds 0);
      ``mql_to_opportunity`` = distinct marketing-sourced opportunities (created
      by ``as_of``) that the window's MQLs (``mql_at`` in the window) converted
      into, via ``leads.opportunity_id`` / those MQLs;
      ``mqls_required`` = marketing_pipeline_required / (avg_marketing_opportunity
      x mql_to_opportunity).

    ``creation_status`` says whether the creation quarter is ``complete``,
    ``in progress`` or ``not started`` at ``as_of``. Grain: one row per creation
    quarter (4 rows, sorted by ``quarter_index``), with ``target_quarter_index``
    and ``target_fiscal_quarter`` naming ``T``. Rates are 0-1 and null on a zero
    denominator; every derived amount is null when a factor is (no target, a
    win rate of 0, no bookings in the lag quarters).

    ``pipeline_required`` is ``T``'s slice only: what a creation quarter makes
    also feeds the other close quarters, so a zero gap for a past creation
    quarter does not mean it created enough for every quarter.
    """
    target_q = _quarter_index(quarter)
    lag_quarters = _whole("lag_quarters", lag_quarters)
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    current, elapsed = _now(calendar, as_of)
    complete = current - 1
    buckets = range(len(LAG_BUCKETS))
    creation = [target_q - k for k in buckets]
    rows = pl.LazyFrame(
        {
            "lag_quarters": list(buckets),
            "lag_bucket": list(LAG_BUCKETS),
            QUARTER: creation,
            "creation_status": [_status_of(c, current, elapsed) for c in creation],
        },
        schema={
            "lag_quarters": pl.Int32,
            "lag_bucket": pl.String,
            QUARTER: pl.Int32,
            "creation_status": pl.String,
        },
    )

    target = (
        pl.LazyFrame({LABEL: [quarter.label]})
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .select("target")
    )
    win_rate = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_amount").alias("win_rate")
    )
    lag = (
        creation_to_close_lag(
            opportunities.filter(pl.col("closed_at") <= cut),
            calendar=calendar,
            first=FiscalCalendar.quarter_from_index(complete - lag_quarters + 1),
            last=FiscalCalendar.quarter_from_index(complete),
        )
        .group_by("lag_quarters")
        .agg(pl.col("amount").sum().alias("_lag_amount"))
        .with_columns(_ratio(pl.col("_lag_amount"), pl.col("_lag_amount").sum()).alias("lag_share"))
        .select("lag_quarters", "lag_share")
    )

    seen = opportunities.filter(pl.col("created_at") <= cut)
    marketing = pl.col("source") == "marketing"
    created = (
        seen.with_columns(quarter_of(calendar, pl.col("created_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(
            pl.col("amount").sum().alias("pipeline_created_so_far"),
            pl.col("amount").filter(marketing).sum().alias("marketing_pipeline_created_so_far"),
        )
    )
    start = _lit_instant(as_of - dt.timedelta(days=_window(window_days)))
    trailing = seen.filter(pl.col("created_at") > start).select(
        _ratio(pl.col("amount").filter(marketing).sum(), pl.col("amount").sum()).alias(
            "marketing_share"
        ),
        _ratio(pl.col("amount").filter(marketing).sum(), marketing.sum()).alias(
            "avg_marketing_opportunity"
        ),
    )
    mqls = leads.filter(pl.col("mql_at") > start, pl.col("mql_at") <= cut)
    converted = mqls.join(
        seen.filter(marketing).select("opportunity_id"), on="opportunity_id", how="inner"
    ).select(pl.col("opportunity_id").n_unique().alias("_opps"))
    conversion = (
        mqls.select(pl.len().alias("_mqls"))
        .join(converted, how="cross")
        .select(_ratio(pl.col("_opps"), pl.col("_mqls")).alias("mql_to_opportunity"))
    )

    required = pl.col("pipeline_required")
    m_required = pl.col("marketing_pipeline_required")
    per_mql = pl.col("avg_marketing_opportunity") * pl.col("mql_to_opportunity")
    return (
        rows.join(lag, on="lag_quarters", how="left")
        .join(created, on=QUARTER, how="left")
        .join(target, how="cross")
        .join(win_rate, how="cross")
        .join(trailing, how="cross")
        .join(conversion, how="cross")
        .with_columns(
            pl.col("pipeline_created_so_far", "marketing_pipeline_created_so_far").fill_null(0.0),
            (pl.col("target") * _ratio(pl.col("lag_share"), pl.col("win_rate"))).alias(
                "pipeline_required"
            ),
        )
        .with_columns(
            (required - pl.col("pipeline_created_so_far")).clip(lower_bound=0.0).alias("gap"),
            (required * pl.col("marketing_share")).alias("marketing_pipeline_required"),
        )
        .with_columns(
            (m_required - pl.col("marketing_pipeline_created_so_far"))
            .clip(lower_bound=0.0)
            .alias("marketing_gap"),
            _ratio(m_required, per_mql).alias("mqls_required"),
        )
        .pipe(with_label)
        .with_columns(
            pl.lit(target_q, dtype=pl.Int32).alias(_TARGET_QUARTER),
            pl.lit(quarter.label).alias(_TARGET_LABEL),
        )
        .select(
            _TARGET_QUARTER,
            _TARGET_LABEL,
            QUARTER,
            LABEL,
            "lag_quarters",
            "lag_bucket",
            "creation_status",
            "target",
            "win_rate",
            "lag_share",
            "pipeline_required",
            "pipeline_created_so_far",
            "gap",
            "marketing_share",
            "marketing_pipeline_required",
            "marketing_pipeline_created_so_far",
            "marketing_gap",
            "avg_marketing_opportunity",
            "mql_to_opportunity",
            "mqls_required",
        )
        .sort(QUARTER)
    )


def _window(window_days: int) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days <= 0:
        raise ParameterError(
            f"window_days must be a whole number of days above 0, got {window_days!r}"
        )
    return window_days
