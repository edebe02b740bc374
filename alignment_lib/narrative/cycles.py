"""Findings of the 'Business cycles' workbook, computed from its metric frames.

Every function takes collected metric results (``bookings_linearity``,
``bookings_by_week``, ``seasonality``, ``sales_cycle``, ``slipped_deals``)
and returns plain sentences or a chart title; nothing is hard-coded.
"""

from __future__ import annotations

import statistics
from typing import Any

import polars as pl

from alignment_lib._frames import column_max
from alignment_lib.fiscal import FiscalQuarter
from alignment_lib.gate import missing
from alignment_lib.metrics.cycles import MONTH3_HEALTHY_MAX
from alignment_lib.metrics.deals import DEAL_SIZE_BANDS
from alignment_lib.narrative._format import format_money, format_share, shows
from alignment_lib.theme import SOURCE_LABELS
from alignment_lib.tracking import Tracking

__all__ = [
    "business_cycles_summary",
    "hockey_stick_headline",
    "linearity_headline",
    "sales_cycle_headline",
    "seasonality_headline",
    "slipped_deals_headline",
]

# measure -> (name, verb agreeing with it)
_PEAKS = {"pipeline_created": ("pipeline creation", "peaks"), "mqls": ("MQLs", "peak")}


def _row(frame: pl.DataFrame, quarter: FiscalQuarter) -> dict[str, Any] | None:
    rows = frame.filter(pl.col("fiscal_quarter") == quarter.label)
    return rows.row(0, named=True) if rows.height else None


def _days(value: float) -> str:
    return f"{value:.0f}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- the hockey stick and linearity ----------------------------------------------------------
