"""Tables for executives: great_tables built from small metric results.

Formatting is for reading: currency without cents, thousands separators,
percentages, no dtype rows. great_tables escapes every value and label. Each
table gets a fixed id so a re-render produces the same HTML. One module per
workbook.
"""

from alignment_lib.tables._empty import table_no_data
from alignment_lib.tables.cycles import table_business_cycles, table_sales_cycle
from alignment_lib.tables.dimensions import table_by_dimension
from alignment_lib.tables.funnel import (
    table_funnel_by,
    table_funnel_cohorts,
    table_mql_to_won,
    table_stage_durations,
)
from alignment_lib.tables.handoff import table_handoff_by_channel, table_mql_outcomes
from alignment_lib.tables.health import (
    table_data_health,
    table_load_notices,
    table_rows_loaded,
    table_switched_off,
    table_tracking,
)
from alignment_lib.tables.pipeline import table_bookings_forecast, table_pipeline_vs_bookings
from alignment_lib.tables.scorecard import (
    table_benchmarks,
    table_coverage,
    table_pipeline_needed,
    table_pipeline_to_create,
    table_scorecard,
)

__all__ = [
    "table_benchmarks",
    "table_bookings_forecast",
    "table_business_cycles",
    "table_by_dimension",
    "table_coverage",
    "table_data_health",
    "table_funnel_by",
    "table_funnel_cohorts",
    "table_handoff_by_channel",
    "table_load_notices",
    "table_mql_outcomes",
    "table_mql_to_won",
    "table_no_data",
    "table_pipeline_needed",
    "table_pipeline_to_create",
    "table_pipeline_vs_bookings",
    "table_rows_loaded",
    "table_sales_cycle",
    "table_scorecard",
    "table_stage_durations",
    "table_switched_off",
    "table_tracking",
]
