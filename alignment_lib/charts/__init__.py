"""Chart builders: aggregated polars frames in, ``altair`` charts out.

Builders never display and never collect raw CRM rows: they take the small
result of a metric function, so the exported HTML stays small however many
leads there are. Tests assert on ``chart.to_dict()``. One module per
workbook; shared formats in ``_common``.
"""

from alignment_lib.charts.pipeline import (
    chart_bookings_forecast,
    chart_cohort_curves,
    chart_creation_to_close_lag,
    chart_pipeline_vs_bookings,
)
from alignment_lib.charts.scorecard import chart_pipeline_needed, chart_scorecard

__all__ = [
    "chart_bookings_forecast",
    "chart_cohort_curves",
    "chart_creation_to_close_lag",
    "chart_pipeline_needed",
    "chart_pipeline_vs_bookings",
    "chart_scorecard",
]
