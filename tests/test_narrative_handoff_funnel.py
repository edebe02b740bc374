"""Findings of 'The handoff' and 'The funnel' on the hand-built tables of the metric tests.

Every expected sentence is written by hand from the numbers worked out in the docstrings of
``tests/metrics/test_handoff.py`` and ``tests/metrics/test_funnel.py``:

Handoff, FY2026-Q1 (as of 2026-04-10 12:00 UTC, SLA 24 h): 6 MQLs, accepted 2 (33%),
rejected 2 (33%), pending 1 (17%), leaked 1 (17%, H4, Paid Search). Response: touched 4,
median 15 h, p90 40.8 h (shown as 41 h), compliance 3/6 = 50%. By channel: Paid Search
(H3 48 h, H5 6 h) median 27 h, due 3, within 1: 33%; Webinar median 13 h; Events never
touched (no median). By owner: r2 median 27 h but only 3 MQLs due (fewer than the 5 a rep
needs to be named in the summary). Rejections: "Not a fit" 1 and "(no reason given)" 1: a
tie, the named reason goes first: 50% of 2. Weeks with MQLs due: week of 2 March 60%, week
of 9 March 0%.
FY2026-Q2: 3 MQLs, accepted 0, rejected 0, pending 2 (67%), leaked 1 (33%, H8, Webinar);
FY2026-Q1 accepted 33%. Touched H9 only (1 h): median and p90 1.0 h, compliance 1/2.
No rejections.

Funnel, FY2026-Q2 (as of the end of Q2): flows inquiry 2, MQL 3, SAL 1, SQL 1, opportunity
1, won 0. Every Q1 cohort is mature: conversions 5/5, 2/3, 1/2, 2/2, 1/2; every Q2 cohort is
immature. By channel, Q1 MQL -> SAL: Webinar 2/2, Paid Search 1/0 (Events had no MQL).
Durations reached in Q2: inquiry -> MQL median 7, p90 11.8 days (shown as 12; the
slowest); MQL -> SAL 1 and 1. In Q1: opportunity -> won 40 days (the slowest), MQL -> SAL
1.5 (p90 1.9).
"""

from __future__ import annotations

import polars as pl

import tests.metrics.test_funnel as fn
import tests.metrics.test_handoff as ho
import tests.metrics.test_handoff_stall_clock as sc
from alignment_lib import (
    FiscalQuarter,
    funnel_cohort,
    funnel_cohort_headline,
    funnel_period,
    funnel_period_headline,
    funnel_summary,
    handoff_summary,
    leaked_mqls_headline,
    mql_outcomes,
    mql_outcomes_headline,
    rejection_reasons,
    rejection_reasons_headline,
    response_times,
    response_times_headline,
    stage_durations,
    stage_durations_headline,
    stall_rule_sentence,
    stall_threshold,
    weekly_sla_headline,
)

Q1, Q2 = ho.Q1, ho.Q2
TIMED = {**ho.KW, "as_of": ho.AS_OF}


def handoff_frames(leads: pl.LazyFrame = ho.LEADS_LF) -> dict[str, pl.DataFrame]:
    return {
        "outcomes": mql_outcomes(leads, **TIMED, by=["channel"]).collect(),
        "reasons": rejection_reasons(leads, **ho.KW).collect(),
        "response": response_times(leads, **TIMED).collect(),
        "by_channel": response_times(leads, **TIMED, by=["channel"]).collect(),
        "by_owner": response_times(leads, **TIMED, by=["owner_id"]).collect(),
        "stall": stall_threshold(leads, calendar=ho.UTC, as_of=ho.AS_OF).collect(),
    }


def test_handoff_summary_worked_by_hand() -> None:
    assert handoff_summary(**handoff_frames(), quarter=Q1, sla_target=0.55) == [
        # H4 never touched, H5 touched on 03-06 and undecided 35 days later (fallback 30 days)
        "Sales accepted 33% of FY2026-Q1's 6 MQLs and rejected 33%; none awaits a decision "
        "and 2 (33%) leaked: 1 never touched past the SLA, 1 touched but left without a "
        "decision for more than 30 days (stalled).",
        "With only 4 decisions known, too few for their p99, an MQL touched but still "
        "undecided after 30 days (the kit's fallback) counts as stalled, leaked.",
        "Half of the touched MQLs got a first touch within 15 h; 1 in 10 waited more than 41 h. "
        "50% of the MQLs due were touched within the 24 h SLA (target 55%).",
        "Paid Search MQLs waited a median 27 h for a first touch against a 24 h SLA; 33% of "
        "them were touched in time.",
        "2 FY2026-Q1 MQLs leaked (1 never touched, 1 stalled), 2 of them from Paid Search.",
        '"Not a fit" was the top reason for rejecting MQLs in FY2026-Q1 (50% of 2).',
    ]


