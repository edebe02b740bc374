"""Charts of 'The funnel' workbook: stage conversion by cohort, flows in the period, time
between stages.

Every builder takes the (small) output of a metric in
:mod:`alignment_lib.metrics.funnel`, collected or lazy. Cohort and period
counts add up across groups, so one metric call split by several lead
columns (``by=["channel", "segment"]``) feeds a chart whose dropdown offers
"All leads", every channel and every segment, summed here. Medians do not add
up: the time-between-stages chart takes one frame per split.

Colours: cohort quarters use a single-hue purple ramp (older lighter), which
stays readable for colour-blind readers and keeps clear of the team colours.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    COUNT_TOOLTIP,
    SHARE_AXIS,
    SHARE_TOOLTIP,
    chart_no_data,
    collect,
    column_max,
    column_min,
    layer,
    no_data_message,
    shows,
)
from alignment_lib.exceptions import ParameterError
from alignment_lib.metrics.funnel import LEAD_GROUPINGS
from alignment_lib.theme import GROUP_LABELS, NEUTRAL, NOT_SET, STAGE_LABELS, step_label
from alignment_lib.tracking import Tracking

__all__ = [
    "ALL_LEADS",
    "STAGE_LABELS",
    "chart_funnel_cohorts",
    "chart_funnel_period",
    "chart_stage_durations",
    "step_label",
]

#: the dropdown entry that sums every group
ALL_LEADS = "All leads"
#: the period-mode caption every period chart carries
PERIOD_CAPTION = "Period mode: ratio of flows in the period, not a cohort conversion rate."
MATURE, MATURING = "Mature", "Still maturing"
_PLURAL = {
    "inquiry": "inquiries",
    "mql": "MQLs",
    "sal": "SALs",
    "sql": "SQLs",
    "opportunity": "opportunities",
    "won": "wins",
}
DAYS_TOOLTIP = ",.1f"
_INK = "#333333"
_LEGEND_PURPLE = "#6A51A3"
_STEP_KEYS = ["quarter_index", "fiscal_quarter", "step", "from_stage", "to_stage"]
_STAGE_KEYS = ["quarter_index", "fiscal_quarter", "stage_order", "stage"]


def _step_labels() -> pl.Expr:
    """'MQL → SAL' from the ``from_stage`` and ``to_stage`` columns."""

    def label(column: str) -> pl.Expr:
        return pl.col(column).replace_strict(STAGE_LABELS, default=pl.col(column))

    return pl.concat_str(label("from_stage"), pl.lit(" → "), label("to_stage"))


def _groupings(data: pl.DataFrame) -> list[str]:
    return [c for c in LEAD_GROUPINGS if c in data.columns]


def _group_label(column: str) -> pl.Expr:
    value = pl.col(column).cast(pl.String).fill_null(NOT_SET)
    return pl.lit(f"{GROUP_LABELS.get(column, column)}: ") + value


def _summed(data: pl.DataFrame, *, keys: list[str], aggs: list[pl.Expr]) -> pl.DataFrame:
    """'All leads' (the sum over every group) plus one set of rows per value of each lead
    column in ``data``: the counts add up, so the sums are exact."""
    frames = [
        data.group_by(keys, maintain_order=True).agg(aggs).with_columns(group=pl.lit(ALL_LEADS))
    ]
    for column in _groupings(data):
        frames.append(
            data.with_columns(group=_group_label(column))
            .group_by([*keys, "group"], maintain_order=True)
            .agg(aggs)
        )
    return pl.concat(
        [f.select(*keys, "group", *(a.meta.output_name() for a in aggs)) for f in frames]
    )


def _options(data: pl.DataFrame, count: str) -> list[str]:
    """'All leads' first, then the groups with any ``count``, in the order of LEAD_GROUPINGS."""
    active = (
        data.filter(pl.col("group") != ALL_LEADS)
        .group_by("group")
        .agg(pl.col(count).sum())
        .filter(pl.col(count) > 0)["group"]
        .to_list()
    )
    titles = [GROUP_LABELS.get(c, c) for c in LEAD_GROUPINGS]
    active.sort(
        key=lambda g: (titles.index(g.split(":")[0]) if g.split(":")[0] in titles else 99, g)
    )
    return [ALL_LEADS, *active]


def _group_param(options: list[str]) -> alt.Parameter:
    return alt.param(
        name="leads_from",
        value=ALL_LEADS,
        bind=alt.binding_select(options=options, name="Leads from "),
    )


def _quarter_index(data: pl.DataFrame, quarter: str) -> int:
    found = data.filter(pl.col("fiscal_quarter") == quarter)["quarter_index"]
    if found.len() == 0:
        shown = ", ".join(data["fiscal_quarter"].unique(maintain_order=True).to_list()[:12])
        raise ParameterError(
            f"quarter {quarter} is not in the frame (it holds {shown or 'no quarters'}); "
            "pass a quarter inside the metric's first..last range"
        )
    return int(found[0])


def _title(title: str, subtitle: str | Sequence[str] | None, default: list[str]) -> alt.Title:
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle or default)
    return alt.Title(title, subtitle=lines)


@shows("funnel")
def chart_funnel_cohorts(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    cohorts: int = 4,
    title: str = "Stage conversion by cohort",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """The waterfall in cohort mode: for each step (Inquiry → MQL ... Opportunity → Won),
    the conversion of the last ``cohorts`` cohort quarters up to ``quarter``.

    ``frame`` is :func:`alignment_lib.metrics.funnel_cohort` output, with or
    without lead columns to split by (e.g. ``by=["channel", "segment"]``): a
    dropdown then picks "All leads" (the sum), a channel or a segment. Cohorts
    that are still maturing (``mature`` False) are drawn pale with a dashed
    outline; clicking a quarter in the legend highlights it.
    """
    src = collect(frame)
    if src.is_empty():  # a split by lead columns has no group at all without leads
        return chart_no_data(no_data_message("leads", quarter=quarter), title=title)
    last = _quarter_index(src, quarter)
    src = src.filter(pl.col("quarter_index").is_between(last - cohorts + 1, last))
    if src["entered"].sum() == 0:
        return chart_no_data(f"No lead reached a stage in the cohorts up to {quarter}", title=title)
    data = (
        _summed(
            src,
            keys=_STEP_KEYS,
            aggs=[
                pl.col("entered").sum(),
                pl.col("reached").sum(),
                pl.col("mature").all(),
                pl.col("maturity_days").first(),
            ],
        )
        .with_columns(
            step_label=_step_labels(),
            conversion=pl.when(pl.col("entered") > 0).then(pl.col("reached") / pl.col("entered")),
            maturity=pl.when(pl.col("mature")).then(pl.lit(MATURE)).otherwise(pl.lit(MATURING)),
        )
        .sort("quarter_index", "step", "group")
    )
    options = _options(data, "entered")
    data = data.filter(pl.col("group").is_in(options)).drop("mature")
    quarters = data["fiscal_quarter"].unique(maintain_order=True).to_list()
    steps = data.sort("step")["step_label"].unique(maintain_order=True).to_list()
    group = _group_param(options)
    highlight = alt.selection_point(
        name="cohort_highlight", fields=["fiscal_quarter"], bind="legend"
    )
    x = alt.X("step_label:N", sort=steps, title=None, axis=alt.Axis(labelFontSize=12))
    offset = alt.XOffset("fiscal_quarter:N", sort=quarters)
    y = alt.Y(
        "conversion:Q",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=SHARE_AXIS),
        title="Reached the next stage",
    )
    colors = alt.Scale(domain=quarters, scheme={"name": "purples", "extent": [0.35, 1.0]})
    cohort_legend = alt.Legend(title="Cohort")
    maturity_legend = alt.Legend(
        title=None, labelLimit=0, symbolFillColor=_LEGEND_PURPLE, symbolStrokeColor=_LEGEND_PURPLE
    )
    base = alt.Chart(data).transform_filter(alt.datum.group == group)
    bars = (
        base.mark_bar(strokeWidth=1.5)
        .encode(
            x=x,
            xOffset=offset,
            y=y,
            # fill and outline in the cohort's colour: one merged legend
            color=alt.Color("fiscal_quarter:N", sort=quarters, scale=colors, legend=cohort_legend),
            stroke=alt.Stroke(
                "fiscal_quarter:N", sort=quarters, scale=colors, legend=cohort_legend
            ),
            # one legend for both: pale and dashed = still maturing
            fillOpacity=alt.FillOpacity(
                "maturity:O",
                sort=[MATURE, MATURING],
                scale=alt.Scale(domain=[MATURE, MATURING], range=[1.0, 0.3]),
                legend=maturity_legend,
            ),
            strokeDash=alt.StrokeDash(
                "maturity:O",
                sort=[MATURE, MATURING],
                scale=alt.Scale(domain=[MATURE, MATURING], range=[[1, 0], [4, 2]]),
                legend=maturity_legend,
            ),
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.2)),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Cohort"),
                alt.Tooltip("step_label:N", title="Step"),
                alt.Tooltip("group:N", title="Leads from"),
                alt.Tooltip("entered:Q", title="Entered the first stage", format=COUNT_TOOLTIP),
                alt.Tooltip("reached:Q", title="Reached the next", format=COUNT_TOOLTIP),
                alt.Tooltip("conversion:Q", title="Conversion", format=SHARE_TOOLTIP),
                alt.Tooltip("maturity:N", title="Cohort"),
                alt.Tooltip("maturity_days:Q", title="Typical days for the step", format=".0f"),
            ],
        )
        .add_params(highlight)
    )
    labels = base.mark_text(dy=-5, fontSize=10, color=_INK).encode(
        x=x,
        xOffset=offset,
        y=y,
        text=alt.Text("conversion:Q", format=SHARE_AXIS),
        opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.2)),
    )
    default = [
        "Cohort mode: of the leads that reached a stage in the quarter, the share that has "
        "reached the next one so far.",
        "Pale, dashed bars: cohorts still maturing (younger than the step's p90 time: 9 in 10 "
        "conversions come within it); their share will grow.",
    ]
    return (
        layer(bars, labels)
        .add_params(group)
        .properties(width=680, height=240, title=_title(title, subtitle, default))
    )


@shows("funnel")
def chart_funnel_period(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    title: str = "Leads entering each stage in the quarter",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Period mode: how many leads entered each stage in ``quarter``, and the ratio of
    flows to the stage before (a ratio of two flows, **not** a conversion rate).

    ``frame`` is :func:`alignment_lib.metrics.funnel_period` output, with or
    without lead columns to split by; a dropdown then picks "All leads" (the
    sum), a channel or a segment. The stages are the frame's, in its
    ``stage_order`` (a funnel of the tracked stages skips the others).
    """
    src = collect(frame)
    if src.is_empty():
        return chart_no_data(no_data_message("leads", quarter=quarter), title=title)
    _quarter_index(src, quarter)
    src = src.filter(pl.col("fiscal_quarter") == quarter)
    if src["entering"].sum() == 0:
        return chart_no_data(f"No lead entered a stage in {quarter}", title=title)
    previous = pl.col("entering").shift(1).over("group", order_by="stage_order")
    data = (
        _summed(src, keys=_STAGE_KEYS, aggs=[pl.col("entering").sum()])
        .with_columns(_previous=previous)
        .with_columns(
            stage_label=pl.col("stage").replace_strict(STAGE_LABELS, default=pl.col("stage")),
            flow_ratio=pl.when(pl.col("_previous") > 0).then(
                pl.col("entering") / pl.col("_previous")
            ),
        )
        .drop("_previous")
        .sort("stage_order", "group")
    )
    options = _options(data, "entering")
    data = data.filter(pl.col("group").is_in(options))
    data = data.with_columns(
        label=pl.Series(
            [
                f"{n:,}" if r is None else f"{n:,} · ratio of flows {r:.2f}"
                for n, r in zip(data["entering"], data["flow_ratio"], strict=True)
            ],
            dtype=pl.String,
        )
    )
    stages = data.sort("stage_order")["stage_label"].unique(maintain_order=True).to_list()
    group = _group_param(options)
    base = alt.Chart(data).transform_filter(alt.datum.group == group)
    y = alt.Y("stage_label:N", sort=stages, title=None, axis=alt.Axis(labelFontSize=12))
    x = alt.X(
        "entering:Q",
        title=f"Leads entering the stage in {quarter}",
        axis=alt.Axis(format=COUNT_TOOLTIP),
        scale=alt.Scale(nice=True),
    )
    bars = base.mark_bar(color=NEUTRAL).encode(
        y=y,
        x=x,
        tooltip=[
            alt.Tooltip("stage_label:N", title="Stage"),
            alt.Tooltip("group:N", title="Leads from"),
            alt.Tooltip("entering:Q", title=f"Entered in {quarter}", format=COUNT_TOOLTIP),
            alt.Tooltip(
                "flow_ratio:Q", title="Ratio of flows (not a conversion rate)", format=".2f"
            ),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11, color=_INK).encode(
        y=y, x="entering:Q", text="label:N"
    )
    codes = data.sort("stage_order")["stage"].unique(maintain_order=True).to_list()
    later, earlier = (codes[2], codes[1]) if len(codes) > 2 else (codes[-1], codes[0])
    default = [
        PERIOD_CAPTION,
        f"Each bar counts different leads: this quarter's {_PLURAL.get(later, later)} mostly "
        f"became {_PLURAL.get(earlier, earlier)} earlier.",
    ]
    return (
        layer(bars, labels)
        .add_params(group)
        .properties(width=480, height=alt.Step(28), title=_title(title, subtitle, default))
    )


@shows("funnel")
def chart_stage_durations(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    splits: Sequence[pl.DataFrame | pl.LazyFrame] = (),
    title: str = "Time between stages",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Median and p90 days between adjacent stages, for leads that reached the later stage
    in ``quarter``, on a log-like (symlog) axis: steps take hours to months.

    ``frame`` is :func:`alignment_lib.metrics.stage_durations` output for all
    leads; each of ``splits`` is the same metric split by one lead column
    (medians do not add up, so each is its own call), and a dropdown then
    picks "All leads" or a group. Dot: median; line to the tick: p90.
    """
    src = collect(frame)
    if src.is_empty():
        return chart_no_data(no_data_message("leads", quarter=quarter), title=title)
    _quarter_index(src, quarter)
    if src.filter((pl.col("fiscal_quarter") == quarter) & (pl.col("records") > 0)).is_empty():
        return chart_no_data(f"No lead moved between stages in {quarter}", title=title)
    columns = ["step", "from_stage", "to_stage", "records", "median_days", "p90_days"]
    parts = [
        src.filter(pl.col("fiscal_quarter") == quarter)
        .select(columns)
        .with_columns(group=pl.lit(ALL_LEADS))
    ]
    for split in splits:
        s = collect(split).filter(pl.col("fiscal_quarter") == quarter)
        by = _groupings(s)
        if len(by) != 1:
            raise ParameterError(
                f"each split must be stage_durations output split by one lead column, got "
                f"{by or 'none'}; pass stage_durations(..., by=['segment'])"
            )
        parts.append(s.with_columns(group=_group_label(by[0])).select(*columns, "group"))
    data = (
        pl.concat(parts)
        .with_columns(
            step_label=_step_labels(),
        )
        .sort("step", "group")
    )
    options = _options(data, "records")
    data = data.filter(pl.col("group").is_in(options) & (pl.col("records") > 0))
    data = data.with_columns(
        label=pl.Series(
            [
                f"{_days(m)} d (p90 {_days(p)} d)"
                for m, p in zip(data["median_days"], data["p90_days"], strict=True)
            ],
            dtype=pl.String,
        )
    )
    steps = data.sort("step")["step_label"].unique(maintain_order=True).to_list()
    group = _group_param(options)
    base = alt.Chart(data).transform_filter(alt.datum.group == group)
    y = alt.Y("step_label:N", sort=steps, title=None, axis=alt.Axis(labelFontSize=12))
    # a fixed domain keeps the axis still when the dropdown changes group; wider if needed
    longest = max(400.0, (column_max(data, "p90_days") or 0.0) * 1.1)
    lowest = min(0.0, (column_min(data, "median_days") or 0.0))  # out-of-order CRM data
    scale = alt.Scale(type="symlog", constant=1, domain=[lowest, longest])
    x = alt.X(
        "median_days:Q",
        scale=scale,
        title=f"Days, on a log scale (later stage reached in {quarter})",
        axis=alt.Axis(values=[0, 1, 2, 7, 14, 30, 60, 90, 180, 365], format=",d"),
    )
    tooltip = [
        alt.Tooltip("step_label:N", title="Step"),
        alt.Tooltip("group:N", title="Leads from"),
        alt.Tooltip("records:Q", title="Leads", format=COUNT_TOOLTIP),
        alt.Tooltip("median_days:Q", title="Median days", format=DAYS_TOOLTIP),
        alt.Tooltip("p90_days:Q", title="p90 days", format=DAYS_TOOLTIP),
    ]
    whisker = base.mark_rule(color=NEUTRAL, strokeWidth=2).encode(
        y=y, x=x, x2="p90_days:Q", tooltip=tooltip
    )
    p90 = base.mark_tick(color=NEUTRAL, thickness=2, size=14).encode(
        y=y, x=alt.X("p90_days:Q", scale=scale), tooltip=tooltip
    )
    median = base.mark_point(filled=True, size=90, color=_INK, opacity=1).encode(
        y=y, x=x, tooltip=tooltip
    )
    labels = base.mark_text(align="left", dx=10, fontSize=11, color=_INK).encode(
        y=y, x=alt.X("p90_days:Q", scale=scale), text="label:N"
    )
    default = [
        f"Leads that reached the later stage in {quarter}. Dot: median; line to the tick: "
        "p90 (1 in 10 took longer)."
    ]
    return (
        layer(whisker, p90, median, labels)
        .add_params(group)
        .properties(width=560, height=alt.Step(34), title=_title(title, subtitle, default))
    )


def _days(value: float | None) -> str:
    """1.5 -> '1.5'; 127.7 -> '128': a decimal only where it matters."""
    if value is None:
        return "–"
    return f"{value:,.1f}" if abs(value) < 10 else f"{value:,.0f}"
