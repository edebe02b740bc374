"""Metric functions: LazyFrame in, LazyFrame out, sorted, with a written definition.

Each function's docstring states the grain and units; ``docs/metrics.md`` and
``docs/metrics/*.md`` hold the definitions and pitfalls.
"""

from alignment_lib.metrics.cycles import (
    LINEARITY_STATUSES,
    MONTH3_HEALTHY_MAX,
    MONTH3_SEVERE_MIN,
    bookings_by_week,
    bookings_linearity,
    seasonality,
    slipped_deals,
)
from alignment_lib.metrics.deals import (
    DEAL_SIZE_BANDS,
    closed_deal_stats,
    deal_size_band,
    sales_cycle,
    sales_velocity,
    win_rates,
)
from alignment_lib.metrics.forecast import (
    CALIBRATIONS,
    DEFAULT_EXCLUDED_STAGES,
    Z_80,
    bookings_forecast,
    forecast_backtest,
    in_quarter_win_probabilities,
    pipeline_coverage,
    pipeline_needed,
    stage_win_probabilities,
)
from alignment_lib.metrics.funnel import (
    FUNNEL_STAGES,
    funnel_cohort,
    funnel_period,
    stage_durations,
)
from alignment_lib.metrics.handoff import (
    NO_REASON,
    mql_outcomes,
    rejection_reasons,
    response_times,
)
from alignment_lib.metrics.health import (
    HEALTH_RULES,
    HealthReport,
    HealthRule,
    data_health,
    health_report,
    load_notices,
    rows_loaded,
    switched_off_measures,
    tracked_needs,
)
from alignment_lib.metrics.lag import (
    LAG_BUCKETS,
    cohort_conversion_curve,
    creation_to_close_lag,
    mql_cohort_curve,
)
from alignment_lib.metrics.pipeline import (
    bookings,
    marketing_share,
    pipeline_created,
    pipeline_vs_bookings,
)
from alignment_lib.metrics.scorecard import (
    AT_RISK_PACING,
    AT_RISK_RATE_GAP,
    elapsed_share,
    shared_scorecard,
)
from alignment_lib.metrics.targets import (
    attainment,
    target_for,
    target_value,
)

__all__ = [
    "AT_RISK_PACING",
    "AT_RISK_RATE_GAP",
    "CALIBRATIONS",
    "DEAL_SIZE_BANDS",
    "DEFAULT_EXCLUDED_STAGES",
    "FUNNEL_STAGES",
    "HEALTH_RULES",
    "LAG_BUCKETS",
    "LINEARITY_STATUSES",
    "MONTH3_HEALTHY_MAX",
    "MONTH3_SEVERE_MIN",
    "NO_REASON",
    "Z_80",
    "HealthReport",
    "HealthRule",
    "attainment",
    "bookings",
    "bookings_by_week",
    "bookings_forecast",
    "bookings_linearity",
    "closed_deal_stats",
    "cohort_conversion_curve",
    "creation_to_close_lag",
    "data_health",
    "deal_size_band",
    "elapsed_share",
    "forecast_backtest",
    "funnel_cohort",
    "funnel_period",
    "health_report",
    "in_quarter_win_probabilities",
    "load_notices",
    "marketing_share",
    "mql_cohort_curve",
    "mql_outcomes",
    "pipeline_coverage",
    "pipeline_created",
    "pipeline_needed",
    "pipeline_vs_bookings",
    "rejection_reasons",
    "response_times",
    "rows_loaded",
    "sales_cycle",
    "sales_velocity",
    "seasonality",
    "shared_scorecard",
    "slipped_deals",
    "stage_durations",
    "stage_win_probabilities",
    "switched_off_measures",
    "target_for",
    "target_value",
    "tracked_needs",
    "win_rates",
]