def test_handoff_summary_compares_with_the_quarter_before() -> None:
    assert handoff_summary(**handoff_frames(), quarter=Q2) == [
        "Sales accepted 0% of FY2026-Q2's 3 MQLs (FY2026-Q1: 33%) and rejected 0%; 2 (67%) "
        "await a decision and 1 (33%) leaked: never touched, past the SLA.",
        "Half of the touched MQLs got a first touch within 1.0 h; 1 in 10 waited more than "
        "1.0 h. 50% of the MQLs due were touched within the 24 h SLA.",
        "1 FY2026-Q2 MQL leaked untouched, from Webinar.",
        "Sales rejected no MQLs in FY2026-Q2.",
    ]


def test_handoff_summary_without_mqls() -> None:
    lines = handoff_summary(**handoff_frames(ho.LEADS_LF.clear()), quarter=Q1)
    assert lines == [
        "No MQLs were handed to sales in FY2026-Q1.",
        "No FY2026-Q1 MQL has had a first sales touch yet.",
        "Sales rejected no MQLs in FY2026-Q1.",
    ]


def test_handoff_headlines_without_mqls() -> None:
    # vacuous truths ("every channel was within the SLA", "no MQL leaked") are not said
    f = handoff_frames(ho.LEADS_LF.clear())
    assert leaked_mqls_headline(f["outcomes"], quarter=Q1) == (
        "No MQLs were handed to sales in FY2026-Q1"
    )
    assert response_times_headline(f["by_channel"], by="channel", quarter=Q1) == (
        "No channel in FY2026-Q1 has a first touch to time"
    )
    assert mql_outcomes_headline(f["outcomes"], quarter=Q1) == (
        "No MQLs were handed to sales in FY2026-Q1"
    )


def test_handoff_headlines_worked_by_hand() -> None:
    f = handoff_frames()
    assert mql_outcomes_headline(f["outcomes"], quarter=Q1) == (
        "Sales accepted 33% of FY2026-Q1's 6 MQLs; 2 leaked (1 never touched, 1 stalled "
        "without a decision)"
    )
    assert mql_outcomes_headline(f["outcomes"], quarter=Q2) == (
        "Sales accepted 0% of FY2026-Q2's 3 MQLs; 1 leaked untouched"
    )
    assert response_times_headline(f["by_channel"], by="channel", quarter=Q1) == (
        "Paid Search MQLs waited a median 27 h for a first touch against a 24 h SLA"
    )
    assert response_times_headline(f["by_channel"], by="channel", quarter=Q2) == (
        "Every channel's median first touch in FY2026-Q2 was within a 24 h SLA"
    )
    # r2 (median 27 h, 3 MQLs due) is named only when 3 due is enough
    assert response_times_headline(f["by_owner"], by="owner_id", quarter=Q1, min_due=3) == (
        "Rep r2 took a median 27 h to first touch an MQL, against a 24 h SLA"
    )
    # no rep has 5 MQLs due: "every rep was within the SLA" would be vacuously true
    assert response_times_headline(f["by_owner"], by="owner_id", quarter=Q1, min_due=5) == (
        "No rep with at least 5 MQLs due in FY2026-Q1 has a first touch to time"
    )
    assert leaked_mqls_headline(f["outcomes"], quarter=Q2) == (
        "1 FY2026-Q2 MQL leaked untouched, from Webinar"
    )


def test_slow_groups_named_slowest_first_and_capped() -> None:
    rows = [(f"rep-{i:03d}", 30.0 + i) for i in range(1, 7)]
    frame = pl.DataFrame(
        {
            "fiscal_quarter": ["FY2026-Q1"] * 6,
            "owner_id": [r for r, _ in rows],
            "mqls_due": [10] * 6,
            "median_hours": [h for _, h in rows],
            "sla_compliance": [0.1] * 6,
        }
    )
    assert response_times_headline(frame, by="owner_id", quarter=Q1, min_due=5) == (
        "6 reps kept FY2026-Q1's MQLs waiting longer than a 24 h SLA (median first touch): "
        "rep-006, rep-005, rep-004 and 3 more"
    )
    two = frame.head(2)
    assert response_times_headline(two, by="owner_id", quarter=Q1, min_due=5) == (
        "Reps rep-002 and rep-001 took a median 32 h and 31 h to first touch an MQL, "
        "against a 24 h SLA"
    )


def test_rejection_reasons_headline_when_no_reason_leads() -> None:
    frame = pl.DataFrame(
        {
            "fiscal_quarter": ["FY2026-Q1", "FY2026-Q1"],
            "rejection_reason": ["(no reason given)", "Duplicate"],
            "rejected": [3, 1],
        }
    )
    assert rejection_reasons_headline(frame, quarter=Q1) == (
        "Sales gave no reason for 75% of the 4 MQLs it rejected in FY2026-Q1, "
        "more than for any reason"
    )


