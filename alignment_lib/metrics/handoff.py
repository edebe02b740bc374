"""The handoff from marketing to sales: MQL outcomes, rejection reasons, response times.

Every MQL handed to sales ends up in exactly one of four parts at the as-of
instant: **accepted** (``accepted_at`` set: a SAL), **rejected**
(``rejected_at`` set), **leaked** or **pending**. Leaked has two kinds:

* **never touched**: no ``first_touch_at`` and older than its SLA;
* **stalled**: touched, but with no decision (neither accepted nor rejected)
  more than ``stall_days`` after ``mql_at``, long after decisions normally
  come (default: the p99 of the data's own decision times, see
  :func:`stall_threshold`).

**Pending** is everything else neither accepted nor rejected: touched and
still inside the stall threshold, or untouched and still inside its SLA
window. None is dropped silently: accepted + rejected + pending + leaked =
MQLs, and leaked = never touched + stalled.

**SLA rule** (shared by :func:`mql_outcomes` and :func:`response_times`): an
MQL's SLA window runs from ``mql_at`` for ``sla_hours`` (per channel with
``channel_sla_hours``). A touch at exactly the end of the window is within the
SLA (``first_touch_at - mql_at <= sla``); an untouched MQL becomes a miss only
once the as-of instant is strictly past the window's end
(``as_of - mql_at > sla``).

**SLA clock** (``sla_clock``): ``"calendar"`` (default) counts every hour;
``"business"`` counts only working hours in the time zone of the lead's
``region`` (the sales region that owns it): Monday to Friday,
``working_hours`` of local wall-clock time (09:00-17:00 by default), no
holidays. ``region_timezones`` maps region names (case-insensitive) to IANA
time zones (:data:`REGION_TIMEZONES` by default: NA, EMEA, APAC, LATAM); a
lead whose region is missing or has no zone is counted in calendar hours
(``response_times`` says how many in ``calendar_clock_mqls``). Response
medians and p90s are in the same clock as the SLA. The arithmetic is plain
date arithmetic in polars expressions: the working time between two instants
is the working time from a fixed Monday to the later one minus that to the
earlier one, each being whole weeks x 5 days + the weekdays before the day +
the part of the day's working window already past.

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
``as_of`` is used for the age of undecided MQLs (SLA and stall) and to keep
the decision times of :func:`stall_threshold` to those known then. Hours are
fractional (Float64); quantiles use linear interpolation (DuckDB
``quantile_cont``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import QUARTER, in_range, quarter_grid, quarter_of, with_label
from alignment_lib.metrics.funnel import (
    check_as_of,
    check_by,
    check_hours,
    check_quarters,
    days_between,
    hours_between,
    key_grid,
    quantile,
    rate,
)

__all__ = [
    "NO_REASON",
    "REGION_TIMEZONES",
    "STALL_FALLBACK_DAYS",
    "STALL_MIN_DAYS",
    "STALL_MIN_DECISIONS",
    "STALL_QUANTILE",
    "WORKING_HOURS",
    "business_hours_between",
    "mql_outcomes",
    "rejection_reasons",
    "response_times",
    "stall_threshold",
]

#: how a rejection without a reason is shown
NO_REASON = "(no reason given)"
WEEK = "week_start"
#: the quantile of the data's decision times (MQL -> accepted or rejected) after which a
#: touched MQL without a decision is *stalled* (counts as leaked)
STALL_QUANTILE = 0.99
#: with fewer decisions known at the as-of instant, their p99 is not trusted (it is about
#: the largest of a few values) ...
STALL_MIN_DECISIONS = 100
#: ... and a touched MQL without a decision is stalled after this many days instead
STALL_FALLBACK_DAYS = 30.0
#: the threshold from the data is never shorter than this: where decisions are recorded at
#: the MQL instant (p99 of 0 days), every touched MQL would otherwise be stalled at once
STALL_MIN_DAYS = 1.0
#: the time zone of each sales region, for SLAs in business hours (names match
#: case-insensitively; a region not listed is counted in calendar hours)
REGION_TIMEZONES: Mapping[str, str] = {
    "NA": "America/New_York",
    "EMEA": "Europe/London",
    "APAC": "Asia/Singapore",
    "LATAM": "America/Sao_Paulo",
}
#: the working day of an SLA in business hours: local wall-clock time, Monday to Friday
WORKING_HOURS: tuple[dt.time, dt.time] = (dt.time(9, 0), dt.time(17, 0))

Period = Literal["quarter", "week"]
SlaClock = Literal["calendar", "business"]
_UTC = pl.Datetime("us", "UTC")
_US_PER_HOUR = 3_600_000_000
#: a Monday long before any CRM record: working time is counted from here
_EPOCH_MONDAY = dt.date(1900, 1, 1)


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


# -- the SLA clock --------------------------------------------------------------------------------
def _check_working_hours(working_hours: object) -> tuple[int, int]:
    """(start, end) of the working day in microseconds after local midnight."""
    items = list(working_hours) if isinstance(working_hours, tuple | list) else []
    times = [t for t in items if isinstance(t, dt.time) and t.tzinfo is None]
    if len(items) != 2 or len(times) != 2:
        raise ParameterError(
            "working_hours must be two local times (start, end), e.g. "
            f"(datetime.time(9), datetime.time(17)), got {working_hours!r}"
        )
    start, end = (
        ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond for t in times
    )
    if end <= start:
        raise ParameterError(f"working_hours must end after they start, got {times[0]}-{times[1]}")
    return start, end


def _check_zones(region_timezones: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-cased region name -> IANA zone, each zone checked."""
    zones = REGION_TIMEZONES if region_timezones is None else region_timezones
    if not isinstance(zones, Mapping):
        raise ParameterError(
            "region_timezones must map region names to time zones, e.g. {'EMEA': 'Europe/London'}"
        )
    lowered: dict[str, str] = {}
    for region, zone in zones.items():
        if not isinstance(region, str) or not region.strip():
            raise ParameterError(f"region_timezones keys must be region names, got {region!r}")
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, TypeError, ValueError) as exc:
            raise ParameterError(
                f"region_timezones[{region!r}] = {zone!r} is not a time zone; fix: use an "
                "IANA name such as 'Europe/London' or 'America/New_York'"
            ) from exc
        key = region.strip().lower()
        if lowered.get(key, zone) != zone:
            raise ParameterError(f"region_timezones gives {region!r} two different time zones")
        lowered[key] = zone
    return lowered


