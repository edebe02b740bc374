"""Tables of 'The funnel' workbook.

The steps come from the metric frames (``from_stage`` -> ``to_stage``), so a
funnel that skips stages the data does not track (``stages=`` of the funnel
metrics) shows only the steps it has.
"""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect, column_max
from alignment_lib.exceptions import ParameterError
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.theme import GROUP_LABELS, NOT_SET, step_label
from alignment_lib.tracking import Tracking

__all__ = [
    "table_funnel_by",
    "table_funnel_cohorts",
    "table_mql_to_won",
    "table_stage_durations",
]

_STEP_KEYS = ["quarter_index", "fiscal_quarter", "step", "from_stage", "to_stage"]
_MATURING_NOTE = (
    "Grey italics: cohort still maturing (younger than the step's p90 time: 9 in 10 "
    "conversions come within it); its share will rise."
)
#: a stage's entrants, as a column label
_ENTERED = {
    "inquiry": "Inquiries",
    "mql": "MQLs",
    "sal": "SALs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
}


def _steps(frame: pl.DataFrame) -> dict[int, str]:
    """step -> 'MQL → SAL', from the frame's own stage pairs."""
    pairs = frame.select("step", "from_stage", "to_stage").unique().sort("step")
    return {s: step_label(a, b) for s, a, b in pairs.iter_rows()}


def _col(step: int) -> str:
    return f"step_{step}"


