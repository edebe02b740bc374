"""Charts of the 'Data health' workbook: the largest data-health flags."""

from __future__ import annotations

import altair as alt
import polars as pl

from alignment_lib.charts._common import (
    COUNT_TOOLTIP,
    SHARE_AXIS,
    SHARE_TOOLTIP,
    collect,
    column_max,
    layer,
    shows,
)
from alignment_lib.charts.cycles import DIMMED, GROUP_COLORS
from alignment_lib.narrative.health import HEALTH_RULE_LABELS, HEALTH_TABLE_LABELS
from alignment_lib.tracking import Tracking

__all__ = ["chart_health_issues"]

_TABLE_COLORS = dict(zip(HEALTH_TABLE_LABELS.values(), GROUP_COLORS, strict=False))


@shows()
def chart_health_issues(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    title: str = "The largest data-health flags",
    subtitle: str | None = "Share of each table's rows a check flags; the as-of cut is not a flag",
    top: int = 10,
    tracking: Tracking | None = None,
) -> alt.LayerChart | alt.Chart:
    """Horizontal bars: the ``top`` rules that flag the largest share of their table.

    ``frame`` is :func:`alignment_lib.metrics.data_health` output. The as-of
    rules (``*_after_as_of``: what the cut hid) are left out: they describe
    the report's date, not a fault in the data. Rules that flag nothing are
    left out too. Bars are coloured by table; the label at the end of each bar
    gives the rows and the share. Click a table in the legend to pick it out.
    """
    flagged = (
        collect(frame)
        .drop("outcome", strict=False)  # health_report's checks carry it; the chart does not
        .filter(
            ~pl.col("rule").str.ends_with("_after_as_of")
            & (pl.col("rows") > 0)
            & pl.col("share_of_table").is_not_null()
        )
        .sort("share_of_table", descending=True, maintain_order=True)
        .head(top)
    )
    if flagged.height == 0:
        return (
            alt.Chart(pl.DataFrame({"text": ["No check flagged any row."]}), title=title)
            .mark_text(fontSize=13, align="left")
            .encode(text="text:N", x=alt.value(0), y=alt.value(20))
            .properties(width=620, height=40)
        )
    # a handful of rows: labels are formatted in Python
    rows = flagged.select("table", "rule", "rows", "share_of_table").rows()
    data = flagged.with_columns(
        pl.col("table").replace_strict(HEALTH_TABLE_LABELS, default=pl.col("table")),
        pl.Series("label", [HEALTH_RULE_LABELS.get((t, r), r) for t, r, _, _ in rows]),
        pl.Series("bar_text", [f"{n:,} ({s:.1%})" for _, _, n, s in rows]),
    ).with_columns((pl.col("table") + ": " + pl.col("label")).alias("check"))
    order = data["check"].to_list()
    tables = [t for t in _TABLE_COLORS if t in set(data["table"])] + sorted(
        set(data["table"]) - set(_TABLE_COLORS)
    )
    colors = [_TABLE_COLORS.get(t, GROUP_COLORS[-1]) for t in tables]
    pick = alt.selection_point(fields=["table"], bind="legend", name="pick_table")
    base = alt.Chart(data)
    y = alt.Y("check:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x = alt.X(
        "share_of_table:Q",
        title="Share of the table's rows",
        axis=alt.Axis(format=SHARE_AXIS, tickCount=6),
        scale=alt.Scale(domain=[0, min(1.0, (column_max(data, "share_of_table") or 0.0) * 1.25)]),
    )
    bars = (
        base.mark_bar()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "table:N",
                scale=alt.Scale(domain=tables, range=colors),
                legend=alt.Legend(title=None),
            ),
            opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(DIMMED)),
            tooltip=[
                alt.Tooltip("table:N", title="Table"),
                alt.Tooltip("label:N", title="Check"),
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("rows:Q", title="Rows", format=COUNT_TOOLTIP),
                alt.Tooltip("share_of_table:Q", title="Share of the table", format=SHARE_TOOLTIP),
                alt.Tooltip("description:N", title="What it counts"),
                alt.Tooltip("effect:N", title="Effect on the numbers"),
            ],
        )
        .add_params(pick)
    )
    text = base.mark_text(align="left", dx=4, fontSize=11, color="#333333").encode(
        x=x, y=y, text="bar_text:N"
    )
    return layer(bars, text).properties(
        width=480,
        height=alt.Step(24),
        title=alt.Title(title, subtitle=subtitle or []),
    )
