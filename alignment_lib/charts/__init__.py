"""Chart builders: aggregated polars frames in, ``altair`` charts out.

Builders never display and never collect raw CRM rows: they take the small
result of a metric function, so the exported HTML stays small however many
leads there are. Tests assert on ``chart.to_dict()``. One module per
workbook; shared formats in ``_common``.
"""

from alignment_lib.charts._common import chart_no_data
from alignment_lib.charts.cycles import (
    chart_bookings_linearity,
    chart_hockey_stick,
    chart_sales_cycle,
    chart_seasonality,
    chart_slipped_deals,
)
from alignment_lib.charts.dimensions import chart_by_dimension
from alignment_lib.charts.funnel import (
    chart_funnel_cohorts,
    chart_funnel_period,
    chart_stage_durations,
)
from alignment_lib.charts.handoff import (
    chart_leaked_mqls,
    chart_mql_outcomes,
    chart_rejection_reasons,
    chart_response_times,
    chart_weekly_sla,
)
from alignment_lib.charts.health import chart_health_issues
from alignment_lib.charts.pipeline import (
    chart_bookings_forecast,
    chart_cohort_curves,
    chart_creation_to_close_lag,
    chart_pipeline_vs_bookings,
)
from alignment_lib.charts.scorecard import (
    chart_pipeline_needed,
    chart_pipeline_to_create,
    chart_scorecard,
)

__all__ = [
    "chart_bookings_forecast",
    "chart_bookings_linearity",
    "chart_by_dimension",
    "chart_cohort_curves",
    "chart_creation_to_close_lag",
    "chart_funnel_cohorts",
    "chart_funnel_period",
    "chart_health_issues",
    "chart_hockey_stick",
    "chart_leaked_mqls",
    "chart_mql_outcomes",
    "chart_no_data",
    "chart_pipeline_needed",
    "chart_pipeline_to_create",
    "chart_pipeline_vs_bookings",
    "chart_rejection_reasons",
    "chart_response_times",
    "chart_sales_cycle",
    "chart_scorecard",
    "chart_seasonality",
    "chart_slipped_deals",
    "chart_stage_durations",
    "chart_weekly_sla",
]
