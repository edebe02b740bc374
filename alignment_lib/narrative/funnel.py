"""Findings of 'The funnel' workbook, computed from its metric frames.

Every function takes collected outputs of :mod:`alignment_lib.metrics.funnel`
and a report quarter, and returns plain sentences (escaped when shown).
Cohort and period counts add up across groups, so frames split by lead
columns (``by=["channel", "segment"]``) are summed here for the totals, and
summed over the other columns for one column's groups.

Cohort conversions are quoted from the **latest mature cohort** of each step
(a young cohort's share still grows); immature cohorts are named as such.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics.funnel import FUNNEL_STAGES
from alignment_lib.narrative._format import format_share, join_words
from alignment_lib.theme import STAGE_LABELS, step_label

__all__ = [
    "funnel_cohort_headline",
    "funnel_period_headline",
    "funnel_summary",
    "stage_durations_headline",
]

#: groups with fewer leads entering a step than this are not compared (too few to judge)
MIN_ENTERED = 20

#: how many leads entered a stage, in words: "753 MQLs"
_PLURALS = {
    "inquiry": ("inquiry", "inquiries"),
    "mql": ("MQL", "MQLs"),
    "sal": ("SAL", "SALs"),
    "sql": ("SQL", "SQLs"),
    "opportunity": ("new opportunity", "new opportunities"),
    "won": ("win", "wins"),
}
#: what reaching the next stage means, for the leads of the previous one
_OUTCOMES = {
    "mql": ("inquiries", "became MQLs"),
    "sal": ("MQLs", "were accepted by sales"),
    "sql": ("SALs", "became SQLs"),
    "opportunity": ("SQLs", "became opportunities"),
    "won": ("opportunities", "were won"),
}
_STEP_KEYS = ["quarter_index", "fiscal_quarter", "step", "from_stage", "to_stage"]


def _days(value: float) -> str:
    """2.66 -> '2.7 days'; 127.7 -> '128 days'."""
    return f"{value:.1f} days" if abs(value) < 10 else f"{value:,.0f} days"


def _count(n: int, stage: str) -> str:
    one, many = _PLURALS[stage]
    return f"{n:,} {one if n == 1 else many}"


def _cohort_totals(cohorts: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Cohort counts summed over every lead column not in ``by``; conversion recomputed."""
    return (
        cohorts.group_by([*_STEP_KEYS, *by])
        .agg(pl.col("entered").sum(), pl.col("reached").sum(), pl.col("mature").all())
        .with_columns(
            conversion=pl.when(pl.col("entered") > 0).then(pl.col("reached") / pl.col("entered"))
        )
        .sort([*_STEP_KEYS, *by])
    )


def _latest_mature(totals: pl.DataFrame, *, upto: FiscalQuarter) -> pl.DataFrame:
    """Per step, the latest cohort up to ``upto`` that is mature and had entrants."""
    upto_index = FiscalCalendar.quarter_index(upto)
    return (
        totals.filter(
            pl.col("mature") & (pl.col("entered") > 0) & (pl.col("quarter_index") <= upto_index)
        )
        .sort("quarter_index")
        .group_by("step", maintain_order=True)
        .last()
        .sort("step")
    )


def funnel_cohort_headline(cohorts: pl.DataFrame, *, quarter: FiscalQuarter) -> str:
    """'The funnel narrows most at Opportunity → Won: 29% of FY2026-Q1's opportunities were
    won' (the step with the lowest conversion among the latest mature cohorts)."""
    totals = _cohort_totals(cohorts)
    upto = FiscalCalendar.quarter_index(quarter)
    if totals.filter(pl.col("quarter_index") <= upto)["entered"].sum() == 0:
        return f"No leads in the cohorts up to {quarter.label}"
    latest = _latest_mature(totals, upto=quarter)
    if latest.height == 0:
        return f"No cohort up to {quarter.label} is mature yet: conversion is still growing"
    row = latest.sort(["conversion", "step"]).row(0, named=True)
    noun, verb = _OUTCOMES[row["to_stage"]]
    return (
        f"The funnel narrows most at {step_label(row['from_stage'], row['to_stage'])}: "
        f"{format_share(row['conversion'])} of {row['fiscal_quarter']}'s {noun} {verb}"
    )


