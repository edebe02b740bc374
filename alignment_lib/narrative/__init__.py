"""Findings in words, computed from metric results (never hard-coded).

Each function takes collected metric frames and returns plain sentences;
:func:`alignment_lib.show_findings` displays them with every value escaped.
One module per workbook (``forecast``: the forecast's sentences, which two pages state);
shared number formatting in ``_format``.
"""

from alignment_lib.narrative._format import escape_markdown, format_money, format_share
from alignment_lib.narrative.cycles import (
    business_cycles_summary,
    hockey_stick_headline,
    linearity_headline,
    sales_cycle_headline,
    seasonality_headline,
    slipped_deals_headline,
)
from alignment_lib.narrative.forecast import (
    forecast_findings,
    forecast_headline,
    forecast_summary,
)
from alignment_lib.narrative.funnel import (
    funnel_cohort_headline,
    funnel_period_headline,
    funnel_summary,
    stage_durations_headline,
)
from alignment_lib.narrative.handoff import (
    handoff_summary,
    leaked_mqls_headline,
    mql_outcomes_headline,
    rejection_reasons_headline,
    response_times_headline,
    stall_rule_sentence,
    weekly_sla_headline,
)
from alignment_lib.narrative.health import (
    HEALTH_RULE_LABELS,
    data_health_headline,
    data_health_summary,
    health_report_text,
    load_notices_summary,
    tracking_summary,
)
from alignment_lib.narrative.pipeline import (
    cohort_curves_headline,
    cohort_summary,
    lag_summary,
    pipeline_vs_bookings_headline,
    pipeline_vs_bookings_summary,
)
from alignment_lib.narrative.scorecard import (
    attention_items,
    gate_scorecard,
    pipeline_to_create_headline,
    scorecard_summary,
)

__all__ = [
    "HEALTH_RULE_LABELS",
    "attention_items",
    "business_cycles_summary",
    "cohort_curves_headline",
    "cohort_summary",
    "data_health_headline",
    "data_health_summary",
    "escape_markdown",
    "forecast_findings",
    "forecast_headline",
    "forecast_summary",
    "format_money",
    "format_share",
    "funnel_cohort_headline",
    "funnel_period_headline",
    "funnel_summary",
    "gate_scorecard",
    "handoff_summary",
    "health_report_text",
    "hockey_stick_headline",
    "lag_summary",
    "leaked_mqls_headline",
    "linearity_headline",
    "load_notices_summary",
    "mql_outcomes_headline",
    "pipeline_to_create_headline",
    "pipeline_vs_bookings_headline",
    "pipeline_vs_bookings_summary",
    "rejection_reasons_headline",
    "response_times_headline",
    "sales_cycle_headline",
    "scorecard_summary",
    "seasonality_headline",
    "slipped_deals_headline",
    "stage_durations_headline",
    "stall_rule_sentence",
    "tracking_summary",
    "weekly_sla_headline",
]