@shows("linearity")
def hockey_stick_headline(
    weeks: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """Chart title: the week in which the quarter reached half of its bookings.

    ``weeks`` is :func:`alignment_lib.metrics.bookings_by_week` output.
    """
    rows = weeks.filter(pl.col("fiscal_quarter") == quarter.label).sort("week_of_quarter")
    if rows.height == 0 or rows["cumulative_share"].null_count() == rows.height:
        return f"No bookings in {quarter.label}"
    half = rows.filter(pl.col("cumulative_share") >= 0.5)["week_of_quarter"][0]
    return f"{quarter.label} reached half of its bookings in week {half} of {rows.height}"


@shows("linearity")
def linearity_headline(linearity: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """Chart title: in how many quarters month 3 carried more than the healthy share.

    ``linearity`` is :func:`alignment_lib.metrics.bookings_linearity` output
    (without ``by``).
    """
    shares = linearity["month3_share"].drop_nulls()
    if shares.len() == 0:
        return "No bookings in the quarters shown"
    over = int((shares > MONTH3_HEALTHY_MAX).sum())
    healthy = format_share(MONTH3_HEALTHY_MAX)
    if over == 0:
        span = f"each of the {shares.len()} quarters" if shares.len() > 1 else "the one quarter"
        return f"Month 3 stayed within the healthy {healthy} in {span} shown"
    return (
        f"Month 3 carried more than the healthy {healthy} of bookings "
        f"in {over} of {shares.len()} quarters"
    )


# -- seasonality -----------------------------------------------------------------------------
def _extremes(
    seasonality: pl.DataFrame, measure: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    rows = seasonality.filter(pl.col(f"{measure}_index").is_not_null())
    if rows.height < 2:
        return None
    ranked = rows.sort(f"{measure}_index", "quarter_of_year", descending=[True, False])
    return ranked.row(0, named=True), ranked.row(-1, named=True)


def _above_below(index: float, *, short: bool = False) -> str:
    delta = index - 1
    if abs(delta) < 0.005:
        return "like an average quarter"
    text = f"{abs(delta):.0%} {'above' if delta > 0 else 'below'}"
    return text if short else f"{text} an average quarter"


@shows("seasonality")
def seasonality_headline(seasonality: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """Chart title: the strongest and weakest quarter of the year for bookings.

    ``seasonality`` is :func:`alignment_lib.metrics.seasonality` output.
    """
    found = _extremes(seasonality, "bookings")
    if found is None:
        return "Too few quarters with bookings to compare the seasons"
    top, low = found
    return (
        f"{top['quarter_label']} books {_above_below(top['bookings_index'])}, "
        f"{low['quarter_label']} {_above_below(low['bookings_index'], short=True)}"
    )


# -- sales cycle -----------------------------------------------------------------------------
def _group_label(value: str | None, column: str) -> str:
    if value is None:
        return "(none)"
    return SOURCE_LABELS.get(value, value) if column == "source" else str(value)


def _medians(cycle: pl.DataFrame, quarter: FiscalQuarter, column: str) -> list[tuple[str, float]]:
    rows = cycle.filter(
        (pl.col("fiscal_quarter") == quarter.label) & pl.col("median_days_won").is_not_null()
    )
    found = [
        (_group_label(g, column), d) for g, d in rows.select(column, "median_days_won").iter_rows()
    ]
    if column == "deal_size_band":  # smallest band first, not alphabetical
        order = {band: i for i, (band, _) in enumerate(DEAL_SIZE_BANDS)}
        found.sort(key=lambda m: order.get(m[0], len(order)))
    if column == "source":  # longest first: the two clocks
        found.sort(key=lambda m: -m[1])
    return found


@shows("sales_cycle")
def sales_cycle_headline(
    cycle_by_segment: pl.DataFrame,
    *,
    quarter: FiscalQuarter,
    cycle_by_source: pl.DataFrame | None = None,
    tracking: Tracking | None = None,
) -> str:
    """Chart title: whose won deals took longest, with the others beside it.

    ``cycle_by_source`` (``sales_cycle(..., by=("source",))``), when given and
    holding wins of two sources or more, decides: the sources run on different
    clocks, and a segment's median mixes them. Otherwise ``cycle_by_segment``
    (``sales_cycle(..., by=("segment",))``) does.
    """
    medians = _medians(cycle_by_segment, quarter, "segment")
    if cycle_by_source is not None and len(_medians(cycle_by_source, quarter, "source")) > 1:
        medians = _medians(cycle_by_source, quarter, "source")
    if not medians:
        return f"No deals won in {quarter.label}"
    longest = max(medians, key=lambda m: m[1])
    others = ", ".join(f"{g} {_days(d)}" for g, d in medians if g != longest[0])
    title = (
        f"{longest[0]} deals took longest to win in {quarter.label}: "
        f"a median {_days(longest[1])} days"
    )
    return f"{title} ({others})" if others else title


# -- slipped deals ---------------------------------------------------------------------------
@shows("slipped_deals")
def slipped_deals_headline(
    slipped: pl.DataFrame,
    *,
    quarter: FiscalQuarter,
    in_progress: bool = False,
    tracking: Tracking | None = None,
) -> str:
    """Chart title: how many of the deals expected in the quarter at its start did not close
    in it, pushed past it or still open: '93 of 326 deals expected in FY2026-Q3 did not close
    in it ($4.3M): 46 pushed past the quarter, 47 still open'.

    ``slipped`` is :func:`alignment_lib.metrics.slipped_deals` output. ``in_progress``:
    the quarter had not ended at the as-of instant, so its open deals can still close in
    it: only the pushed ones are counted as slipped so far.
    """
    row = _row(slipped, quarter)
    if row is None or row["expected_deals"] is None:
        return "Slipped deals are unknown: the data has no stage history"
    expected = row["expected_deals"]
    if expected == 0:
        return f"No deals were expected to close in {quarter.label} at its start"
    if in_progress:
        return (
            f"So far {row['pushed_deals']:,} of {_count(expected, 'deal')} expected in "
            f"{quarter.label} were pushed past it ({format_money(row['pushed_amount'])}); "
            f"{row['still_open_deals']:,} more {'is' if row['still_open_deals'] == 1 else 'are'} "
            "open"
        )
    if row["slipped_deals"] == 0:
        return (
            f"Every one of the {_count(expected, 'deal')} expected in {quarter.label} closed in it"
        )
    return (
        f"{row['slipped_deals']:,} of {_count(expected, 'deal')} expected in {quarter.label} "
        f"did not close in it ({format_money(row['slipped_amount'])}): "
        f"{row['pushed_deals']:,} pushed past the quarter, {row['still_open_deals']:,} still open"
    )


# -- the summary -----------------------------------------------------------------------------
def _linearity_lines(
    linearity: pl.DataFrame, quarter: FiscalQuarter, *, in_progress: bool
) -> list[str]:
    lines = []
    row = _row(linearity, quarter)
    if in_progress:
        # the status of a quarter whose month 3 has not ended would mislead: none given
        lines.append(
            f"{quarter.label} is still in progress at the as-of date: its month 3 is not "
            "over, so its linearity cannot be judged yet"
            + (
                ""
                if row is None or row["month3_share"] is None
                else f" (so far {format_share(row['month3_share'])} of its bookings closed in "
                f"its last month, {format_share(row['last_two_weeks_share'])} in its last two "
                "weeks)"
            )
            + "."
        )
    elif row is None or row["month3_share"] is None:
        lines.append(f"No bookings closed in {quarter.label}.")
    else:
        lines.append(
            f"{format_share(row['month3_share'])} of {quarter.label} bookings closed in the "
            f"quarter's last month ({row['linearity_status']}); "
            f"{format_share(row['last_two_weeks_share'])} in its last two weeks."
        )
    history = linearity.filter(pl.col("month3_share").is_not_null())
    if in_progress:
        history = history.filter(pl.col("fiscal_quarter") != quarter.label)
    if history.height >= 2:
        shares = history["month3_share"].to_list()
        typical = statistics.median(shares)
        over = sum(s > MONTH3_HEALTHY_MAX for s in shares)
        lines.append(
            f"For planning: across {history.height} quarters a median "
            f"{format_share(typical)} of bookings closed in month 3 ({over} of "
            f"{history.height} above the healthy {format_share(MONTH3_HEALTHY_MAX)}), so by "
            f"the end of month 2 expect about {format_share(1 - typical)} of the number."
        )
    return lines


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _slipped_line(slipped: pl.DataFrame, quarter: FiscalQuarter, *, in_progress: bool) -> str:
    row = _row(slipped, quarter)
    if row is None or row["expected_deals"] is None:
        return (
            "Slipped deals are unknown: they need the close-date history of a stage_history "
            "table, which this data does not have."
        )
    expected = row["expected_deals"]
    if expected == 0:
        return f"No open deals were expected to close in {quarter.label} at its start."
    won, lost = row["won_deals"], row["lost_deals"]
    pushed, still_open = row["pushed_deals"], row["still_open_deals"]
    closed = f"{won:,} ({format_share(won / expected)}) {_were(won)} won in it and {lost:,} lost"
    if in_progress:
        return (
            f"So far, {pushed:,} of the {_count(expected, 'deal')} expected in {quarter.label} "
            f"at its start {_were(pushed)} pushed past the quarter "
            f"({format_money(row['pushed_amount'])}); {closed}; {still_open:,} "
            f"{'is' if still_open == 1 else 'are'} still open and can close in it."
        )
    if row["slipped_deals"] == 0:
        return f"All {_count(expected, 'deal')} expected in {quarter.label} closed in it: {closed}."
    return (
        f"{row['slipped_deals']:,} of the {_count(expected, 'deal')} expected in "
        f"{quarter.label} at its start did not close in it "
        f"({format_money(row['slipped_amount'])}, "
        f"{format_share(row['slipped_share_amount'])} of the expected amount): "
        f"{pushed:,} {_were(pushed)} pushed past the quarter "
        f"({format_money(row['pushed_amount'])}) and {still_open:,} "
        f"{'is' if still_open == 1 else 'are'} still open, the date not moved out "
        f"({format_money(row['still_open_amount'])}); {closed}."
    )


def _seasonality_line(
    seasonality: pl.DataFrame, *, in_progress: bool, tracking: Tracking | None = None
) -> str | None:
    found = _extremes(seasonality, "bookings")
    if found is None:
        return None
    top, low = found
    averaged = int(seasonality["quarters"].sum())
    text = (
        f"Over the {averaged} quarters shown, {top['quarter_label']} books "
        f"{_above_below(top['bookings_index'])} and {low['quarter_label']} "
        f"{_above_below(low['bookings_index'], short=True)}"
    )
    peaks = {}
    for measure, (name, verb) in _PEAKS.items():
        if missing(tracking, measure):  # pipeline created, MQLs: only when tracked
            continue
        other = _extremes(seasonality, measure)
        if other is not None:
            peaks[name] = (verb, other[0]["quarter_label"])
    tops = {q for _, q in peaks.values()}
    if len(peaks) == 2 and len(tops) == 1:
        text += f"; {' and '.join(peaks)} both peak in {tops.pop()}"
    elif peaks:
        text += "; " + " and ".join(f"{m} {v} in {q}" for m, (v, q) in peaks.items())
    if (column_max(seasonality, "quarters") or 0) < 2:
        text += " (each quarter of the year seen once: one year is not yet a pattern)"
    if in_progress:
        text += " (the report quarter is not over and pulls its quarter of the year down)"
    return text + "."


def _cycle_line(
    by_segment: pl.DataFrame,
    by_band: pl.DataFrame,
    by_source: pl.DataFrame | None,
    quarter: FiscalQuarter,
) -> str | None:
    splits = [("segment", by_segment, "segment"), ("deal size", by_band, "deal_size_band")]
    if by_source is not None:
        splits.insert(0, ("source", by_source, "source"))
    parts = []
    for name, frame, column in splits:
        medians = _medians(frame, quarter, column)
        if medians:
            parts.append(f"by {name} " + ", ".join(f"{g} {_days(d)}" for g, d in medians))
    if not parts:
        return None
    return f"Median days from creation to a win in {quarter.label}: " + "; ".join(parts) + "."


@shows()
def business_cycles_summary(
    *,
    linearity: pl.DataFrame,
    seasonality: pl.DataFrame,
    cycle_by_segment: pl.DataFrame,
    cycle_by_band: pl.DataFrame,
    slipped: pl.DataFrame,
    quarter: FiscalQuarter,
    cycle_by_source: pl.DataFrame | None = None,
    in_progress: bool = False,
    tracking: Tracking | None = None,
) -> list[str]:
    """Sentences for the 'Business cycles' page.

    Frames: ``bookings_linearity`` (no ``by``), ``seasonality``, ``sales_cycle``
    by ``segment``, by ``deal_size_band`` and (optional) by ``source``,
    ``slipped_deals``, all collected and spanning the quarters shown.
    ``in_progress``: the report quarter had not ended at the as-of instant, so
    its month 3 is not comparable: no status is given, it is left out of the
    planning median, and its slipped deals and seasonality are marked as
    partial. ``tracking``: a measure the data cannot support is not stated; the
    sentences saying why are (docs/partial-data.md).
    """
    shown = {
        m: not missing(tracking, m)
        for m in ("linearity", "slipped_deals", "seasonality", "sales_cycle")
    }
    lines: list[str | None] = []  # a line is None when its figure has nothing to say
    if shown["linearity"]:
        lines += _linearity_lines(linearity, quarter, in_progress=in_progress)
    if shown["slipped_deals"]:
        lines.append(_slipped_line(slipped, quarter, in_progress=in_progress))
    if shown["seasonality"]:
        lines.append(_seasonality_line(seasonality, in_progress=in_progress, tracking=tracking))
    if shown["sales_cycle"]:
        lines.append(_cycle_line(cycle_by_segment, cycle_by_band, cycle_by_source, quarter))
    stated = [line for line in lines if line]
    said = missing(tracking, *shown)
    return stated + [s for s in said if s not in stated]
