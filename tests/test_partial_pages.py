"""What the pages say for partial data (docs/partial-data.md), on the hand-built tables.

The frames are those of tests/metrics/test_handoff.py, test_funnel.py (their docstrings
work the numbers out), and small scorecard, coverage and pipeline frames written here. A
``Tracking`` says what the data does not track; the expected sentences are written out:
what a page shows is either a figure the data supports or the sentence saying why not,
never a 0% or a chart of zeros for a stage the data does not track.

Handoff, FY2026-Q1: 6 MQLs (see test_handoff.py). Funnel without SAL and SQL (stages
inquiry, mql, opportunity, won; tests/metrics/test_funnel_stages.py): Q1 cohorts Inquiry ->
MQL 5/5, MQL -> Opportunity 2/3, Opportunity -> Won 1/2, all mature as of 30 June; Q2
cohorts still maturing. Q2 flows: 2 inquiries, 3 MQLs, 1 opportunity, 0 wins. Reached in
Q2: Inquiry -> MQL median 7 days (p90 11.8), MQL -> Opportunity L6's 8 days. MQL -> Won,
Q1 cohort: L1 of L1, L2, L3 = 1/3.
"""

from __future__ import annotations

import html
import re

import polars as pl

import tests.metrics.test_funnel as fn
import tests.metrics.test_handoff as ho
from alignment_lib import (
    Tracking,
    business_cycles_summary,
    chart_mql_outcomes,
    chart_pipeline_vs_bookings,
    chart_response_times,
    chart_scorecard,
    chart_seasonality,
    funnel_cohort,
    funnel_cohort_headline,
    funnel_period,
    funnel_period_headline,
    funnel_summary,
    handoff_summary,
    mql_outcomes_headline,
    pipeline_vs_bookings_headline,
    pipeline_vs_bookings_summary,
    response_times_headline,
    scorecard_summary,
    stage_durations,
    table_coverage,
    table_funnel_cohorts,
    table_mql_to_won,
    table_pipeline_needed,
    table_pipeline_vs_bookings,
    table_scorecard,
)
from alignment_lib.narrative.scorecard import gate_scorecard
from tests._charts import layer
from tests.test_gate import NO_HANDOFF, NO_LEADS, NO_LOST, SAL, TOUCH, tracking_without
from tests.test_narrative_handoff_funnel import handoff_frames
from tests.test_scorecard_page import COVERAGE, NEEDED, SCORECARD
from tests.test_tables_handoff_funnel import cells

REJECTION = "MQL rejections by sales are not tracked in this data (no rejection dates)."
REASONS = "Rejection reasons are not tracked in this data."
SQL = "SQL (sales-qualified leads) is not tracked in this data (no SQL dates)."
NO_CREATED = (
    "Opportunity creation dates are not in this data, so pipeline created, sales cycles and "
    "the lag from creation to close cannot be shown."
)
NO_HISTORY = "This data has no stage history, so slipped deals and past stages cannot be shown."
FUNNEL_SPAN = {"calendar": fn.UTC, "first": fn.Q1, "last": fn.Q2}
TRACKED_STAGES = ("inquiry", "mql", "opportunity", "won")


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- the handoff ---------------------------------------------------------------------------------
def test_handoff_without_handoff_stages_counts_mqls_and_says_what_is_not_tracked() -> None:
    # before: "Sales accepted 0% ... 6 (100%) leaked" and "every channel ... within the SLA"
    assert handoff_summary(**handoff_frames(), quarter=ho.Q1, tracking=NO_HANDOFF) == [
        "6 MQLs were handed to sales in FY2026-Q1.",
        SAL,
        REJECTION,
        TOUCH,
        REASONS,
    ]


def test_handoff_without_first_touches_keeps_what_is_tracked() -> None:
    untouched = tracking_without("leads.first_touch_at")
    assert handoff_summary(**handoff_frames(), quarter=ho.Q1, tracking=untouched) == [
        "6 MQLs were handed to sales in FY2026-Q1.",
        TOUCH,
        '"Not a fit" was the top reason for rejecting MQLs in FY2026-Q1 (50% of 2).',
    ]


