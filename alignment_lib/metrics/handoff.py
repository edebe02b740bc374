"""The handoff from marketing to sales: MQL outcomes, rejection reasons, response times.

Every MQL handed to sales ends up in exactly one of four parts at the as-of
instant: **accepted** (``accepted_at`` set: a SAL), **rejected**
(``rejected_at`` set), **leaked** (neither, never touched, and older than its
SLA) or **pending** (everything else neither accepted nor rejected: touched
but undecided, or untouched and still inside its SLA window). None is dropped
silently, so the four parts sum to the MQLs.

**SLA rule** (shared by :func:`mql_outcomes` and :func:`response_times`): an
MQL's SLA window runs from ``mql_at`` for ``sla_hours`` (per channel with
``channel_sla_hours``). A touch at exactly the end of the window is within the
SLA (``first_touch_at - mql_at <= sla``); an untouched MQL becomes a miss only
once the as-of instant is strictly past the window's end
(``as_of - mql_at > sla``).

**Periods**: both modes count the same MQLs, those whose ``mql_at`` falls in
fiscal quarters ``first`` to ``last`` (in the calendar's time zone).
``period="quarter"`` groups them by that quarter (``quarter_index``,
``fiscal_quarter``); ``period="week"`` by the ISO week of ``mql_at``'s local
date, named by its Monday (``week_start``, Date), one row for every week the
range touches. The weeks at either end of the range are partial when the
range does not start on a Monday or end on a Sunday (FY2026-Q3 starts on a
Wednesday: its first week row holds 1-5 July only), so weekly counts add up
to the quarterly ones.

Inputs are leads already seen as of the report instant (``FunnelData.at``):
``as_of`` is only used for the age of untouched MQLs. Hours are fractional
(Float64); quantiles use linear interpolation (DuckDB ``quantile_cont``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import QUARTER, in_range, quarter_grid, quarter_of, with_label
from alignment_lib.metrics.funnel import (
    check_as_of,
    check_by,
    check_hours,
    check_quarters,
    hours_between,
    key_grid,
    quantile,
    rate,
)

__all__ = ["NO_REASON", "mql_outcomes", "rejection_reasons", "response_times"]

#: how a rejection without a reason is shown
NO_REASON = "(no reason given)"
WEEK = "week_start"

Period = Literal["quarter", "week"]
_UTC = pl.Datetime("us", "UTC")


def _sla_expr(sla_hours: float, channel_sla_hours: Mapping[str, float] | None) -> pl.Expr:
    """Each lead's SLA in hours: the channel's override, else ``sla_hours``.

    Channel names match case-insensitively (``"webinar"`` overrides ``Webinar``).
    """
    default = check_hours("sla_hours", sla_hours)
    if not channel_sla_hours:
        return pl.lit(default, pl.Float64)
    if not isinstance(channel_sla_hours, Mapping):
        raise ParameterError(
            "channel_sla_hours must map channel names to hours, e.g. {'Webinar': 4}"
        )
    lowered: dict[str, float] = {}
    for channel, hours in channel_sla_hours.items():
        if not isinstance(channel, str):
            raise ParameterError(f"channel_sla_hours keys must be channel names, got {channel!r}")
        value = check_hours(f"channel_sla_hours[{channel!r}]", hours)
        key = channel.strip().lower()
        if lowered.get(key, value) != value:
            raise ParameterError(f"channel_sla_hours gives {channel!r} two different SLAs")
        lowered[key] = value
    return (
        pl.col("channel")
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(lowered, default=default, return_dtype=pl.Float64)
        .fill_null(default)
    )


def _period_key(period: str) -> str:
    if period == "quarter":
        return QUARTER
    if period == "week":
        return WEEK
    raise ParameterError(f"period must be 'quarter' or 'week', got {period!r}")


def _with_period(
    frame: pl.LazyFrame,
    instant: str,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    period: str,
) -> pl.LazyFrame:
    """Rows whose ``instant`` falls in quarters ``first`` to ``last``, with their period key."""
    frame = frame.with_columns(quarter_of(calendar, pl.col(instant))).filter(in_range(first, last))
    if period == "week":
        monday = calendar.local_date_expr(pl.col(instant)).dt.truncate("1w")
        frame = frame.with_columns(monday.alias(WEEK))
    return frame


def _period_grid(
    calendar: FiscalCalendar, first: FiscalQuarter, last: FiscalQuarter, period: str
) -> pl.LazyFrame:
    """Every period of the range: quarter indexes, or the Monday of every week it touches."""
    if period == "quarter":
        return quarter_grid(first, last)
    start, end = calendar.quarter_start(first), calendar.quarter_end(last)
    lo = start - dt.timedelta(days=start.weekday())
    mondays = [lo + dt.timedelta(weeks=i) for i in range((end - lo).days // 7 + 1)]
    return pl.LazyFrame({WEEK: mondays}, schema={WEEK: pl.Date})


def _period_columns(period: str) -> list[str]:
    return [QUARTER, "fiscal_quarter"] if period == "quarter" else [WEEK]


def _label(frame: pl.LazyFrame, period: str) -> pl.LazyFrame:
    return with_label(frame) if period == "quarter" else frame


def _mql_flags(
    as_of: dt.datetime, sla_hours: float, channel_sla_hours: Mapping[str, float] | None
) -> dict[str, pl.Expr]:
    """Per-MQL booleans of the SLA rule (see the module docstring)."""
    sla = _sla_expr(sla_hours, channel_sla_hours)
    touched = pl.col("first_touch_at").is_not_null()
    response = hours_between(pl.col("mql_at"), pl.col("first_touch_at"))
    overdue = hours_between(pl.col("mql_at"), pl.lit(as_of, _UTC)) > sla
    return {
        "_touched": touched,
        "_hours": response,
        "_due": touched | overdue,
        "_within": touched & (response <= sla),
        "_overdue": overdue,
    }


def mql_outcomes(
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime | dt.date | str,
    sla_hours: float = 24.0,
    channel_sla_hours: Mapping[str, float] | None = None,
    by: Sequence[str] = (),
    period: Period = "quarter",
) -> pl.LazyFrame:
    """What became of the MQLs handed to sales: accepted, rejected, pending, leaked.

    **Grain**: one row per MQL period (``quarter_index``/``fiscal_quarter``, or
    ``week_start`` with ``period="week"``) and ``by`` keys, zeros included.

    **Columns** (counts Int64, rates Float64 0-1 over ``mqls``, null when 0):
    ``mqls`` leads whose ``mql_at`` is in the period; ``accepted``
    (``accepted_at`` set); ``rejected`` (``rejected_at`` set, not accepted);
    ``leaked`` (neither, ``first_touch_at`` empty and ``as_of - mql_at`` more
    than the SLA); ``pending`` (the rest: neither accepted nor rejected, touched
    or still inside the SLA window). accepted + rejected + pending + leaked =
    mqls. ``acceptance_rate``, ``rejection_rate``, ``pending_rate``,
    ``leaked_rate`` are each part / mqls.

    ``channel_sla_hours`` (e.g. ``{"Webinar": 4}``) overrides ``sla_hours`` per
    channel, exactly as in :func:`response_times`, so leaked MQLs here are the
    never-touched SLA misses there.
    """
    check_quarters(first, last)
    key = _period_key(period)
    cols = check_by(by, leads)
    cutoff = check_as_of(as_of, calendar)
    flags = _mql_flags(cutoff, sla_hours, channel_sla_hours)
    accepted = pl.col("accepted_at").is_not_null()
    rejected = pl.col("rejected_at").is_not_null() & ~accepted
    leaked = ~accepted & ~rejected & ~flags["_touched"] & flags["_overdue"]
    pending = ~accepted & ~rejected & ~leaked
    counted = (
        _with_period(
            leads.filter(pl.col("mql_at").is_not_null()),
            "mql_at",
            calendar=calendar,
            first=first,
            last=last,
            period=period,
        )
        .group_by(key, *cols)
        .agg(
            pl.len().cast(pl.Int64).alias("mqls"),
            accepted.sum().cast(pl.Int64).alias("accepted"),
            rejected.sum().cast(pl.Int64).alias("rejected"),
            pending.sum().cast(pl.Int64).alias("pending"),
            leaked.sum().cast(pl.Int64).alias("leaked"),
        )
    )
    parts = ("accepted", "rejected", "pending", "leaked")
    names = ("acceptance_rate", "rejection_rate", "pending_rate", "leaked_rate")
    return (
        key_grid(_period_grid(calendar, first, last, period), leads, cols)
        .join(counted, on=[key, *cols], how="left", nulls_equal=True)
        .with_columns(pl.col("mqls", *parts).fill_null(0))
        .with_columns(rate(p, "mqls").alias(n) for p, n in zip(parts, names, strict=True))
        .pipe(_label, period)
        .select(*_period_columns(period), *cols, "mqls", *parts, *names)
        .sort(key, *cols)
    )


def rejection_reasons(
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Why sales rejected MQLs, per fiscal quarter of rejection.

    **Grain**: one row per quarter of ``rejected_at`` (``first`` to ``last``),
    ``rejection_reason`` and ``by`` keys. Reasons (and their ``by`` keys) are
    the ones seen in the whole frame, so a reason absent from a quarter shows 0.
    A rejection without a reason shows as ``"(no reason given)"``.

    **Columns**: ``rejected`` (Int64) rejections in the quarter with that reason;
    ``share`` (Float64 0-1) = rejected / all rejections of that quarter and
    ``by`` keys (null when the quarter had none).
    """
    check_quarters(first, last)
    cols = check_by(by, leads)
    reason = pl.col("rejection_reason").fill_null(NO_REASON)
    rejections = leads.filter(pl.col("rejected_at").is_not_null()).with_columns(reason)
    counted = (
        rejections.with_columns(quarter_of(calendar, pl.col("rejected_at")))
        .filter(in_range(first, last))
        .group_by(QUARTER, "rejection_reason", *cols)
        .agg(pl.len().cast(pl.Int64).alias("rejected"))
    )
    grid = quarter_grid(first, last).join(
        rejections.select("rejection_reason", *cols).unique(), how="cross"
    )
    total = pl.col("rejected").sum().over([QUARTER, *cols])
    return (
        grid.join(counted, on=[QUARTER, "rejection_reason", *cols], how="left", nulls_equal=True)
        .with_columns(pl.col("rejected").fill_null(0))
        .with_columns(_total=total)
        .with_columns(share=rate("rejected", "_total"))
        .pipe(with_label)
        .select(QUARTER, "fiscal_quarter", "rejection_reason", *cols, "rejected", "share")
        .sort(QUARTER, "rejection_reason", *cols)
    )


