"""Charts of the 'Pipeline vs closes' workbook."""

from __future__ import annotations

import altair as alt
import polars as pl

from alignment_lib.charts._common import AMOUNT_AXIS, AMOUNT_TOOLTIP, collect, source_legend_labels
from alignment_lib.schema import OPPORTUNITY_SOURCES
from alignment_lib.theme import SOURCE_LABELS, source_color_scale

__all__ = ["chart_pipeline_vs_bookings"]

MEASURE_TITLES = {
    "pipeline_created": "Pipeline created (by quarter the deal was created)",
    "bookings": "Bookings (closed-won, by quarter the deal closed)",
}


def chart_pipeline_vs_bookings(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "Marketing's pipeline today is sales' bookings tomorrow",
    subtitle: str | None = None,
    report_quarter: str | None = None,
) -> alt.VConcatChart:
    """Two stacked-bar panels over the same quarters: pipeline created, then bookings.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_vs_bookings` output (one
    row per quarter, measure and source). Bars are stacked by source in the
    house colours; ``report_quarter`` (a label) is outlined in both panels.
    """
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
        panels.append(alt.layer(*layers).properties(width=620, height=200))
    return alt.vconcat(*panels, title=alt.Title(title, subtitle=subtitle or [])).resolve_scale(
        color="shared"
    )
