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
    marketing_share,
    pipeline_created,
    pipeline_vs_bookings,
    target_for,
    target_value,
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
    "chart_pipeline_vs_bookings",
    "describe_workbook",
    "latest_complete_quarter",
    "load_funnel",
    "marketing_share",
    "open_workbook",
    "parse_as_of",
    "pipeline_created",
    "pipeline_vs_bookings",
    "pipeline_vs_bookings_headline",
    "pipeline_vs_bookings_summary",
    "show_findings",
    "table_pipeline_vs_bookings",
    "target_for",
    "target_value",
]
