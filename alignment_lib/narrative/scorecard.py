"""Findings of the 'Shared scorecard' workbook, and the things that most need attention.

A target row whose actual the data cannot measure (MQLs without a leads table,
pipeline created without creation dates, a team's share without deal sources)
is not scored: :func:`gate_scorecard` blanks it and says why, and every
consumer (findings, chart, table, the index page) shows that instead of a 0.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from alignment_lib.gate import missing, not_shown
from alignment_lib.narrative._format import (
    format_count,
    format_money,
    format_share,
    join_words,
    shows,
)
from alignment_lib.narrative.forecast import forecast_findings
from alignment_lib.tracking import Tracking

__all__ = [
    "NO_TARGETS",
    "RUNNING",
    "TARGET_MEASURES",
    "attention_items",
    "gate_scorecard",
    "has_targets",
    "pace_clause",
    "pipeline_to_create_headline",
    "scorecard_summary",
]

#: what the page says when the targets table has no row for the quarter
NO_TARGETS = "No targets are set for this quarter: the targets table has no row for it."
#: target metric -> the measures (alignment_lib.gate.MEASURES) its actual rests on; a
#: target of one team (marketing, sales, partner) also needs "team_shares"
TARGET_MEASURES: dict[str, tuple[str, ...]] = {
    "bookings": ("bookings",),
    "pipeline_created": ("pipeline_created",),
    "marketing_pipeline_created": ("pipeline_created", "team_shares"),
    "mqls": ("mqls",),
    "sla_compliance": ("response_times",),
    "won_deals": ("won_deals",),
    "opportunities_created": ("opportunities_created",),
}
#: metrics whose actual does not depend on the team (counted whatever the team)
_TEAMLESS = {"mqls", "sla_compliance"}
_SCORED = ["actual", "attainment", "pacing", "status", "marketing", "sales", "partner"]


def _value(kind: str, value: float) -> str:
    if kind == "amount":
        return format_money(value)
    if kind == "rate":
        return format_share(value)
    return format_count(value)


def has_targets(scorecard: pl.DataFrame) -> bool:
    """Whether the scorecard holds a target: without one for the quarter,
    :func:`~alignment_lib.metrics.shared_scorecard` gives the actuals alone (null targets)."""
    return "target" in scorecard.columns and scorecard["target"].is_not_null().any()


def target_measures(metric: str, team: str) -> tuple[str, ...]:
    """The measures a target's actual rests on (see :data:`TARGET_MEASURES`)."""
    measures = TARGET_MEASURES.get(metric, ())
    if team != "shared" and metric not in _TEAMLESS and "team_shares" not in measures:
        measures = (*measures, "team_shares")
    return measures


def gate_scorecard(scorecard: pl.DataFrame, tracking: Tracking | None) -> pl.DataFrame:
    """The scorecard with a ``not_tracked`` column: null for a target the data can measure,
    else the sentences saying why not; such a row's actual, attainment, pacing, status and
    contributions are blanked (never a 0 that reads as a miss).

    ``scorecard``: :func:`alignment_lib.metrics.shared_scorecard` output; ``tracking``
    None leaves every row as it is.
    """
    reasons = [
        not_shown(tracking, *target_measures(m, t))
        for m, t in zip(scorecard["metric"], scorecard["team"], strict=True)
    ]
    untracked = pl.Series("not_tracked", reasons, dtype=pl.String)
    return scorecard.with_columns(untracked).with_columns(
        pl.when(pl.col("not_tracked").is_null()).then(pl.col(c)).alias(c)
        for c in _SCORED
        if c in scorecard.columns
    )


@shows("targets")
def scorecard_summary(scorecard: pl.DataFrame, *, tracking: Tracking | None = None) -> list[str]:
    """One sentence per target: actual against target and the status; a target the data
    cannot measure says why (``tracking``).

    ``scorecard``: :func:`alignment_lib.metrics.shared_scorecard` output.
    """
    if not has_targets(scorecard):
        return [NO_TARGETS]
    lines: list[str] = []
    untracked: list[str] = []
    for r in gate_scorecard(scorecard, tracking).iter_rows(named=True):
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        if r["not_tracked"] is not None:
            lines.append(f"{r['label']}{team}: not measured, this data does not track it.")
            untracked += missing(tracking, *target_measures(r["metric"], r["team"]))
            continue
        if r["actual"] is None:
            lines.append(f"{r['label']}: no data yet.")
            continue
        if r["target"] is None:
            continue
        lines.append(
            f"{r['label']}{team}: {_value(r['kind'], r['actual'])} against "
            f"{_value(r['kind'], r['target'])} ({format_share(r['attainment'])}), "
            f"{r['status']}{pace_clause(r)}."
        )
    return lines + list(dict.fromkeys(untracked))


