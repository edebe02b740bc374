"""Published B2B norms beside the data's own numbers: context, never targets.

An executive reading "win rate 26%" learns whether it moved, not whether it is
good. The scorecard can set six of its numbers beside the ranges practitioners
quote (docs/benchmarks.md lists each range, its source and what the kit
compares it with): MQL -> SQL conversion, win rate, sales cycle by segment,
lead response, pipeline coverage and forecast accuracy. A norm is a sentence of
context ("typical B2B: ~19-20% overall"), compared in words (below, within,
above); it never becomes a target, a status or a colour.

:func:`compare_with_norms` computes the data's side from the metrics (and the
coverage and forecast frames the scorecard already has) and returns one row per
comparison; a row the data cannot support says what it needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.gate import SHORT, short_reason
from alignment_lib.metrics.deals import closed_deal_stats
from alignment_lib.metrics.funnel import funnel_cohort
from alignment_lib.metrics.handoff import response_times
from alignment_lib.tracking import Tracking

__all__ = ["NORMS", "NORM_COLUMNS", "Norm", "compare_with_norms", "segment_norm"]


@dataclass(frozen=True)
class Norm:
    """A published range and where it comes from (docs/benchmarks.md).

    ``typical``: the range as a reader sees it; ``source``: who publishes or
    quotes it; ``place``: the data's value -> where it sits, in words.
    """

    name: str
    typical: str
    source: str
    place: Callable[[float], str]


def _bands(value: float, bands: list[tuple[float, str]], last: str) -> str:
    for upper, words in bands:
        if value < upper:
            return words
    return last


def _rate_norm(value: float) -> str:
    return _bands(
        value,
        [(0.19, "below the ~19-20% overall"), (0.205, "within the ~19-20% overall")],
        "above the ~19-20% overall",
    )


def _mql_sql(value: float) -> str:
    return _bands(
        value,
        [
            (0.13, "below the ~13% average"),
            (0.25, "above the ~13% average, below strong teams' 25-30%"),
            (0.305, "within strong teams' 25-30%"),
        ],
        "above strong teams' 25-30%",
    )


def _days(low: float, high: float | None, span: str) -> Callable[[float], str]:

    def place(value: float) -> str:
        if value < low:
            return f"shorter than the typical {span}"
        if high is not None and value > high:
            return f"longer than the typical {span}"
        return f"within the typical {span}"

    return place


def _response(hours: float) -> str:
    if hours <= 1:
        return "median within the first hour"
    if hours <= 42:
        return "median after the first hour, faster than the 42 h average of 2011"
    return "median slower than the 42 h average of 2011"


def _accuracy(error: float) -> str:
    return _bands(
        error,
        [(0.05, "within best in class (±5%)"), (0.10, "within strong (±10%), not best in class")],
        "outside strong (±10%)",
    )


#: the published norms the scorecard can show, by name (docs/benchmarks.md)
NORMS: dict[str, Norm] = {
    n.name: n
    for n in (
        Norm(
            "mql_to_sql",
            "~13% average; 25-30% for strong teams",
            "Klipfolio / MetricHQ benchmarks",
            _mql_sql,
        ),
        Norm(
            "win_rate",
            "~19-20% overall; 20-30% enterprise",
            "Ebsta x Pavilion B2B Sales Benchmarks 2025",
            _rate_norm,
        ),
        Norm("cycle_smb", "SMB: 14-30 days", "RevOps references", _days(14, 30, "14-30 days")),
        Norm(
            "cycle_mid_market",
            "mid-market: 30-90 days",
            "RevOps references",
            _days(30, 90, "30-90 days"),
        ),
        Norm(
            "cycle_enterprise",
            "enterprise: 90-180+ days",
            "RevOps references",
            _days(90, None, "90-180+ days"),
        ),
        Norm(
            "lead_response",
            "first touch within an hour: ~7x likelier to qualify than an hour later; "
            "average 42 h, 23% never replied",
            "Oldroyd et al., HBR 2011; MIT / InsideSales 2007",
            _response,
        ),
        Norm(
            "coverage",
            "about 1 / win rate (20% win rate: ~5x; 3x fits a 33% win rate)",
            "practitioners' rule; Kellblog on starting-pipeline conversion",
            lambda _: "",  # compared with 1 / this data's own win rate, in compare_with_norms
        ),
        Norm(
            "forecast_accuracy",
            "within ±5% best in class; ±10% strong",
            "RevOps literature (attributed to Gartner surveys)",
            _accuracy,
        ),
    )
}

#: segment names (lower case, without spaces, hyphens or underscores) -> their cycle norm
_SEGMENTS = {
    "smb": "cycle_smb",
    "smallbusiness": "cycle_smb",
    "small": "cycle_smb",
    "midmarket": "cycle_mid_market",
    "mm": "cycle_mid_market",
    "mid": "cycle_mid_market",
    "enterprise": "cycle_enterprise",
    "ent": "cycle_enterprise",
}

#: the columns of :func:`compare_with_norms`
NORM_COLUMNS: tuple[str, ...] = (
    "norm",
    "measure",
    "value",
    "shown",
    "typical",
    "compared",
    "source",
)


def segment_norm(segment: str | None) -> str | None:
    """The cycle norm of a segment name ("SMB", "Mid-Market", "enterprise"), or None."""
    if segment is None:
        return None
    key = "".join(ch for ch in segment.lower() if ch.isalnum())
    return _SEGMENTS.get(key)


def _row(norm: str, measure: str, value: float | None, shown: str, compared: str) -> dict[str, Any]:
    n = NORMS[norm]
    return {
        "norm": norm,
        "measure": measure,
        "value": value,
        "shown": shown,
        "typical": n.typical,
        "compared": compared,
        "source": n.source,
    }


def _placed(norm: str, measure: str, value: float | None, shown: str) -> dict[str, Any]:
    if value is None:
        return _row(norm, measure, None, "–", "nothing to compare yet")
    return _row(norm, measure, value, shown, NORMS[norm].place(value))


def _needs(tracking: Tracking | None, *needs: str) -> str | None:
    """A table cell's few words for the first of ``needs`` the data lacks (gate.SHORT)."""
    if tracking is None:
        return None
    if not tracking.has_leads and any(n in ("leads", "mql", "sql") for n in needs):
        return SHORT["leads"]
    return next((SHORT[n] for n in needs if not tracking.tracks(n)), None)


