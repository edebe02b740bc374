"""Findings of 'The handoff' workbook, computed from its metric frames.

Every function takes collected outputs of :mod:`alignment_lib.metrics.handoff`
and a report quarter, and returns plain sentences (escaped when shown).
Outcome counts add up across channels, so an ``mql_outcomes`` frame split by
``channel`` is summed here for the quarter's totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from alignment_lib._frames import column_max
from alignment_lib.fiscal import FiscalQuarter
from alignment_lib.gate import missing
from alignment_lib.narrative._format import format_share, join_words, shows
from alignment_lib.tracking import Tracking

__all__ = [
    "handoff_summary",
    "leaked_mqls_headline",
    "mql_outcomes_headline",
    "rejection_reasons_headline",
    "response_times_headline",
    "stall_rule_sentence",
    "weekly_sla_headline",
]

#: reps with fewer MQLs due than this in the quarter are not named as slow (too few to judge)
MIN_DUE = 5
#: at most this many names in one sentence
MAX_NAMES = 4
_PARTS = (
    "mqls",
    "accepted",
    "rejected",
    "pending",
    "leaked",
    "leaked_untouched",
    "leaked_stalled",
)
_NO_REASON = "(no reason given)"


def _hours(value: float, sla_clock: str = "calendar") -> str:
    """11.2 -> '11 h'; 3.6 -> '3.6 h': a decimal only below 10 hours ('working h' on the
    business clock)."""
    unit = "working h" if sla_clock == "business" else "h"
    return f"{value:.1f} {unit}" if abs(value) < 10 else f"{value:,.0f} {unit}"


def _sla(sla_hours: float, sla_clock: str = "calendar") -> str:
    """'24 h' or, on the business clock, '24 working-hour' (as in 'the 24 h SLA')."""
    return f"{sla_hours:g} working-hour" if sla_clock == "business" else f"{sla_hours:g} h"


def _days(value: float) -> str:
    """12.48 -> '12.5 days'; 30.0 -> '30 days'; 1.0 -> '1 day'."""
    text = f"{value:,.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


def _stall_days(outcomes: pl.DataFrame) -> float | None:
    """The stall threshold the outcomes were computed with (None for an older frame)."""
    if "stall_days" not in outcomes.columns or outcomes.height == 0:
        return None
    return outcomes["stall_days"][0]


def _leaked_kinds(untouched: int, stalled: int, stall_days: float | None) -> str:
    """What the leaked MQLs were: never touched past the SLA, or stalled."""
    after = f" for more than {_days(stall_days)}" if stall_days is not None else ""
    if stalled == 0:
        return "never touched, past the SLA"
    if untouched == 0:
        return f"touched, then left without a decision{after} (stalled)"
    return (
        f"{untouched:,} never touched past the SLA, {stalled:,} touched but left without a "
        f"decision{after} (stalled)"
    )


def _names(items: Sequence[str]) -> str:
    """Up to MAX_NAMES names, then 'and N more'."""
    if len(items) <= MAX_NAMES:
        return join_words(items)
    shown = list(items[: MAX_NAMES - 1])
    return join_words([*shown, f"{len(items) - len(shown)} more"])


def _date(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _quarter_totals(outcomes: pl.DataFrame, quarter: FiscalQuarter) -> dict[str, int]:
    """The quarter's MQLs, their four parts and the two kinds of leaked, summed over any
    split (a frame without the kinds counts every leaked MQL as never touched)."""
    rows = outcomes.filter(pl.col("fiscal_quarter") == quarter.label)
    totals = {p: int(rows[p].sum()) for p in _PARTS if p in rows.columns}
    totals.setdefault("leaked_untouched", totals["leaked"])
    totals.setdefault("leaked_stalled", 0)
    return totals


def _has_quarter(frame: pl.DataFrame, quarter: FiscalQuarter) -> bool:
    return frame.filter(pl.col("fiscal_quarter") == quarter.label).height > 0


@shows("mql_outcomes")
def mql_outcomes_headline(
    outcomes: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """'Sales accepted 53% of FY2026-Q3's 753 MQLs; 112 leaked (46 never touched, 66
    stalled without a decision)'.

    ``outcomes`` is ``mql_outcomes`` output, split by channel or not.
    """
    t = _quarter_totals(outcomes, quarter)
    if t["mqls"] == 0:
        return f"No MQLs were handed to sales in {quarter.label}"
    untouched, stalled = t["leaked_untouched"], t["leaked_stalled"]
    if not t["leaked"]:
        leaked = "none leaked"
    elif not stalled:
        leaked = f"{untouched:,} leaked untouched"
    elif not untouched:
        leaked = f"{stalled:,} leaked: touched, then stalled without a decision"
    else:
        leaked = (
            f"{t['leaked']:,} leaked ({untouched:,} never touched, {stalled:,} stalled "
            "without a decision)"
        )
    return (
        f"Sales accepted {format_share(t['accepted'] / t['mqls'])} of {quarter.label}'s "
        f"{t['mqls']:,} MQLs; {leaked}"
    )


def _outcomes_sentence(outcomes: pl.DataFrame, quarter: FiscalQuarter) -> str:
    t = _quarter_totals(outcomes, quarter)
    if t["mqls"] == 0:
        return f"No MQLs were handed to sales in {quarter.label}."
    n = t["mqls"]
    before = quarter.shift(-1)
    earlier = ""
    if _has_quarter(outcomes, before):
        b = _quarter_totals(outcomes, before)
        if b["mqls"]:
            earlier = f" ({before.label}: {format_share(b['accepted'] / b['mqls'])})"
    pending = (
        f"{t['pending']:,} ({format_share(t['pending'] / n)}) await a decision"
        if t["pending"]
        else "none awaits a decision"
    )
    leaked = f"{t['leaked']:,} ({format_share(t['leaked'] / n)}) leaked"
    if t["leaked"]:
        kinds = _leaked_kinds(t["leaked_untouched"], t["leaked_stalled"], _stall_days(outcomes))
        leaked += f": {kinds}"
    return (
        f"Sales accepted {format_share(t['accepted'] / n)} of {quarter.label}'s {n:,} MQLs"
        f"{earlier} and rejected {format_share(t['rejected'] / n)}; {pending} and {leaked}."
    )


@shows("mql_outcomes")
def stall_rule_sentence(stall: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """When a touched MQL without a decision counts as stalled, and why that many days:
    'Decisions take a median 2.8 days; an MQL touched but still undecided after 12.5 days
    (the p99 of the 7,521 decisions known) counts as stalled, leaked'.

    ``stall`` is :func:`alignment_lib.metrics.stall_threshold` output (one row).
    """
    r = stall.row(0, named=True)
    after = _days(r["stall_days"])
    rule = f"an MQL touched but still undecided after {after}"
    if r["stall_rule"] == "set":
        text = f"{rule[0].upper()}{rule[1:]} (set for this report) counts as stalled, leaked"
    elif r["stall_rule"] == "p99":
        text = (
            f"Decisions take a median {_days(r['median_decision_days'])}; {rule} (the p99 of "
            f"the {r['decisions']:,} decisions known) counts as stalled, leaked"
        )
    else:
        known = f"only {r['decisions']:,}" if r["decisions"] else "no"
        text = (
            f"With {known} decision{'' if r['decisions'] == 1 else 's'} known, too few for "
            f"their p99, {rule} (the kit's fallback) counts as stalled, leaked"
        )
    return text


def _mqls_sentence(outcomes: pl.DataFrame, quarter: FiscalQuarter) -> str:
    """The quarter's MQL count alone (what became of them is not tracked)."""
    n = _quarter_totals(outcomes, quarter)["mqls"]
    if n == 0:
        return f"No MQLs were handed to sales in {quarter.label}."
    verb = "MQL was" if n == 1 else "MQLs were"
    return f"{n:,} {verb} handed to sales in {quarter.label}."