def _flows(flows: pl.DataFrame, quarter: FiscalQuarter) -> dict[str, int]:
    rows = (
        flows.filter(pl.col("fiscal_quarter") == quarter.label)
        .group_by("stage")
        .agg(pl.col("entering").sum())
    )
    found = dict(zip(rows["stage"].to_list(), rows["entering"].to_list(), strict=True))
    return {s: int(found.get(s, 0)) for s in FUNNEL_STAGES}


def funnel_period_headline(flows: pl.DataFrame, *, quarter: FiscalQuarter) -> str:
    """'2,366 inquiries entered the funnel in FY2026-Q3 and 66 leads reached Won'
    (period mode: flows in the quarter, not one cohort; the funnel counts leads, so a deal
    with two leads counts twice)."""
    n = _flows(flows, quarter)
    if not any(n.values()):
        return f"No lead entered the funnel or any of its stages in {quarter.label}"
    return (
        f"{_count(n['inquiry'], 'inquiry').capitalize()} entered the funnel in "
        f"{quarter.label} and {n['won']:,} {'lead' if n['won'] == 1 else 'leads'} reached Won"
    )


def _durations_row(durations: pl.DataFrame, quarter: FiscalQuarter) -> pl.DataFrame:
    return durations.filter(
        (pl.col("fiscal_quarter") == quarter.label) & (pl.col("records") > 0)
    ).sort(["median_days", "step"], descending=[True, False])


def stage_durations_headline(durations: pl.DataFrame, *, quarter: FiscalQuarter) -> str:
    """'Opportunity → Won is the slowest step: a median 128 days (p90 224 days) for leads that
    reached Won in FY2026-Q3' (``durations`` unsplit)."""
    rows = _durations_row(durations, quarter)
    if rows.height == 0:
        return f"No lead moved between stages in {quarter.label}"
    row = rows.row(0, named=True)
    return (
        f"{step_label(row['from_stage'], row['to_stage'])} is the slowest step: a median "
        f"{_days(row['median_days'])} (p90 {_days(row['p90_days'])}) for leads that reached "
        f"{STAGE_LABELS[row['to_stage']]} in {quarter.label}"
    )


def _period_sentence(flows: pl.DataFrame, quarter: FiscalQuarter) -> str:
    n = _flows(flows, quarter)
    if not any(n.values()):
        return f"No lead entered the funnel or any of its stages in {quarter.label}."
    parts = [_count(n[s], s) for s in FUNNEL_STAGES]
    return (
        f"In {quarter.label}, {join_words(parts)} entered their stage (flows in the quarter, "
        "not one cohort)."
    )


def _mature_sentence(totals: pl.DataFrame, quarter: FiscalQuarter) -> str | None:
    latest = _latest_mature(totals, upto=quarter)
    if latest.height == 0:
        return None
    groups: list[str] = []
    for label, rows in latest.group_by("fiscal_quarter", maintain_order=True):
        steps = [
            f"{step_label(r['from_stage'], r['to_stage'])} {format_share(r['conversion'])}"
            for r in rows.iter_rows(named=True)
        ]
        groups.append(f"{join_words(steps)} for {label[0]}")
    return "Latest mature cohorts: " + "; ".join(groups) + "."


def _maturing_sentence(totals: pl.DataFrame, quarter: FiscalQuarter, cohorts: int) -> str | None:
    last = FiscalCalendar.quarter_index(quarter)
    young = totals.filter(
        ~pl.col("mature")
        & (pl.col("entered") > 0)
        & pl.col("quarter_index").is_between(last - cohorts + 1, last)
    ).sort("quarter_index", "step", descending=[True, False])
    if young.height == 0:
        return None
    steps = totals["step"].n_unique()
    parts = []
    for label, rows in young.group_by("fiscal_quarter", maintain_order=True):
        if rows.height == steps:
            parts.append(f"every {label[0]} cohort")
        else:
            names = [step_label(r["from_stage"], r["to_stage"]) for r in rows.iter_rows(named=True)]
            parts.append(f"{label[0]}'s {join_words(names)}")
    return f"Still maturing, so their shares will rise: {join_words(parts)}."


