"""Charts of the 'Pipeline vs closes' workbook."""

from __future__ import annotations

import textwrap

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
    layer,
    no_data_message,
    shows,
    source_legend_labels,
)
from alignment_lib.gate import missing
from alignment_lib.schema import OPPORTUNITY_SOURCES
from alignment_lib.theme import SOURCE_LABELS, source_color_scale
from alignment_lib.tracking import Tracking

__all__ = [
    "chart_bookings_forecast",
    "chart_cohort_curves",
    "chart_creation_to_close_lag",
    "chart_pipeline_vs_bookings",
]

MEASURE_TITLES = {
    "pipeline_created": "Pipeline created (by quarter the deal was created)",
    "bookings": "Bookings (closed-won, by quarter the deal closed)",
}


@shows()
def chart_pipeline_vs_bookings(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "Marketing's pipeline today is sales' bookings tomorrow",
    subtitle: str | None = None,
    report_quarter: str | None = None,
    tracking: Tracking | None = None,
) -> alt.VConcatChart | alt.LayerChart:
    """Two stacked-bar panels over the same quarters: pipeline created, then bookings.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_vs_bookings` output (one
    row per quarter, measure and source). Bars are stacked by source in the
    house colours; ``report_quarter`` (a label) is outlined in both panels. A
    panel the data cannot support (``tracking``: pipeline created without
    creation dates or lost deals) is left out and the subtitle says why.
    """
    off = {m: missing(tracking, m) for m in MEASURE_TITLES}
    if all(off.values()):
        said = list(dict.fromkeys(s for m in off.values() for s in m))
        return chart_no_data(" ".join(said), title="Pipeline created and bookings", width=620)
    data = collect(frame).with_columns(
        pl.col("source")
        .replace_strict(SOURCE_LABELS, default=pl.col("source"))
        .alias("source_label"),
        pl.col("source")
        .replace_strict(
            {s: i for i, s in enumerate(OPPORTUNITY_SOURCES)}, default=len(OPPORTUNITY_SOURCES)
        )
        .alias("stack_order"),
    )
    if data.is_empty() or (data["amount"].fill_null(0) == 0).all():
        return chart_no_data(
            no_data_message("pipeline created and no bookings", quarter="the quarters shown"),
            title=title,
        )
    quarters = (
        data.select(pl.col("fiscal_quarter").unique(maintain_order=True)).to_series().to_list()
    )
    color = alt.Color(
        "source:N",
        scale=source_color_scale(),
        legend=alt.Legend(title=None, labelExpr=source_legend_labels()),
    )
    panels = []
    for measure, panel_title in MEASURE_TITLES.items():
        if off[measure]:
            continue
        base = alt.Chart(data.filter(pl.col("measure") == measure), title=panel_title)
        bars = base.mark_bar().encode(
            x=alt.X("fiscal_quarter:O", sort=quarters, title=None),
            y=alt.Y("sum(amount):Q", title="Amount", axis=alt.Axis(format=AMOUNT_AXIS)),
            color=color,
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Quarter"),
                alt.Tooltip("source_label:N", title="Source"),
                alt.Tooltip("amount:Q", title="Amount", format=AMOUNT_TOOLTIP),
                alt.Tooltip("deals:Q", title="Deals", format=",d"),
            ],
        )
        layers: list[alt.Chart] = [bars]
        if report_quarter is not None:
            layers.append(
                base.transform_filter(alt.datum.fiscal_quarter == report_quarter)
                .mark_bar(fill=None, stroke="#222222", strokeWidth=1.5)
                .encode(x=alt.X("fiscal_quarter:O", sort=quarters), y=alt.Y("sum(amount):Q"))
            )
        panels.append(layer(*layers).properties(width=620, height=200))
    lines = [subtitle] if subtitle else []
    lines += [w for said in off.values() for s in said for w in textwrap.wrap(s, 110)]
    return alt.vconcat(*panels, title=alt.Title(title, subtitle=lines)).resolve_scale(
        color="shared"
    )


#: lag buckets, oldest pipeline darkest: bookings standing on older pipeline read as
#: "marketing's earlier work"
_LAG_COLORS = ["#C6DBEF", "#6BAED6", "#2171B5", "#08306B"]