def _working_us(local: pl.Expr, start_us: int, end_us: int) -> pl.Expr:
    """Working microseconds from the epoch Monday to a local wall-clock datetime.

    Whole weeks give 5 working days each; the weekdays of the current week before
    the day give one each (Saturday and Sunday add none); the day itself gives the
    part of its working window already past (none on a weekend).
    """
    days = (local.dt.date() - pl.lit(_EPOCH_MONDAY)).dt.total_days()
    weekday = days % 7  # 0 = Monday
    whole_days = (days // 7) * 5 + pl.min_horizontal(weekday, pl.lit(5, pl.Int64))
    since_midnight = (local - local.dt.truncate("1d")).dt.total_microseconds()
    today = (
        pl.when(weekday < 5)
        .then((since_midnight - start_us).clip(0, end_us - start_us))
        .otherwise(0)
    )
    return whole_days * (end_us - start_us) + today


def business_hours_between(
    start: pl.Expr, end: pl.Expr, *, timezone: str, working_hours: tuple[dt.time, dt.time]
) -> pl.Expr:
    """Working hours (Float64) from ``start`` to ``end`` (UTC instants) in ``timezone``:
    Monday to Friday, ``working_hours`` of local wall-clock time; negative when ``end``
    is before ``start``."""
    lo, hi = _check_working_hours(working_hours)

    def local(e: pl.Expr) -> pl.Expr:
        return e.dt.convert_time_zone(timezone).dt.replace_time_zone(None)

    worked = _working_us(local(end), lo, hi) - _working_us(local(start), lo, hi)
    return worked.cast(pl.Float64) / _US_PER_HOUR


def _check_clock(sla_clock: str) -> None:
    if sla_clock not in ("calendar", "business"):
        raise ParameterError(
            f"sla_clock must be 'calendar' (every hour counts) or 'business' (working hours "
            f"in the lead's region), got {sla_clock!r}"
        )


class _Clock:
    """How the SLA counts hours: calendar hours, or working hours per region."""

    def __init__(
        self,
        sla_clock: str,
        region_timezones: Mapping[str, str] | None,
        working_hours: tuple[dt.time, dt.time],
    ) -> None:
        _check_clock(sla_clock)
        self.business = sla_clock == "business"
        self.working_hours = working_hours
        _check_working_hours(working_hours)
        self.zones = _check_zones(region_timezones)

    def _region(self) -> pl.Expr:
        return pl.col("region").str.strip_chars().str.to_lowercase()

    def calendar_counted(self) -> pl.Expr:
        """True for the leads whose SLA is counted in calendar hours."""
        if not self.business:
            return pl.lit(True)
        return ~self._region().is_in(list(self.zones)).fill_null(False)

    def hours(self, start: pl.Expr, end: pl.Expr) -> pl.Expr:
        """Hours from ``start`` to ``end`` on this clock, per lead."""
        calendar = hours_between(start, end)
        if not self.business or not self.zones:
            return calendar
        by_zone: dict[str, list[str]] = {}
        for name, zone in sorted(self.zones.items()):
            by_zone.setdefault(zone, []).append(name)
        region = self._region()
        expr: Then | ChainedThen | None = None
        # one branch per time zone of the setting (a handful), not per lead or group
        for zone, regions in by_zone.items():
            cond = region.is_in(regions).fill_null(False)
            worked = business_hours_between(
                start, end, timezone=zone, working_hours=self.working_hours
            )
            expr = (pl.when(cond) if expr is None else expr.when(cond)).then(worked)
        assert expr is not None
        return expr.otherwise(calendar)


# -- stalled MQLs ---------------------------------------------------------------------------------
def _decision_days(cutoff: dt.datetime) -> tuple[pl.Expr, pl.Expr]:
    """(days from MQL to its decision, whether the decision was known at ``cutoff``)."""
    decided = pl.coalesce("accepted_at", "rejected_at")
    known = pl.col("mql_at").is_not_null() & (decided <= pl.lit(cutoff, _UTC)).fill_null(False)
    return days_between(pl.col("mql_at"), decided), known


def stall_threshold(
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime | dt.date | str,
    stall_days: float | None = None,
) -> pl.LazyFrame:
    """After how many days a touched MQL without a decision is *stalled* (counts as leaked).

    **Grain**: one row. **Columns**: ``decisions`` (Int64) MQLs of ``leads``
    (all quarters, all groups) with a decision (``accepted_at`` or
    ``rejected_at``) on or before ``as_of``; ``median_decision_days`` and
    ``p99_decision_days`` (Float64 days from ``mql_at`` to the decision, linear
    interpolation; null without decisions); ``stall_days`` (Float64 days) the
    threshold; ``stall_rule`` how it was set:

    * ``"set"``: ``stall_days`` was given;
    * ``"p99"``: the p99 of the decision times (:data:`STALL_QUANTILE`), when
      at least :data:`STALL_MIN_DECISIONS` decisions are known, and never less
      than :data:`STALL_MIN_DAYS` (1 day);
    * ``"fallback"``: fewer decisions known (a p99 of a few values is about
      their largest): :data:`STALL_FALLBACK_DAYS` (30 days).

    Only decisions known at ``as_of`` count, so a past quarter re-rendered
    later gets the same threshold. Decision times are measured on MQLs that
    were decided, which leans towards fast decisions in the newest quarters
    (slow ones are not decided yet); over the whole history the effect is
    small, and the p99 sits far above the median anyway.
    """
    cutoff = check_as_of(as_of, calendar)
    if stall_days is not None:
        given = check_hours("stall_days", stall_days)
    days, known = _decision_days(cutoff)
    stats = leads.select(
        known.sum().cast(pl.Int64).alias("decisions"),
        quantile(days.filter(known), 0.5).alias("median_decision_days"),
        quantile(days.filter(known), STALL_QUANTILE).alias("p99_decision_days"),
    )
    if stall_days is not None:
        chosen = pl.lit(given, pl.Float64)
        rule = pl.lit("set")
    else:
        trusted = pl.col("decisions") >= STALL_MIN_DECISIONS
        chosen = (
            pl.when(trusted)
            .then(pl.max_horizontal("p99_decision_days", pl.lit(STALL_MIN_DAYS, pl.Float64)))
            .otherwise(pl.lit(STALL_FALLBACK_DAYS, pl.Float64))
        )
        rule = pl.when(trusted).then(pl.lit("p99")).otherwise(pl.lit("fallback"))
    return stats.with_columns(chosen.alias("stall_days"), rule.alias("stall_rule"))


# -- periods ------------------------------------------------------------------------------------
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
    as_of: dt.datetime,
    sla_hours: float,
    channel_sla_hours: Mapping[str, float] | None,
    clock: _Clock,
) -> dict[str, pl.Expr]:
    """Per-MQL booleans of the SLA rule (see the module docstring), on the SLA's clock."""
    sla = _sla_expr(sla_hours, channel_sla_hours)
    touched = pl.col("first_touch_at").is_not_null()
    response = clock.hours(pl.col("mql_at"), pl.col("first_touch_at"))
    overdue = clock.hours(pl.col("mql_at"), pl.lit(as_of, _UTC)) > sla
    return {
        "_touched": touched,
        "_hours": response,
        "_due": touched | overdue,
        "_within": touched & (response <= sla),
        "_overdue": overdue,
        "_calendar": clock.calendar_counted(),
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
    stall_days: float | None = None,
    sla_clock: SlaClock = "calendar",
    region_timezones: Mapping[str, str] | None = None,
    working_hours: tuple[dt.time, dt.time] = WORKING_HOURS,
    by: Sequence[str] = (),
    period: Period = "quarter",
) -> pl.LazyFrame:
    """What became of the MQLs handed to sales: accepted, rejected, pending, leaked.

    **Grain**: one row per MQL period (``quarter_index``/``fiscal_quarter``, or
    ``week_start`` with ``period="week"``) and ``by`` keys, zeros included.

    **Columns** (counts Int64, rates Float64 0-1 over ``mqls``, null when 0):
    ``mqls`` leads whose ``mql_at`` is in the period; ``accepted``
    (``accepted_at`` set); ``rejected`` (``rejected_at`` set, not accepted);
    ``leaked`` = ``leaked_untouched`` (neither, ``first_touch_at`` empty and
    ``as_of - mql_at`` more than the SLA) + ``leaked_stalled`` (neither,
    touched, and ``as_of - mql_at`` more than ``stall_days`` days);
    ``pending`` (the rest: neither accepted nor rejected, touched and not yet
    stalled, or untouched and still inside the SLA window). accepted +
    rejected + pending + leaked = mqls. ``acceptance_rate``,
    ``rejection_rate``, ``pending_rate``, ``leaked_rate`` are each part / mqls.
    ``stall_days`` (Float64, the same on every row) is the threshold used.

    ``stall_days`` None (default): from the data's own decision times, their
    p99 (:func:`stall_threshold`, computed over every MQL of ``leads`` decided
    by ``as_of``, whatever the range and ``by``; 30 days with fewer than 100
    decisions). ``channel_sla_hours`` (e.g. ``{"Webinar": 4}``) overrides
    ``sla_hours`` per channel, and ``sla_clock``, ``region_timezones`` and
    ``working_hours`` set the SLA's clock, exactly as in
    :func:`response_times`, so leaked-untouched MQLs here are the
    never-touched SLA misses there.
    """
    check_quarters(first, last)
    key = _period_key(period)
    cols = check_by(by, leads)
    cutoff = check_as_of(as_of, calendar)
    clock = _Clock(sla_clock, region_timezones, working_hours)
    flags = _mql_flags(cutoff, sla_hours, channel_sla_hours, clock)
    threshold = stall_threshold(leads, calendar=calendar, as_of=cutoff, stall_days=stall_days)
    accepted = pl.col("accepted_at").is_not_null()
    rejected = pl.col("rejected_at").is_not_null() & ~accepted
    undecided = ~accepted & ~rejected
    age_days = days_between(pl.col("mql_at"), pl.lit(cutoff, _UTC))
    untouched = undecided & ~flags["_touched"] & flags["_overdue"]
    stalled = undecided & flags["_touched"] & (age_days > pl.col("stall_days"))
    pending = undecided & ~untouched & ~stalled
    counted = (
        _with_period(
            leads.filter(pl.col("mql_at").is_not_null()),
            "mql_at",
            calendar=calendar,
            first=first,
            last=last,
            period=period,
        )
        .join(threshold.select("stall_days"), how="cross")
        .group_by(key, *cols)
        .agg(
            pl.len().cast(pl.Int64).alias("mqls"),
            accepted.sum().cast(pl.Int64).alias("accepted"),
            rejected.sum().cast(pl.Int64).alias("rejected"),
            pending.sum().cast(pl.Int64).alias("pending"),
            untouched.sum().cast(pl.Int64).alias("leaked_untouched"),
            stalled.sum().cast(pl.Int64).alias("leaked_stalled"),
        )
    )
    counts = ("mqls", "accepted", "rejected", "pending", "leaked_untouched", "leaked_stalled")
    parts = ("accepted", "rejected", "pending", "leaked")
    names = ("acceptance_rate", "rejection_rate", "pending_rate", "leaked_rate")
    return (
        key_grid(_period_grid(calendar, first, last, period), leads, cols)
        .join(counted, on=[key, *cols], how="left", nulls_equal=True)
        .with_columns(pl.col(*counts).fill_null(0))
        .with_columns(leaked=pl.col("leaked_untouched") + pl.col("leaked_stalled"))
        .with_columns(rate(p, "mqls").alias(n) for p, n in zip(parts, names, strict=True))
        .join(threshold.select("stall_days"), how="cross")
        .pipe(_label, period)
        .select(
            *_period_columns(period),
            *cols,
            "mqls",
            *parts,
            "leaked_untouched",
            "leaked_stalled",
            *names,
            "stall_days",
        )
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
    sla_clock: SlaClock = "calendar",
    region_timezones: Mapping[str, str] | None = None,
    working_hours: tuple[dt.time, dt.time] = WORKING_HOURS,
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
    hours on the SLA's clock, linear interpolation, over touched MQLs; null
    when none); ``within_sla`` touched no later than their SLA;
    ``sla_compliance`` = within_sla / mqls_due (Float64 0-1, null when nothing
    is due); ``calendar_clock_mqls`` (Int64) MQLs whose SLA was counted in
    calendar hours (all of them with ``sla_clock="calendar"``; with
    ``"business"``, those whose region is missing or has no time zone in
    ``region_timezones``). Never-touched MQLs older than the SLA count as
    misses; untouched MQLs still inside their window are not yet due.
    ``channel_sla_hours`` overrides ``sla_hours`` per channel, e.g.
    ``{"Webinar": 4}`` (names match case-insensitively).

    ``sla_clock="business"`` counts the SLA (and the response hours) in
    working hours of the lead's region: Monday to Friday, ``working_hours``
    local time (09:00-17:00), in ``region_timezones[region]``
    (:data:`REGION_TIMEZONES` by default). 24 business hours are three working
    days: a business-hours SLA is usually set shorter (8 h = one working day).

    The median and p90 describe touched MQLs only: a channel that never calls
    back can show a fast median. Read them beside ``sla_compliance``.
    """
    check_quarters(first, last)
    key = _period_key(period)
    cols = check_by(by, leads)
    cutoff = check_as_of(as_of, calendar)
    clock = _Clock(sla_clock, region_timezones, working_hours)
    flags = _mql_flags(cutoff, sla_hours, channel_sla_hours, clock)
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
            pl.col("_calendar").sum().cast(pl.Int64).alias("calendar_clock_mqls"),
        )
    )
    counts = ("mqls", "mqls_due", "touched", "within_sla", "calendar_clock_mqls")
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
            "calendar_clock_mqls",
        )
        .sort(key, *cols)
    )
