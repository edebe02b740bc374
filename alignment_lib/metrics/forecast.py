"""Coverage and forecast: will the pipeline carry the shared number?

Definitions (docs/metrics/forecast.md, after the domain reference):

- *stage win probability*: of the deals closed in a trailing window that were
  ever in stage S while open, the share won (by count and by amount).
  Calibrated on history, never on the CRM's default stage probabilities.
- *pipeline coverage* = open pipeline expected to close in quarter Q (qualified
  stages only) / (target for Q - bookings so far in Q); *required coverage* =
  1 / win rate (by amount, trailing window). The rule of thumb "3x coverage" is
  only the inverse of a 33% win rate.
- *in-quarter win probability*: of the deals open at a past quarter's start
  and expected (as recorded then) to close in it, the share won **within that
  quarter**, by their stage at the start; pooled over recent complete quarters.
  The calibration a quarter's forecast needs ("ever won" overstates it).
- *bookings forecast* = booked to date + weighted open pipeline (amount x
  in-quarter p(stage), overdue deals included for the current quarter) +
  bookings expected from pipeline not created yet, each with a variance, and
  an interval around their sum; the *forecast backtest* forecasts past
  quarters from their start and sets each against what it booked.
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
from alignment_lib.load import FunnelData
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of, with_label
from alignment_lib.metrics._sums import money_sum, stable_mean, stable_std, stable_sum
from alignment_lib.metrics.deals import (
    _closed_in_window,
    _instant,
    _lit_instant,
    _ratio,
    closed_deal_stats,
)
from alignment_lib.metrics.lag import LAG_BUCKETS, creation_to_close_lag
from alignment_lib.schema import LEADS, TARGETS, TIMESTAMP

__all__ = [
    "CALIBRATIONS",
    "DEFAULT_EXCLUDED_STAGES",
    "Z_80",
    "bookings_forecast",
    "forecast_backtest",
    "in_quarter_win_probabilities",
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
    begin, end = _start_of(calendar, current), _start_of(calendar, current.shift(1))
    elapsed = min(max((as_of - begin) / (end - begin), 0.0), 1.0)
    return FiscalCalendar.quarter_index(current), float(elapsed)


def _start_of(calendar: FiscalCalendar, quarter: FiscalQuarter) -> dt.datetime:
    """A quarter's first instant: local midnight of its first day, in UTC."""
    day = calendar.quarter_start(quarter)
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)


def _index_frame(name: str, values: Sequence[int]) -> pl.LazyFrame:
    return pl.LazyFrame({name: list(values)}, schema={name: pl.Int32})


def _open_at(opportunities: pl.LazyFrame, cut: pl.Expr) -> pl.LazyFrame:
    """Opportunities open at the cutoff: created by it and not closed by it.

    A deal without a creation date (not tracked: docs/data-model.md, "Partial
    exports") counts as created: the inputs are already seen as of the report
    instant, which keeps only the deals known then.
    """
    return opportunities.filter(
        pl.col("created_at").is_null() | (pl.col("created_at") <= cut),
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
        .agg(money_sum(pl.col("amount")).alias("_booked"))
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
    return pl.when(weights_known.all()).then(stable_sum(expr))


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
            money_sum(pl.col("_amount")).alias("amount"),
            money_sum(pl.col("_amount").filter(pl.col("_won"))).alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won"), pl.col("deals")).alias("p_win_count"),
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("p_win_amount"),
        )
        .select("stage", "deals", "won", "amount", "won_amount", "p_win_count", "p_win_amount")
        .sort("stage")
    )


# -- in-quarter win probabilities ---------------------------------------------------------------
def _snapshots(calendar: FiscalCalendar, lo: int, hi: int, points: Sequence[float]) -> pl.LazyFrame:
    """Quarters lo..hi, each seen at every point: the instant seen at, the next quarter's start.

    The snapshot ``_cut`` is the last instant seen, ``point`` of the way through
    the quarter: start + point x (next start - start) - 1 us, so at point 0 the
    previous quarter's last microsecond (``FunnelData.at`` of the previous
    quarter's end). ``_snap`` says whether the point is past the start (> 0).
    Built in Python for a handful of quarters (zoneinfo gets daylight saving
    right); the data is only ever joined against it.
    """
    rows: dict[str, list] = {QUARTER: [], "_snap": [], "_cut": [], "_next_at": []}
    for index in range(lo, hi + 1):
        quarter = FiscalCalendar.quarter_from_index(index)
        start, end = _start_of(calendar, quarter), _start_of(calendar, quarter.shift(1))
        for point in points:
            rows[QUARTER].append(index)
            rows["_snap"].append(point > 0)
            rows["_cut"].append(start + (end - start) * point - _US)
            rows["_next_at"].append(end)
    return pl.LazyFrame(
        rows,
        schema={QUARTER: pl.Int32, "_snap": pl.Boolean, "_cut": TIMESTAMP, "_next_at": TIMESTAMP},
    )


