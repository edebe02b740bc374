"""Findings in words, computed from metric results (never hard-coded).

Each function takes collected metric frames and returns plain sentences;
:func:`alignment_lib.show_findings` displays them with every value escaped.
One module per workbook; shared number formatting in ``_format``.
"""

from alignment_lib.narrative._format import escape_markdown, format_money, format_share
from alignment_lib.narrative.pipeline import (
    cohort_summary,
    forecast_summary,
    lag_summary,
    pipeline_vs_bookings_headline,
    pipeline_vs_bookings_summary,
)
from alignment_lib.narrative.scorecard import attention_items, scorecard_summary

__all__ = [
    "attention_items",
    "cohort_summary",
    "escape_markdown",
    "forecast_summary",
    "format_money",
    "format_share",
    "lag_summary",
    "pipeline_vs_bookings_headline",
    "pipeline_vs_bookings_summary",
    "scorecard_summary",
]