def _totals(cohorts: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Cohort counts summed over the lead columns not in ``by``."""
    return (
        cohorts.group_by([*_STEP_KEYS, *by])
        .agg(pl.col("entered").sum(), pl.col("reached").sum(), pl.col("mature").all())
        .with_columns(
            conversion=pl.when(pl.col("entered") > 0).then(pl.col("reached") / pl.col("entered"))
        )
    )


def _grey_maturing(table: gt.GT, steps: list[int]) -> gt.GT:
    for step in steps:
        table = table.tab_style(
            style=gt.style.text(color="#8A8A8A", style="italic"),
            locations=gt.loc.body(columns=_col(step), rows=~pl.col(f"{_col(step)}_mature")),
        )
    return table


@shows("funnel")
def table_funnel_cohorts(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "funnel-cohorts",
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per cohort quarter: leads that entered the first two stages (inquiries and
    MQLs with every stage), and each step's cohort conversion; maturing cohorts in grey
    italics.

    ``frame`` is :func:`alignment_lib.metrics.funnel_cohort` output (lead
    column splits are summed), with all stages or the tracked ones.
    """
    totals = _totals(collect(frame), [])
    if totals.is_empty() or totals["entered"].sum() == 0:
        return table_no_data(
            "Stage conversion by cohort", "No leads in the quarters shown", table_id=table_id
        )
    labels = _steps(totals)
    steps = sorted(labels)
    # the first two stages' entrants: step 1's and step 2's "entered"
    first = totals.filter(pl.col("step").is_in(steps[:2])).select("step", "from_stage").unique()
    entered = {
        f"entered_{s}": stage for s, stage in first.sort("step").iter_rows()
    }  # column -> stage
    wide = (
        totals.pivot(
            "step",
            index=["quarter_index", "fiscal_quarter"],
            values=["entered", "conversion", "mature"],
            aggregate_function="first",
        )
        .sort("quarter_index")
        .select(
            "fiscal_quarter",
            *(pl.col(c) for c in entered),
            *(pl.col(f"conversion_{s}").alias(_col(s)) for s in steps),
            *(pl.col(f"mature_{s}").alias(f"{_col(s)}_mature") for s in steps),
        )
    )
    table = (
        gt.GT(wide, id=table_id)
        .tab_header(
            title="Stage conversion by cohort",
            subtitle="Of the leads that reached a stage in the quarter, the share that has "
            "reached the next one",
        )
        .cols_label(
            cases={
                "fiscal_quarter": "Cohort",
                **{c: _ENTERED.get(stage, stage) for c, stage in entered.items()},
                **{_col(s): labels[s] for s in steps},
            }
        )
        .cols_hide([f"{_col(s)}_mature" for s in steps])
        .fmt_integer(columns=list(entered))
        .fmt_percent(columns=[_col(s) for s in steps], decimals=0)
        .sub_missing(missing_text="–")
        .tab_spanner(label="Entered", columns=list(entered))
        .tab_spanner(label="Reached the next stage", columns=[_col(s) for s in steps])
        .tab_source_note(_MATURING_NOTE)
        .tab_style(
            style=gt.style.text(whitespace="nowrap"),
            locations=gt.loc.body(columns="fiscal_quarter"),
        )
    )
    return _grey_maturing(table, steps)


@shows("funnel")
def table_funnel_by(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    column: str,
    quarter: str,
    min_entered: int = 20,
    table_id: str | None = None,
    label: str | None = None,
    title: str | None = None,
    tracking: Tracking | None = None,
) -> gt.GT:
    """Each step's conversion per value of ``column`` (e.g. channel), in the latest mature
    cohort of that step up to ``quarter`` (a spanner names the cohort). Groups too
    small to compare at every step are left out.

    ``frame`` is :func:`alignment_lib.metrics.funnel_cohort` split by
    ``column`` (other splits are summed). The first row is all leads. A group
    with fewer than ``min_entered`` leads entering a step shows a dash there
    (too few to compare). ``label`` names the column on the page (default:
    the house label of a lead column, e.g. "Channel"); pass ``table_id`` for
    a column whose name is not a safe HTML id (a dimension's). ``title``:
    default "Stage conversion by <label>".
    """
    data = collect(frame)
    if column not in data.columns:
        raise ParameterError(
            f"frame has no column {column!r}; expected funnel_cohort output split by it: "
            f"pass funnel_cohort(..., by=[{column!r}])"
        )
    found = data.filter(pl.col("fiscal_quarter") == quarter)["quarter_index"]
    last = int(found[0]) if found.len() else int(column_max(data, "quarter_index") or 0)
    everyone = _totals(data, [])
    latest = (
        everyone.filter(
            pl.col("mature") & (pl.col("entered") > 0) & (pl.col("quarter_index") <= last)
        )
        .sort("quarter_index")
        .group_by("step", maintain_order=True)
        .last()
        .select("step", "quarter_index", "fiscal_quarter")
        .sort("step")
    )
    group_title = label or GROUP_LABELS.get(column, column)
    heading = title or f"Stage conversion by {group_title.lower()}"
    if everyone.filter(pl.col("quarter_index") <= last)["entered"].sum() == 0:
        return table_no_data(
            heading,
            f"No leads in the cohorts up to {quarter}",
            table_id=table_id or f"funnel-by-{column.replace('_', '-')}",
        )
    if latest.height == 0:
        note = pl.DataFrame(
            {"note": [f"No cohort up to {quarter} is mature yet: show more quarters to compare."]}
        )
        return (
            gt.GT(note, id=table_id or f"funnel-by-{column.replace('_', '-')}")
            .tab_header(title=heading)
            .cols_label(note="")
        )
    groups = _totals(data, [column]).with_columns(
        pl.col(column).cast(pl.String).fill_null(NOT_SET).alias("group")
    )
    rows = pl.concat(
        [
            everyone.with_columns(group=pl.lit("All leads")).select(
                "quarter_index", "step", "group", "entered", "conversion"
            ),
            groups.select("quarter_index", "step", "group", "entered", "conversion"),
        ]
    ).join(latest.select("step", "quarter_index"), on=["step", "quarter_index"], how="semi")
    rows = rows.with_columns(
        conversion=pl.when(pl.col("entered") >= min_entered).then(pl.col("conversion"))
    )
    steps = latest["step"].to_list()
    labels = _steps(data)
    wide = rows.pivot("step", index="group", values="conversion", aggregate_function="first")
    active = rows.group_by("group").agg(pl.col("entered").sum()).filter(pl.col("entered") > 0)
    wide = (
        wide.join(active.select("group"), on="group", how="semi")
        .with_columns(_first=pl.col("group") != "All leads")
        .sort("_first", "group")
        .select("group", *(pl.col(str(s)).alias(_col(s)) for s in steps))
        # a group too small to compare at any step is a row of dashes: leave it out
        .filter(
            (pl.col("group") == "All leads")
            | pl.any_horizontal(pl.all().exclude("group").is_not_null())
        )
    )
    cohort = dict(zip(latest["step"].to_list(), latest["fiscal_quarter"].to_list(), strict=True))
    table = (
        gt.GT(wide, id=table_id or f"funnel-by-{column.replace('_', '-')}")
        .tab_header(title=heading, subtitle="Each step in its latest mature cohort")
        .cols_label(cases={"group": group_title, **{_col(s): labels[s] for s in steps}})
        .fmt_percent(columns=[_col(s) for s in steps], decimals=0)
        .sub_missing(missing_text="–")
        .tab_source_note(f"–: fewer than {min_entered} leads entered the step in that cohort.")
        .tab_style(style=gt.style.text(weight="bold"), locations=gt.loc.body(rows=[0]))
        .tab_style(style=gt.style.text(whitespace="nowrap"), locations=gt.loc.body(columns="group"))
    )
    # one spanner per cohort quarter, over the steps quoted from it
    for label in dict.fromkeys(cohort[s] for s in steps):
        quoted = [_col(s) for s in steps if cohort[s] == label]
        table = table.tab_spanner(label=f"{label} cohorts", columns=quoted, id=f"cohort-{label}")
    return table


@shows("funnel")
def table_stage_durations(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    quarters: int = 4,
    table_id: str = "stage-durations",
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per step: median days in the last ``quarters`` quarters up to ``quarter``,
    and that quarter's p90 and lead count.

    ``frame`` is :func:`alignment_lib.metrics.stage_durations` output, unsplit
    (by the quarter the later stage was reached).
    """
    data = collect(frame)
    found = data.filter(pl.col("fiscal_quarter") == quarter)["quarter_index"]
    last = int(found[0]) if found.len() else int(column_max(data, "quarter_index") or 0)
    shown = data.filter(pl.col("quarter_index").is_between(last - quarters + 1, last))
    if shown.filter(pl.col("records") > 0).is_empty():
        return table_no_data(
            "Time between stages",
            f"No lead moved between stages in the {quarters} quarters up to {quarter}",
            table_id=table_id,
        )
    labels = shown.sort("quarter_index")["fiscal_quarter"].unique(maintain_order=True).to_list()
    medians = shown.pivot(
        "fiscal_quarter", index="step", values="median_days", aggregate_function="first"
    )
    current = shown.filter(pl.col("quarter_index") == last).select("step", "p90_days", "records")
    wide = (
        medians.join(current, on="step", how="left")
        .sort("step")
        .with_columns(
            step_label=pl.col("step").replace_strict(_steps(data), return_dtype=pl.String)
        )
        .select(
            "step_label",
            *(pl.col(q).alias(f"median_{i}") for i, q in enumerate(labels)),
            "p90_days",
            "records",
        )
    )
    medians_cols = [f"median_{i}" for i in range(len(labels))]
    return (
        gt.GT(wide, id=table_id)
        .tab_header(
            title="Time between stages",
            subtitle="Days, for leads that reached the later stage in the quarter",
        )
        .cols_label(
            step_label="Step",
            p90_days=f"p90, {quarter}",
            records=f"Leads, {quarter}",
            **{c: q for c, q in zip(medians_cols, labels, strict=True)},
        )
        .fmt_number(columns=[*medians_cols, "p90_days"], decimals=1)
        .fmt_integer(columns="records")
        .sub_missing(missing_text="–")
        .tab_spanner(label="Median days", columns=medians_cols)
    )


@shows("mql_to_won")
def table_mql_to_won(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    column: str = "channel",
    min_entered: int = 20,
    table_id: str = "mql-to-won",
    tracking: Tracking | None = None,
) -> gt.GT:
    """MQL → Won by ``column`` (channel): of the MQLs of a cohort quarter, the share whose
    opportunity was won, in the latest mature cohort up to ``quarter``.

    ``frame`` is :func:`alignment_lib.metrics.funnel_cohort` with
    ``stages=("mql", "won")`` split by ``column``: the one step from MQL
    straight to a won deal, whatever the stages between (and whether or not
    the data tracks them). Groups with fewer than ``min_entered`` MQLs in the
    cohort show a dash.
    """
    group = GROUP_LABELS.get(column, column).lower()
    return table_funnel_by(
        frame,
        column=column,
        quarter=quarter,
        min_entered=min_entered,
        table_id=table_id,
        title=f"MQL → Won by {group}",
    )