def _at_snapshots(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    calendar: FiscalCalendar,
    lo: int,
    hi: int,
    points: Sequence[float] = (0.0,),
) -> pl.LazyFrame:
    """Each deal open at a snapshot of the quarters lo..hi, as ``stage_history`` had it then.

    The snapshots of quarter Q are its instants ``points`` of the way through
    (:func:`_snapshots`; at 0 its start, seen at the previous quarter's last
    microsecond). One row per (deal, Q, snapshot) for the deals created by the snapshot
    and not closed by it (at 0: created before Q, not closed before it, as
    :func:`~alignment_lib.metrics.cycles.slipped_deals` counts them), with the
    last stage_history row recorded by then (what ``FunnelData.at`` shows):
    ``stage``, ``_amount`` (recorded then, a missing one adds 0),
    ``_expected_q`` (quarter of the expected close date recorded then; null
    without one) and ``_won`` = won with ``closed_at`` before Q ended. A deal
    without a history row by then is dropped: its state then is unknown.
    """
    history = stage_history.select(
        "opportunity_id",
        pl.col("changed_at").alias("_changed_at"),
        "stage",
        pl.col("amount").alias("_amount"),
        pl.col("expected_close_date").alias("_ecd"),
    ).sort("_changed_at")
    created_q = quarter_of(calendar, pl.col("created_at"))
    closed_q = quarter_of(calendar, pl.col("closed_at"))
    cut = pl.col("_cut")
    return (
        opportunities.select("opportunity_id", "created_at", "closed_at", "outcome")
        # a deal can only be open at a snapshot of the quarters from its creation to its close:
        # one row per such (deal, Q) of lo..hi, then the exact test against the snapshot
        .with_columns(
            pl.max_horizontal(created_q, pl.lit(lo)).alias("_from"),
            pl.min_horizontal(closed_q.fill_null(hi), pl.lit(hi)).alias("_to"),
        )
        .filter(pl.col("_from") <= pl.col("_to"))
        .with_columns(pl.int_ranges("_from", pl.col("_to") + 1, dtype=pl.Int32).alias(QUARTER))
        .explode(QUARTER)
        .join(_snapshots(calendar, lo, hi, points), on=QUARTER, how="inner")
        .filter(
            pl.col("created_at") <= cut,
            pl.col("closed_at").is_null() | (pl.col("closed_at") > cut),
        )
        .sort("_cut")
        .join_asof(
            history,
            left_on="_cut",
            right_on="_changed_at",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("_changed_at").is_not_null())
        .select(
            "opportunity_id",
            QUARTER,
            "_snap",
            "stage",
            pl.col("_amount").fill_null(0.0),
            calendar.quarter_index_expr(pl.col("_ecd")).cast(pl.Int32).alias("_expected_q"),
            ((pl.col("outcome") == "won") & (pl.col("closed_at") < pl.col("_next_at")))
            .fill_null(False)
            .alias("_won"),
        )
    )


def _calibration_range(
    calendar: FiscalCalendar, as_of: dt.datetime, quarters: int
) -> tuple[int, int]:
    """The ``quarters`` complete quarters before the one current at ``as_of``."""
    current, _ = _now(calendar, as_of)
    return current - quarters, current - 1


def in_quarter_win_probabilities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    quarters: int = 8,
    overdue: bool = False,
    elapsed: float = 0.0,
) -> pl.LazyFrame:
    """By stage, the chance a deal expected in a quarter at its start is won **within** it.

    Calibrated on the ``quarters`` complete quarters before the quarter current
    at ``as_of``. For each such quarter Q: the deals open at Q's first instant
    (created before it, not closed before it) whose expected close date **as
    recorded in stage_history then** (the last change strictly before Q began)
    falls inside Q, grouped by their stage at that instant. A deal counts once
    per quarter it was expected in at the start (a deal that slipped through
    two quarters counts in both); one without a history row before Q is not
    counted. Pooled over the quarters (summed counts and amounts):

    Grain: one row per stage seen, sorted by stage. Columns: ``stage``,
    ``deals`` ((deal, quarter) pairs, Int64), ``won_in_quarter`` (of those, won
    with ``closed_at`` inside that quarter, Int64), ``amount`` and
    ``won_amount`` (the amounts recorded at the quarter's start; a missing one
    adds 0; currency), ``p_in_quarter_count`` = won_in_quarter / deals and
    ``p_in_quarter_amount`` = won_amount / amount (0-1, null when the
    denominator is 0).

    Unlike :func:`stage_win_probabilities` ("ever won, having ever been in S")
    this is the rate the forecast of a quarter needs: deals that sit in an
    early stage at a snapshot, and deals that slip past the quarter, count
    against it. Joins only (a grid of ``quarters`` quarters); only events up to
    ``as_of`` are used (every calibration quarter ends by it).

    ``overdue=True`` calibrates the same rates on the deals *overdue* at each
    quarter's start instead: open, with an expected close date recorded before
    the quarter began (the deals nobody has moved yet). :func:`bookings_forecast`
    weighs the current quarter's overdue deals with these.

    ``elapsed`` (0 <= elapsed < 1) moves the snapshot from each quarter's first
    instant to the point where that share of it has elapsed (the deals open
    then, their state recorded then, won in the rest of the quarter):
    :func:`bookings_forecast` calibrates the current quarter at the share of it
    elapsed at ``as_of``, since the deals still open halfway through a quarter
    are not the ones open at its start.
    """
    quarters = _whole("quarters", quarters)
    if not isinstance(overdue, bool):
        raise ParameterError(f"overdue must be True or False, got {overdue!r}")
    elapsed = _share_of_quarter(elapsed)
    lo, hi = _calibration_range(calendar, _instant(as_of), quarters)
    expected, quarter = pl.col("_expected_q"), pl.col(QUARTER)
    return _in_quarter_rates(
        _at_snapshots(opportunities, stage_history, calendar, lo, hi, [elapsed]).filter(
            expected < quarter if overdue else expected == quarter
        )
    )


