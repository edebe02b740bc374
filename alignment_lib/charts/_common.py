"""Shared pieces of the chart builders: input handling, number formats, labels."""

from __future__ import annotations

from alignment_lib._frames import collect as collect  # the charts import it from here
from alignment_lib.theme import SOURCE_LABELS

#: d3 formats: axis ticks "$1.2M"; tooltips "$1,234,567"
AMOUNT_AXIS = "$~s"
AMOUNT_TOOLTIP = "$,.0f"
SHARE_AXIS = ".0%"
SHARE_TOOLTIP = ".1%"
COUNT_TOOLTIP = ",d"


def source_legend_labels() -> str:
    """A Vega expression showing 'Marketing-sourced' etc. for the source codes."""
    cases = " : ".join(f"datum.label === '{k}' ? '{v}'" for k, v in SOURCE_LABELS.items())
    return f"{cases} : datum.label"
