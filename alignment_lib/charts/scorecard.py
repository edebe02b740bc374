"""Charts of the 'Shared scorecard' workbook."""

from __future__ import annotations

import textwrap

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    AMOUNT_AXIS,
    AMOUNT_TOOLTIP,
    SHARE_AXIS,
    chart_no_data,
    collect,
    layer,
    shows,
)
from alignment_lib.gate import missing
from alignment_lib.narrative.scorecard import RUNNING, gate_scorecard
from alignment_lib.tracking import Tracking

__all__ = [
    "STATUS_COLORS",
    "chart_pipeline_needed",
    "chart_pipeline_to_create",
    "chart_scorecard",
]

#: status colours from Paul Tol's colour-blind-safe set, kept apart from the team
#: colours; the status is also written on every bar, never shown by colour alone. A
#: quarter that is over is hit (as on track) or missed (as behind).
STATUS_COLORS = {
    "on track": "#117733",
    "at risk": "#DDAA33",
    "behind": "#AA3377",
    "hit": "#117733",
    "missed": "#AA3377",
}
#: the projected finish and its range (shared_scorecard), drawn as shares of the target
_PROJECTED = ("projected_finish", "projected_low", "projected_high")
#: the status of a target the data cannot measure (docs/partial-data.md)
NOT_TRACKED = "not tracked"