@shows("targets")
def attention_items(
    scorecard: pl.DataFrame,
    coverage: pl.DataFrame,
    needed: pl.DataFrame,
    sla_by_channel: pl.DataFrame,
    *,
    sla_target: float | None = None,
    forecast: pl.DataFrame | None = None,
    limit: int = 3,
    tracking: Tracking | None = None,
) -> list[str]:
    """The ``limit`` things that most need attention, most severe first.

    Candidates, each with a severity in 0..1 (how far from where it should be):
    targets behind or at risk (1 - pacing against the historical curve, or the
    rate gap) and targets of a quarter that is over and missed (1 - attainment,
    or the rate gap); the next quarter, when its qualified open pipeline covers less
    than the required coverage (1 - coverage / required; later quarters are
    naturally thin, so they do not compete); the pipeline still to create in
    the current quarter for every target it feeds (``needed``:
    :func:`alignment_lib.metrics.pipeline_to_create` output; a standing action,
    severity 0.5); the nearest quarter's bookings forecast when it is below
    target (``forecast``: :func:`alignment_lib.metrics.forecast_overview`
    output; 1 - forecast / target, stated as the forecast's own page states it);
    and channels whose SLA compliance is below the target (target -
    compliance). ``tracking``: a candidate the data cannot support (a target it
    cannot measure, coverage without lost deals, MQLs without leads) is left out.
    """
    items: list[tuple[float, str]] = []
    if not has_targets(scorecard):
        items.append((1.0, NO_TARGETS))
    items += _target_items(scorecard, tracking)
    covered = not missing(tracking, "coverage", "required_coverage")
    for r in coverage.sort("quarter_index").head(1 if covered else 0).iter_rows(named=True):
        have, need = r["coverage"], r["required_coverage"]
        if have is None or not need or have >= need:
            continue
        text = (
            f"{r['fiscal_quarter']} open pipeline covers {have:.1f}x of what is left to book, "
            f"against the {need:.1f}x its in-quarter conversion requires."
        )
        items.append((1 - have / need, text))
    items += _to_create_items(needed, tracking)
    if forecast is not None:
        items += _forecast_items(forecast, tracking)
    if sla_target is not None and not missing(tracking, "response_times"):
        for r in sla_by_channel.iter_rows(named=True):
            rate = r["sla_compliance"]
            if rate is None or rate >= sla_target:
                continue
            text = (
                f"Only {format_share(rate)} of {r['channel']} MQLs were touched within the SLA "
                f"(target {format_share(sla_target)})."
            )
            items.append((sla_target - rate, text))
    items.sort(key=lambda item: -item[0])
    return [text for _, text in items[:limit]]


#: statuses of a quarter still running (a quarter that is over is "hit" or "missed")
RUNNING = ("on track", "at risk", "behind")


def pace_clause(r: dict[str, Any]) -> str:
    """How a running cumulative target paces, after its status: against what the quarter
    usually has by this day (the historical curve) and where it ends at that pace.

    ``r``: a row of :func:`alignment_lib.metrics.shared_scorecard`. Empty for a
    rate, a quarter that is over, or nothing to pace against.
    """
    if r["kind"] == "rate" or r["status"] not in RUNNING or r.get("pacing") is None:
        return ""
    basis, n = r.get("curve_basis"), r.get("curve_quarters") or 0
    if basis is None:  # nothing to pace against (no curve: a frame without pacing columns)
        return ""
    if basis == "linear":
        return (
            f": {format_share(r['pacing'])} of a linear pace (no earlier quarter to compare "
            "with, so the elapsed share of the quarter)"
        )
    against = (
        f"the same quarter of {n} earlier years"
        if basis == "same quarter"
        else f"{n} recent quarters"
    )
    text = (
        f": {format_share(r['pacing'])} of where {against} were by this day "
        f"({format_share(r['curve_share'])} of their total)"
    )
    finish, low, high = r.get("projected_finish"), r.get("projected_low"), r.get("projected_high")
    if finish is not None:
        text += f"; at that pace it ends at {_value(r['kind'], finish)}"
        if low is not None and high is not None and n > 1:
            text += f" ({_value(r['kind'], low)} to {_value(r['kind'], high)} at their paces)"
    return text


