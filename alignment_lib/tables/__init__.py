"""Tables for executives: great_tables built from small metric results.

Formatting is for reading: currency without cents, thousands separators,
percentages, no dtype rows. great_tables escapes every value and label. Each
table gets a fixed id so a re-render produces the same HTML. One module per
workbook.
"""

from alignment_lib.tables.pipeline import table_pipeline_vs_bookings
from alignment_lib.tables.scorecard import table_coverage, table_pipeline_needed, table_scorecard

__all__ = [
    "table_coverage",
    "table_pipeline_needed",
    "table_pipeline_vs_bookings",
    "table_scorecard",
]