def test_weekly_sla_headline_worked_by_hand() -> None:
    weekly = response_times(
        ho.LEADS_LF, calendar=ho.UTC, first=Q1, last=Q1, as_of=ho.AS_OF, period="week"
    ).collect()
    assert weekly_sla_headline(weekly, sla_target=0.55) == (
        "Sales met the 55% SLA target in 1 of 2 weeks; the worst week reached 0% "
        "(week of 9 Mar 2026)"
    )
    assert weekly_sla_headline(weekly) == (
        "Weekly SLA compliance ranged from 0% (week of 9 Mar 2026) to 60%"
    )
    assert weekly_sla_headline(weekly.clear()) == (
        "No MQL was due for a first touch in these weeks"
    )


# -- the funnel ----------------------------------------------------------------------------
SPAN = {"calendar": fn.UTC, "first": fn.Q1, "last": fn.Q2}


def funnel_frames(*, empty: bool = False, **by) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    leads, opps = fn.LEADS_LF, fn.OPPS_LF
    if empty:
        leads, opps = leads.clear(), opps.clear()
    return (
        funnel_cohort(leads, opps, **SPAN, as_of=fn.AS_OF, **by).collect(),
        funnel_period(leads, opps, **SPAN, **by).collect(),
        stage_durations(leads, opps, **SPAN).collect(),
    )


def test_funnel_summary_worked_by_hand() -> None:
    cohorts, flows, durations = funnel_frames(by=["channel"])
    assert funnel_summary(cohorts, flows, durations, quarter=fn.Q2, min_entered=1) == [
        "In FY2026-Q2, 2 inquiries, 3 MQLs, 1 SAL, 1 SQL, 1 new opportunity and 0 wins "
        "entered their stage (flows in the quarter, not one cohort).",
        "Latest mature cohorts: Inquiry → MQL 100%, MQL → SAL 67%, SAL → SQL 50%, "
        "SQL → Opportunity 100% and Opportunity → Won 50% for FY2026-Q1.",
        "Still maturing, so their shares will rise: every FY2026-Q2 cohort.",
        "By channel, MQL → SAL for FY2026-Q1's MQLs: Paid Search 0% and Webinar 100%.",
        "Inquiry → MQL is the slowest step: a median 7.0 days (p90 12 days) for leads that "
        "reached MQL in FY2026-Q2; sales accepted MQLs a median 1.0 days after the handoff "
        "(p90 1.0 days).",
    ]


def test_funnel_summary_skips_groups_too_small_to_compare() -> None:
    cohorts, flows, durations = funnel_frames(by=["channel"])
    lines = funnel_summary(cohorts, flows, durations, quarter=fn.Q2)  # 20 leads needed
    assert not any(line.startswith("By channel") for line in lines)
    # split or not, the totals are the same
    assert lines == funnel_summary(*funnel_frames(), quarter=fn.Q2)


def test_funnel_summary_segment_spread() -> None:
    steps = [(1, "inquiry", "mql"), (5, "opportunity", "won")]
    rows = [
        (s, a, b, seg, entered, reached)
        for s, a, b in steps
        for seg, entered, reached in (("Enterprise", 10, 3), ("SMB", 20, 8), (None, 5, 0))
    ]
    cohorts = pl.DataFrame(
        {
            "quarter_index": [fn.Q1I] * len(rows),
            "fiscal_quarter": ["FY2026-Q1"] * len(rows),
            "step": [r[0] for r in rows],
            "from_stage": [r[1] for r in rows],
            "to_stage": [r[2] for r in rows],
            "segment": [r[3] for r in rows],
            "entered": [r[4] for r in rows],
            "reached": [r[5] for r in rows],
            "mature": [True] * len(rows),
        },
        schema_overrides={"quarter_index": pl.Int32, "step": pl.Int32},
    )
    _, flows, durations = funnel_frames()
    lines = funnel_summary(cohorts, flows, durations, quarter=fn.Q1, min_entered=10)
    # Enterprise 3/10 = 30%, SMB 8/20 = 40%; the segment left blank is not a group
    expected = "Enterprise 30% and SMB 40%."
    assert f"By segment, Opportunity → Won for FY2026-Q1's opportunities: {expected}" in lines


