"""Metric functions: LazyFrame in, LazyFrame out, sorted, with a written definition.

Each function's docstring states the grain and units; ``docs/metrics.md``
holds the definitions and pitfalls.
"""

from alignment_lib.metrics.pipeline import (
    bookings,
    marketing_share,
    pipeline_created,
    pipeline_vs_bookings,
)
from alignment_lib.metrics.targets import attainment, target_for, target_value

__all__ = [
    "attainment",
    "bookings",
    "marketing_share",
    "pipeline_created",
    "pipeline_vs_bookings",
    "target_for",
    "target_value",
]
