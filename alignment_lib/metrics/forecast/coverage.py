"""Pipeline coverage: qualified, in-period pipeline against what is left of each quarter's target.

One population in numerator and denominator (docs/metrics/forecast.md, "Pipeline coverage"):
the open pipeline counted is qualified (its stage is not excluded) and expected in the
quarter, and the coverage it requires is 1 / the in-quarter conversion of that same kind of
pipeline at the starts of past quarters. Overdue deals get their own line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, with_label
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.deals import DEFAULT_EXCLUDED_STAGES, _instant, _lit_instant, _ratio
from alignment_lib.metrics.forecast._common import (
    _booked,
    _bookings_targets,
    _expected_quarter,
    _index_frame,
    _now,
    _open_at,
    _quarter_index,
    _stages,
    _whole,
)
from alignment_lib.metrics.forecast.probabilities import in_quarter_win_probabilities

__all__ = ["DEFAULT_EXCLUDED_STAGES", "in_quarter_conversion", "pipeline_coverage"]


def in_quarter_conversion(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    quarters: int = 8,
    elapsed: float = 0.0,
    exclude_stages: Sequence[str] = DEFAULT_EXCLUDED_STAGES,
) -> pl.LazyFrame:
    """The in-quarter conversion of qualified, in-period pipeline, by amount and by count.

    Over the ``quarters`` complete quarters before the one current at ``as_of``:
    at each quarter's start (or ``elapsed`` of the way through it), the deals open
    then, expected then to close in that quarter, in a stage then that is not in
    ``exclude_stages`` (:func:`in_quarter_win_probabilities`, summed over the
    qualified stages). ``conversion`` = the amount of those won within the quarter
    / their amount (both as recorded at the snapshot; a deal without an amount
    then adds 0 to both); ``conversion_count`` = won within the quarter / deals.

    Grain: exactly one row. Columns: ``deals`` ((deal, quarter) pairs, Int64),
    ``won_in_quarter`` (Int64), ``amount``, ``won_amount`` (currency),
    ``conversion``, ``conversion_count`` (0-1; null when the denominator is 0,
    e.g. without stage history).
    """
    excluded = _stages(exclude_stages)
    rates = in_quarter_win_probabilities(
        opportunities,
        stage_history,
        calendar=calendar,
        as_of=as_of,
        quarters=quarters,
        elapsed=elapsed,
    ).filter(~pl.col("stage").is_in(excluded))
    return (
        rates.select(
            pl.col("deals").sum().cast(pl.Int64),
            pl.col("won_in_quarter").sum().cast(pl.Int64),
            money_sum(pl.col("amount")).alias("amount"),
            money_sum(pl.col("won_amount")).alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("conversion"),
            _ratio(pl.col("won_in_quarter"), pl.col("deals")).alias("conversion_count"),
        )
        .select(
            "deals",
            "won_in_quarter",
            "amount",
            "won_amount",
            "conversion",
            "conversion_count",
        )
    )


def pipeline_coverage(
    opportunities: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    stage_history: pl.LazyFrame,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 3,
    calibration_quarters: int = 8,
    exclude_stages: Sequence[str] = DEFAULT_EXCLUDED_STAGES,
) -> pl.LazyFrame:
    """Qualified, in-period open pipeline against what is left of each quarter's bookings target.

    Grain: one row per fiscal quarter from ``quarter`` on, ``quarters`` of them,
    sorted. *Qualified*: a stage not in ``exclude_stages``. Columns:

    - ``open_deals`` (Int64), ``open_pipeline`` (currency): qualified
      opportunities open at ``as_of`` (created on or before it, or without a
      creation date; not closed by it) whose ``expected_close_date`` falls in the
      quarter; ``open_deals_without_amount`` (Int64): those of them without an
      amount (counted as deals, adding 0: the conversion they are compared with
      weighs such deals 0 too);
    - ``bookings_to_date``: won amount closed in the quarter on or before ``as_of``;
    - ``target``: the quarter's ``bookings`` target of team ``shared`` in
      ``targets`` (the targets that apply to the data's filter; null when there is none);
    - ``remaining`` = max(target - bookings_to_date, 0);
    - ``coverage`` = open_pipeline / remaining (a multiple; null when remaining is
      0 or null);
    - ``conversion``: the in-quarter conversion by amount of the same population
      (:func:`in_quarter_conversion` over the ``calibration_quarters`` complete
      quarters before the current one): taken at the share of the quarter elapsed
      at ``as_of`` for the current quarter, at the quarter's start for later ones;
    - ``required_coverage`` = 1 / conversion (null when it is 0 or unknown, e.g.
      without stage history); ``coverage_gap`` = coverage - required_coverage;
    - ``status``: ``"covered"`` when coverage >= required_coverage or the target
      is already met (remaining 0), ``"short"`` when coverage is below it, null
      when either is unknown (no target, no conversion);
    - ``overdue_deals`` (Int64), ``overdue_pipeline`` (currency), the same on
      every row: qualified deals open at ``as_of`` whose expected close date lies
      in a quarter before both ``quarter`` and the current quarter (expected in a
      quarter already over, not closed, not moved): in no row's pipeline, shown
      on their own line by the page (:func:`~alignment_lib.tables.table_coverage`).

    ``stage_history``: the close-date history the conversion is calibrated on
    (an empty frame when the data has none: the conversion is then unknown).
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    calibration_quarters = _whole("calibration_quarters", calibration_quarters)
    excluded = _stages(exclude_stages)
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    current, elapsed = _now(calendar, as_of)
    grid = _index_frame(QUARTER, range(first, first + quarters)).pipe(with_label)
    qualified = (
        _open_at(opportunities, cut)
        .filter(pl.col("expected_close_date").is_not_null(), ~pl.col("stage").is_in(excluded))
        .with_columns(_expected_quarter(calendar))
    )
    open_ = qualified.group_by(QUARTER).agg(
        pl.len().cast(pl.Int64).alias("open_deals"),
        money_sum(pl.col("amount")).alias("open_pipeline"),
        pl.col("amount").is_null().sum().cast(pl.Int64).alias("open_deals_without_amount"),
    )
    overdue = qualified.filter(pl.col(QUARTER) < min(first, current)).select(
        pl.len().cast(pl.Int64).alias("overdue_deals"),
        money_sum(pl.col("amount")).alias("overdue_pipeline"),
    )

    def conversion(share: float, name: str) -> pl.LazyFrame:
        return in_quarter_conversion(
            opportunities,
            stage_history,
            calendar=calendar,
            as_of=as_of,
            quarters=calibration_quarters,
            elapsed=share,
            exclude_stages=excluded,
        ).select(pl.col("conversion").alias(name))

    at_start = conversion(0.0, "_at_start")
    at_now = (
        conversion(elapsed, "_at_now") if elapsed > 0 else at_start.rename({"_at_start": "_at_now"})
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
        .join(at_start, how="cross")
        .join(at_now, how="cross")
        .join(overdue, how="cross")
        .with_columns(
            pl.col("open_deals", "open_deals_without_amount").fill_null(0),
            pl.col("open_pipeline").fill_null(0.0),
            pl.col("_booked").fill_null(0.0).alias("bookings_to_date"),
            pl.when(pl.col(QUARTER) == current)
            .then(pl.col("_at_now"))
            .otherwise(pl.col("_at_start"))
            .alias("conversion"),
        )
        .with_columns(
            (pl.col("target") - pl.col("bookings_to_date")).clip(lower_bound=0.0).alias("remaining")
        )
        .with_columns(
            _ratio(pl.col("open_pipeline"), pl.col("remaining")).alias("coverage"),
            _ratio(pl.lit(1.0), pl.col("conversion")).alias("required_coverage"),
        )
        .with_columns((coverage - required).alias("coverage_gap"))
        .with_columns(status.alias("status"))
        .select(
            QUARTER,
            LABEL,
            "open_deals",
            "open_pipeline",
            "open_deals_without_amount",
            "bookings_to_date",
            "target",
            "remaining",
            "coverage",
            "conversion",
            "required_coverage",
            "coverage_gap",
            "status",
            "overdue_deals",
            "overdue_pipeline",
        )
        .sort(QUARTER)
    )