def test_handoff_without_a_leads_table_says_so_once() -> None:
    no_leads = Tracking(has_leads=False)
    assert handoff_summary(**handoff_frames(), quarter=ho.Q1, tracking=no_leads) == [NO_LEADS]


def test_handoff_headlines_and_charts_state_what_is_missing() -> None:
    f = handoff_frames()
    said = " ".join([SAL, REJECTION, TOUCH])
    assert mql_outcomes_headline(f["outcomes"], quarter=ho.Q1, tracking=NO_HANDOFF) == said
    headline = response_times_headline(
        f["by_channel"], by="channel", quarter=ho.Q1, tracking=NO_HANDOFF
    )
    assert headline == TOUCH  # never "Every channel's median first touch ... within the SLA"
    chart = chart_mql_outcomes(f["outcomes"], title="ignored", tracking=NO_HANDOFF).to_dict()
    assert chart["description"] == said
    assert chart["title"] == "What became of the MQLs (accepted, rejected, pending, leaked)"
    owners = chart_response_times(
        f["by_owner"],
        by="owner_id",
        quarter="FY2026-Q1",
        tracking=tracking_without("leads.owner_id"),
    ).to_dict()
    assert owners["title"] == "Response times by rep"
    assert owners["description"] == "Lead owners (sales reps) are not tracked in this data."
    # by channel, the same data still draws its chart
    drawn = chart_response_times(
        f["by_channel"],
        by="channel",
        quarter="FY2026-Q1",
        tracking=tracking_without("leads.owner_id"),
    ).to_dict()
    assert "hconcat" in drawn


# -- the funnel ----------------------------------------------------------------------------------
def funnel_frames(stages: tuple[str, ...] = TRACKED_STAGES) -> dict[str, pl.DataFrame]:
    lf, of = fn.LEADS_LF, fn.OPPS_LF
    return {
        "cohorts": funnel_cohort(lf, of, **FUNNEL_SPAN, as_of=fn.AS_OF, stages=stages).collect(),
        "flows": funnel_period(lf, of, **FUNNEL_SPAN, stages=stages).collect(),
        "durations": stage_durations(lf, of, **FUNNEL_SPAN, stages=stages).collect(),
    }


def test_funnel_headlines_over_the_tracked_stages() -> None:
    f = funnel_frames(("inquiry", "mql", "won"))
    # Q1 cohorts: Inquiry -> MQL 5/5, MQL -> Won 1/3: never "narrows most at MQL -> SAL: 0%"
    assert funnel_cohort_headline(f["cohorts"], quarter=fn.Q2, tracking=NO_HANDOFF) == (
        "The funnel narrows most at MQL → Won: 33% of FY2026-Q1's MQLs were won"
    )
    f = funnel_frames(("inquiry", "mql", "opportunity"))
    assert funnel_period_headline(f["flows"], quarter=fn.Q1, tracking=NO_HANDOFF) == (
        "5 inquiries entered the funnel in FY2026-Q1 and 2 leads reached Opportunity"
    )


def test_funnel_summary_skips_the_untracked_stages_and_says_why() -> None:
    f = funnel_frames()
    mql_to_won = funnel_cohort(
        fn.LEADS_LF,
        fn.OPPS_LF,
        **FUNNEL_SPAN,
        as_of=fn.AS_OF,
        stages=("mql", "won"),
        by=["channel"],
    ).collect()
    assert funnel_summary(
        f["cohorts"],
        f["flows"],
        f["durations"],
        quarter=fn.Q2,
        mql_to_won=mql_to_won,
        tracking=NO_HANDOFF,
    ) == [
        "In FY2026-Q2, 2 inquiries, 3 MQLs, 1 new opportunity and 0 wins entered their stage "
        "(flows in the quarter, not one cohort).",
        "Latest mature cohorts: Inquiry → MQL 100%, MQL → Opportunity 67% and Opportunity → "
        "Won 50% for FY2026-Q1.",
        "Still maturing, so their shares will rise: every FY2026-Q2 cohort.",
        "MQL → Opportunity is the slowest step: a median 8.0 days (p90 8.0 days) for leads "
        "that reached Opportunity in FY2026-Q2.",
        "MQL → Won, whatever the stages between: 33% of FY2026-Q1's 3 MQLs were won.",
        "The funnel shows the stages this data tracks: Inquiry → MQL → Opportunity → Won.",
        SAL,
        SQL,
    ]


