"""Findings of the 'Pipeline vs closes' workbook, computed from its metric frames.

With ``tracking`` (docs/partial-data.md), a sentence about a measure the data
cannot support (pipeline created without creation dates or lost deals,
each team's share without deal sources) gives way to the sentence saying why.
"""

from __future__ import annotations

import polars as pl

from alignment_lib.fiscal import FiscalQuarter
from alignment_lib.gate import missing
from alignment_lib.narrative._format import format_money, format_share, shows
from alignment_lib.tracking import Tracking

__all__ = [
    "cohort_curves_headline",
    "cohort_summary",
    "lag_summary",
    "pipeline_vs_bookings_headline",
    "pipeline_vs_bookings_summary",
]


def _amount(
    frame: pl.DataFrame, quarter: FiscalQuarter, measure: str, source: str | None = None
) -> float:
    rows = frame.filter(
        (pl.col("fiscal_quarter") == quarter.label) & (pl.col("measure") == measure)
    )
    if source is not None:
        rows = rows.filter(pl.col("source") == source)
    return float(rows["amount"].sum())


def _change(now: float, before: float | None) -> str:
    if before is None:
        return ""
    if before <= 0:
        return "no bookings a year earlier" if now > 0 else "none a year earlier either"
    delta = now / before - 1
    direction = "up" if delta >= 0 else "down"
    return f"{direction} {abs(delta):.0%} on a year earlier"


def _has(frame: pl.DataFrame, quarter: FiscalQuarter) -> bool:
    return frame.filter(pl.col("fiscal_quarter") == quarter.label).height > 0


@shows()
def pipeline_vs_bookings_summary(
    frame: pl.DataFrame,
    *,
    quarter: FiscalQuarter,
    bookings_target: float | None,
    tracking: Tracking | None = None,
) -> list[str]:
    """Sentences for the 'Pipeline vs closes' page, from pipeline_vs_bookings output."""
    shown = {m: not missing(tracking, m) for m in ("bookings", "pipeline_created", "team_shares")}
    booked = _amount(frame, quarter, "bookings")
    booked_mkt = _amount(frame, quarter, "bookings", "marketing")
    created = _amount(frame, quarter, "pipeline_created")
    created_mkt = _amount(frame, quarter, "pipeline_created", "marketing")
    # A year-ago quarter outside the frame is unknown, not zero: say nothing then.
    ago = quarter.shift(-4)
    year_ago = _amount(frame, ago, "bookings") if _has(frame, ago) else None
    lines = []
    if shown["bookings"]:
        first = f"Bookings in {quarter.label} were {format_money(booked)}"
        if bookings_target:
            first += (
                f", {booked / bookings_target:.0%} of the {format_money(bookings_target)} target"
            )
        change = _change(booked, year_ago)
        lines.append(first + (f" ({change})." if change else "."))
        if booked > 0 and shown["team_shares"]:
            lines.append(
                f"Marketing-sourced deals made {format_share(booked_mkt / booked)} of them."
            )
    if shown["pipeline_created"] and created > 0:
        share = (
            f", {format_share(created_mkt / created)} of it sourced by marketing"
            if shown["team_shares"]
            else ""
        )
        lines.append(f"Pipeline created in {quarter.label} was {format_money(created)}{share}.")
    elif shown["pipeline_created"]:
        lines.append(f"No pipeline was created in {quarter.label}.")
    said = missing(tracking, "bookings", "pipeline_created", "team_shares")
    return lines + [s for s in said if s not in lines]