def _response_sentence(
    response: pl.DataFrame,
    quarter: FiscalQuarter,
    sla_hours: float,
    sla_target: float | None,
    sla_clock: str = "calendar",
) -> str:
    rows = response.filter(pl.col("fiscal_quarter") == quarter.label)
    touched = int(rows["touched"].sum()) if rows.height else 0
    if rows.height != 1 or touched == 0:
        return f"No {quarter.label} MQL has had a first sales touch yet."
    row = rows.row(0, named=True)
    text = (
        f"Half of the touched MQLs got a first touch within "
        f"{_hours(row['median_hours'], sla_clock)}; 1 in 10 waited more than "
        f"{_hours(row['p90_hours'], sla_clock)}."
    )
    if row["sla_compliance"] is not None:
        target = f" (target {format_share(sla_target)})" if sla_target is not None else ""
        text += (
            f" {format_share(row['sla_compliance'])} of the MQLs due were touched within "
            f"the {_sla(sla_hours, sla_clock)} SLA{target}."
        )
    return text


def _clock_sentence(response: pl.DataFrame, quarter: FiscalQuarter) -> str | None:
    """On the business clock: the quarter's MQLs whose region has no time zone."""
    rows = response.filter(pl.col("fiscal_quarter") == quarter.label)
    if "calendar_clock_mqls" not in rows.columns or rows.height != 1:
        return None
    n = int(rows["calendar_clock_mqls"][0])
    if n == 0:
        return None
    if n == int(rows["mqls"][0]):
        return (
            f"No {quarter.label} MQL has a region with a known time zone: their SLA is "
            "counted in calendar hours."
        )
    return (
        f"{n:,} {quarter.label} MQL{'' if n == 1 else 's'} {'has' if n == 1 else 'have'} no "
        f"region with a known time zone: {'its' if n == 1 else 'their'} SLA is counted in "
        "calendar hours."
    )


