"""alignment_lib: marketing's long-term pipeline and sales' short-term closes on one page.

The public API, by verb family:

- ``load_*``: read and validate the canonical tables (``load_funnel``)
- metric functions named after the metric (``pipeline_created``, ``bookings``, ...)
- ``chart_*``: altair charts; ``table_*``: great_tables tables for executives
- ``open_workbook`` / ``show_findings``: what a notebook calls
"""

from alignment_lib.charts import chart_pipeline_vs_bookings
from alignment_lib.exceptions import (
    AlignmentError,
    DataValidationError,
    ParameterError,
    Problem,
    RenderError,
    SourceError,
)
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.load import FunnelData, load_funnel, parse_as_of
from alignment_lib.metrics import (
    attainment,
    bookings,
    bookings_by_week,
    bookings_linearity,
    closed_deal_stats,
    cohort_conversion_curve,
    creation_to_close_lag,
    data_health,
    deal_size_band,
    elapsed_share,
    funnel_cohort,
    funnel_period,
    marketing_share,
    mql_cohort_curve,
    mql_outcomes,
    pipeline_created,
    pipeline_vs_bookings,
    rejection_reasons,
    response_times,
    sales_cycle,
    sales_velocity,
    seasonality,
    shared_scorecard,
    slipped_deals,
    stage_durations,
    target_for,
    target_value,
    win_rates,
)
from alignment_lib.narrative import pipeline_vs_bookings_headline, pipeline_vs_bookings_summary
from alignment_lib.tables import table_pipeline_vs_bookings
from alignment_lib.workbook import (
    Workbook,
    describe_workbook,
    latest_complete_quarter,
    open_workbook,
    show_findings,
)

__version__ = "0.1.0"

__all__ = [
    "AlignmentError",
    "DataValidationError",
    "FiscalCalendar",
    "FiscalQuarter",
    "FunnelData",
    "ParameterError",
    "Problem",
    "RenderError",
    "SourceError",
    "Workbook",
    "__version__",
    "attainment",
    "bookings",
    "bookings_by_week",
    "bookings_linearity",
    "chart_pipeline_vs_bookings",
    "closed_deal_stats",
    "cohort_conversion_curve",
    "creation_to_close_lag",
    "data_health",
    "deal_size_band",
    "describe_workbook",
    "elapsed_share",
    "funnel_cohort",
    "funnel_period",
    "latest_complete_quarter",
    "load_funnel",
    "marketing_share",
    "mql_cohort_curve",
    "mql_outcomes",
    "open_workbook",
    "parse_as_of",
    "pipeline_created",
    "pipeline_vs_bookings",
    "pipeline_vs_bookings_headline",
    "pipeline_vs_bookings_summary",
    "rejection_reasons",
    "response_times",
    "sales_cycle",
    "sales_velocity",
    "seasonality",
    "shared_scorecard",
    "show_findings",
    "slipped_deals",
    "stage_durations",
    "table_pipeline_vs_bookings",
    "target_for",
    "target_value",
    "win_rates",
]
