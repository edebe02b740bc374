"""The bookings forecast in words: what 'Pipeline vs closes' and the scorecard state.

From :func:`alignment_lib.metrics.forecast_overview` (one row per quarter shown),
as docs/metrics/forecast.md ("What a page states") words it: the forecast and its
80% range against the target, the same quarter last year beside it, the track
record at the same point in one sentence, the estimates it weighs and their
weights, the pace so far mid-quarter, and why a range is wide. Every page that
mentions the forecast takes its sentences from here, so they agree.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from alignment_lib.fiscal import FiscalQuarter
from alignment_lib.narrative._format import format_money, format_share, join_words, shows
from alignment_lib.tracking import Tracking

__all__ = [
    "SHORT_RECORD",
    "forecast_findings",
    "forecast_headline",
    "forecast_summary",
    "forecast_weights_sentence",
]

#: below this many past forecasts the range is called wide, and why (the interval's t
#: quantile is 1.6-3.1 with 0-2 errors: docs/metrics/forecast.md, "A short track record")
SHORT_RECORD = 3


def _error(value: float) -> str:
    """A forecast error in percent, one decimal (forecast accuracy is read in points)."""
    return f"{value:.1%}"


def _quarters(n: int) -> str:
    return f"{n} quarter" if n == 1 else f"{n} quarters"


def _horizon(k: int, elapsed: float) -> str:
    """When the past forecasts of the record were made, as the quarter shown is now."""
    into = f"{elapsed:.0%} of the way through a quarter"
    if k == 0:
        return "Forecast at a quarter's start" if elapsed == 0 else f"Forecast {into}"
    ahead = f"Forecast {_quarters(k)} ahead"
    return ahead if elapsed == 0 else f"{ahead}, {into}"


def _forecast_sentence(r: dict[str, Any]) -> str:
    text = f"{r['fiscal_quarter']} bookings are forecast at {format_money(r['forecast'])}"
    if r["forecast_low"] is not None and r["forecast_high"] is not None:
        low, high = format_money(r["forecast_low"]), format_money(r["forecast_high"])
        text += f" (80% range {low} to {high})"
    if r.get("target"):
        text += (
            f", {format_share(r['forecast'] / r['target'])} of the "
            f"{format_money(r['target'])} target"
        )
    return text + "."


def _baseline_sentence(r: dict[str, Any]) -> str | None:
    if r.get("baseline_forecast") is None:
        return None
    return (
        f"The same quarter last year ({r['baseline_quarter']}) booked "
        f"{format_money(r['baseline_forecast'])} (the seasonal-naive baseline)."
    )


def _record_sentence(r: dict[str, Any]) -> str:
    n, when = r["record_quarters"], _horizon(r["quarters_ahead"], r["elapsed"])
    if not n:
        return (
            f"{when}, the kit has no past forecast of this data to check against yet "
            f"({r['record_first']} to {r['record_last']})."
        )
    text = (
        f"{when}, the 80% range held in {r['record_inside']} of the last {_quarters(n)}; "
        f"mean error {_error(r['record_mean_absolute_error'])}"
    )
    m, baseline = r["record_baseline_quarters"], r["record_baseline_mean_absolute_error"]
    if m and baseline is not None and m == n:
        text += f" (same quarter last year: {_error(baseline)})"
    elif m and baseline is not None:
        kit = r.get("record_mean_absolute_error_same_quarters")
        text += (
            f" ({_error(kit)} on the {_quarters(m)} that have a year-ago quarter, against "
            f"{_error(baseline)} for the same quarter last year)"
            if kit is not None
            else f" (same quarter last year: {_error(baseline)} over {_quarters(m)})"
        )
    return text + "."


def _track_span(r: dict[str, Any]) -> int:
    first, last = FiscalQuarter.parse(r["record_first"]), FiscalQuarter.parse(r["record_last"])
    return (last.year - first.year) * 4 + last.quarter - first.quarter + 1


def forecast_weights_sentence(r: dict[str, Any]) -> str:
    """The estimates a season-aware forecast weighs, with their amounts and weights, in words.

    ``r``: a row of :func:`alignment_lib.metrics.forecast_overview` (or of
    :func:`alignment_lib.metrics.bookings_forecast` with ``baseline_quarter``
    and ``record_first`` / ``record_last``). An estimate without a value or
    with no weight is left out; while the creation growth is unknown, last
    year's quarter is named without it.
    """
    parts = []
    if r.get("pipeline_forecast") is not None and r.get("pipeline_weight"):
        parts.append(
            f"the open pipeline and pipeline still to be created "
            f"({format_money(r['pipeline_forecast'])}, {format_share(r['pipeline_weight'])})"
        )
    if r.get("naive_forecast") is not None and r.get("naive_weight"):
        growth = r.get("creation_growth")
        if growth is None:
            how = ""
        elif growth >= 1:
            how = f" grown {growth - 1:.0%} with pipeline creation"
        else:
            how = f" lowered {1 - growth:.0%} with pipeline creation"
        parts.append(
            f"last year's {r['baseline_quarter']}{how} "
            f"({format_money(r['naive_forecast'])}, {format_share(r['naive_weight'])})"
        )
    if r.get("curve_forecast") is not None and r.get("curve_weight"):
        parts.append(
            f"the pace so far ({format_money(r['curve_forecast'])}, "
            f"{format_share(r['curve_weight'])})"
        )
    if len(parts) == 1 and parts[0].startswith("the open pipeline"):
        return (
            f"It rests on {parts[0]} alone: last year's same quarter is not yet a reference in "
            "this data."
        )
    return (
        f"It weighs {join_words(parts)} by how accurate each has been over the last "
        f"{_quarters(_track_span(r))}."
    )


def _pace_sentence(r: dict[str, Any]) -> str | None:
    if r.get("curve_forecast") is None or not r.get("booked_to_date"):
        return None
    basis = {
        "same quarter": "the same quarter in earlier years",
        "all quarters": "recent quarters",
    }.get(r.get("curve_basis") or "", "past quarters")
    return (
        f"{format_money(r['booked_to_date'])} is booked; at the usual pace of {basis} that "
        f"points to {format_money(r['curve_forecast'])}."
    )


def _pooled_sentence(r: dict[str, Any]) -> str:
    """What a forecast before issue 10 (no stage history) is, and what it cannot do."""
    return (
        "Without stage history the kit cannot see which stage each open deal was in at past "
        "quarters, so this forecast weighs open deals by the win rates of recently closed deals "
        "(pooled over the year, not by season) plus pipeline still to be created, without "
        "last year's quarter or the pace so far; its record is checked for the current "
        "quarter only."
    )


def _wide_sentence(r: dict[str, Any]) -> str | None:
    n = r.get("track_quarters")
    if r.get("calibration") != "seasonal" or n is None or n >= SHORT_RECORD:
        return None
    if n == 0:
        return (
            "The range is wide: the kit has not forecast any earlier quarter of this data at "
            "this point yet, so it rests on the pipeline model's own spread."
        )
    return (
        f"The range is wide: the kit has forecast only {_quarters(n)} of this data at this "
        "point so far."
    )


def _lines(r: dict[str, Any]) -> list[str]:
    """Every sentence about one quarter shown, in reading order."""
    if r["forecast"] is None:
        return [
            f"{r['fiscal_quarter']}: no forecast, there is not yet enough history to calibrate one."
        ]
    lines = [_forecast_sentence(r), _baseline_sentence(r), _record_sentence(r)]
    if r.get("calibration", "seasonal") == "seasonal":
        lines += [forecast_weights_sentence(r), _pace_sentence(r), _wide_sentence(r)]
    else:
        lines.append(_pooled_sentence(r))
    return [line for line in lines if line]


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return list(frame.sort("quarter_index").iter_rows(named=True))


@shows("forecast")
def forecast_summary(frame: pl.DataFrame, *, tracking: Tracking | None = None) -> list[str]:
    """One paragraph per quarter shown: forecast, range, baseline, record, weights.

    ``frame``: :func:`alignment_lib.metrics.forecast_overview` output.
    """
    return [" ".join(_lines(r)) for r in _rows(frame)]


@shows("forecast")
def forecast_headline(frame: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """The first quarter shown in one sentence: forecast, 80% range, share of the target."""
    rows = _rows(frame)
    if not rows or rows[0]["forecast"] is None:
        return "Bookings forecast"
    return _forecast_sentence(rows[0]).removesuffix(".")


@shows("forecast")
def forecast_findings(frame: pl.DataFrame, *, tracking: Tracking | None = None) -> list[str]:
    """The nearest quarter's forecast and its track record: two sentences a page's findings
    (and the report's index) state, the same on every page.

    ``frame``: :func:`alignment_lib.metrics.forecast_overview` output.
    """
    rows = _rows(frame)
    if not rows:
        return []
    r = rows[0]
    if r["forecast"] is None:
        return _lines(r)
    return [_forecast_sentence(r), _record_sentence(r)]