def _slow(
    frame: pl.DataFrame, *, by: str, quarter: FiscalQuarter, sla_hours: float, min_due: int
) -> pl.DataFrame:
    """Groups of the quarter whose median first touch is over the SLA, slowest first."""
    return (
        frame.filter(
            (pl.col("fiscal_quarter") == quarter.label)
            & (pl.col("mqls_due") >= min_due)
            & (pl.col("median_hours") > sla_hours)
        )
        .with_columns(pl.col(by).fill_null("(not set)"))
        .sort(["median_hours", by], descending=[True, False])
    )


@shows("response_times")
def response_times_headline(
    frame: pl.DataFrame,
    *,
    by: str,
    quarter: FiscalQuarter,
    sla_hours: float = 24.0,
    sla_clock: str = "calendar",
    min_due: int = 1,
    tracking: Tracking | None = None,
) -> str:
    """Who kept MQLs waiting: the groups whose median first touch exceeded the SLA.

    ``frame`` is ``response_times`` output split by ``by`` (``"channel"`` or
    ``"owner_id"``); groups with fewer than ``min_due`` MQLs due are not named.
    ``sla_hours`` and ``sla_clock`` as the metric used ("business": working hours).
    """
    slow = _slow(frame, by=by, quarter=quarter, sla_hours=sla_hours, min_due=min_due)
    sla = f"a {_sla(sla_hours, sla_clock)} SLA"
    noun = "channel" if by == "channel" else "rep" if by == "owner_id" else by
    timed = frame.filter(
        (pl.col("fiscal_quarter") == quarter.label)
        & (pl.col("mqls_due") >= min_due)
        & pl.col("median_hours").is_not_null()
    )
    if timed.height == 0:
        # "every channel was within the SLA" would be vacuously true
        due = f" with at least {min_due} MQLs due" if min_due > 1 else ""
        return f"No {noun}{due} in {quarter.label} has a first touch to time"
    if slow.height == 0:
        return f"Every {noun}'s median first touch in {quarter.label} was within {sla}"
    names = slow[by].to_list()
    hours = [_hours(h, sla_clock) for h in slow["median_hours"]]
    if slow.height > MAX_NAMES:
        shown = _names(names)
        return (
            f"{slow.height} {noun}s kept {quarter.label}'s MQLs waiting longer than {sla} "
            f"(median first touch): {shown}"
        )
    waited = f"a median {join_words(hours)}"
    if by == "owner_id":
        reps = "Rep" if slow.height == 1 else "Reps"
        return f"{reps} {join_words(names)} took {waited} to first touch an MQL, against {sla}"
    return f"{join_words(names)} MQLs waited {waited} for a first touch against {sla}"