def response_times(
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime | dt.date | str,
    sla_hours: float = 24.0,
    channel_sla_hours: Mapping[str, float] | None = None,
    by: Sequence[str] = (),
    period: Period = "quarter",
) -> pl.LazyFrame:
    """Lead response time (first sales touch - MQL) and SLA compliance.

    **Grain**: one row per MQL period (quarter, or ``week_start`` with
    ``period="week"``) and ``by`` keys (e.g. ``channel``, ``owner_id``), zeros
    included.

    **Columns**: ``mqls`` (Int64) MQLs in the period; ``mqls_due`` MQLs whose
    SLA window has passed at ``as_of`` or that were touched; ``touched`` MQLs
    with a ``first_touch_at``; ``median_hours`` and ``p90_hours`` (Float64
    hours, linear interpolation, over touched MQLs; null when none);
    ``within_sla`` touched no later than their SLA; ``sla_compliance`` =
    within_sla / mqls_due (Float64 0-1, null when nothing is due). Never-touched
    MQLs older than the SLA count as misses; untouched MQLs still inside their
    window are not yet due. ``channel_sla_hours`` overrides ``sla_hours`` per
    channel, e.g. ``{"Webinar": 4}`` (names match case-insensitively).

    The median and p90 describe touched MQLs only: a channel that never calls
    back can show a fast median. Read them beside ``sla_compliance``.
    """
    check_quarters(first, last)
    key = _period_key(period)
    cols = check_by(by, leads)
    cutoff = check_as_of(as_of, calendar)
    flags = _mql_flags(cutoff, sla_hours, channel_sla_hours)
    counted = (
        _with_period(
            leads.filter(pl.col("mql_at").is_not_null()),
            "mql_at",
            calendar=calendar,
            first=first,
            last=last,
            period=period,
        )
        .with_columns(**flags)
        .group_by(key, *cols)
        .agg(
            pl.len().cast(pl.Int64).alias("mqls"),
            pl.col("_due").sum().cast(pl.Int64).alias("mqls_due"),
            pl.col("_touched").sum().cast(pl.Int64).alias("touched"),
            quantile(pl.col("_hours"), 0.5).alias("median_hours"),
            quantile(pl.col("_hours"), 0.9).alias("p90_hours"),
            pl.col("_within").sum().cast(pl.Int64).alias("within_sla"),
        )
    )
    counts = ("mqls", "mqls_due", "touched", "within_sla")
    return (
        key_grid(_period_grid(calendar, first, last, period), leads, cols)
        .join(counted, on=[key, *cols], how="left", nulls_equal=True)
        .with_columns(pl.col(*counts).fill_null(0))
        .with_columns(sla_compliance=rate("within_sla", "mqls_due"))
        .pipe(_label, period)
        .select(
            *_period_columns(period),
            *cols,
            "mqls",
            "mqls_due",
            "touched",
            "median_hours",
            "p90_hours",
            "within_sla",
            "sla_compliance",
        )
        .sort(key, *cols)
    )
