"""Findings of 'The funnel' workbook, computed from its metric frames.

Every function takes collected outputs of :mod:`alignment_lib.metrics.funnel`
and a report quarter, and returns plain sentences (escaped when shown).
Cohort and period counts add up across groups, so frames split by lead
columns (``by=["channel", "segment"]``) are summed here for the totals, and
summed over the other columns for one column's groups.

Cohort conversions are quoted from the **latest mature cohort** of each step
(a young cohort's share still grows); immature cohorts are named as such.

The steps are the frames' own (``from_stage`` -> ``to_stage``): a funnel of
the stages the data tracks (``stages=`` of the funnel metrics) is read as it
is, and :func:`funnel_summary` says which stages it skips and why
(``tracking``, docs/partial-data.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.gate import missing
from alignment_lib.metrics.funnel import FUNNEL_STAGES
from alignment_lib.narrative._format import format_share, join_words, shows
from alignment_lib.theme import STAGE_LABELS, step_label
from alignment_lib.tracking import Tracking

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
#: the leads of a step's first stage, and what reaching its second stage means for them
_NOUNS = {
    "inquiry": "inquiries",
    "mql": "MQLs",
    "sal": "SALs",
    "sql": "SQLs",
    "opportunity": "opportunities",
}
_VERBS = {
    "mql": "became MQLs",
    "sal": "were accepted by sales",
    "sql": "became SQLs",
    "opportunity": "became opportunities",
    "won": "were won",
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


@shows("funnel")
def funnel_cohort_headline(
    cohorts: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
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
    noun, verb = _NOUNS[row["from_stage"]], _VERBS[row["to_stage"]]
    return (
        f"The funnel narrows most at {step_label(row['from_stage'], row['to_stage'])}: "
        f"{format_share(row['conversion'])} of {row['fiscal_quarter']}'s {noun} {verb}"
    )


def _flows(flows: pl.DataFrame, quarter: FiscalQuarter) -> dict[str, int]:
    """Leads entering each stage of the frame in the quarter, in funnel order."""
    rows = (
        flows.filter(pl.col("fiscal_quarter") == quarter.label)
        .group_by("stage")
        .agg(pl.col("entering").sum())
    )
    found = dict(zip(rows["stage"].to_list(), rows["entering"].to_list(), strict=True))
    stages = [s for s in FUNNEL_STAGES if s in set(flows["stage"].to_list())]
    return {s: int(found.get(s, 0)) for s in stages}


@shows("funnel")
def funnel_period_headline(
    flows: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
    """'2,366 inquiries entered the funnel in FY2026-Q3 and 66 leads reached Won'
    (period mode: flows in the quarter, not one cohort; the funnel counts leads, so a deal
    with two leads counts twice)."""
    n = _flows(flows, quarter)
    if not any(n.values()):
        return f"No lead entered the funnel or any of its stages in {quarter.label}"
    stages = list(n)
    first, last = stages[0], stages[-1]
    return (
        f"{_count(n[first], first).capitalize()} entered the funnel in "
        f"{quarter.label} and {n[last]:,} {'lead' if n[last] == 1 else 'leads'} reached "
        f"{STAGE_LABELS[last]}"
    )


def _durations_row(durations: pl.DataFrame, quarter: FiscalQuarter) -> pl.DataFrame:
    return durations.filter(
        (pl.col("fiscal_quarter") == quarter.label) & (pl.col("records") > 0)
    ).sort(["median_days", "step"], descending=[True, False])


@shows("funnel")
def stage_durations_headline(
    durations: pl.DataFrame, *, quarter: FiscalQuarter, tracking: Tracking | None = None
) -> str:
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
    parts = [_count(count, s) for s, count in n.items()]
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
    stage: tuple[str, str],
    quarter: FiscalQuarter,
    min_entered: int,
) -> str | None:
    """The range of one step's conversion across the values of ``column``, in the latest
    mature cohort of that step. ``stage``: ("from_stage" or "to_stage", a stage) picks the
    step (the one from MQL, the one to Won), whatever the stages the funnel skips."""
    side, name = stage
    latest = _latest_mature(totals, upto=quarter).filter(pl.col(side) == name)
    if latest.height == 0 or column not in cohorts.columns:
        return None
    row = latest.row(0, named=True)
    groups = (
        _cohort_totals(cohorts, by=[column])
        .filter(
            (pl.col("quarter_index") == row["quarter_index"])
            & (pl.col("step") == row["step"])
            & (pl.col("entered") >= min_entered)
            & pl.col(column).is_not_null()
        )
        .sort(["conversion", column])
    )
    if groups.height < 2:
        return None
    step = step_label(row["from_stage"], row["to_stage"])
    noun = _NOUNS[row["from_stage"]]
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


def _mql_to_won_sentence(
    frame: pl.DataFrame, quarter: FiscalQuarter, min_entered: int
) -> str | None:
    """MQL → Won in the latest mature cohort, and its lowest and highest channel."""
    totals = _cohort_totals(frame)
    latest = _latest_mature(totals, upto=quarter)
    if latest.height == 0:
        return None
    row = latest.row(0, named=True)
    text = (
        f"MQL → Won, whatever the stages between: {format_share(row['conversion'])} of "
        f"{row['fiscal_quarter']}'s {_count(row['entered'], 'mql')} were won"
    )
    if "channel" in frame.columns:
        groups = (
            _cohort_totals(frame, by=["channel"])
            .filter(
                (pl.col("quarter_index") == row["quarter_index"])
                & (pl.col("entered") >= min_entered)
                & pl.col("channel").is_not_null()
            )
            .sort(["conversion", "channel"])
        )
        if groups.height >= 2:
            low, high = groups.row(0, named=True), groups.row(-1, named=True)
            text += (
                f", from {format_share(low['conversion'])} ({low['channel']}) to "
                f"{format_share(high['conversion'])} ({high['channel']}) by channel"
            )
    return text + "."


def _skipped_sentence(cohorts: pl.DataFrame, tracking: Tracking | None) -> str | None:
    """Which stages the funnel skips because the data does not track them."""
    shown = [s for s in FUNNEL_STAGES if s in set(cohorts["from_stage"]) | set(cohorts["to_stage"])]
    if len(shown) == len(FUNNEL_STAGES) or tracking is None or not shown:
        return None
    path = " → ".join(STAGE_LABELS[s] for s in shown)
    return f"The funnel shows the stages this data tracks: {path}."


@shows("funnel")
def funnel_summary(
    cohorts: pl.DataFrame,
    flows: pl.DataFrame,
    durations: pl.DataFrame,
    *,
    quarter: FiscalQuarter,
    cohorts_shown: int = 4,
    min_entered: int = MIN_ENTERED,
    mql_to_won: pl.DataFrame | None = None,
    tracking: Tracking | None = None,
) -> list[str]:
    """Sentences for 'The funnel' page.

    ``cohorts``: ``funnel_cohort`` output, split by lead columns or not (a
    ``channel`` split adds the spread of the step from MQL across channels, a
    ``segment`` split the spread of the step to Won across segments);
    ``flows``: ``funnel_period``; ``durations``: ``stage_durations`` unsplit;
    all three over the same stages (every stage, or the tracked ones).
    ``cohorts_shown``: how many cohort quarters the page's chart shows
    (maturing cohorts among them are named). Groups with fewer than ``min_entered``
    leads entering the step are not compared. ``mql_to_won``: ``funnel_cohort``
    with ``stages=("mql", "won")`` split by channel, for the MQL → Won sentence.
    ``tracking``: the stages the funnel skips are named, with the sentences
    saying what the data does not track (docs/partial-data.md).
    """
    totals = _cohort_totals(cohorts)
    spread = {"min_entered": min_entered}
    lines = [_period_sentence(flows, quarter)]
    for sentence in (
        _mature_sentence(totals, quarter),
        _maturing_sentence(totals, quarter, cohorts_shown),
        _spread_sentence(
            cohorts,
            totals,
            column="channel",
            stage=("from_stage", "mql"),
            quarter=quarter,
            **spread,
        ),
        _spread_sentence(
            cohorts, totals, column="segment", stage=("to_stage", "won"), quarter=quarter, **spread
        ),
        _durations_sentence(durations, quarter),
    ):
        if sentence:
            lines.append(sentence)
    if (
        mql_to_won is not None
        and not missing(tracking, "mql_to_won")
        and (sentence := _mql_to_won_sentence(mql_to_won, quarter, min_entered))
    ):
        lines.append(sentence)
    if skipped := _skipped_sentence(cohorts, tracking):
        lines.append(skipped)
    if tracking is not None:
        untracked = tracking.missing(
            "mql", "sal", "sql", "lead_opportunity", "opportunity_created", "won_deals"
        )
        lines += [s for s in untracked if s not in lines]
    return lines