def _share_of_quarter(elapsed: object) -> float:
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or not 0 <= elapsed < 1:
        raise ParameterError(
            f"elapsed must be a share of the quarter from 0 (its start) up to but not "
            f"including 1, got {elapsed!r}"
        )
    return float(elapsed)


def _in_quarter_rates(rows: pl.LazyFrame, *keys: str) -> pl.LazyFrame:
    won = pl.col("_won")
    return (
        rows.group_by(*keys, "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("deals"),
            won.sum().cast(pl.Int64).alias("won_in_quarter"),
            money_sum(pl.col("_amount")).alias("amount"),
            money_sum(pl.col("_amount").filter(won)).alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won_in_quarter"), pl.col("deals")).alias("p_in_quarter_count"),
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("p_in_quarter_amount"),
        )
        .select(
            *keys,
            "stage",
            "deals",
            "won_in_quarter",
            "amount",
            "won_amount",
            "p_in_quarter_count",
            "p_in_quarter_amount",
        )
        .sort(*keys, "stage")
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
      at ``as_of`` (created on or before it, or without a creation date; not
      closed by it) whose
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
            money_sum(pl.col("amount")).alias("open_pipeline"),
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
CALIBRATIONS: tuple[str, ...] = ("in_quarter", "ever")


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
    calibration: str = "in_quarter",
    calibration_quarters: int = 8,
) -> pl.LazyFrame:
    """An explainable bookings forecast: booked + weighted open pipeline + pipeline not yet created.

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
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    creation_quarters = _whole("creation_quarters", creation_quarters)
    calibration_quarters = _whole("calibration_quarters", calibration_quarters)
    if isinstance(z, bool) or not isinstance(z, int | float) or not math.isfinite(z) or z < 0:
        raise ParameterError(f"z must be a finite number of standard deviations >= 0, got {z!r}")
    if calibration not in CALIBRATIONS:
        raise ParameterError(
            f"calibration must be one of {', '.join(map(repr, CALIBRATIONS))}, got {calibration!r}"
        )
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
        )
        .select(
            QUARTER,
            LABEL,
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
            _NYC_SHARE,
            "not_yet_created_expected",
            "not_yet_created_variance",
            "not_yet_created_cv",
            "forecast",
            "forecast_sd",
            "forecast_low",
            "forecast_high",
            "target",
            "forecast_to_target",
        )
        .sort(QUARTER)
    )


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
        .agg(money_sum(pl.col("amount")).alias("_lag_amount"))
        .with_columns(
            _ratio(pl.col("_lag_amount"), money_sum(pl.col("_lag_amount"))).alias("lag_share")
        )
        .select("lag_quarters", "lag_share")
    )

    seen = opportunities.filter(pl.col("created_at") <= cut)
    marketing = pl.col("source") == "marketing"
    created = (
        seen.with_columns(quarter_of(calendar, pl.col("created_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(
            money_sum(pl.col("amount")).alias("pipeline_created_so_far"),
            money_sum(pl.col("amount").filter(marketing)).alias(
                "marketing_pipeline_created_so_far"
            ),
        )
    )
    start = _lit_instant(as_of - dt.timedelta(days=_window(window_days)))
    trailing = seen.filter(pl.col("created_at") > start).select(
        _ratio(money_sum(pl.col("amount").filter(marketing)), money_sum(pl.col("amount"))).alias(
            "marketing_share"
        ),
        _ratio(money_sum(pl.col("amount").filter(marketing)), marketing.sum()).alias(
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
