"""Charts of the 'Shared scorecard' workbook."""

from __future__ import annotations

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    AMOUNT_AXIS,
    AMOUNT_TOOLTIP,
    SHARE_AXIS,
    chart_no_data,
    collect,
)

__all__ = ["STATUS_COLORS", "chart_pipeline_needed", "chart_scorecard"]

#: status colours from Paul Tol's colour-blind-safe set, kept apart from the team
#: colours; the status is also written on every bar, never shown by colour alone
STATUS_COLORS = {"on track": "#117733", "at risk": "#DDAA33", "behind": "#AA3377"}


def chart_scorecard(frame: pl.DataFrame | pl.LazyFrame, *, title: str) -> alt.LayerChart:
    """Attainment of each shared target as a bar, 100% and the elapsed share as rules.

    ``frame`` is :func:`alignment_lib.metrics.shared_scorecard` output.
    """
    data = collect(frame).with_columns(
        (
            pl.col("label")
            + pl.when(pl.col("team") == "shared")
            .then(pl.lit(""))
            .otherwise(" (" + pl.col("team") + ")")
        ).alias("target_name"),
        pl.col("status").fill_null("no data"),
    )
    if data.is_empty():
        return chart_no_data("No targets set for this quarter", title=title)
    order = data["target_name"].to_list()
    y = alt.Y("target_name:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(data)
    bars = base.mark_bar(height=18).encode(
        x=alt.X(
            "attainment:Q", title="Attainment (actual / target)", axis=alt.Axis(format=SHARE_AXIS)
        ),
        y=y,
        color=alt.Color(
            "status:N",
            title="Status",
            scale=alt.Scale(
                domain=[*STATUS_COLORS, "no data"], range=[*STATUS_COLORS.values(), "#BBBBBB"]
            ),
        ),
        tooltip=[
            alt.Tooltip("target_name:N", title="Target"),
            alt.Tooltip("attainment:Q", title="Attainment", format=".0%"),
            alt.Tooltip("pacing:Q", title="Pacing", format=".0%"),
            alt.Tooltip("status:N", title="Status"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(
        x="attainment:Q", y=y, text="status:N"
    )
    full = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color="#222222").encode(x="x:Q")
    elapsed = base.mark_tick(color="#555555", thickness=2, size=24).encode(
        x="elapsed_share:Q",
        y=y,
        tooltip=[alt.Tooltip("elapsed_share:Q", title="Quarter elapsed", format=".0%")],
    )
    return alt.layer(
        bars,
        labels,
        full,
        elapsed,
        title=alt.Title(
            title,
            subtitle=[
                "Bars: attainment; black rule: 100% of target; "
                "grey tick: share of the quarter elapsed"
            ],
        ),
    ).properties(width=520, height=alt.Step(30))


def chart_pipeline_needed(frame: pl.DataFrame | pl.LazyFrame, *, title: str) -> alt.LayerChart:
    """The reverse waterfall: pipeline a future target needs from each creation quarter.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_needed` output. Light bars:
    pipeline required; dark bars: created so far (capped at what is required).
    """
    data = collect(frame).with_columns(
        pl.min_horizontal("pipeline_created_so_far", "pipeline_required").alias("covered")
    )
    if data.is_empty() or data["pipeline_required"].is_null().all():
        target = data["target_fiscal_quarter"][0] if data.height else "the target quarter"
        return chart_no_data(f"No bookings target set for {target}", title=title)
    order = data.sort("quarter_index")["fiscal_quarter"].to_list()
    x = alt.X("fiscal_quarter:O", sort=order, title="Quarter the pipeline is created in")
    tips = [
        alt.Tooltip("fiscal_quarter:N", title="Created in"),
        alt.Tooltip("pipeline_required:Q", title="Required", format=AMOUNT_TOOLTIP),
        alt.Tooltip("pipeline_created_so_far:Q", title="Created so far", format=AMOUNT_TOOLTIP),
        alt.Tooltip("gap:Q", title="Still to create", format=AMOUNT_TOOLTIP),
        alt.Tooltip(
            "marketing_pipeline_required:Q", title="Marketing's part", format=AMOUNT_TOOLTIP
        ),
        alt.Tooltip("mqls_required:Q", title="MQLs needed", format=",.0f"),
    ]
    base = alt.Chart(data)
    required = base.mark_bar(color="#C7C7C7", size=44).encode(
        x=x,
        y=alt.Y("pipeline_required:Q", title="Pipeline", axis=alt.Axis(format=AMOUNT_AXIS)),
        tooltip=tips,
    )
    covered = base.mark_bar(color="#4D4D4D", size=22).encode(x=x, y="covered:Q", tooltip=tips)
    return alt.layer(
        required,
        covered,
        title=alt.Title(
            title,
            subtitle=["Light: pipeline this target needs from each quarter; dark: already created"],
        ),
    ).properties(width=520, height=220)
