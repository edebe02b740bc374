"""Shared pieces of the chart builders: input handling, number formats, labels."""

from __future__ import annotations

import polars as pl

from alignment_lib.theme import SOURCE_LABELS

#: d3 formats: axis ticks "$1.2M"; tooltips "$1,234,567"
AMOUNT_AXIS = "$~s"
AMOUNT_TOOLTIP = "$,.0f"
SHARE_AXIS = ".0%"
SHARE_TOOLTIP = ".1%"
COUNT_TOOLTIP = ",d"


def collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Charts take metric results; a lazy one is collected here (it is small)."""
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def source_legend_labels() -> str:
    """A Vega expression showing 'Marketing-sourced' etc. for the source codes."""
    cases = " : ".join(f"datum.label === '{k}' ? '{v}'" for k, v in SOURCE_LABELS.items())
    return f"{cases} : datum.label"
