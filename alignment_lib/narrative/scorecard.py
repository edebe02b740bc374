"""Findings of the 'Shared scorecard' workbook, and the things that most need attention.

A target row whose actual the data cannot measure (MQLs without a leads table,
pipeline created without creation dates, a team's share without deal sources)
is not scored: :func:`gate_scorecard` blanks it and says why, and every
consumer (findings, chart, table, the index page) shows that instead of a 0.
"""

from __future__ import annotations

import polars as pl

from alignment_lib.gate import missing, not_shown
from alignment_lib.narrative._format import format_count, format_money, format_share, shows
from alignment_lib.tracking import Tracking

__all__ = [
    "NO_TARGETS",
    "TARGET_MEASURES",
    "attention_items",
    "gate_scorecard",
    "has_targets",
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
            f"{_value(r['kind'], r['target'])} ({format_share(r['attainment'])}), {r['status']}."
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
    limit: int = 3,
    tracking: Tracking | None = None,
) -> list[str]:
    """The ``limit`` things that most need attention, most severe first.

    Candidates, each with a severity in 0..1 (how far from where it should be):
    targets behind or at risk (1 - pacing, or the rate gap); the next quarter,
    when its qualified open pipeline covers less than the required coverage (1 -
    coverage / required; later quarters are naturally thin, so they do not compete); the
    pipeline still to create in the next creation quarter for a future target
    (a standing action, severity 0.5); and channels whose SLA compliance is below
    the target (target - compliance). ``tracking``: a candidate the data cannot
    support (a target it cannot measure, coverage without lost deals, MQLs
    without leads) is left out.
    """
    items: list[tuple[float, str]] = []
    if not has_targets(scorecard):
        items.append((1.0, NO_TARGETS))
    for r in gate_scorecard(scorecard, tracking).iter_rows(named=True):
        if r["status"] not in ("behind", "at risk") or r["actual"] is None:
            continue
        rate = r["kind"] == "rate"
        severity = max(r["target"] - r["actual"], 0.0) if rate else 1 - (r["pacing"] or 0)
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        actual, target = _value(r["kind"], r["actual"]), _value(r["kind"], r["target"])
        items.append((severity, f"{r['label']}{team} is {r['status']}: {actual} against {target}."))
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
    upcoming = needed.filter(pl.col("creation_status") != "complete", pl.col("gap") > 0)
    planned = not missing(tracking, "pipeline_needed")
    with_mqls = not missing(tracking, "mqls_needed")
    by_team = not missing(tracking, "team_shares")
    for r in upcoming.sort("quarter_index").head(1 if planned else 0).iter_rows(named=True):
        mqls = r["mqls_required"] if with_mqls else None
        mql_text = f" (about {mqls:,.0f} MQLs)" if mqls else ""
        marketing = format_money(r["marketing_pipeline_required"] or 0)
        share = f", {marketing} of it by marketing" if by_team else ""
        text = (
            f"For {r['target_fiscal_quarter']}'s target, {format_money(r['gap'])} of pipeline "
            f"still has to be created in {r['fiscal_quarter']}{share}{mql_text}."
        )
        items.append((0.5, text))
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
