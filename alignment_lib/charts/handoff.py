"""Charts of 'The handoff' workbook: what became of the MQLs, why sales rejected them,
how fast sales responded.

Every builder takes the (small) output of a metric in
:mod:`alignment_lib.metrics.handoff`, collected or lazy. Outcome counts add
up across channels, so a frame split by ``channel`` also gives the "All
channels" view, summed here; response-time medians do not add up, so each
split of :func:`~alignment_lib.metrics.response_times` is its own metric call.

Colours: no chart here shows an opportunity source, so none uses the team
colours (marketing orange, sales blue, partner green keep their meaning on
every page). Outcomes use other Okabe-Ito colours, safe for colour-blind
readers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    COUNT_TOOLTIP,
    SHARE_AXIS,
    SHARE_TOOLTIP,
    chart_no_data,
    collect,
    layer,
    no_data_message,
    shows,
)
from alignment_lib.exceptions import ParameterError
from alignment_lib.gate import MEASURES, not_shown
from alignment_lib.metrics.handoff import NO_REASON
from alignment_lib.theme import GROUP_LABELS, NEUTRAL, NOT_SET
from alignment_lib.tracking import Tracking

__all__ = [
    "ALL_CHANNELS",
    "OUTCOME_COLORS",
    "chart_leaked_mqls",
    "chart_mql_outcomes",
    "chart_rejection_reasons",
    "chart_response_times",
    "chart_weekly_sla",
]

#: the dropdown entry that sums every channel
ALL_CHANNELS = "All channels"
#: d3 formats for durations
HOURS_AXIS = ",d"
HOURS_TOOLTIP = ",.1f"

#: the outcomes an MQL ends up in (accepted, rejected, pending and leaked, which has two
#: kinds), bottom of the stack first, with their labels
OUTCOME_LABELS: dict[str, str] = {
    "accepted": "Accepted",
    "rejected": "Rejected",
    "pending": "Pending",
    "leaked_untouched": "Leaked: never touched",
    "leaked_stalled": "Leaked: stalled (touched, no decision)",
}
#: Okabe-Ito colours other than the three team colours; the two kinds of leaked in purples
OUTCOME_COLORS: dict[str, str] = {
    "Accepted": "#56B4E9",
    "Rejected": "#D55E00",
    "Pending": "#BBBBBB",
    "Leaked: never touched": "#CC79A7",
    "Leaked: stalled (touched, no decision)": "#882255",
}
#: the two kinds of leaked MQLs, with their labels
LEAKED_KINDS = {k: v for k, v in OUTCOME_LABELS.items() if k.startswith("leaked_")}
_OVER_SLA = "#D55E00"
_WITHIN_SLA = "#56B4E9"
_INK = "#333333"
_QUARTER = ["quarter_index", "fiscal_quarter"]


def _with_all_channels(
    data: pl.DataFrame, *, keys: Sequence[str], counts: Sequence[str]
) -> pl.DataFrame:
    """Rows per ``group``: "All channels" (the sum of the counts) then each channel.

    A frame without a ``channel`` column is already the total.
    """
    total = (
        data.group_by(keys, maintain_order=True)
        .agg(pl.col(c).sum() for c in counts)
        .with_columns(group=pl.lit(ALL_CHANNELS))
    )
    if "channel" not in data.columns:
        return total.select(*keys, "group", *counts)
    parts = data.with_columns(group=pl.col("channel").fill_null(NOT_SET))
    return pl.concat([total.select(*keys, "group", *counts), parts.select(*keys, "group", *counts)])


def _channel_options(data: pl.DataFrame, count: str) -> list[str]:
    """'All channels' first, then the channels that have any ``count``, by name."""
    seen = (
        data.filter(pl.col("group") != ALL_CHANNELS)
        .group_by("group")
        .agg(pl.col(count).sum())
        .filter(pl.col(count) > 0)
        .sort("group")
    )
    return [ALL_CHANNELS, *seen["group"].to_list()]


def _channel_param(options: list[str]) -> alt.Parameter:
    return alt.param(
        name="channel",
        value=ALL_CHANNELS,
        bind=alt.binding_select(options=options, name="Channel "),
    )


def _quarters(data: pl.DataFrame) -> list[str]:
    return data.sort("quarter_index")["fiscal_quarter"].unique(maintain_order=True).to_list()


def _title(title: str, subtitle: str | Sequence[str] | None) -> alt.Title:
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle or [])
    return alt.Title(title, subtitle=lines)


@shows("mql_outcomes")
def chart_mql_outcomes(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "What became of the MQLs handed to sales",
    subtitle: str | Sequence[str] | None = None,
    report_quarter: str | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """MQLs by quarter as parts of 100%: accepted, rejected, pending, and leaked in its two
    kinds (never touched past the SLA; stalled: touched, no decision past the threshold).

    ``frame`` is :func:`alignment_lib.metrics.mql_outcomes` output (one row
    per quarter, optionally per ``channel``). With channels, a dropdown picks
    one ("All channels", their sum, by default). Clicking a legend entry
    highlights that outcome. The MQL count is written above each bar;
    ``report_quarter`` (a label) is outlined.
    """
    src = collect(frame)
    if src.is_empty() or src["mqls"].sum() == 0:
        return chart_no_data(no_data_message("MQLs", quarter="the quarters shown"), title=title)
    parts = list(OUTCOME_LABELS)
    grouped = _with_all_channels(src, keys=_QUARTER, counts=["mqls", *parts])
    quarters = _quarters(grouped)
    long = (
        grouped.unpivot(on=parts, index=[*_QUARTER, "group", "mqls"], variable_name="part")
        .rename({"value": "count"})
        .with_columns(
            outcome=pl.col("part").replace_strict(OUTCOME_LABELS),
            outcome_order=pl.col("part").replace_strict({p: i for i, p in enumerate(parts)}),
            share=pl.when(pl.col("mqls") > 0).then(pl.col("count") / pl.col("mqls")),
        )
        .drop("part")
        .sort("quarter_index", "group", "outcome_order")
    )
    options = _channel_options(grouped, "mqls")
    long = long.filter(pl.col("group").is_in(options))
    channel = _channel_param(options)
    highlight = alt.selection_point(name="outcome_highlight", fields=["outcome"], bind="legend")
    x = alt.X("fiscal_quarter:O", sort=quarters, title=None)
    base = alt.Chart(long).transform_filter(alt.datum.group == channel)
    bars = (
        base.mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "share:Q",
                stack="zero",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=SHARE_AXIS),
                title="Share of the quarter's MQLs",
            ),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=list(OUTCOME_COLORS), range=list(OUTCOME_COLORS.values())),
                sort=list(OUTCOME_COLORS),
                legend=alt.Legend(title=None, labelLimit=0),
            ),
            order=alt.Order("outcome_order:Q"),
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.25)),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="MQL quarter"),
                alt.Tooltip("group:N", title="Channel"),
                alt.Tooltip("outcome:N", title="Outcome"),
                alt.Tooltip("count:Q", title="MQLs", format=COUNT_TOOLTIP),
                alt.Tooltip("share:Q", title="Share of MQLs", format=SHARE_TOOLTIP),
            ],
        )
        .add_params(highlight)
    )
    totals = (
        base.transform_filter(alt.FieldEqualPredicate(field="outcome", equal="Accepted"))
        .mark_text(dy=-6, fontSize=11, color=_INK)
        .encode(x=x, y=alt.datum(1), text=alt.Text("mqls:Q", format=COUNT_TOOLTIP))
    )
    layers: list[alt.Chart] = [bars, totals]
    if report_quarter is not None:
        layers.append(
            base.transform_filter(
                alt.FieldEqualPredicate(field="fiscal_quarter", equal=report_quarter)
            )
            .transform_filter(alt.FieldEqualPredicate(field="outcome", equal="Accepted"))
            .mark_bar(fill=None, stroke="#222222", strokeWidth=1.5)
            .encode(x=x, y=alt.datum(0), y2=alt.datum(1))
        )
    return (
        layer(*layers)
        .add_params(channel)
        .properties(width=min(620, 72 * len(quarters)), height=240, title=_title(title, subtitle))
    )


@shows("rejection_reasons")
def chart_rejection_reasons(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    title: str = "Why sales rejected MQLs",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Rejections in one quarter by reason, largest first, with each reason's share.

    ``frame`` is :func:`alignment_lib.metrics.rejection_reasons` output,
    optionally split by ``channel`` (then a dropdown picks a channel; "All
    channels" by default). Rejections without a reason are grey: a large grey
    bar means sales is not saying why.
    """
    src = collect(frame).filter(pl.col("fiscal_quarter") == quarter)
    grouped = (
        _with_all_channels(src, keys=[*_QUARTER, "rejection_reason"], counts=["rejected"])
        .with_columns(
            # a channel without rejections has no shares (0/0): null, and its rows are dropped below
            share=pl.when(pl.col("rejected").sum().over("group") > 0).then(
                pl.col("rejected") / pl.col("rejected").sum().over("group")
            ),
        )
        .with_columns(
            label=pl.format(
                "{} · {}%", pl.col("rejected"), (pl.col("share") * 100).round(0).cast(pl.Int64)
            ),
            reason=pl.when(pl.col("rejection_reason") == NO_REASON)
            .then(pl.lit("No reason given"))
            .otherwise(pl.lit("Reason given")),
        )
    )
    options = _channel_options(grouped, "rejected")
    data = grouped.filter(pl.col("group").is_in(options) & (pl.col("rejected") > 0)).sort(
        "group", "rejection_reason"
    )
    if data.is_empty():
        return chart_no_data(no_data_message("MQLs rejected", quarter=quarter), title=title)
    channel = _channel_param(options)
    base = alt.Chart(data).transform_filter(alt.datum.group == channel)
    # One row per reason once filtered to a channel. Layers union their domains, which keeps
    # a sort only with op count, min or max (a "-x" or "sum" sort is silently dropped).
    y = alt.Y(
        "rejection_reason:N",
        sort=alt.EncodingSortField(field="rejected", op="max", order="descending"),
        title=None,
    )
    bars = base.mark_bar().encode(
        y=y,
        x=alt.X("rejected:Q", title="Rejected MQLs", axis=alt.Axis(format=COUNT_TOOLTIP)),
        color=alt.Color(
            "reason:N",
            scale=alt.Scale(domain=["Reason given", "No reason given"], range=[_OVER_SLA, NEUTRAL]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("rejection_reason:N", title="Reason"),
            alt.Tooltip("group:N", title="Channel"),
            alt.Tooltip("rejected:Q", title="Rejected MQLs", format=COUNT_TOOLTIP),
            alt.Tooltip("share:Q", title="Share of rejections", format=SHARE_TOOLTIP),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11, color=_INK).encode(
        y=y, x="rejected:Q", text="label:N"
    )
    return (
        layer(bars, labels)
        .add_params(channel)
        .properties(width=480, height=alt.Step(26), title=_title(title, subtitle))
    )


def _worst_first(data: pl.DataFrame) -> pl.DataFrame:
    """Lowest SLA compliance first (nothing due last), then the slowest median."""
    return data.sort(
        ["sla_compliance", "median_hours", "label"],
        descending=[False, True, False],
        nulls_last=True,
    )


@shows("response_times")
def chart_response_times(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    by: str,
    quarter: str,
    sla_hours: float = 24.0,
    sla_clock: str = "calendar",
    sla_target: float | None = None,
    limit: int | None = None,
    min_due: int = 1,
    title: str = "How fast sales touched the MQLs",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.HConcatChart | alt.LayerChart:
    """Median and p90 hours to a first touch, and SLA compliance, per ``by`` value.

    ``frame`` is :func:`alignment_lib.metrics.response_times` output split by
    ``by`` (``"channel"`` or ``"owner_id"``); only ``quarter`` (a label) is
    drawn. Rows are worst first (lowest SLA compliance); ``limit`` keeps that
    many (e.g. the 10 slowest reps) among those with at least ``min_due`` MQLs
    due, so a rep with two MQLs does not top the list by chance. Left: bars
    for the median (vermillion when over ``sla_hours``), black ticks for the
    p90, a dashed line at the SLA. Right: SLA compliance, with ``sla_target``
    (0-1) as a dashed line when given. Clicking a legend entry highlights it.
    By ``"owner_id"`` it also needs the lead owners (``tracking``). ``sla_hours``
    and ``sla_clock`` as the metric used (``"business"``: hours are working hours).
    """
    if by == "owner_id" and (said := not_shown(tracking, "response_by_rep")):
        return chart_no_data(said, title=MEASURES["response_by_rep"].label, width=620)
    if by not in frame.collect_schema().names():
        raise ParameterError(
            f"frame has no column {by!r}; expected response_times output split by it: "
            f"pass response_times(..., by=[{by!r}])"
        )
    business = sla_clock == "business"
    sla_words = f"{sla_hours:g} working-hour" if business else f"{sla_hours:g} h"
    within, over = f"Median within the {sla_words} SLA", f"Median over the {sla_words} SLA"
    hours_word = "Working hours" if business else "Hours"
    data = (
        collect(frame)
        .filter(
            (pl.col("fiscal_quarter") == quarter)
            & (pl.col("mqls") > 0)
            & (pl.col("mqls_due") >= min_due)
        )
        .with_columns(
            label=pl.col(by).fill_null(NOT_SET),
            speed=pl.when(pl.col("median_hours") > sla_hours)
            .then(pl.lit(over))
            .otherwise(pl.lit(within)),
        )
        .pipe(_worst_first)
    )
    if limit is not None:
        data = data.head(limit)
    if data.is_empty():
        due = f" with at least {min_due} MQLs due" if min_due > 1 else ""
        noun = "rep" if by == "owner_id" else GROUP_LABELS.get(by, by).lower()
        what = f"{noun}{due}"
        return chart_no_data(f"No MQLs in {quarter} for any {what}", title=title)
    order = data["label"].to_list()
    group_title = GROUP_LABELS.get(by, by)
    tooltip = [
        alt.Tooltip("label:N", title=group_title),
        alt.Tooltip("mqls:Q", title="MQLs", format=COUNT_TOOLTIP),
        alt.Tooltip("touched:Q", title="Touched", format=COUNT_TOOLTIP),
        alt.Tooltip(
            "median_hours:Q",
            title=f"Median {hours_word.lower()} to first touch",
            format=HOURS_TOOLTIP,
        ),
        alt.Tooltip(
            "p90_hours:Q", title=f"p90 {hours_word.lower()} to first touch", format=HOURS_TOOLTIP
        ),
        alt.Tooltip("within_sla:Q", title="Touched within the SLA", format=COUNT_TOOLTIP),
        alt.Tooltip("mqls_due:Q", title="MQLs due", format=COUNT_TOOLTIP),
        alt.Tooltip("sla_compliance:Q", title="SLA compliance", format=SHARE_TOOLTIP),
    ]
    y = alt.Y("label:N", sort=order, title=None)
    highlight = alt.selection_point(name="speed_highlight", fields=["speed"], bind="legend")
    base = alt.Chart(data)
    bars = (
        base.mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "median_hours:Q",
                title=f"{hours_word} from MQL to first touch",
                axis=alt.Axis(format=HOURS_AXIS),
            ),
            color=alt.Color(
                "speed:N",
                scale=alt.Scale(domain=[over, within], range=[_OVER_SLA, _WITHIN_SLA]),
                legend=alt.Legend(title=None, labelLimit=0),
            ),
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.25)),
            tooltip=tooltip,
        )
        .add_params(highlight)
    )
    p90 = base.mark_tick(color=_INK, thickness=2).encode(y=y, x="p90_hours:Q", tooltip=tooltip)
    sla = pl.DataFrame({"hours": [float(sla_hours)], "label": [f"{sla_words} SLA"]})
    sla_rule = alt.Chart(sla).mark_rule(strokeDash=[4, 3], color=_INK).encode(x="hours:Q")
    sla_text = (
        alt.Chart(sla)
        .mark_text(align="left", baseline="top", dx=3, y=-14, fontSize=11, color=_INK)
        .encode(x="hours:Q", text="label:N")
    )
    left = layer(bars, p90, sla_rule, sla_text).properties(width=360, height=alt.Step(22))
    compliance = base.mark_bar(color=_WITHIN_SLA).encode(
        y=alt.Y("label:N", sort=order, axis=None),
        x=alt.X(
            "sla_compliance:Q",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=SHARE_AXIS),
            title="Touched within the SLA",
        ),
        tooltip=tooltip,
    )
    values = base.mark_text(align="left", dx=3, fontSize=11, color=_INK).encode(
        y=alt.Y("label:N", sort=order, axis=None),
        x="sla_compliance:Q",
        text=alt.Text("sla_compliance:Q", format=SHARE_AXIS),
    )
    right_layers: list[alt.Chart] = [compliance, values]
    if sla_target is not None:
        target = pl.DataFrame({"target": [float(sla_target)]})
        right_layers.append(
            alt.Chart(target).mark_rule(strokeDash=[4, 3], color=_INK).encode(x="target:Q")
        )
    right = layer(*right_layers).properties(width=170, height=alt.Step(22))
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle or [])
    if not lines:
        note = f" and the {sla_target:.0%} target" if sla_target is not None else ""
        lines = [
            f"{quarter} MQLs. Bars: median {hours_word.lower()} to a first touch; ticks: p90 "
            f"(1 in 10 waited longer); dashed lines: the {sla_words} SLA{note}."
        ]
    return alt.hconcat(left, right, spacing=12, title=alt.Title(title, subtitle=lines))