@shows("targets")
def chart_scorecard(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.LayerChart:
    """Attainment of each shared target as a bar, against where the quarter usually is.

    ``frame`` is :func:`alignment_lib.metrics.shared_scorecard` output. Black
    rule: 100% of target. For a cumulative target of a quarter still running:
    a grey tick where the quarter usually is by this day (curve share: the
    target's share that past quarters had reached; the elapsed share when the
    pacing is linear) and a hollow diamond at the projected finish with a line
    from the fastest to the slowest past pace. A target the data cannot
    measure (``tracking``) has no bar and reads "not tracked"; actuals without
    a target (none set for the quarter) have no attainment to draw.
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
    if "curve_share" not in data.columns:  # a scorecard frame from before issue 10
        data = data.with_columns(
            pl.col("elapsed_share").alias("curve_share"),
            *(pl.lit(None, pl.Float64).alias(c) for c in _PROJECTED),
            pl.lit("linear").alias("curve_basis"),
        )
    running = pl.col("status").is_in(list(RUNNING)) & (pl.col("kind") != "rate")
    data = data.with_columns(
        pl.when(running).then(pl.col("curve_share")).alias("usual_share"),
        *(
            pl.when(running & (pl.col("target") > 0))
            .then(pl.col(c) / pl.col("target"))
            .alias(f"{c}_share")
            for c in _PROJECTED
        ),
    )
    if data.is_empty():
        return chart_no_data("No targets set for this quarter", title=title)
    order = data["target_name"].to_list()
    untracked = (data["status"] == NOT_TRACKED).any()
    # a quarter is running (on track, at risk, behind) or over (hit, missed): its legend
    # lists the words of its own case, each with its colour
    over = data["status"].is_in(["hit", "missed"]).any()
    words = ["hit", "missed"] if over else ["on track", "at risk", "behind"]
    domain = [*words, "no data", *([NOT_TRACKED] if untracked else [])]
    greys = ["#BBBBBB"] * (len(domain) - len(words))
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
            scale=alt.Scale(domain=domain, range=[*(STATUS_COLORS[w] for w in words), *greys]),
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
    pace_tips = [
        alt.Tooltip("target_name:N", title="Target"),
        alt.Tooltip("usual_share:Q", title="Usually reached by this day", format=".0%"),
        alt.Tooltip("curve_basis:N", title="Compared with"),
        alt.Tooltip("projected_finish_share:Q", title="Projected finish", format=".0%"),
        alt.Tooltip("projected_low_share:Q", title="At the fastest past pace", format=".0%"),
        alt.Tooltip("projected_high_share:Q", title="At the slowest past pace", format=".0%"),
    ]
    usual = base.mark_tick(color="#555555", thickness=2, size=24).encode(
        x="usual_share:Q", y=y, tooltip=pace_tips
    )
    spread = base.mark_rule(color="#555555", strokeDash=[3, 2]).encode(
        x="projected_low_share:Q", x2="projected_high_share:Q", y=y, tooltip=pace_tips
    )
    finish = base.mark_point(
        shape="diamond", size=70, filled=False, color="#222222", strokeWidth=1.5
    ).encode(x="projected_finish_share:Q", y=y, tooltip=pace_tips)
    layers = [bars, labels, full, usual, spread, finish]
    if untracked:  # no bar to write it next to: at 0
        unscored = data.filter(pl.col("status") == NOT_TRACKED).with_columns(zero=pl.lit(0.0))
        layers.append(
            alt.Chart(unscored)
            .mark_text(align="left", dx=4, fontSize=11, color="#555555")
            .encode(x="zero:Q", y=y, text="status:N")
        )
    return layer(
        *layers,
        title=alt.Title(
            title,
            subtitle=[
                "Bars: attainment; black rule: 100% of target; grey tick: where the quarter "
                "usually is by this day;",
                "hollow diamond: projected finish at the usual pace (dashed: at the fastest "
                "to the slowest past pace)",
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
    return layer(
        required,
        covered,
        title=alt.Title(
            title,
            subtitle=["Light: pipeline this target needs from each quarter; dark: already created"],
        ),
    ).properties(width=520, height=220)


#: the target quarters a creation quarter feeds, nearest darkest; greys keep the team
#: colours' meaning, purple marks what exists
_SLICE_COLORS = ["#4D4D4D", "#7F7F7F", "#A6A6A6", "#CCCCCC"]
_CREATED_COLOR = "#CC79A7"


@shows("pipeline_needed")
def chart_pipeline_to_create(
    frame: pl.DataFrame | pl.LazyFrame, *, title: str, tracking: Tracking | None = None
) -> alt.LayerChart:
    """The pipeline the current quarter must create, one bar stacked by the target quarters it
    feeds, above what it has created so far.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_to_create` output. A
    target quarter without a target has no slice (the subtitle names it). The
    tooltip's marketing part and MQLs are left out when the data cannot support
    them.
    """
    data = collect(frame).sort("quarter_index")
    if missing(tracking, "team_shares"):
        data = data.with_columns(pl.lit(None, pl.Float64).alias("marketing_pipeline_required"))
    if missing(tracking, "mqls_needed"):
        data = data.with_columns(pl.lit(None, pl.Float64).alias("mqls_required"))
    known = data.filter(pl.col("pipeline_required").is_not_null())
    if known.is_empty():
        quarter = data["creation_fiscal_quarter"][0] if data.height else "this quarter"
        return chart_no_data(
            f"No bookings target set for {quarter} or the quarters it feeds", title=title
        )
    creation = known["creation_fiscal_quarter"][0]
    slices = known.with_columns(
        pl.lit("Required").alias("bar"),
        ("for " + pl.col("fiscal_quarter")).alias("slice"),
    )
    order = slices["slice"].to_list()
    made = known.head(1).select(
        pl.lit("Created so far").alias("bar"),
        pl.col("pipeline_created_so_far").alias("amount"),
        pl.col("total_pipeline_required"),
    )
    y = alt.Y("bar:N", sort=["Required", "Created so far"], title=None)
    required = (
        alt.Chart(slices)
        .mark_bar(height=26)
        .encode(
            x=alt.X(
                "pipeline_required:Q",
                stack="zero",
                title=f"Pipeline created in {creation}",
                axis=alt.Axis(format=AMOUNT_AXIS),
            ),
            y=y,
            color=alt.Color(
                "slice:N",
                title="Required for the target of",
                sort=order,
                scale=alt.Scale(domain=order, range=_SLICE_COLORS[: len(order)]),
            ),
            order=alt.Order("quarter_index:Q"),
            tooltip=[
                alt.Tooltip("fiscal_quarter:N", title="For the target of"),
                alt.Tooltip("target:Q", title="Target", format=AMOUNT_TOOLTIP),
                alt.Tooltip("lag_share:Q", title="Share created this far ahead", format=".0%"),
                alt.Tooltip("pipeline_required:Q", title="Required", format=AMOUNT_TOOLTIP),
                alt.Tooltip(
                    "marketing_pipeline_required:Q", title="Marketing's part", format=AMOUNT_TOOLTIP
                ),
                alt.Tooltip("mqls_required:Q", title="MQLs needed", format=",.0f"),
            ],
        )
    )
    created = (
        alt.Chart(made)
        .mark_bar(height=26, color=_CREATED_COLOR)
        .encode(
            x="amount:Q",
            y=y,
            tooltip=[
                alt.Tooltip("amount:Q", title="Created so far", format=AMOUNT_TOOLTIP),
                alt.Tooltip("total_pipeline_required:Q", title="Required", format=AMOUNT_TOOLTIP),
            ],
        )
    )
    unknown = data.filter(pl.col("pipeline_required").is_null())["fiscal_quarter"].to_list()
    lines = [
        f"Pipeline created in {creation} closes over the next quarters: each slice is a target's "
        "share created this far ahead / the win rate"
    ]
    if unknown:
        lines.append(f"No target yet for {', '.join(unknown)}: not counted")
    # the headline states the total, the targets and the MQLs: wrapped to the chart's width
    heading = textwrap.wrap(title, 90) or [title]
    return layer(required, created, title=alt.Title(heading, subtitle=lines)).properties(
        width=520, height=alt.Step(40)
    )
