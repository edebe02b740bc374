"""Chart builders: aggregated polars frames in, ``altair`` charts out.

Builders never display and never collect raw CRM rows: they take the small
result of a metric function, so the exported HTML stays small however many
leads there are. Tests assert on ``chart.to_dict()``. One module per
workbook; shared formats in ``_common``.
"""

from alignment_lib.charts.pipeline import chart_pipeline_vs_bookings

__all__ = ["chart_pipeline_vs_bookings"]