def _spread_sentence(
    cohorts: pl.DataFrame,
    totals: pl.DataFrame,
    *,
    column: str,
    to_stage: str,
    quarter: FiscalQuarter,
    min_entered: int,
) -> str | None:
    """The range of one step's conversion across the values of ``column``, in the latest
    mature cohort of that step."""
    latest = _latest_mature(totals, upto=quarter).filter(pl.col("to_stage") == to_stage)
    if latest.height == 0 or column not in cohorts.columns:
        return None
    row = latest.row(0, named=True)
    groups = (
        _cohort_totals(cohorts, by=[column])
        .filter(
            (pl.col("quarter_index") == row["quarter_index"])
            & (pl.col("to_stage") == to_stage)
            & (pl.col("entered") >= min_entered)
            & pl.col(column).is_not_null()
        )
        .sort(["conversion", column])
    )
    if groups.height < 2:
        return None
    step = step_label(row["from_stage"], to_stage)
    noun = _OUTCOMES[to_stage][0]
    if groups.height <= 4:
        listed = join_words(
            [f"{g[column]} {format_share(g['conversion'])}" for g in groups.iter_rows(named=True)]
        )
        return f"By {column}, {step} for {row['fiscal_quarter']}'s {noun}: {listed}."
    low, high = groups.row(0, named=True), groups.row(-1, named=True)
    return (
        f"By {column}, {step} for {row['fiscal_quarter']}'s {noun} ranged from "
        f"{format_share(low['conversion'])} ({low[column]}) to "
        f"{format_share(high['conversion'])} ({high[column]})."
    )


def _durations_sentence(durations: pl.DataFrame, quarter: FiscalQuarter) -> str | None:
    rows = _durations_row(durations, quarter)
    if rows.height == 0:
        return None
    text = stage_durations_headline(durations, quarter=quarter)
    handoff = rows.filter(pl.col("to_stage") == "sal")
    if handoff.height and handoff["step"][0] != rows["step"][0]:
        h = handoff.row(0, named=True)
        text += (
            f"; sales accepted MQLs a median {_days(h['median_days'])} after the handoff "
            f"(p90 {_days(h['p90_days'])})"
        )
    return text + "."


def funnel_summary(
    cohorts: pl.DataFrame,
    flows: pl.DataFrame,
    durations: pl.DataFrame,
    *,
    quarter: FiscalQuarter,
    cohorts_shown: int = 4,
    min_entered: int = MIN_ENTERED,
) -> list[str]:
    """Sentences for 'The funnel' page.

    ``cohorts``: ``funnel_cohort`` output, split by lead columns or not (a
    ``channel`` split adds the MQL → SAL spread across channels, a
    ``segment`` split the Opportunity → Won spread across segments);
    ``flows``: ``funnel_period``; ``durations``: ``stage_durations`` unsplit.
    ``cohorts_shown``: how many cohort quarters the page's chart shows
    (maturing cohorts among them are named). Groups with fewer than ``min_entered``
    leads entering the step are not compared.
    """
    totals = _cohort_totals(cohorts)
    spread = {"min_entered": min_entered}
    lines = [_period_sentence(flows, quarter)]
    for sentence in (
        _mature_sentence(totals, quarter),
        _maturing_sentence(totals, quarter, cohorts_shown),
        _spread_sentence(
            cohorts, totals, column="channel", to_stage="sal", quarter=quarter, **spread
        ),
        _spread_sentence(
            cohorts, totals, column="segment", to_stage="won", quarter=quarter, **spread
        ),
        _durations_sentence(durations, quarter),
    ):
        if sentence:
            lines.append(sentence)
    return lines