def _untracked(norm: str, measure: str, reason: str) -> dict[str, Any]:
    return _row(norm, measure, None, reason, "–")


def _mql_to_sql(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
) -> dict[str, Any]:
    cohorts = funnel_cohort(
        leads,
        opportunities,
        calendar=calendar,
        first=quarter.shift(-3),
        last=quarter,
        as_of=as_of,
        stages=("mql", "sql"),
    ).collect()
    mature = cohorts.filter(pl.col("mature"))
    used = mature if mature.height else cohorts
    entered = int(used["entered"].sum())
    span = f"{used['fiscal_quarter'][0]} to {used['fiscal_quarter'][-1]}" if used.height else ""
    still = "" if mature.height else ", still maturing"
    measure = f"MQL → SQL (MQLs of {span}{still})" if span else "MQL → SQL"
    value = int(used["reached"].sum()) / entered if entered else None
    return _placed("mql_to_sql", measure, value, f"{value:.0%}" if value is not None else "–")


def compare_with_norms(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    coverage: pl.DataFrame | None = None,
    forecast: pl.DataFrame | None = None,
    window_days: int = 365,
    tracking: Tracking | None = None,
) -> pl.DataFrame:
    """This data's numbers beside the published norms: one row per comparison.

    Grain: one row per norm shown, in the order of :data:`NORMS` (the cycle
    once per segment the data has of SMB, mid-market or enterprise). Columns
    (:data:`NORM_COLUMNS`): ``norm``, ``measure`` (what this data's number is,
    with its period), ``value`` (Float64: a share, days, hours, a multiple or
    an error; null when there is none), ``shown`` (the value as written, or
    what the data lacks: "needs SQL dates"), ``typical``, ``compared`` (where
    the value sits, in words: never a status), ``source``. This data's side
    (docs/benchmarks.md):

    - MQL -> SQL: of the MQLs of the four quarters ending with ``quarter``
      (the mature cohorts among them: :func:`funnel_cohort`), the share that
      reached SQL;
    - win rate: by count, deals closed in the trailing ``window_days``
      (:func:`closed_deal_stats`);
    - sales cycle: median days from creation to close of the won deals of the
      trailing ``window_days``, per segment named SMB, mid-market or
      enterprise (:func:`segment_norm`);
    - lead response: the MQLs of ``quarter``: median hours to the first touch
      and the share of those due touched within an hour
      (:func:`response_times` with a 1-hour SLA);
    - coverage: the first row of ``coverage``
      (:func:`~alignment_lib.metrics.pipeline_coverage`), against 1 / this
      data's own win rate (its required coverage);
    - forecast accuracy: the first row of ``forecast``
      (:func:`~alignment_lib.metrics.forecast_overview`): the mean absolute
      error of its past forecasts at the same point.

    ``tracking``: a norm whose number the data cannot support reads what it
    needs. ``coverage`` or ``forecast`` None leaves their rows out.
    """
    rows: list[dict[str, Any]] = []
    off = _needs(tracking, "leads", "mql", "sql")
    if off:
        rows.append(_untracked("mql_to_sql", "MQL → SQL", off))
    else:
        rows.append(
            _mql_to_sql(leads, opportunities, calendar=calendar, quarter=quarter, as_of=as_of)
        )

    months = f"last {window_days} days" if window_days != 365 else "last 12 months"
    off = _needs(tracking, "closes", "won_deals", "lost_deals")
    closed = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).collect()
    measure = f"Win rate by count (deals closed in the {months})"
    if off:
        rows.append(_untracked("win_rate", measure, off))
    else:
        rate = closed["win_rate_count"][0]
        rows.append(_placed("win_rate", measure, rate, f"{rate:.0%}" if rate is not None else ""))

    off = _needs(tracking, "opportunity_created", "closes", "won_deals")
    if off:
        rows.append(_untracked("cycle_enterprise", "Sales cycle by segment", off))
    else:
        by_segment = closed_deal_stats(
            opportunities.with_columns(pl.col("segment").cast(pl.String)),
            as_of=as_of,
            window_days=window_days,
            by=("segment",),
        ).collect()
        matched = [
            (norm, r)
            for r in by_segment.iter_rows(named=True)
            if (norm := segment_norm(r["segment"])) is not None
        ]
        order = list(NORMS)
        for norm, r in sorted(matched, key=lambda m: order.index(m[0])):
            days = r["median_cycle_days_won"]
            rows.append(
                _placed(
                    norm,
                    f"Sales cycle, {r['segment']} (median days to win, {months})",
                    days,
                    f"{days:,.0f} days" if days is not None else "",
                )
            )
        if not matched:
            rows.append(
                _untracked(
                    "cycle_enterprise",
                    "Sales cycle by segment",
                    "no SMB, mid-market or enterprise segment in this data",
                )
            )

    off = short_reason(tracking, "response_times")
    measure = f"Lead response (MQLs of {quarter.label})"
    if off:
        rows.append(_untracked("lead_response", measure, off))
    else:
        response = response_times(
            leads, calendar=calendar, first=quarter, last=quarter, as_of=as_of, sla_hours=1.0
        ).collect()
        hours = response["median_hours"][0] if response.height else None
        within = response["sla_compliance"][0] if response.height else None
        shown = (
            f"median {hours:,.1f} h; {within:.0%} of those due touched within an hour"
            if hours is not None and within is not None
            else ""
        )
        rows.append(_placed("lead_response", measure, hours, shown))

    if coverage is not None and coverage.height:
        r = coverage.sort("quarter_index").row(0, named=True)
        measure = f"Pipeline coverage, {r['fiscal_quarter']}"
        off = short_reason(tracking, "coverage", "required_coverage")
        have, need = r["coverage"], r["required_coverage"]
        if off:
            rows.append(_untracked("coverage", measure, off))
        elif have is None or not need:
            rows.append(_row("coverage", measure, None, "–", "nothing to compare yet"))
        else:
            where = "below" if have < need else "at or above"
            rows.append(
                _row(
                    "coverage",
                    measure,
                    have,
                    f"{have:.1f}x",
                    f"{where} 1 / this data's win rate ({need:.1f}x)",
                )
            )

    if forecast is not None and forecast.height:
        r = forecast.sort("quarter_index").row(0, named=True)
        measure = (
            f"Forecast accuracy (mean error, forecasts like the one for {r['fiscal_quarter']}, "
            f"{r['record_first']} to {r['record_last']})"
        )
        off = short_reason(tracking, "forecast")
        error = r["record_mean_absolute_error"] if r["record_quarters"] else None
        if off:
            rows.append(_untracked("forecast_accuracy", measure, off))
        else:
            rows.append(
                _placed(
                    "forecast_accuracy",
                    measure,
                    error,
                    f"{error:.1%} over {r['record_quarters']} quarters"
                    if error is not None
                    else "",
                )
            )
    schema = {c: pl.String for c in NORM_COLUMNS} | {"value": pl.Float64}
    return pl.DataFrame(rows, schema=schema).select(NORM_COLUMNS)
