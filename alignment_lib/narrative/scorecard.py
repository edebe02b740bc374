"""Findings of the 'Shared scorecard' workbook, and the things that most need attention."""

from __future__ import annotations

import polars as pl

from alignment_lib.narrative._format import format_money, format_share

__all__ = ["NO_TARGETS", "attention_items", "scorecard_summary"]

#: what the page says when the targets table has no row for the quarter
NO_TARGETS = "No targets are set for this quarter: the targets table has no row for it."


def _value(kind: str, value: float) -> str:
    if kind == "amount":
        return format_money(value)
    if kind == "rate":
        return format_share(value)
    return f"{value:,.0f}"


def scorecard_summary(scorecard: pl.DataFrame) -> list[str]:
    """One sentence per target: actual against target and the status.

    ``scorecard``: :func:`alignment_lib.metrics.shared_scorecard` output.
    """
    if scorecard.is_empty():
        return [NO_TARGETS]
    lines = []
    for r in scorecard.iter_rows(named=True):
        if r["actual"] is None:
            lines.append(f"{r['label']}: no data yet.")
            continue
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        lines.append(
            f"{r['label']}{team}: {_value(r['kind'], r['actual'])} against "
            f"{_value(r['kind'], r['target'])} ({format_share(r['attainment'])}), {r['status']}."
        )
    return lines


def attention_items(
    scorecard: pl.DataFrame,
    coverage: pl.DataFrame,
    needed: pl.DataFrame,
    sla_by_channel: pl.DataFrame,
    *,
    sla_target: float | None = None,
    limit: int = 3,
) -> list[str]:
    """The ``limit`` things that most need attention, most severe first.

    Candidates, each with a severity in 0..1 (how far from where it should be):
    targets behind or at risk (1 - pacing, or the rate gap); the next quarter,
    when its open pipeline covers less than the required coverage (1 - coverage /
    required; later quarters are naturally thin, so they do not compete); the
    pipeline still to create in the next creation quarter for a future target
    (a standing action, severity 0.5); and channels whose SLA compliance is below
    the target (target - compliance).
    """
    items: list[tuple[float, str]] = []
    if scorecard.is_empty():
        items.append((1.0, NO_TARGETS))
    for r in scorecard.iter_rows(named=True):
        if r["status"] not in ("behind", "at risk") or r["actual"] is None:
            continue
        rate = r["kind"] == "rate"
        severity = max(r["target"] - r["actual"], 0.0) if rate else 1 - (r["pacing"] or 0)
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        actual, target = _value(r["kind"], r["actual"]), _value(r["kind"], r["target"])
        items.append((severity, f"{r['label']}{team} is {r['status']}: {actual} against {target}."))
    for r in coverage.sort("quarter_index").head(1).iter_rows(named=True):
        have, need = r["coverage"], r["required_coverage"]
        if have is None or not need or have >= need:
            continue
        text = (
            f"{r['fiscal_quarter']} open pipeline covers {have:.1f}x of what is left to book, "
            f"against the {need:.1f}x the win rate requires."
        )
        items.append((1 - have / need, text))
    upcoming = needed.filter(pl.col("creation_status") != "complete", pl.col("gap") > 0)
    for r in upcoming.sort("quarter_index").head(1).iter_rows(named=True):
        mqls = r["mqls_required"]
        mql_text = f" (about {mqls:,.0f} MQLs)" if mqls else ""
        marketing = format_money(r["marketing_pipeline_required"] or 0)
        text = (
            f"For {r['target_fiscal_quarter']}'s target, {format_money(r['gap'])} of pipeline "
            f"still has to be created in {r['fiscal_quarter']}, {marketing} of it by "
            f"marketing{mql_text}."
        )
        items.append((0.5, text))
    if sla_target is not None:
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