def _target_items(scorecard: pl.DataFrame, tracking: Tracking | None) -> list[tuple[float, str]]:
    """Targets behind, at risk, or missed: (severity, sentence)."""
    items = []
    for r in gate_scorecard(scorecard, tracking).iter_rows(named=True):
        if r["status"] not in ("behind", "at risk", "missed") or r["actual"] is None:
            continue
        rate = r["kind"] == "rate"
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        actual, target = _value(r["kind"], r["actual"]), _value(r["kind"], r["target"])
        if rate:
            severity = max(r["target"] - r["actual"], 0.0)
        elif r["status"] == "missed":
            severity = 1 - (r["attainment"] or 0)
        else:
            severity = 1 - (r["pacing"] or 0)
        if r["status"] == "missed":
            text = (
                f"{r['label']}{team} missed its target: {actual} against {target} "
                f"({format_share(r['attainment'])})."
            )
        else:
            finish = r.get("projected_finish")
            ends = (
                f"; at the usual pace it ends at {_value(r['kind'], finish)}"
                if not rate and finish is not None and r.get("curve_basis") != "linear"
                else ""
            )
            text = f"{r['label']}{team} is {r['status']}: {actual} against {target}{ends}."
        items.append((severity, text))
    return items


def _to_create_parts(r: dict[str, Any], tracking: Tracking | None, *, gap: bool) -> str:
    """Marketing's part and the MQLs, in brackets, of the total (or of what is still to
    create), as far as the data supports them."""
    marketing = r["marketing_gap" if gap else "total_marketing_pipeline_required"]
    mqls = r["mqls_gap" if gap else "total_mqls_required"]
    parts = []
    if not missing(tracking, "team_shares") and marketing:
        parts.append(f"{format_money(marketing)} of it by marketing")
    if not missing(tracking, "mqls_needed") and mqls:
        parts.append(f"about {mqls:,.0f} MQLs")
    return f" ({', '.join(parts)})" if parts else ""


@shows("pipeline_needed")
def pipeline_to_create_headline(needed: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """The pipeline (and MQLs) the current quarter must create for every target it feeds, in
    one sentence, and what it has created so far.

    ``needed``: :func:`alignment_lib.metrics.pipeline_to_create` output. The
    marketing part and the MQLs are left out when the data cannot support them
    (``tracking``).
    """
    known = needed.filter(pl.col("pipeline_required").is_not_null()).sort("quarter_index")
    if known.is_empty():
        quarter = needed["creation_fiscal_quarter"][0] if needed.height else "this quarter"
        return (
            f"No bookings target is set for {quarter} or the quarters after it, so nothing can "
            "be required of its pipeline"
        )
    r = known.row(0, named=True)
    text = (
        f"{format_money(r['total_pipeline_required'])} of pipeline has to be created in "
        f"{r['creation_fiscal_quarter']} for the bookings targets of "
        f"{join_words(known['fiscal_quarter'].to_list())}"
        f"{_to_create_parts(r, tracking, gap=False)}"
    )
    if r["creation_status"] == "not started":
        return text + f"; {r['creation_fiscal_quarter']} has not started yet"
    return (
        text + f"; {format_money(r['pipeline_created_so_far'])} created so far, "
        f"{format_money(r['gap'])} still to create"
    )


def _to_create_items(needed: pl.DataFrame, tracking: Tracking | None) -> list[tuple[float, str]]:
    """The pipeline still to create in the current quarter: a standing action (0.5)."""
    if needed.is_empty() or missing(tracking, "pipeline_needed"):
        return []
    r = needed.row(0, named=True)
    if r["gap"] is None or r["gap"] <= 0:
        return []
    targets = join_words(
        needed.filter(pl.col("pipeline_required").is_not_null())
        .sort("quarter_index")["fiscal_quarter"]
        .to_list()
    )
    text = (
        f"{format_money(r['gap'])} of pipeline still has to be created in "
        f"{r['creation_fiscal_quarter']} for the bookings targets of {targets}"
        f"{_to_create_parts(r, tracking, gap=True)}."
    )
    return [(0.5, text)]


def _forecast_items(forecast: pl.DataFrame, tracking: Tracking | None) -> list[tuple[float, str]]:
    """The nearest quarter's bookings forecast when it is below target."""
    if forecast.is_empty() or missing(tracking, "forecast", "targets"):
        return []
    r = forecast.sort("quarter_index").row(0, named=True)
    if r["forecast"] is None or not r.get("target") or r["forecast"] >= r["target"]:
        return []
    return [(1 - r["forecast"] / r["target"], forecast_findings(forecast, tracking=tracking)[0])]