@shows("creation_to_close_lag")
def chart_creation_to_close_lag(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str,
    report_quarter: str | None = None,
    tracking: Tracking | None = None,
) -> alt.Chart | alt.LayerChart:
    """100%-stacked bars: each quarter's bookings by how long before it they were created.

    ``frame`` is :func:`alignment_lib.metrics.creation_to_close_lag` output (close
    quarter x lag bucket). Hovering a bucket in the legend highlights it.
    """
    data = collect(frame).filter(pl.col("share").is_not_null())
    if data.is_empty():
        return chart_no_data(no_data_message("bookings", quarter="the quarters shown"), title=title)
    quarters = data.select(pl.col("fiscal_quarter").unique(maintain_order=True)).to_series()
    buckets = data.sort("lag_quarters").select(pl.col("lag_bucket").unique(maintain_order=True))
    domain = buckets.to_series().to_list()
    pick = alt.selection_point(fields=["lag_bucket"], bind="legend")
    bars = (
        alt.Chart(
            data,
            title=alt.Title(
                title,
                subtitle=[
                    "Share of each quarter's bookings, by the quarter the deal was created in"
                ],
            ),
        )
        .mark_bar()
        .encode(
            x=alt.X("fiscal_quarter:O", sort=quarters.to_list(), title=None),
            y=alt.Y(
                "share:Q",
                stack="normalize",
                title="Share of bookings",
                axis=alt.Axis(format=SHARE_AXIS),
            ),
            color=alt.Color(
                "lag_bucket:N",
                title="Created",
                scale=alt.Scale(domain=domain, range=_LAG_COLORS[: len(domain)]),
                sort=domain,
            ),
            order=alt.Order("lag_quarters:Q"),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.25)),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Closed in"),
                alt.Tooltip("lag_bucket:N", title="Created"),
                alt.Tooltip("share:Q", title="Share of bookings", format=SHARE_TOOLTIP),
                alt.Tooltip("amount:Q", title="Amount", format=AMOUNT_TOOLTIP),
                alt.Tooltip("deals:Q", title="Deals", format=COUNT_TOOLTIP),
            ],
        )
        .add_params(pick)
        .properties(width=620, height=220)
    )
    if report_quarter is None:
        return bars
    outline = (
        alt.Chart(data.filter(pl.col("fiscal_quarter") == report_quarter))
        .mark_bar(fill=None, stroke="#222222", strokeWidth=1.5)
        .encode(
            x=alt.X("fiscal_quarter:O", sort=quarters.to_list()),
            y=alt.Y("sum(share):Q", stack=None),
        )
    )
    return layer(bars, outline)


@shows("cohort_curves")
def chart_cohort_curves(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.Chart | alt.LayerChart:
    """One line per creation cohort: cumulative share of its pipeline won, by months since.

    ``frame`` is :func:`alignment_lib.metrics.cohort_conversion_curve` output. Only
    observed points are drawn; cohorts still maturing (younger than the p90 time to a
    win, ``maturity_months``: wins are still expected) are drawn dashed and named so in
    the tooltip. Clicking a cohort in the legend highlights it.
    """
    src = collect(frame)
    data = src.filter(pl.col("observed")).with_columns(
        pl.when(pl.col("mature"))
        .then(pl.lit("mature"))
        .otherwise(pl.lit("still maturing"))
        .alias("maturity")
    )
    if "maturity_months" in src.columns and src.height:
        months = src["maturity_months"][0]
        dashed = (
            f"dashed: still maturing, younger than {months} month{'' if months == 1 else 's'}"
            " (9 in 10 wins come within that time): wins are still expected"
        )
    else:
        dashed = "dashed: cohort still maturing"
    if data.filter(pl.col("share").is_not_null()).is_empty():
        return chart_no_data(
            no_data_message("pipeline created", quarter="the cohorts shown"), title=title
        )
    cohorts = data.select(pl.col("fiscal_quarter").unique(maintain_order=True)).to_series()
    pick = alt.selection_point(fields=["fiscal_quarter"], bind="legend")
    return (
        alt.Chart(
            data,
            title=alt.Title(
                title,
                subtitle=[
                    "Cumulative share of each quarter's created pipeline won, by months since"
                    " creation",
                    dashed,
                ],
            ),
        )
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                "months_since_creation:Q",
                title="Months since the pipeline was created",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y("share:Q", title="Won so far", axis=alt.Axis(format=SHARE_AXIS)),
            color=alt.Color(
                "fiscal_quarter:N",
                title="Created in",
                sort=cohorts.to_list(),
                scale=alt.Scale(scheme="viridis"),
            ),
            strokeDash=alt.StrokeDash(
                "maturity:N",
                title="Cohort",
                scale=alt.Scale(domain=["mature", "still maturing"], range=[[1, 0], [5, 3]]),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Created in"),
                alt.Tooltip("months_since_creation:Q", title="Months since creation"),
                alt.Tooltip("share:Q", title="Won so far", format=SHARE_TOOLTIP),
                alt.Tooltip("won_cumulative:Q", title="Won amount", format=AMOUNT_TOOLTIP),
                alt.Tooltip("cohort_size:Q", title="Created amount", format=AMOUNT_TOOLTIP),
                alt.Tooltip("maturity:N", title="Cohort"),
            ],
        )
        .add_params(pick)
        .properties(width=620, height=260)
    )


#: neutral greys and Okabe-Ito purple: team colours (orange, blue, green) keep their
#: meaning, so forecast components must not borrow them
_FORECAST_COLORS = ["#4D4D4D", "#A6A6A6", "#CC79A7"]
_FORECAST_PARTS = {
    "booked_to_date": "Booked so far",
    "open_expected": "Open pipeline, weighted",
    "not_yet_created_expected": "Pipeline not yet created",
}


