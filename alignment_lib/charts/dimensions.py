"""The chart of a 'By <dimension>' section: a figure per value of an extra dimension,
one value at a time, picked in a dropdown.

The chart carries aggregates only: one row per group (``All`` and each value
shown), x category and measure, computed in polars beforehand
(:mod:`alignment_lib.dimensions`), never the CRM rows. The dropdown selects
a group by a number, not by its name: a value named like the "All" entry (or
like "(not set)") stays a group of its own, and a name is only ever written as
text (the entry's label, cut at 60 characters; docs/text-display.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import altair as alt
import polars as pl

from alignment_lib._text import LABEL_LIMIT, shorten
from alignment_lib.charts._common import (
    AMOUNT_AXIS,
    AMOUNT_TOOLTIP,
    COUNT_TOOLTIP,
    SHARE_AXIS,
    SHARE_TOOLTIP,
    chart_no_data,
    collect,
    layer,
)
from alignment_lib.exceptions import ParameterError
from alignment_lib.theme import SPLIT_COLORS

__all__ = ["DROPDOWN", "MAX_CHART_ROWS", "chart_by_dimension"]

Kind = Literal["amount", "count", "share", "days", "hours"]

#: the name of the dropdown's parameter (one per chart: each chart is its own view)
DROPDOWN = "dimension_value"
#: rows a chart may carry (altair refuses more than 5,000)
MAX_CHART_ROWS = 5_000
_AXIS: dict[str, str] = {
    "amount": AMOUNT_AXIS,
    "count": ",d",
    "share": SHARE_AXIS,
    "days": ",.0f",
    "hours": ",.0f",
}
_TOOLTIP: dict[str, str] = {
    "amount": AMOUNT_TOOLTIP,
    "count": COUNT_TOOLTIP,
    "share": SHARE_TOOLTIP,
    "days": ",.0f",
    "hours": ",.1f",
}


def chart_by_dimension(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    dimension: str,
    kind: Kind,
    title: str,
    subtitle: str | Sequence[str] | None = None,
    x: str = "fiscal_quarter",
    x_title: str | None = None,
    y_title: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> alt.LayerChart:
    """Bars per ``x`` category and measure for one group at a time, a dropdown to pick it.

    ``frame`` (long, aggregated): ``group_code`` (Int, 0 = the first entry of
    the dropdown, e.g. "All"), ``group`` (its name), the ``x`` column (e.g.
    ``fiscal_quarter``, in the order the bars are drawn), ``measure`` (the
    measure's label, e.g. "Bookings") and ``value`` (Float64; null: not
    known, no bar). ``dimension`` names the dimension ("Product"): the
    dropdown's label and the tooltip's. ``kind`` formats the y axis and
    tooltip: amounts in the reporting currency, counts, shares (0-1), days
    or hours. ``colors``: measure -> colour (default: the house split colours).

    The dropdown lists the groups in ``group_code`` order, each name cut at
    60 characters; the chart's data holds every group's rows and a filter
    shows the one picked (``All`` at first). Its only layer is named
    ``bars``.
    """
    data = collect(frame)
    expected = {"group_code", "group", x, "measure", "value"}
    if not expected <= set(data.columns):
        raise ParameterError(
            f"chart_by_dimension needs columns {sorted(expected)}, got {data.columns}; "
            "build the frame with alignment_lib.dimensions"
        )
    if data.height > MAX_CHART_ROWS:
        raise ParameterError(
            f"chart_by_dimension got {data.height:,} rows, more than a chart carries "
            f"({MAX_CHART_ROWS:,}); aggregate first or show fewer values"
        )
    if data.is_empty() or data["value"].is_null().all():
        return chart_no_data(f"No data by {dimension.lower()} in the quarters shown", title=title)
    data = data.select(
        pl.col("group_code").cast(pl.Int64),
        pl.col("group").cast(pl.String),
        pl.col(x).cast(pl.String),
        pl.col("measure").cast(pl.String),
        pl.col("value").cast(pl.Float64),
    )
    groups = data.select("group_code", "group").unique("group_code", keep="first")
    groups = groups.sort("group_code")
    codes = groups["group_code"].to_list()
    measures = data["measure"].unique(maintain_order=True).to_list()
    palette = dict(colors or {})
    scale_range = [
        palette.get(m, SPLIT_COLORS[i % len(SPLIT_COLORS)]) for i, m in enumerate(measures)
    ]
    pick = alt.param(
        name=DROPDOWN,
        value=codes[0],
        bind=alt.binding_select(
            options=codes,
            labels=[shorten(g) for g in groups["group"].to_list()],
            name=f"{shorten(dimension, LABEL_LIMIT)} ",
        ),
    )
    x_order = data[x].unique(maintain_order=True).to_list()
    bars = (
        alt.Chart(data)
        .transform_filter(alt.datum.group_code == pick)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:O", sort=x_order, title=x_title),
            xOffset=alt.XOffset("measure:N", sort=measures),
            y=alt.Y(
                "value:Q",
                title=y_title,
                axis=alt.Axis(format=_AXIS[kind]),
                scale=alt.Scale(domain=[0, 1]) if kind == "share" else alt.Undefined,
            ),
            color=alt.Color(
                "measure:N",
                sort=measures,
                scale=alt.Scale(domain=measures, range=scale_range),
                # one measure needs no legend: the title names it
                legend=alt.Legend(title=None, labelLimit=0) if len(measures) > 1 else None,
            ),
            tooltip=[
                alt.Tooltip("group:N", title=dimension),
                alt.Tooltip(f"{x}:N", title=x_title or "Quarter"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("value:Q", title="Value", format=_TOOLTIP[kind]),
            ],
        )
        .properties(name="bars")
    )
    lines = [subtitle] if isinstance(subtitle, str) else list(subtitle or [])
    return (
        layer(bars)
        .add_params(pick)
        .properties(title=alt.Title(title, subtitle=lines), width=560, height=240)
    )