@shows("rejection_reasons")
def rejection_reasons_headline(
    reasons: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """'"Not a fit" was the top reason for rejecting MQLs in FY2026-Q3 (32% of 216)'.

    ``reasons`` is ``rejection_reasons`` output, split by channel or not. On a
    tie, a reason sales gave goes before "(no reason given)".
    """
    totals = (
        reasons.filter(pl.col("fiscal_quarter") == quarter.label)
        .group_by("rejection_reason")
        .agg(pl.col("rejected").sum())
        .with_columns(_unnamed=pl.col("rejection_reason") == _NO_REASON)
        .sort(["rejected", "_unnamed", "rejection_reason"], descending=[True, False, False])
    )
    total = int(totals["rejected"].sum()) if totals.height else 0
    if total == 0:
        return f"Sales rejected no MQLs in {quarter.label}"
    top, count, _ = totals.row(0)
    share = format_share(count / total)
    if top == _NO_REASON:
        return (
            f"Sales gave no reason for {share} of the {total:,} MQLs it rejected in "
            f"{quarter.label}, more than for any reason"
        )
    return (
        f'"{top}" was the top reason for rejecting MQLs in {quarter.label} ({share} of {total:,})'
    )


@shows("mql_outcomes")
def leaked_mqls_headline(
    outcomes: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """'112 FY2026-Q3 MQLs leaked (46 never touched, 66 stalled), 25 of them from Content
    Syndication'.

    ``outcomes`` is ``mql_outcomes`` output split by channel.
    """
    rows = outcomes.filter(pl.col("fiscal_quarter") == quarter.label)
    if not rows.height or rows["mqls"].sum() == 0:
        return f"No MQLs were handed to sales in {quarter.label}"
    t = _quarter_totals(outcomes, quarter)
    leaked, untouched, stalled = t["leaked"], t["leaked_untouched"], t["leaked_stalled"]
    if leaked == 0:
        return (
            f"No {quarter.label} MQL leaked: each was decided, or is still inside its SLA "
            "or awaiting a decision"
        )
    mqls = f"MQL{'' if leaked == 1 else 's'}"
    if not stalled:
        what = f"{leaked:,} {quarter.label} {mqls} leaked untouched"
    elif not untouched:
        what = f"{leaked:,} {quarter.label} {mqls} leaked: touched, then stalled"
    else:
        what = (
            f"{leaked:,} {quarter.label} {mqls} leaked ({untouched:,} never touched, "
            f"{stalled:,} stalled)"
        )
    if "channel" not in rows.columns:
        return what
    top = (
        rows.with_columns(pl.col("channel").fill_null("(not set)"))
        .sort(["leaked", "channel"], descending=[True, False])
        .row(0, named=True)
    )
    if leaked == 1:
        return f"{what}, from {top['channel']}"
    return f"{what}, {top['leaked']:,} of them from {top['channel']}"


@shows("response_times")
def weekly_sla_headline(
    weekly: pl.DataFrame, *, sla_target: float | None = None, tracking: Tracking | None = None
) -> str:
    """'Sales met the 55% SLA target in 21 of 27 weeks; the worst week reached 35% (week of
    25 May 2026)'.

    ``weekly`` is ``response_times(..., period="week")`` output; weeks with no
    MQL due are not counted.
    """
    weeks = weekly.filter((pl.col("mqls_due") > 0) & pl.col("sla_compliance").is_not_null())
    if weeks.height == 0:
        return "No MQL was due for a first touch in these weeks"
    worst = weeks.sort(["sla_compliance", "week_start"]).row(0, named=True)
    low = f"{format_share(worst['sla_compliance'])} (week of {_date(worst['week_start'])})"
    if sla_target is None:
        best = format_share(column_max(weeks, "sla_compliance"))
        return f"Weekly SLA compliance ranged from {low} to {best}"
    met = weeks.filter(pl.col("sla_compliance") >= sla_target).height
    return (
        f"Sales met the {format_share(sla_target)} SLA target in {met} of {weeks.height} "
        f"week{'' if weeks.height == 1 else 's'}; the worst week reached {low}"
    )


@shows("mqls")
def handoff_summary(
    *,
    outcomes: pl.DataFrame,
    reasons: pl.DataFrame,
    response: pl.DataFrame,
    by_channel: pl.DataFrame,
    by_owner: pl.DataFrame,
    quarter: FiscalQuarter,
    sla_hours: float = 24.0,
    sla_clock: str = "calendar",
    sla_target: float | None = None,
    stall: pl.DataFrame | None = None,
    tracking: Tracking | None = None,
) -> list[str]:
    """Sentences for 'The handoff' page.

    ``outcomes``: ``mql_outcomes`` (split by channel or not); ``reasons``:
    ``rejection_reasons``; ``response``: ``response_times`` unsplit;
    ``by_channel`` / ``by_owner``: ``response_times`` split by ``channel`` /
    ``owner_id``. ``sla_hours`` and ``sla_clock`` must be the SLA the metrics
    used; ``sla_target`` (0-1) the compliance target, if any. ``stall``:
    :func:`alignment_lib.metrics.stall_threshold` output, whose rule is stated
    when the quarter has stalled MQLs. ``tracking``: a measure the data cannot
    support (no acceptance, rejection or first-touch dates, no lead owners) is
    not stated; the sentences saying what is not tracked are, right after the
    quarter's MQL count (docs/partial-data.md).
    """
    shown = {
        m: not missing(tracking, m)
        for m in ("mql_outcomes", "response_times", "response_by_rep", "rejection_reasons")
    }
    if shown["mql_outcomes"]:
        lines = [_outcomes_sentence(outcomes, quarter)]
        if stall is not None and _quarter_totals(outcomes, quarter)["leaked_stalled"]:
            lines.append(stall_rule_sentence(stall) + ".")
    else:
        lines = [_mqls_sentence(outcomes, quarter)]
    lines += missing(tracking, *shown)
    if shown["response_times"]:
        lines.append(_response_sentence(response, quarter, sla_hours, sla_target, sla_clock))
        if sla_clock == "business" and (clock := _clock_sentence(response, quarter)):
            lines.append(clock)
        slow = _slow(by_channel, by="channel", quarter=quarter, sla_hours=sla_hours, min_due=1)
        if slow.height:
            text = response_times_headline(
                by_channel, by="channel", quarter=quarter, sla_hours=sla_hours, sla_clock=sla_clock
            )
            if slow.height <= MAX_NAMES and slow["sla_compliance"].null_count() == 0:
                shares = join_words([format_share(c) for c in slow["sla_compliance"]])
                text += f"; {shares} of them were touched in time"
            lines.append(text + ".")
    if shown["response_by_rep"]:
        slow_reps = _slow(
            by_owner, by="owner_id", quarter=quarter, sla_hours=sla_hours, min_due=MIN_DUE
        )
        if slow_reps.height:
            lines.append(
                response_times_headline(
                    by_owner,
                    by="owner_id",
                    quarter=quarter,
                    sla_hours=sla_hours,
                    sla_clock=sla_clock,
                    min_due=MIN_DUE,
                )
                + "."
            )
    if shown["mql_outcomes"] and _quarter_totals(outcomes, quarter)["leaked"]:
        lines.append(leaked_mqls_headline(outcomes, quarter=quarter) + ".")
    if shown["rejection_reasons"]:
        lines.append(rejection_reasons_headline(reasons, quarter=quarter) + ".")
    return lines