@shows("forecast")
def chart_bookings_forecast(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.LayerChart:
    """Per quarter: the pipeline estimate's parts stacked, the forecast as its own mark with
    its 80% range, the same quarter last year and the target.

    ``frame`` is :func:`alignment_lib.metrics.forecast_overview` output (or
    :func:`alignment_lib.metrics.bookings_forecast`'s: no baseline then). The
    stacked parts (booked so far, open pipeline weighted, pipeline not yet
    created) add up to the pipeline estimate, one of the estimates the forecast
    weighs: the forecast (black diamond) is drawn apart from them, since the
    two differ (docs/metrics/forecast.md). Open circle: the same quarter last
    year (the seasonal-naive baseline); orange tick: the target.
    """
    wide = collect(frame)
    if "baseline_forecast" not in wide.columns:
        wide = wide.with_columns(
            pl.lit(None, pl.Float64).alias("baseline_forecast"),
            pl.lit(None, pl.String).alias("baseline_quarter"),
        )
    for column in ("pipeline_forecast", "naive_forecast", "curve_forecast"):
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(column))
    quarters = wide["fiscal_quarter"].to_list()
    parts = wide.unpivot(
        index=["fiscal_quarter"],
        on=list(_FORECAST_PARTS),
        variable_name="component",
        value_name="amount",
    ).with_columns(
        pl.col("component").replace_strict(_FORECAST_PARTS).alias("component"),
        pl.col("component")
        .replace_strict({k: i for i, k in enumerate(_FORECAST_PARTS)}, return_dtype=pl.Int32)
        .alias("order"),
    )
    x = alt.X("fiscal_quarter:O", sort=quarters, title=None)
    legend = "Pipeline estimate"
    bars = (
        alt.Chart(parts)
        .mark_bar(size=46, opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("sum(amount):Q", title="Bookings", axis=alt.Axis(format=AMOUNT_AXIS)),
            color=alt.Color(
                "component:N",
                title=legend,
                sort=list(_FORECAST_PARTS.values()),
                scale=alt.Scale(domain=list(_FORECAST_PARTS.values()), range=_FORECAST_COLORS),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="Quarter"),
                alt.Tooltip("component:N", title="Pipeline estimate part"),
                alt.Tooltip("amount:Q", title="Amount", format=AMOUNT_TOOLTIP),
            ],
        )
    )
    base = alt.Chart(wide)
    forecast_tips = [
        alt.Tooltip("fiscal_quarter:N", title="Quarter"),
        alt.Tooltip("forecast:Q", title="Forecast", format=AMOUNT_TOOLTIP),
        alt.Tooltip("forecast_low:Q", title="80% range from", format=AMOUNT_TOOLTIP),
        alt.Tooltip("forecast_high:Q", title="80% range to", format=AMOUNT_TOOLTIP),
        alt.Tooltip("pipeline_forecast:Q", title="Pipeline estimate", format=AMOUNT_TOOLTIP),
        alt.Tooltip("naive_forecast:Q", title="Last year grown", format=AMOUNT_TOOLTIP),
        alt.Tooltip("curve_forecast:Q", title="Pace so far", format=AMOUNT_TOOLTIP),
    ]
    interval = base.mark_rule(strokeWidth=2, color="#222222").encode(
        x=x, y="forecast_low:Q", y2="forecast_high:Q", tooltip=forecast_tips
    )
    point = base.mark_point(
        shape="diamond", size=140, filled=True, color="#000000", stroke="#FFFFFF", strokeWidth=1
    ).encode(x=x, y="forecast:Q", tooltip=forecast_tips)
    baseline = base.mark_point(shape="circle", size=90, filled=False, strokeWidth=2).encode(
        x=alt.X("fiscal_quarter:O", sort=quarters, title=None, bandPosition=0.8),
        y="baseline_forecast:Q",
        color=alt.value("#555555"),
        tooltip=[
            alt.Tooltip("fiscal_quarter:N", title="Quarter"),
            alt.Tooltip("baseline_quarter:N", title="Same quarter last year"),
            alt.Tooltip("baseline_forecast:Q", title="It booked", format=AMOUNT_TOOLTIP),
        ],
    )
    target = base.mark_tick(color="#D55E00", thickness=3, size=60).encode(
        x=x,
        y="target:Q",
        tooltip=[
            alt.Tooltip("fiscal_quarter:N", title="Quarter"),
            alt.Tooltip("target:Q", title="Target", format=AMOUNT_TOOLTIP),
        ],
    )
    return layer(
        bars,
        interval,
        point,
        baseline,
        target,
        title=alt.Title(
            title,
            subtitle=[
                "Bars: the pipeline estimate's parts; black diamond and line: the forecast "
                "(the estimates weighed) and its 80% range;",
                "open circle: the same quarter last year; orange tick: target",
            ],
        ),
    ).properties(width=620, height=260)