@shows("team_shares")
def pipeline_vs_bookings_headline(
    frame: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """One-line chart title: each team's share of the quarter's bookings and new pipeline
    (of the two, those the data supports)."""
    booked = _amount(frame, quarter, "bookings") if not missing(tracking, "bookings") else 0.0
    created = (
        _amount(frame, quarter, "pipeline_created")
        if not missing(tracking, "pipeline_created")
        else 0.0
    )
    parts = []
    if booked > 0:
        share = _amount(frame, quarter, "bookings", "marketing") / booked
        parts.append(f"{format_share(share)} of {quarter.label} bookings")
    if created > 0:
        share = _amount(frame, quarter, "pipeline_created", "marketing") / created
        parts.append(f"{format_share(share)} of its new pipeline")
    if not parts:
        return f"No bookings and no new pipeline in {quarter.label}"
    return "Marketing sourced " + " and ".join(parts)


@shows("creation_to_close_lag")
def lag_summary(
    frame: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """How much of the quarter's bookings stood on pipeline created in earlier quarters.

    ``frame``: :func:`alignment_lib.metrics.creation_to_close_lag` output.
    """
    rows = frame.filter(pl.col("fiscal_quarter") == quarter.label)
    total = float(rows["amount"].sum())
    if total <= 0:
        return f"There were no bookings in {quarter.label} to trace back to their pipeline."
    earlier = float(rows.filter(pl.col("lag_quarters") >= 1)["amount"].sum()) / total
    older = float(rows.filter(pl.col("lag_quarters") >= 2)["amount"].sum()) / total
    return (
        f"{format_share(earlier)} of {quarter.label} bookings came from pipeline created in "
        f"earlier quarters ({format_share(older)} from two or more quarters before): this "
        "quarter's closes stand on earlier quarters' pipeline."
    )


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _maturing(frame: pl.DataFrame) -> list[str]:
    """The cohorts still maturing, oldest first (none for a frame without the flag)."""
    if "mature" not in frame.columns:
        return []
    rows = frame.filter(~pl.col("mature") & (pl.col("cohort_size") > 0))
    return rows.sort("quarter_index")["fiscal_quarter"].unique(maintain_order=True).to_list()


@shows("cohort_curves")
def cohort_summary(
    frame: pl.DataFrame, *, months: int = 6, tracking: Tracking | None = None
) -> str | None:
    """The latest creation cohort observed ``months`` after creation, and its won share;
    whether it is still maturing (wins still expected) and, if so, the latest mature
    cohort's share.

    ``frame``: :func:`alignment_lib.metrics.cohort_conversion_curve` output.
    """
    seen = frame.filter(
        (pl.col("months_since_creation") == months)
        & pl.col("observed")
        & pl.col("share").is_not_null()
    ).sort("quarter_index")
    if seen.height == 0:
        return None
    last = seen.row(-1, named=True)
    text = (
        f"Of the pipeline created in {last['fiscal_quarter']}, {format_share(last['share'])} "
        f"had been won {_months(months)} later"
    )
    if last.get("mature", True):
        return text + "."
    text += (
        f", and it is still maturing: 9 in 10 wins come within "
        f"{_months(last['maturity_months'])} of creation"
    )
    mature = frame.filter(
        pl.col("mature") & pl.col("observed") & pl.col("share").is_not_null()
    ).sort("quarter_index", "months_since_creation")
    if mature.height:
        latest = mature.row(-1, named=True)
        text += (
            f"; {latest['fiscal_quarter']}, the latest mature cohort, had "
            f"{format_share(latest['share'])} won after "
            f"{_months(latest['months_since_creation'])}"
        )
    return text + "."


@shows("cohort_curves")
def cohort_curves_headline(frame: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """The cohort chart's title: how long created pipeline keeps turning into bookings, and
    which cohorts are still maturing: '9 in 10 wins come within 7 months of creation;
    FY2026-Q1 to FY2026-Q3 are still maturing'.

    ``frame``: :func:`alignment_lib.metrics.cohort_conversion_curve` output.
    """
    if frame.filter(pl.col("won_cumulative") > 0).height == 0:
        return "No pipeline created in the quarters shown has been won yet"
    text = f"9 in 10 wins come within {_months(frame['maturity_months'][0])} of creation"
    maturing = _maturing(frame)
    if not maturing:
        return text + "; every cohort shown is mature"
    if len(maturing) == 1:
        return f"{text}; {maturing[0]} is still maturing"
    return f"{text}; {maturing[0]} to {maturing[-1]} are still maturing"