def test_funnel_without_leads_is_the_one_sentence() -> None:
    f = funnel_frames()
    no_leads = Tracking(has_leads=False)
    assert funnel_summary(**f, quarter=fn.Q2, tracking=no_leads) == [NO_LEADS]
    assert funnel_cohort_headline(f["cohorts"], quarter=fn.Q2, tracking=no_leads) == NO_LEADS


def test_funnel_with_nothing_tracked_after_the_lead_has_no_step() -> None:
    only_leads = tracking_without(
        "leads.mql_at",
        "leads.accepted_at",
        "leads.sql_at",
        "leads.opportunity_id",
        "opportunities.lead_id",
    )
    f = funnel_frames(("inquiry",))
    said = (
        "This data tracks no funnel stage after the lead's creation (no MQL, SAL or SQL dates, "
        "no link from leads to deals), so the funnel has no step to show."
    )
    assert funnel_summary(**f, quarter=fn.Q2, tracking=only_leads) == [said]
    table = text(table_funnel_cohorts(f["cohorts"], tracking=only_leads).as_raw_html())
    assert table.endswith("The funnel, stage by stage " + said)


def test_funnel_tables_show_only_the_tracked_steps() -> None:
    html = table_funnel_cohorts(funnel_frames()["cohorts"], tracking=NO_HANDOFF).as_raw_html()
    assert "MQL → Opportunity" in html and "SAL" not in html and "SQL" not in html
    # Q1: 5 inquiries, 3 MQLs entered; Inquiry -> MQL 100%, MQL -> Opportunity 67%, won 50%
    assert cells(html)[:6] == ["FY2026-Q1", "5", "3", "100%", "67%", "50%"]


def test_mql_to_won_table_by_channel() -> None:
    frame = funnel_cohort(
        fn.LEADS_LF,
        fn.OPPS_LF,
        **FUNNEL_SPAN,
        as_of=fn.AS_OF,
        stages=("mql", "won"),
        by=["channel"],
    )
    html = table_mql_to_won(frame, quarter="FY2026-Q2", min_entered=1).as_raw_html()
    # Q1 cohort (the latest mature): all 1/3, Webinar 1/2 (L1, L2), Paid Search 0/1 (L3)
    assert "MQL → Won by channel" in html and 'id="mql-to-won"' in html
    assert cells(html) == ["All leads", "33%", "Paid Search", "0%", "Webinar", "50%"]
    untracked = table_mql_to_won(frame, quarter="FY2026-Q2", tracking=Tracking(has_leads=False))
    # (opportunities.lead_id counts as tracked here: the one sentence is about leads)
    assert text(untracked.as_raw_html()).endswith("MQL → Won by channel " + NO_LEADS)


# -- the scorecard ---------------------------------------------------------------------------
COUNTS = pl.concat(
    [
        SCORECARD,
        pl.DataFrame(
            {
                "metric": ["won_deals", "pipeline_created"],
                "team": ["shared", "shared"],
                "label": ["Won deals", "Pipeline created"],
                "kind": ["count", "amount"],
                "target": [386.0, 900.0],
                "actual": [150.0, 0.0],
                "attainment": [150 / 386, 0.0],
                "elapsed_share": [0.5] * 2,
                "expected_to_date": [193.0, 450.0],
                "pacing": [150 / 193, 0.0],
                "status": ["behind", "behind"],
                "marketing": [100.0, 0.0],
                "sales": [30.0, 0.0],
                "partner": [20.0, 0.0],
            }
        ),
    ]
)
NO_LEADS_NO_CREATED = Tracking(
    tracked=tracking_without("opportunities.created_at").tracked, has_leads=False
)


