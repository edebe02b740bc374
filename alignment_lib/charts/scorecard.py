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
    shows,
)
from alignment_lib.gate import missing
from alignment_lib.narrative.scorecard import gate_scorecard
from alignment_lib.tracking import Tracking

__all__ = ["STATUS_COLORS", "chart_pipeline_needed", "chart_scorecard"]

#: status colours from Paul Tol's colour-blind-safe set, kept apart from the team
#: colours; the status is also written on every bar, never shown by colour alone
STATUS_COLORS = {"on track": "#117733", "at risk": "#DDAA33", "behind": "#AA3377"}
#: the status of a target the data cannot measure (docs/partial-data.md)
NOT_TRACKED = "not tracked"


@shows("targets")
def chart_scorecard(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.LayerChart:
    """Attainment of each shared target as a bar, 100% and the elapsed share as rules.

    ``frame`` is :func:`alignment_lib.metrics.shared_scorecard` output. A target
    the data cannot measure (``tracking``) has no bar and reads "not tracked";
    actuals without a target (none set for the quarter) have no attainment to draw.
    """
    data = (
        gate_scorecard(collect(frame), tracking)
        .filter(pl.col("target").is_not_null())
        .with_columns(
            (
                pl.col("label")
                + pl.when(pl.col("team") == "shared")
                .then(pl.lit(""))
                .otherwise(" (" + pl.col("team") + ")")
            ).alias("target_name"),
            pl.when(pl.col("not_tracked").is_not_null())
            .then(pl.lit(NOT_TRACKED))
            .otherwise(pl.col("status").fill_null("no data"))
            .alias("status"),
        )
        .drop("not_tracked")
    )
    if data.is_empty():
        return chart_no_data("No targets set for this quarter", title=title)
    order = data["target_name"].to_list()
    untracked = (data["status"] == NOT_TRACKED).any()
    domain = [*STATUS_COLORS, "no data", *([NOT_TRACKED] if untracked else [])]
    greys = ["#BBBBBB"] * (len(domain) - len(STATUS_COLORS))
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
            scale=alt.Scale(domain=domain, range=[*STATUS_COLORS.values(), *greys]),
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
    layers = [bars, labels, full, elapsed]
    if untracked:  # no bar to write it next to: at 0
        untracked = data.filter(pl.col("status") == NOT_TRACKED).with_columns(zero=pl.lit(0.0))
        layers.append(
            alt.Chart(untracked)
            .mark_text(align="left", dx=4, fontSize=11, color="#555555")
            .encode(x="zero:Q", y=y, text="status:N")
        )
    return alt.layer(
        *layers,
        title=alt.Title(
            title,
            subtitle=[
                "Bars: attainment; black rule: 100% of target; "
                "grey tick: share of the quarter elapsed"
            ],
        ),
    ).properties(width=520, height=alt.Step(30))


@shows("pipeline_needed")
def chart_pipeline_needed(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.LayerChart:
    """The reverse waterfall: pipeline a future target needs from each creation quarter.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_needed` output. Light bars:
    pipeline required; dark bars: created so far (capped at what is required). The
    tooltip's marketing part and MQLs are left out when the data cannot support them.
    """
    data = collect(frame).with_columns(
        pl.min_horizontal("pipeline_created_so_far", "pipeline_required").alias("covered")
    )
    if missing(tracking, "team_shares"):
        data = data.with_columns(pl.lit(None, pl.Float64).alias("marketing_pipeline_required"))
    if missing(tracking, "mqls_needed"):
        data = data.with_columns(pl.lit(None, pl.Float64).alias("mqls_required"))
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