@shows("response_times")
def chart_weekly_sla(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    sla_target: float | None = None,
    quarter: str | None = None,
    quarter_start: dt.date | None = None,
    title: str = "SLA compliance by week",
    subtitle: str | Sequence[str] | None = None,
    sla_clock: str = "calendar",
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Weekly SLA compliance (share of MQLs due that were touched within the SLA).

    ``frame`` is :func:`alignment_lib.metrics.response_times` output with
    ``period="week"`` (one row per week, named by its Monday). Weeks with no
    MQL due are left out; the first and last weeks of the range can be
    partial (the tooltip shows how many MQLs a point stands for).
    ``sla_target`` (0-1) draws a dashed target line; ``quarter_start`` (the
    first day of the report quarter, labelled ``quarter``) a vertical line.
    ``sla_clock`` as the metric used (``"business"``: the hours are working hours).
    """
    hours = "working hours" if sla_clock == "business" else "hours"
    data = (
        collect(frame)
        .filter(pl.col("mqls_due") > 0)
        .select(
            "week_start",
            "mqls",
            "mqls_due",
            "within_sla",
            "sla_compliance",
            "median_hours",
            "p90_hours",
        )
        .sort("week_start")
    )
    if data.is_empty():
        return chart_no_data("No MQL was due for a first touch in these weeks", title=title)
    # Ticks on the Mondays that name the weeks (every other one), not on d3's Sundays.
    mondays = data["week_start"].to_list()[:: 2 if data.height <= 20 else 3]
    x = alt.X(
        "week_start:T",
        title="Week of MQL (by its Monday)",
        axis=alt.Axis(
            format="%d %b",
            values=[alt.DateTime(year=d.year, month=d.month, date=d.day) for d in mondays],
        ),
    )
    y = alt.Y(
        "sla_compliance:Q",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=SHARE_AXIS),
        title="Touched within the SLA",
    )
    tooltip = [
        alt.Tooltip("week_start:T", title="Week of", format="%d %b %Y"),
        alt.Tooltip("mqls:Q", title="MQLs", format=COUNT_TOOLTIP),
        alt.Tooltip("mqls_due:Q", title="MQLs due", format=COUNT_TOOLTIP),
        alt.Tooltip("within_sla:Q", title="Touched within the SLA", format=COUNT_TOOLTIP),
        alt.Tooltip("sla_compliance:Q", title="SLA compliance", format=SHARE_TOOLTIP),
        alt.Tooltip("median_hours:Q", title=f"Median {hours} to first touch", format=HOURS_TOOLTIP),
        alt.Tooltip("p90_hours:Q", title=f"p90 {hours} to first touch", format=HOURS_TOOLTIP),
    ]
    base = alt.Chart(data)
    layers: list[alt.Chart] = [
        base.mark_line(color=_WITHIN_SLA, strokeWidth=2).encode(x=x, y=y),
        base.mark_point(filled=True, color=_WITHIN_SLA, size=45, opacity=1).encode(
            x=x, y=y, tooltip=tooltip
        ),
    ]
    if sla_target is not None:
        target = pl.DataFrame(
            {"target": [float(sla_target)], "label": [f"Target {sla_target:.0%}"]}
        )
        layers.append(
            alt.Chart(target).mark_rule(strokeDash=[4, 3], color=_INK).encode(y="target:Q")
        )
        layers.append(
            alt.Chart(target)
            .mark_text(align="right", baseline="top", dy=3, x="width", fontSize=11, color=_INK)
            .encode(y="target:Q", text="label:N")
        )
    if quarter_start is not None:
        start = pl.DataFrame({"start": [quarter_start], "label": [f"{quarter or ''} →"]})
        layers.append(alt.Chart(start).mark_rule(color=NEUTRAL).encode(x="start:T"))
        layers.append(
            alt.Chart(start)
            .mark_text(align="left", baseline="top", dx=4, y=2, fontSize=11, color=NEUTRAL)
            .encode(x="start:T", text="label:N")
        )
    return layer(*layers).properties(width=620, height=200, title=_title(title, subtitle))


@shows("mql_outcomes")
def chart_leaked_mqls(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    title: str = "MQLs that leaked: never touched, or stalled without a decision",
    subtitle: str | Sequence[str] | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Leaked MQLs of one quarter per channel, most first: never touched past the SLA and
    stalled (touched, no decision past the threshold) stacked, with the channel's leaked
    share.

    ``frame`` is :func:`alignment_lib.metrics.mql_outcomes` output split by
    ``channel``; only ``quarter`` (a label) is drawn, channels with no MQLs
    are left out.
    """
    src = collect(frame)
    if "channel" not in src.columns:
        raise ParameterError(
            "frame has no column 'channel'; expected mql_outcomes output split by channel: "
            "pass mql_outcomes(..., by=['channel'])"
        )
    data = (
        src.filter((pl.col("fiscal_quarter") == quarter) & (pl.col("mqls") > 0))
        .with_columns(
            label=pl.col("channel").fill_null(NOT_SET),
            text=pl.format(
                "{} · {}% of its MQLs",
                pl.col("leaked"),
                (pl.col("leaked_rate") * 100).round(0).cast(pl.Int64),
            ),
        )
        .sort(["leaked", "label"], descending=[True, False])
        .select("label", "mqls", "leaked", "leaked_rate", "text", *LEAKED_KINDS)
    )
    if data.is_empty():
        return chart_no_data(no_data_message("MQLs", quarter=quarter), title=title)
    order = data["label"].to_list()
    kinds = list(LEAKED_KINDS.values())
    long = (
        data.unpivot(
            on=list(LEAKED_KINDS),
            index=["label", "mqls", "leaked", "leaked_rate", "text"],
            variable_name="kind",
            value_name="count",
        )
        .with_columns(
            kind_order=pl.col("kind").replace_strict(
                {k: i for i, k in enumerate(LEAKED_KINDS)}, return_dtype=pl.Int32
            ),
            kind=pl.col("kind").replace_strict(LEAKED_KINDS),
        )
        .sort("label", "kind_order")
    )
    y = alt.Y("label:N", sort=order, title=None)
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "sum(count):Q",
                title="Leaked MQLs",
                axis=alt.Axis(format=COUNT_TOOLTIP, tickMinStep=1),
            ),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=kinds, range=[OUTCOME_COLORS[k] for k in kinds]),
                sort=kinds,
                legend=alt.Legend(title=None, labelLimit=0, orient="bottom"),
            ),
            order=alt.Order("kind_order:Q"),
            tooltip=[
                alt.Tooltip("label:N", title="Channel"),
                alt.Tooltip("kind:N", title="Leaked"),
                alt.Tooltip("count:Q", title="MQLs of this kind", format=COUNT_TOOLTIP),
                alt.Tooltip("leaked:Q", title="Leaked MQLs", format=COUNT_TOOLTIP),
                alt.Tooltip("mqls:Q", title="MQLs", format=COUNT_TOOLTIP),
                alt.Tooltip(
                    "leaked_rate:Q", title="Share of the channel's MQLs", format=SHARE_TOOLTIP
                ),
            ],
        )
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=11, color=_INK)
        .encode(y=y, x="leaked:Q", text="text:N")
    )
    return layer(bars, labels).properties(
        width=440, height=alt.Step(22), title=_title(title, subtitle)
    )
