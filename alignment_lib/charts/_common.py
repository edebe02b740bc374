"""Shared pieces of the chart builders: input handling, number formats, labels."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import altair as alt
import polars as pl

from alignment_lib._frames import collect as collect  # the charts import it from here
from alignment_lib._frames import column_max as column_max
from alignment_lib._frames import column_min as column_min
from alignment_lib.gate import gated
from alignment_lib.theme import MESSAGE_GREY, PLACEHOLDER_FRAME, SOURCE_LABELS

#: d3 formats: axis ticks "$1.2M"; tooltips "$1,234,567". The "$" is d3's currency
#: placeholder: the house theme's number locale writes the reporting currency there
#: ("€1.2M", "CHF 1.2M"; alignment_lib.money.vega_number_locale)
AMOUNT_AXIS = "$~s"
AMOUNT_TOOLTIP = "$,.0f"
SHARE_AXIS = ".0%"
SHARE_TOOLTIP = ".1%"
COUNT_TOOLTIP = ",d"


def source_legend_labels() -> str:
    """A Vega expression showing 'Marketing-sourced' etc. for the source codes."""
    cases = " : ".join(f"datum.label === '{k}' ? '{v}'" for k, v in SOURCE_LABELS.items())
    return f"{cases} : datum.label"


def layer(*charts: alt.Chart | alt.LayerChart, **kwargs: Any) -> alt.LayerChart:
    """``alt.layer(*charts, **kwargs)``, typed as what the kit's layers always are: a
    ``LayerChart``.

    altair's ``layer`` returns a ``FacetChart`` instead when every layer has the
    same facet encoding (``row``, ``column``, ``facet``); no chart of the kit
    facets its layers, so that would be a bug, and it fails here, where the
    chart is built, rather than as a wrong page.
    """
    chart = alt.layer(*charts, **kwargs)
    if not isinstance(chart, alt.LayerChart):
        raise TypeError(
            f"expected the layers to make a LayerChart, got {type(chart).__name__}: a layer "
            "has a row/column/facet encoding; facet the layered chart instead"
        )
    return chart


#: the placeholder's size: about that of the charts it stands in for
NO_DATA_WIDTH = 480
NO_DATA_HEIGHT = 120
#: a placeholder's text wraps at about this many characters per 480 pixels
_CHARS_PER_480 = 72
_LINE_HEIGHT = 18


def chart_no_data(
    message: str,
    *,
    title: str | None = None,
    width: int = NO_DATA_WIDTH,
    height: int = NO_DATA_HEIGHT,
) -> alt.LayerChart:
    """A chart-sized box stating what is missing, in place of a chart with no data.

    ``message`` names what is missing and where, e.g. "No MQLs in FY2026-Q3".
    ``title`` is the chart's usual headline (default: none, the message says
    it). A layer chart like most builders', so the page code treats it alike;
    it has a fixed size (never an empty scale, which vl-convert cannot size).
    A long message (a "not tracked" statement) wraps onto several lines and
    the box grows to hold them; the data row keeps the whole message.
    """
    lines = textwrap.wrap(message, width=max(_CHARS_PER_480 * width // 480, 20)) or [""]
    height = max(height, _LINE_HEIGHT * len(lines) + 40)
    text = (
        alt.Chart(pl.DataFrame({"message": [message]}))
        .mark_text(fontSize=14, color=MESSAGE_GREY, align="center", baseline="middle")
        .encode(
            text=alt.Text("message:N") if len(lines) == 1 else alt.value(lines),
            x=alt.value(width / 2),
            y=alt.value(height / 2),
        )
    )
    chart = (
        layer(text)
        .properties(width=width, height=height, description=message)
        .configure_view(stroke=PLACEHOLDER_FRAME, strokeDash=[4, 4])
    )
    return chart.properties(title=title) if title else chart


def no_data_message(what: str, *, quarter: str | None = None, where: str | None = None) -> str:
    """'No MQLs in FY2026-Q3', 'No bookings in the quarters shown' - what a placeholder says."""
    when = f" in {quarter}" if quarter else ""
    place = f" {where}" if where else ""
    return f"No {what}{when}{place}"


def _placeholder(
    builder: Callable[..., Any], label: str, said: list[str], kwargs: Mapping[str, Any]
) -> alt.LayerChart:
    """A chart the data cannot support: a box titled ``label`` stating why."""
    return chart_no_data(" ".join(said), title=label, width=620)


#: ``@shows("measure", ...)``: what a chart builder shows (alignment_lib.gate)
shows = gated(_placeholder)