def test_funnel_headlines_worked_by_hand() -> None:
    cohorts, flows, durations = funnel_frames(by=["channel"])
    # Q1's SAL -> SQL and Opportunity -> Won are both 50%: the earlier step is named
    assert funnel_cohort_headline(cohorts, quarter=fn.Q2) == (
        "The funnel narrows most at SAL → SQL: 50% of FY2026-Q1's SALs became SQLs"
    )
    assert funnel_period_headline(flows, quarter=fn.Q2) == (
        "2 inquiries entered the funnel in FY2026-Q2 and 0 leads reached Won"
    )
    assert stage_durations_headline(durations, quarter=fn.Q1) == (
        "Opportunity → Won is the slowest step: a median 40 days (p90 40 days) for leads "
        "that reached Won in FY2026-Q1"
    )
    young = cohorts.filter(pl.col("quarter_index") == fn.Q2I)
    assert funnel_cohort_headline(young, quarter=fn.Q2) == (
        "No cohort up to FY2026-Q2 is mature yet: conversion is still growing"
    )


def test_funnel_findings_without_leads() -> None:
    cohorts, flows, durations = funnel_frames(empty=True, by=["channel", "segment"])
    assert funnel_summary(cohorts, flows, durations, quarter=fn.Q2) == [
        "No lead entered the funnel or any of its stages in FY2026-Q2."
    ]
    assert (
        funnel_cohort_headline(cohorts, quarter=fn.Q2) == "No leads in the cohorts up to FY2026-Q2"
    )
    assert funnel_period_headline(flows, quarter=fn.Q2) == (
        "No lead entered the funnel or any of its stages in FY2026-Q2"
    )
    assert stage_durations_headline(durations, quarter=fn.Q2) == (
        "No lead moved between stages in FY2026-Q2"
    )


def test_stall_rule_sentence_says_how_the_threshold_was_set() -> None:
    # p99 table of tests/metrics/test_handoff_stall_clock.py: 100 decisions after 1..100 days
    leads = sc.frame([*sc.DECIDED, *sc.UNDECIDED])
    p99 = stall_threshold(leads, calendar=ho.UTC, as_of=sc.AS_OF_2025).collect()
    assert stall_rule_sentence(p99) == (
        "Decisions take a median 50.5 days; an MQL touched but still undecided after 99 days "
        "(the p99 of the 100 decisions known) counts as stalled, leaked"
    )
    given = stall_threshold(leads, calendar=ho.UTC, as_of=sc.AS_OF_2025, stall_days=14).collect()
    assert stall_rule_sentence(given) == (
        "An MQL touched but still undecided after 14 days (set for this report) counts as "
        "stalled, leaked"
    )
    none = stall_threshold(sc.frame(sc.UNDECIDED), calendar=ho.UTC, as_of=sc.AS_OF_2025)
    assert stall_rule_sentence(none.collect()) == (
        "With no decisions known, too few for their p99, an MQL touched but still undecided "
        "after 30 days (the kit's fallback) counts as stalled, leaked"
    )


def test_only_stalled_mqls_leaked() -> None:
    # S1 and S2 are 99 days old, touched, undecided: with 14 days both are stalled (Q1)
    leads = sc.frame(sc.UNDECIDED)
    kw = {**sc.SPAN_2025, "as_of": sc.AS_OF_2025, "stall_days": 14}
    outcomes = mql_outcomes(leads, **kw).collect()
    q = FiscalQuarter(2025, 1)
    assert mql_outcomes_headline(outcomes, quarter=q) == (
        "Sales accepted 0% of FY2025-Q1's 2 MQLs; 2 leaked: touched, then stalled without a "
        "decision"
    )
    assert leaked_mqls_headline(outcomes, quarter=q) == (
        "2 FY2025-Q1 MQLs leaked: touched, then stalled"
    )


def test_business_clock_findings_say_working_hours_and_name_the_fallback() -> None:
    # the 4-hour SLA table of tests/metrics/test_handoff_stall_clock.py, on the business clock
    kw = {**sc.CLOCK, "sla_clock": "business"}
    leads = sc.CLOCK_LEADS
    frames = {
        "outcomes": mql_outcomes(leads, **kw, by=["channel"]).collect(),
        "reasons": rejection_reasons(leads, **ho.KW).collect(),
        "response": response_times(leads, **kw).collect(),
        "by_channel": response_times(leads, **kw, by=["channel"]).collect(),
        "by_owner": response_times(leads, **kw, by=["owner_id"]).collect(),
    }
    lines = handoff_summary(**frames, quarter=Q1, sla_hours=4, sla_clock="business")
    assert lines[1:3] == [
        "Half of the touched MQLs got a first touch within 2.0 working h; 1 in 10 waited more "
        "than 5.2 working h. 67% of the MQLs due were touched within the 4 working-hour SLA.",
        "1 FY2026-Q1 MQL has no region with a known time zone: its SLA is counted in "
        "calendar hours.",
    ]
    # no channel here (every lead's channel is empty): the one group's median is 2 working h
    assert response_times_headline(
        frames["by_channel"], by="channel", quarter=Q1, sla_hours=1, sla_clock="business"
    ) == (
        "(not set) MQLs waited a median 2.0 working h for a first touch against a 1 "
        "working-hour SLA"
    )