def test_count_targets_are_counts_never_money() -> None:
    lines = scorecard_summary(COUNTS)
    assert "Won deals: 150 against 386 (39%), behind." in lines
    html = text(table_scorecard(COUNTS).as_raw_html())
    assert "Won deals 386 150 39% 78% (linear) – behind 100 30 20" in html
    assert "$386" not in html and "$150" not in html
    assert "Contribution by source" in html


def test_scorecard_rows_the_data_cannot_measure_read_not_tracked() -> None:
    gated = gate_scorecard(COUNTS, NO_LEADS_NO_CREATED)
    assert gated["not_tracked"].to_list() == [None, NO_LEADS, NO_LEADS, None, NO_CREATED]
    assert gated["actual"].to_list() == [140.0, None, None, 150.0, None]
    assert scorecard_summary(COUNTS, tracking=NO_LEADS_NO_CREATED) == [
        "Bookings: $140 against $400 (35%), behind.",
        "MQLs (marketing): not measured, this data does not track it.",
        "MQLs touched within SLA (sales): not measured, this data does not track it.",
        "Won deals: 150 against 386 (39%), behind.",
        "Pipeline created: not measured, this data does not track it.",
        NO_LEADS,
        NO_CREATED,
    ]
    html = text(table_scorecard(COUNTS, tracking=NO_LEADS_NO_CREATED).as_raw_html())
    assert "MQLs (marketing) 100 not tracked n/a – – not tracked" in html
    assert "Pipeline created $900 not tracked" in html and html.endswith(NO_CREATED)
    chart = chart_scorecard(COUNTS, title="t", tracking=NO_LEADS_NO_CREATED).to_dict()
    statuses = {r["target_name"]: r["status"] for r in next(iter(chart["datasets"].values()))}
    assert statuses["MQLs (marketing)"] == "not tracked"
    assert statuses["Bookings"] == "behind"


def test_coverage_without_lost_deals_needs_lost_deals() -> None:
    # the win rate of won deals alone is 100%: a required coverage of 1.0x would be false
    html = text(table_coverage(COVERAGE, tracking=Tracking(has_lost_deals=False)).as_raw_html())
    assert "Q-next 20 $200 $0 $100 $100 2.0x needs lost deals needs lost deals" in html
    assert "1.0x" not in html and "4.0x" not in html and html.endswith(NO_LOST)
    no_open = text(table_coverage(COVERAGE, tracking=Tracking(has_open_deals=False)).as_raw_html())
    assert no_open.endswith(
        "This data has no open deals, so open pipeline and coverage cannot be shown."
    )


def test_pipeline_needed_without_leads_keeps_the_pipeline_and_drops_the_mqls() -> None:
    html = text(table_pipeline_needed(NEEDED, tracking=Tracking(has_leads=False)).as_raw_html())
    assert "Q-next 50% $2,000 $0 $2,000 $800 needs a leads table" in html
    assert NO_LEADS in html


# -- pipeline vs closes ----------------------------------------------------------------------
PVB = pl.DataFrame(
    {
        "quarter_index": [8106] * 6,
        "fiscal_quarter": ["FY2026-Q3"] * 6,
        "measure": ["pipeline_created"] * 3 + ["bookings"] * 3,
        "source": ["marketing", "sales", "partner"] * 2,
        "deals": [0, 0, 0, 2, 1, 0],
        "amount": [0.0, 0.0, 0.0, 300.0, 100.0, 0.0],
    }
)
Q3 = fn.FiscalQuarter(2026, 3)
NO_CREATED_TRACKING = tracking_without("opportunities.created_at")


