"""Charts of the 'Business cycles' workbook: the hockey stick, linearity, seasons, cycles, slips.

Every builder takes a small metric result, returns an altair chart and never
displays it. Sources (teams) keep their house colours (``theme.SOURCE_COLORS``);
every other category (segments, deal sizes, statuses, outcomes) takes the other
Okabe-Ito colours, which stay apart for the common forms of colour blindness.
Interactivity works in the exported HTML without a kernel: clicking a legend
entry highlights it, and the sales-cycle chart has a dropdown.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    AMOUNT_AXIS,
    AMOUNT_TOOLTIP,
    COUNT_TOOLTIP,
    SHARE_AXIS,
    SHARE_TOOLTIP,
    chart_no_data,
    collect,
    column_max,
    layer,
    shows,
)
from alignment_lib.gate import missing
from alignment_lib.metrics.cycles import LINEARITY_STATUSES, MONTH3_HEALTHY_MAX, MONTH3_SEVERE_MIN
from alignment_lib.metrics.deals import DEAL_SIZE_BANDS
from alignment_lib.narrative._format import format_money
from alignment_lib.theme import NEUTRAL, SOURCE_COLORS, SOURCE_LABELS
from alignment_lib.tracking import Tracking

__all__ = [
    "GROUP_COLORS",
    "chart_bookings_linearity",
    "chart_hockey_stick",
    "chart_sales_cycle",
    "chart_seasonality",
    "chart_slipped_deals",
]

#: Okabe-Ito colours other than the three team colours, for groups that are not teams
#: (segments, deal sizes, statuses, outcomes).
GROUP_COLORS: tuple[str, ...] = ("#56B4E9", "#CC79A7", "#D55E00", "#000000", "#F0E442", NEUTRAL)

HIGHLIGHT = "#D55E00"  # the report quarter
DIMMED = 0.15  # opacity of what a legend click did not pick
_PAST = ("#DADADA", "#8C8C8C")  # lightest (oldest) and darkest past-quarter lines

STATUS_COLORS = dict(zip(LINEARITY_STATUSES, ("#56B4E9", "#CC79A7", "#D55E00"), strict=True))
#: what became of a quarter's expected deals, bottom of the stack first: the two kinds of
#: slipped (did not close in the quarter), then lost and won; they add up to the expected
OUTCOME_LABELS = {
    "pushed": "Slipped: pushed past the quarter",
    "still_open": "Slipped: still open",
    "lost": "Lost in the quarter",
    "won": "Won in the quarter",
}
OUTCOME_COLORS = dict(
    zip(OUTCOME_LABELS, ("#D55E00", "#F0E442", "#BBBBBB", "#56B4E9"), strict=True)
)
MEASURE_LABELS = {"bookings": "Bookings", "pipeline_created": "Pipeline created", "mqls": "MQLs"}
CYCLE_MEASURES = {"median_days_won": "Won deals", "median_days_closed": "All closed deals"}
NO_GROUP = "(none)"
NO_AMOUNT = "no amount"
_LINEARITY_WIDTH = 620


def _quarters(data: pl.DataFrame) -> list[str]:
    """Quarter labels in time order (never alphabetical)."""
    return (
        data.sort("quarter_index")
        .select(pl.col("fiscal_quarter").unique(maintain_order=True))
        .to_series()
        .to_list()
    )


def _legend_pick(field: str, name: str) -> alt.Parameter:
    """Clicking a legend entry highlights it (shift-click adds more); works offline."""
    return alt.selection_point(fields=[field], bind="legend", name=name)


def _message(text: str, title: str) -> alt.LayerChart:
    """A chart that says why there is nothing to draw, instead of an empty frame."""
    return chart_no_data(text, title=title, width=620)


def _ramp(n: int) -> list[str]:
    """n greys from light (oldest) to dark (newest)."""
    if n <= 1:
        return [_PAST[1]] * n
    (a, b) = (int(_PAST[0][1:3], 16), int(_PAST[1][1:3], 16))
    return ["#" + f"{a + (b - a) * i // (n - 1):02X}" * 3 for i in range(n)]


# -- the hockey stick ------------------------------------------------------------------------
@shows("linearity")
def chart_hockey_stick(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "When in the quarter the number closes",
    subtitle: str | None = (
        "Cumulative share of each quarter's bookings by week; the report quarter is "
        "highlighted. Click a quarter in the legend to pick it out."
    ),
    report_quarter: str | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Cumulative share of each quarter's bookings by week of the quarter, one line a quarter.

    ``frame`` is :func:`alignment_lib.metrics.bookings_by_week` output. The
    report quarter is drawn thick in the highlight colour, earlier quarters in
    greys (older lighter); a dashed diagonal is an even pace. Lines start at
    0% before week 1. Click a quarter in the legend to pick it out.
    """
    weeks = collect(frame).filter(pl.col("cumulative_share").is_not_null())
    quarters = _quarters(weeks) if weeks.height else []
    data = (
        pl.concat(
            [
                weeks.select(
                    "quarter_index",
                    "fiscal_quarter",
                    "week_of_quarter",
                    pl.col("week_start").dt.strftime("%Y-%m-%d").alias("week_start"),
                    "deals",
                    "bookings",
                    "cumulative_bookings",
                    "cumulative_share",
                ),
                # week 0: every curve starts at 0 when the quarter opens
                weeks.filter(pl.col("week_of_quarter") == 1).select(
                    "quarter_index",
                    "fiscal_quarter",
                    pl.lit(0, dtype=pl.Int32).alias("week_of_quarter"),
                    pl.lit(None, dtype=pl.String).alias("week_start"),
                    pl.lit(0, dtype=pl.Int64).alias("deals"),
                    pl.lit(0.0).alias("bookings"),
                    pl.lit(0.0).alias("cumulative_bookings"),
                    pl.lit(0.0).alias("cumulative_share"),
                ),
            ]
        )
        .sort("quarter_index", "week_of_quarter")
        .drop("quarter_index")
    )
    if not quarters:
        return _message("No bookings in the quarters shown", title)
    if report_quarter in quarters:
        past = [q for q in quarters if q != report_quarter]
        colors = [*_ramp(len(past)), HIGHLIGHT]
        domain = [*past, report_quarter]
    else:
        domain, colors = quarters, _ramp(len(quarters))
    pick = _legend_pick("fiscal_quarter", "pick_quarter")
    base = alt.Chart(data)
    x = alt.X(
        "week_of_quarter:Q",
        title="Week of the quarter",
        scale=alt.Scale(domain=[0, int(column_max(data, "week_of_quarter") or 0)], nice=False),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    y = alt.Y(
        "cumulative_share:Q",
        title="Share of the quarter's bookings closed so far",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=SHARE_AXIS),
    )
    color = alt.Color(
        "fiscal_quarter:N",
        scale=alt.Scale(domain=domain, range=colors),
        legend=alt.Legend(title=None, columns=8, symbolType="stroke", symbolStrokeWidth=3),
    )
    is_report = alt.datum.fiscal_quarter == (report_quarter or "")
    lines = (
        base.mark_line(interpolate="monotone")
        .encode(
            x=x,
            y=y,
            color=color,
            detail="fiscal_quarter:N",
            strokeWidth=alt.when(is_report).then(alt.value(3.5)).otherwise(alt.value(1.6)),
            opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(DIMMED)),
            order="week_of_quarter:Q",
        )
        .add_params(pick)
    )
    points = (
        base.transform_filter(alt.datum.week_of_quarter > 0)
        .mark_point(filled=True, size=28)
        .encode(
            x=x,
            y=y,
            color=alt.Color("fiscal_quarter:N", scale=alt.Scale(domain=domain, range=colors)),
            # Points of the quarters picked in the legend show (of the report quarter
            # while nothing is picked); the others are invisible but still answer the
            # pointer with a tooltip.
            opacity=alt.when(pick, empty=False)
            .then(alt.value(0.9))
            .when(is_report & (alt.expr.length(alt.expr.data(f"{pick.name}_store")) == 0))
            .then(alt.value(0.9))
            .otherwise(alt.value(0.0)),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Quarter"),
                alt.Tooltip("week_of_quarter:Q", title="Week", format="d"),
                alt.Tooltip("week_start:N", title="Week starts"),
                alt.Tooltip("cumulative_share:Q", title="Closed so far", format=SHARE_TOOLTIP),
                alt.Tooltip(
                    "cumulative_bookings:Q", title="Bookings so far", format=AMOUNT_TOOLTIP
                ),
                alt.Tooltip("bookings:Q", title="Bookings this week", format=AMOUNT_TOOLTIP),
                alt.Tooltip("deals:Q", title="Deals this week", format=COUNT_TOOLTIP),
            ],
        )
    )
    last_full_week = 13  # 13 weeks = 91 days: an even pace reaches 100% there
    even = (
        alt.Chart(pl.DataFrame({"week": [0, last_full_week], "share": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color=NEUTRAL, strokeWidth=1)
        .encode(x="week:Q", y="share:Q")
    )
    even_label = (
        alt.Chart(pl.DataFrame({"week": [10.0], "share": [10 / last_full_week]}))
        .transform_calculate(text="'even pace'")
        .mark_text(color=NEUTRAL, align="right", dx=-8, dy=-8, fontSize=11)
        .encode(x="week:Q", y="share:Q", text="text:N")
    )
    return layer(even, even_label, lines, points).properties(
        width=720, height=300, title=alt.Title(title, subtitle=subtitle or [])
    )


# -- linearity -------------------------------------------------------------------------------
@shows("linearity")
def chart_bookings_linearity(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "How back-loaded each quarter's bookings are",
    subtitle: str | None = (
        "Bars: share closed in the quarter's third month; diamonds: share closed in its "
        "last two weeks. Click a status in the legend to pick it out."
    ),
    report_quarter: str | None = None,
    healthy_max: float = MONTH3_HEALTHY_MAX,
    severe_min: float = MONTH3_SEVERE_MIN,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Month-3 share of each quarter's bookings (bars, coloured by status) and the
    last-two-weeks share (black marks), with the healthy and severe thresholds as rules.

    ``frame`` is :func:`alignment_lib.metrics.bookings_linearity` output without
    ``by``. ``report_quarter`` (a label) is outlined. Click a status in the
    legend to pick out its quarters.
    """
    data = collect(frame).with_columns(
        pl.col("linearity_status").fill_null("no bookings").alias("status"),
        pl.lit("Closed in the last two weeks").alias("marker"),
    )
    if data.is_empty() or (data["bookings"].fill_null(0) == 0).all():
        # without bookings every share is null: nothing to draw, and no scale to size
        return _message("No bookings in the quarters shown", title)
    quarters = _quarters(data)
    top = max(severe_min + 0.1, (column_max(data, "month3_share") or 0.0) + 0.05)
    pick = _legend_pick("status", "pick_status")
    base = alt.Chart(data)
    x = alt.X("fiscal_quarter:O", sort=quarters, title=None)
    y_scale = alt.Scale(domain=[0, min(top, 1.0)], nice=False)
    tooltip = [
        alt.Tooltip("fiscal_quarter:N", title="Quarter"),
        alt.Tooltip("bookings:Q", title="Bookings", format=AMOUNT_TOOLTIP),
        alt.Tooltip("deals:Q", title="Won deals", format=COUNT_TOOLTIP),
        alt.Tooltip("month3_share:Q", title="Closed in month 3", format=SHARE_TOOLTIP),
        alt.Tooltip(
            "last_two_weeks_share:Q", title="Closed in the last two weeks", format=SHARE_TOOLTIP
        ),
        alt.Tooltip("status:N", title="Status"),
    ]
    bars = (
        base.mark_bar(width={"band": 0.7})
        .encode(
            x=x,
            y=alt.Y(
                "month3_share:Q",
                title="Share of the quarter's bookings",
                scale=y_scale,
                axis=alt.Axis(format=SHARE_AXIS),
            ),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values())),
                legend=alt.Legend(title="Closed in month 3"),
            ),
            opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    marks = base.mark_point(shape="diamond", filled=True, size=90, color="#222222").encode(
        x=x,
        y=alt.Y("last_two_weeks_share:Q", scale=y_scale),
        shape=alt.Shape(
            "marker:N",
            scale=alt.Scale(range=["diamond"]),
            legend=alt.Legend(
                title=None,
                labelLimit=300,
                symbolFillColor="#222222",
                symbolStrokeColor="#222222",
            ),
        ),
        tooltip=tooltip,
    )
    thresholds = pl.DataFrame(
        {
            "share": [healthy_max, severe_min],
            "text": [
                f"healthy: up to {healthy_max:.0%}",
                f"severe: {severe_min:.0%} and up",
            ],
            "color": [STATUS_COLORS[LINEARITY_STATUSES[0]], STATUS_COLORS[LINEARITY_STATUSES[2]]],
        }
    )
    rules = (
        alt.Chart(thresholds)
        .mark_rule(strokeDash=[5, 3], strokeWidth=1.5)
        .encode(y=alt.Y("share:Q", scale=y_scale), color=alt.Color("color:N", scale=None))
    )
    rule_text = (
        alt.Chart(thresholds)
        .mark_text(align="left", dx=6, fontSize=11, fontWeight=600)
        .encode(
            x=alt.value(_LINEARITY_WIDTH),  # right of the plot, clear of the bars
            y=alt.Y("share:Q", scale=y_scale),
            text="text:N",
            color=alt.Color("color:N", scale=None),
        )
    )
    layers: list[alt.Chart] = [bars, rules, rule_text, marks]
    if report_quarter is not None:
        layers.insert(
            1,
            base.transform_filter(alt.datum.fiscal_quarter == report_quarter)
            .mark_bar(width={"band": 0.7}, fill=None, stroke="#222222", strokeWidth=1.5)
            .encode(x=x, y=alt.Y("month3_share:Q", scale=y_scale)),
        )
    return (
        layer(*layers)
        .resolve_scale(color="independent", shape="independent")
        .properties(
            width=_LINEARITY_WIDTH, height=260, title=alt.Title(title, subtitle=subtitle or [])
        )
    )


# -- seasonality -----------------------------------------------------------------------------
@shows("seasonality")
def chart_seasonality(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "Which quarter of the fiscal year is strong",
    subtitle: str | None = (
        "Average quarter of each number = 1.0; bars above the line are strong quarters. "
        "Click a measure in the legend to pick it out."
    ),
    currency: str | None = None,
    tracking: Tracking | None = None,
) -> alt.LayerChart:
    """Seasonality indexes by quarter of the fiscal year: bookings, pipeline created, MQLs.

    ``frame`` is :func:`alignment_lib.metrics.seasonality` output. Bars are
    grouped by quarter number; the rule at 1.0 is an average quarter. The
    tooltip shows the mean per quarter behind each index. Click a measure in
    the legend to pick it out. Amounts are written in ``currency`` (default:
    the reporting currency, :mod:`alignment_lib.money`).
    """
    wide = collect(frame)
    parts = []
    # pipeline created and MQLs beside bookings only when the data tracks them
    off = {"pipeline_created": "pipeline_created", "mqls": "mqls"}
    for measure, label in MEASURE_LABELS.items():
        if measure in off and missing(tracking, off[measure]):
            continue
        # a few rows: the tooltip text is formatted in Python, like the findings
        means = wide[f"mean_{measure}"].to_list()
        text = [
            None
            if v is None
            else (f"{v:,.0f}" if measure == "mqls" else format_money(v, currency=currency))
            for v in means
        ]
        parts.append(
            wide.select(
                "quarter_of_year",
                "quarter_label",
                "quarters",
                pl.lit(label).alias("measure"),
                pl.col(f"{measure}_index").alias("index"),
            ).with_columns(pl.Series("mean_text", text, dtype=pl.String))
        )
    data = pl.concat(parts).sort("quarter_of_year", maintain_order=True)
    if data["index"].is_null().all():
        return _message("Too few quarters with data to compare the seasons", title)
    measures = data["measure"].unique(maintain_order=True).to_list()
    pick = _legend_pick("measure", "pick_measure")
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "quarter_label:O", sort=["Q1", "Q2", "Q3", "Q4"], title="Quarter of the fiscal year"
            ),
            xOffset=alt.XOffset("measure:N", sort=measures),
            y=alt.Y(
                "index:Q", title="Index (1.0 = an average quarter)", axis=alt.Axis(format=".1f")
            ),
            color=alt.Color(
                "measure:N",
                sort=measures,
                scale=alt.Scale(domain=measures, range=list(GROUP_COLORS[: len(measures)])),
                legend=alt.Legend(title=None),
            ),
            opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25)),
            tooltip=[
                alt.Tooltip("quarter_label:N", title="Quarter of the year"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("index:Q", title="Index", format=".2f"),
                alt.Tooltip("mean_text:N", title="Average per quarter"),
                alt.Tooltip("quarters:Q", title="Quarters averaged", format=COUNT_TOOLTIP),
            ],
        )
        .add_params(pick)
    )
    average = (
        alt.Chart(pl.DataFrame({"index": [1.0]}))
        .mark_rule(strokeDash=[4, 4], color=NEUTRAL)
        .encode(y="index:Q")
    )
    return layer(bars, average).properties(
        width=560, height=240, title=alt.Title(title, subtitle=subtitle or [])
    )


# -- sales cycle -----------------------------------------------------------------------------
def _cycle_long(frame: pl.DataFrame, column: str, split: str) -> pl.DataFrame:
    label = pl.col(column).fill_null(NO_AMOUNT if column == "deal_size_band" else NO_GROUP)
    if column == "source":
        label = label.replace_strict(SOURCE_LABELS, default=label)
    return pl.concat(
        [
            frame.select(
                "quarter_index",
                "fiscal_quarter",
                pl.lit(split).alias("split"),
                label.alias("group"),
                pl.lit(name).alias("measure"),
                pl.col(days).alias("days"),
                pl.col("won" if days == "median_days_won" else "closed").alias("deals"),
            )
            for days, name in CYCLE_MEASURES.items()
        ]
    )


def _group_order(values: Sequence[str], column: str) -> list[str]:
    if column == "source":
        known = [SOURCE_LABELS[s] for s in SOURCE_COLORS]
        return [g for g in known if g in values] + sorted(v for v in values if v not in known)
    if column == "deal_size_band":
        known = [band for band, _ in DEAL_SIZE_BANDS]
        return [b for b in known if b in values] + sorted(v for v in values if v not in known)
    return sorted(values, key=lambda v: (v == NO_GROUP, v))


@shows("sales_cycle")
def chart_sales_cycle(
    by_segment: pl.DataFrame | pl.LazyFrame,
    by_band: pl.DataFrame | pl.LazyFrame,
    *,
    by_source: pl.DataFrame | pl.LazyFrame | None = None,
    title: str = "How long deals take to close",
    subtitle: str | None = (
        "Median days from creation to close, by the quarter deals closed in. Pick won or "
        "all closed deals below; click a legend entry to pick out a group."
    ),
    tracking: Tracking | None = None,
) -> alt.HConcatChart | alt.LayerChart:
    """Median days from creation to close per close quarter, by source, segment and deal size.

    ``by_segment`` is ``sales_cycle(..., by=("segment",))`` output, ``by_band``
    is ``sales_cycle(opps.with_columns(deal_size_band(...)), ..., by=("deal_size_band",))``
    and ``by_source`` (optional, drawn first in the team colours) is
    ``sales_cycle(..., by=("source",))``. Medians only (a blended mean hides the
    long enterprise cycles). A dropdown switches between won deals and all
    closed deals; click a legend entry to pick out a group.
    """
    if all(collect(f).is_empty() for f in (by_segment, by_band, by_source) if f is not None):
        return _message("No deals closed in the quarters shown", title)
    panels = []
    measure = alt.param(
        name="cycle_measure",
        value=next(iter(CYCLE_MEASURES.values())),
        bind=alt.binding_select(options=list(CYCLE_MEASURES.values()), name="Median over: "),
    )
    splits = [(by_segment, "segment", "By segment"), (by_band, "deal_size_band", "By deal size")]
    if by_source is not None:
        splits.insert(0, (by_source, "source", "By source"))
    width = 330 if len(splits) == 2 else 235
    for i, (frame, column, split) in enumerate(splits):
        data = _cycle_long(collect(frame), column, split)
        quarters = _quarters(data)
        groups = _group_order(data["group"].unique().to_list(), column)
        if column == "source":
            colors = {SOURCE_LABELS[k]: v for k, v in SOURCE_COLORS.items()}
            palette: list[str] | None = [colors.get(g, NEUTRAL) for g in groups]
        else:
            palette = (
                list(GROUP_COLORS[: len(groups)]) if len(groups) <= len(GROUP_COLORS) else None
            )
        if column == "deal_size_band" and NO_AMOUNT in groups and palette:
            palette[groups.index(NO_AMOUNT)] = NEUTRAL
        pick = _legend_pick("group", f"pick_{column}")
        y_title = "Median days, created to closed" if i == 0 else None
        chart = (
            alt.Chart(data, title=split)
            .transform_filter(alt.datum.measure == measure)
            .mark_line(point=alt.OverlayMarkDef(filled=True, size=30))
            .encode(
                x=alt.X(
                    "fiscal_quarter:O", sort=quarters, title=None, axis=alt.Axis(labelAngle=-45)
                ),
                y=alt.Y("days:Q", title=y_title, axis=alt.Axis(format=",d")),
                color=alt.Color(
                    "group:N",
                    sort=groups,
                    scale=alt.Scale(domain=groups, range=palette) if palette else alt.Undefined,
                    legend=alt.Legend(title=None, columns=2, labelLimit=140),
                ),
                opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(DIMMED)),
                tooltip=[
                    alt.Tooltip("fiscal_quarter:N", title="Closed in"),
                    alt.Tooltip("group:N", title=split.removeprefix("By ").capitalize()),
                    alt.Tooltip("measure:N", title="Median over"),
                    alt.Tooltip("days:Q", title="Median days", format=",.0f"),
                    alt.Tooltip("deals:Q", title="Deals", format=COUNT_TOOLTIP),
                ],
            )
            .add_params(pick)
            .properties(width=width, height=220)
        )
        panels.append(chart)
    return (
        alt.hconcat(*panels, title=alt.Title(title, subtitle=subtitle or []))
        .add_params(measure)
        .resolve_scale(color="independent", y="shared")
    )


# -- slipped deals ---------------------------------------------------------------------------
@shows("slipped_deals")
def chart_slipped_deals(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "What became of the deals expected to close in each quarter",
    subtitle: str | None = (
        "Deals open at each quarter's start and expected to close in it, by what became of "
        "them by its end; slipped = did not close in it (pushed past it, or still open with "
        "the date not moved out). Click an outcome in the legend to pick it out."
    ),
    report_quarter: str | None = None,
    tracking: Tracking | None = None,
) -> alt.HConcatChart | alt.LayerChart:
    """Deals expected in each quarter at its start: slipped (pushed past the quarter, or
    still open), lost, won; the four add up to the expected deals.

    ``frame`` is :func:`alignment_lib.metrics.slipped_deals` output. Two
    panels share the quarters: the number of deals and their amount as
    recorded at the quarter's start. The two kinds of slipped deals sit at the
    bottom of each stack so their trend reads straight off the axis. Without
    stage history (every value empty) the chart says so instead of drawing
    nothing.
    """
    wide = collect(frame)
    if wide.height == 0 or wide["expected_deals"].null_count() == wide.height:
        return _message(
            "Slipped deals are unknown: they need close-date history (a stage_history table).",
            title,
        )
    quarters = _quarters(wide)
    data = pl.concat(
        [
            wide.select(
                "quarter_index",
                "fiscal_quarter",
                pl.lit(outcome).alias("outcome"),
                pl.lit(label).alias("outcome_label"),
                pl.lit(order).alias("stack_order"),
                pl.col(f"{outcome}_deals").alias("deals"),
                pl.col(f"{outcome}_amount").alias("amount"),
                "expected_deals",
                "expected_amount",
                pl.when(pl.col("expected_deals") > 0)
                .then(pl.col(f"{outcome}_deals") / pl.col("expected_deals"))
                .alias("share_deals"),
            )
            for order, (outcome, label) in enumerate(OUTCOME_LABELS.items())
        ]
    ).sort("quarter_index", "stack_order")
    labels = list(OUTCOME_LABELS.values())
    pick = _legend_pick("outcome_label", "pick_outcome")
    color = alt.Color(
        "outcome_label:N",
        sort=labels,
        scale=alt.Scale(domain=labels, range=list(OUTCOME_COLORS.values())),
        legend=alt.Legend(title=None, columns=4, labelLimit=0),
    )
    tooltip = [
        alt.Tooltip("fiscal_quarter:N", title="Expected in"),
        alt.Tooltip("outcome_label:N", title="Outcome"),
        alt.Tooltip("deals:Q", title="Deals", format=COUNT_TOOLTIP),
        alt.Tooltip("share_deals:Q", title="Share of expected deals", format=SHARE_TOOLTIP),
        alt.Tooltip("amount:Q", title="Amount at quarter start", format=AMOUNT_TOOLTIP),
        alt.Tooltip("expected_deals:Q", title="Expected deals", format=COUNT_TOOLTIP),
        alt.Tooltip("expected_amount:Q", title="Expected amount", format=AMOUNT_TOOLTIP),
    ]
    panels: list[alt.LayerChart] = []
    for field, panel_title, axis in (
        ("deals", "Deals", alt.Axis(format=",d")),
        ("amount", "Amount at the quarter's start", alt.Axis(format=AMOUNT_AXIS)),
    ):
        base = alt.Chart(data, title=panel_title)
        x = alt.X("fiscal_quarter:O", sort=quarters, title=None, axis=alt.Axis(labelAngle=-45))
        bars = base.mark_bar().encode(
            x=x,
            y=alt.Y(f"sum({field}):Q", title=None, axis=axis),
            color=color,
            order=alt.Order("stack_order:Q", sort="ascending"),
            opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25)),
            tooltip=tooltip,
        )
        if not panels:
            bars = bars.add_params(pick)
        layers: list[alt.Chart] = [bars]
        if report_quarter is not None:
            layers.append(
                base.transform_filter(alt.datum.fiscal_quarter == report_quarter)
                .mark_bar(fill=None, stroke="#222222", strokeWidth=1.5)
                .encode(x=x, y=alt.Y(f"sum({field}):Q"))
            )
        panels.append(layer(*layers).properties(width=330, height=220))
    return alt.hconcat(*panels, title=alt.Title(title, subtitle=subtitle or [])).resolve_scale(
        color="shared"
    )