def test_pipeline_page_without_creation_dates_reports_bookings_only() -> None:
    # before: "No pipeline was created in FY2026-Q3." (a fake zero)
    assert pipeline_vs_bookings_summary(
        PVB, quarter=Q3, bookings_target=None, tracking=NO_CREATED_TRACKING
    ) == [
        "Bookings in FY2026-Q3 were $400.",
        "Marketing-sourced deals made 75% of them.",
        NO_CREATED,
    ]
    assert (
        pipeline_vs_bookings_headline(PVB, quarter=Q3, tracking=NO_CREATED_TRACKING)
        == "Marketing sourced 75% of FY2026-Q3 bookings"
    )
    chart = chart_pipeline_vs_bookings(PVB, title="t", tracking=NO_CREATED_TRACKING).to_dict()
    assert [layer(p, "bar", color="source")["title"] for p in chart["vconcat"]] == [
        "Bookings (closed-won, by quarter the deal closed)"
    ]
    assert " ".join(chart["title"]["subtitle"]) == NO_CREATED
    html = text(table_pipeline_vs_bookings(PVB, tracking=NO_CREATED_TRACKING).as_raw_html())
    assert "Pipeline created" not in html.replace(NO_CREATED, "")
    assert "FY2026-Q3 $300 $100 $0 $400 75%" in html


def test_pipeline_page_without_lost_deals() -> None:
    won_only = Tracking(has_lost_deals=False)
    assert pipeline_vs_bookings_summary(
        PVB, quarter=Q3, bookings_target=500.0, tracking=won_only
    ) == [
        "Bookings in FY2026-Q3 were $400, 80% of the $500 target.",
        "Marketing-sourced deals made 75% of them.",
        NO_LOST,
    ]


# -- business cycles -------------------------------------------------------------------------
SEASONS = pl.DataFrame(
    {
        "quarter_of_year": [1, 2, 3, 4],
        "quarter_label": ["Q1", "Q2", "Q3", "Q4"],
        "quarters": [2, 2, 2, 2],
        "mean_bookings": [100.0, 200.0, 300.0, 400.0],
        "bookings_index": [0.4, 0.8, 1.2, 1.6],
        "mean_pipeline_created": [0.0] * 4,
        "pipeline_created_index": [None] * 4,
        "mean_mqls": [10.0, 10.0, 10.0, 30.0],
        "mqls_index": [2 / 3, 2 / 3, 2 / 3, 2.0],
    },
    schema_overrides={"quarter_of_year": pl.Int32, "pipeline_created_index": pl.Float64},
)


def test_seasonality_chart_leaves_out_the_untracked_series() -> None:
    d = chart_seasonality(SEASONS, tracking=NO_CREATED_TRACKING).to_dict()
    rows = next(v for k, v in d["datasets"].items() if len(v) > 1)
    assert {r["measure"] for r in rows} == {"Bookings", "MQLs"}
    every = chart_seasonality(SEASONS).to_dict()
    rows = next(v for k, v in every["datasets"].items() if len(v) > 1)
    assert {r["measure"] for r in rows} == {"Bookings", "Pipeline created", "MQLs"}


def test_business_cycles_summary_without_history_or_creation_dates() -> None:
    linearity = pl.DataFrame(
        {
            "quarter_index": [8106],
            "fiscal_quarter": ["FY2026-Q3"],
            "month3_share": [0.3],
            "last_two_weeks_share": [0.1],
            "linearity_status": ["healthy"],
        }
    )
    empty = pl.DataFrame({"fiscal_quarter": [], "median_days_won": []})
    lines = business_cycles_summary(
        linearity=linearity,
        seasonality=SEASONS,
        cycle_by_segment=empty,
        cycle_by_band=empty,
        slipped=pl.DataFrame(),
        quarter=Q3,
        tracking=tracking_without("opportunities.created_at", has_stage_history=False),
    )
    assert lines == [
        "30% of FY2026-Q3 bookings closed in the quarter's last month (healthy); 10% in its "
        "last two weeks.",
        "Over the 8 quarters shown, Q4 books 60% above an average quarter and Q1 60% below; "
        "MQLs peak in Q4.",
        NO_HISTORY,
        NO_CREATED,
    ]
