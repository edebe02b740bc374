"""The funnel (cohort conversion, period flows, stage durations) on a hand-built table.

Every expected value below is worked out by hand from this table, not by running the code.
Calendar: fiscal year = calendar year, UTC; Q1 = Jan-Mar 2026, Q2 = Apr-Jun 2026. Every
instant is at 10:00 UTC, so durations are whole days. As of 2026-06-30 23:59:59.999999 UTC
(the last instant of Q2) unless a test says otherwise.

| lead | channel     | inquiry | mql   | sal   | sql   | opportunity   | won        |
|------|-------------|---------|-------|-------|-------|---------------|------------|
| L1   | Webinar     | 01-05   | 01-06 | 01-08 | 01-18 | O1 01-20      | won 03-01  |
| L2   | Webinar     | 01-10   | 01-12 | 01-13 |       |               |            |
| L3   | Paid Search | 02-01   | 02-05 |  --   | 02-15 | O3 02-16      | (lost 04-01)|
| L4   | Paid Search | 03-20   | 04-02 |       |       |               |            |
| L7   | Paid Search | 03-25   | 04-01 |       |       |               |            |
| L5   | Events      | 04-10   |       |       |       |               |            |
| L6   | Webinar     | 05-01   | 05-03 | 05-04 | 05-10 | O6 05-11      | (open)     |

L3 skips SAL (an SQL never formally accepted). Events has inquiries but no MQL. O9 is an
outbound opportunity without a lead: not in the lead funnel.

Days between stages: inquiry->mql L1 1, L2 2, L3 4, L4 13, L7 7, L6 2; mql->sal L1 2, L2 1,
L6 1; sal->sql L1 10, L6 6; sql->opportunity L1 2, L3 1, L6 1; opportunity->won L1 40.

**Cohort mode, "any stage"** (cohort = quarter the lead reached A):

| step | pair             | Q1 entered/reached, conv, median | Q2 entered/reached, conv, median |
|------|------------------|----------------------------------|----------------------------------|
| 1    | inquiry->mql     | 5/5 (L1-L4, L7), 1.0, median of 1,2,4,7,13 = 4 | 2/1 (L5, L6), 0.5, 2  |
| 2    | mql->sal         | 3/2 (L1 L2 L3), 2/3, (1+2)/2 = 1.5 | 3/1 (L4 L7 L6), 1/3, 1         |
| 3    | sal->sql         | 2/1 (L1 L2), 0.5, 10             | 1/1 (L6), 1.0, 6                 |
| 4    | sql->opportunity | 2/2 (L1 L3), 1.0, 1.5            | 1/1 (L6), 1.0, 1                 |
| 5    | opportunity->won | 2/1 (O1 O3), 0.5, 40             | 1/0 (O6), 0.0, null              |

Maturity days (the p90 of A->B days over every lead that reached B; linear interpolation
at position 0.9 * (n - 1) of the sorted values): step 1, sorted 1,2,2,4,7,13: position 4.5:
7 + 0.5 * (13 - 7) = 10; step 2, sorted 1,1,2: position 1.8: 1 + 0.8 * 1 = 1.8; step 3,
sorted 6,10: position 0.9: 6 + 0.9 * 4 = 9.6; step 4, sorted 1,1,2: 1.8; step 5, 40 alone:
40. Q1 ends 2026-03-31 end of day, 91 days before the as-of: every Q1 cohort is mature. Q2
ends at the as-of instant itself (age 0): every Q2 cohort is immature.

**As of 2026-07-05** (end of day, the same rows): Q2 is 5 days old. Step 1: 5 < 10, still
maturing (the old rule, the median (2 + 4) / 2 = 3, called it mature while 2 of the 6
conversions took 7 and 13 days); step 2 1.8 and step 4 1.8: mature; step 3 9.6 and step 5
40: still maturing.

**As of 2026-04-30** (end of day UTC; L6 and O6 do not exist yet): the Q1 cohort of step 5
(opportunity->won) is 30 days old, younger than its 40 days: immature. The other maturity
days: step 1, sorted 1,2,4,7,13: position 3.6: 7 + 0.6 * 6 = 10.6; step 2, sorted 1,2:
position 0.9: 1.9; step 3 L1's 10 days alone; step 4, sorted 1,2: 1.9: all below 30 days, so
those Q1 cohorts are mature.

**"All stages in order"**: L3 skipped SAL, so it stops at MQL. Q1 step 4 (sql->opportunity)
is L1 only: 1/1; Q1 step 5 is O1 only: 1/1, conversion 1.0. Steps 1-3 are unchanged.

**within_days=3**, step 1, Q1: of 1,2,4,13,7 days only 1 and 2 are within 3 days: reached 2,
conversion 2/5 = 0.4, median (1+2)/2 = 1.5; maturity_days = 3 (Q1 mature, Q2 not).

**By channel**, step 2 (mql->sal): Q1 Webinar 2/2 = 1.0, Paid Search 1/0 = 0.0 (L3),
Events 0/0 = null (a channel with no MQLs); Q2 Webinar 1/1 (L6), Paid Search 2/0 (L4 L7),
Events 0/0.

**Period mode** (entering each stage in the quarter; flow_ratio = this stage / previous):
Q1 inquiry 5; mql 3 (L1 L2 L3): 3/5 = 0.6; sal 2: 2/3; sql 2 (L1 L3): 2/2 = 1.0 although only
one SAL led to it; opportunity 2: 1.0; won 1 (O1): 1/2 = 0.5.
Q2 inquiry 2 (L5 L6); mql 3 (L4 L7 L6): 3/2 = 1.5 (a ratio of flows above 1: not a
conversion rate); sal 1: 1/3; sql 1: 1.0; opportunity 1: 1.0; won 0: 0.0.

**Stage durations** (by the quarter B was reached; p90 by linear interpolation:
position 0.9 * (n - 1) in the sorted values):
step 1: Q1 L1 1, L2 2, L3 4 -> 3 records, median 2, p90 at 1.8: 2 + 0.8 * (4 - 2) = 3.6;
        Q2 L6 2, L7 7, L4 13 -> 3 records, median 7, p90 7 + 0.8 * 6 = 11.8.
step 2: Q1 1, 2 -> median 1.5, p90 at 0.9: 1 + 0.9 * 1 = 1.9; Q2 L6 1 -> 1, 1.
step 3: Q1 L1 10 -> 10, 10 (L3 never had a SAL: not measured); Q2 L6 6 -> 6, 6.
step 4: Q1 2, 1 -> 1.5, 1.9; Q2 1 -> 1, 1.   step 5: Q1 40 -> 40, 40; Q2 0 records, null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData, ParameterError
from alignment_lib.metrics.funnel import funnel_cohort, funnel_period, stage_durations
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)
Q1I, Q2I = 2026 * 4, 2026 * 4 + 1
UTC = FiscalCalendar(1, "UTC")
AS_OF = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


def t(text: str) -> dt.datetime:
    """A 2026 instant; ``"01-05"`` means 2026-01-05 10:00 UTC."""
    if len(text) == 5:
        text = f"2026-{text}T10:00"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    """A canonical table with every column; columns not given are null."""
    return pl.DataFrame(
        [{c: r.get(c) for c in table.column_names} for r in rows], schema=table.polars_schema
    ).lazy()


def lead(lead_id: str, channel: str, created: str, **events: str) -> dict:
    row = {"lead_id": lead_id, "channel": channel, "created_at": t(created)}
    for name, value in events.items():
        row[name] = t(value) if name.endswith("_at") else value
    return row


def opp(opp_id: str, created: str, outcome: str | None = None, closed: str | None = None) -> dict:
    return {
        "opportunity_id": opp_id,
        "created_at": t(created),
        "source": "marketing",
        "stage": outcome or "Discovery",
        "outcome": outcome,
        "closed_at": t(closed) if closed else None,
        "amount": 10.0,
    }


LEAD_ROWS = [
    lead(
        "L1",
        "Webinar",
        "01-05",
        mql_at="01-06",
        accepted_at="01-08",
        sql_at="01-18",
        opportunity_id="O1",
    ),
    lead("L2", "Webinar", "01-10", mql_at="01-12", accepted_at="01-13"),
    lead("L3", "Paid Search", "02-01", mql_at="02-05", sql_at="02-15", opportunity_id="O3"),
    lead("L4", "Paid Search", "03-20", mql_at="04-02", rejected_at="04-03"),
    lead("L7", "Paid Search", "03-25", mql_at="04-01"),
    lead("L5", "Events", "04-10"),
    lead(
        "L6",
        "Webinar",
        "05-01",
        mql_at="05-03",
        accepted_at="05-04",
        sql_at="05-10",
        opportunity_id="O6",
    ),
]
OPP_ROWS = [
    opp("O1", "01-20", "won", "03-01"),
    opp("O3", "02-16", "lost", "04-01"),
    opp("O6", "05-11"),
    opp("O9", "01-15", "won", "02-01"),  # outbound, no lead
]
LEADS_LF = frame(LEADS, LEAD_ROWS)
OPPS_LF = frame(OPPORTUNITIES, OPP_ROWS)


def data(leads: pl.LazyFrame = LEADS_LF, opps: pl.LazyFrame = OPPS_LF) -> FunnelData:
    return FunnelData(
        leads=leads,
        opportunities=opps,
        stage_history=frame(STAGE_HISTORY, []),
        targets=frame(TARGETS, []),
        calendar=UTC,
        source="hand-built",
        has_stage_history=False,
    )


def cohort(**kw) -> pl.DataFrame:
    args = {"calendar": UTC, "first": Q1, "last": Q2, "as_of": AS_OF} | kw
    leads, opps = args.pop("leads", LEADS_LF), args.pop("opps", OPPS_LF)
    return funnel_cohort(leads, opps, **args).collect()


COLS = ["quarter_index", "step", "entered", "reached", "conversion", "median_days", "mature"]


def test_cohort_conversion_any_stage() -> None:
    got = cohort()
    assert got.columns == [
        "quarter_index",
        "fiscal_quarter",
        "step",
        "from_stage",
        "to_stage",
        "mode",
        "entered",
        "reached",
        "conversion",
        "median_days",
        "maturity_days",
        "mature",
    ]
    assert got.select(COLS).rows() == [
        (Q1I, 1, 5, 5, 1.0, 4.0, True),
        (Q1I, 2, 3, 2, pytest.approx(2 / 3), 1.5, True),
        (Q1I, 3, 2, 1, 0.5, 10.0, True),
        (Q1I, 4, 2, 2, 1.0, 1.5, True),
        (Q1I, 5, 2, 1, 0.5, 40.0, True),
        (Q2I, 1, 2, 1, 0.5, 2.0, False),
        (Q2I, 2, 3, 1, pytest.approx(1 / 3), 1.0, False),
        (Q2I, 3, 1, 1, 1.0, 6.0, False),
        (Q2I, 4, 1, 1, 1.0, 1.0, False),
        (Q2I, 5, 1, 0, 0.0, None, False),
    ]
    assert got["maturity_days"].to_list()[:5] == pytest.approx([10.0, 1.8, 9.6, 1.8, 40.0])
    assert got.select("from_stage", "to_stage").rows()[:5] == [
        ("inquiry", "mql"),
        ("mql", "sal"),
        ("sal", "sql"),
        ("sql", "opportunity"),
        ("opportunity", "won"),
    ]
    assert set(got["mode"]) == {"any"}
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q1"] * 5 + ["FY2026-Q2"] * 5


def test_young_cohort_is_flagged_immature() -> None:
    seen = data().at("2026-04-30")
    got = cohort(leads=seen.leads, opps=seen.opportunities, as_of=seen.as_of, last=Q1)
    assert got.select("step", "maturity_days", "mature").rows() == [
        (1, pytest.approx(10.6), True),
        (2, pytest.approx(1.9), True),
        (3, 10.0, True),
        (4, pytest.approx(1.9), True),
        (5, 40.0, False),
    ]


def test_cohort_is_mature_only_after_the_p90_of_conversion_times() -> None:
    later = dt.datetime(2026, 7, 5, 23, 59, 59, 999999, tzinfo=dt.UTC)
    got = cohort(as_of=later).filter(pl.col("quarter_index") == Q2I)
    assert got["mature"].to_list() == [False, True, False, True, False]


def test_lead_that_skips_a_stage_any_vs_in_order() -> None:
    got = cohort(mode="in_order", last=Q1)
    assert set(got["mode"]) == {"in_order"}
    assert got.select("step", "entered", "reached", "conversion").rows() == [
        (1, 5, 5, 1.0),
        (2, 3, 2, pytest.approx(2 / 3)),
        (3, 2, 1, 0.5),
        (4, 1, 1, 1.0),
        (5, 1, 1, 1.0),
    ]


def test_within_days_counts_only_fast_conversions() -> None:
    got = cohort(within_days=3).filter(pl.col("step") == 1)
    assert got.select(
        "quarter_index",
        "entered",
        "reached",
        "conversion",
        "median_days",
        "maturity_days",
        "mature",
    ).rows() == [(Q1I, 5, 2, 0.4, 1.5, 3.0, True), (Q2I, 2, 1, 0.5, 2.0, 3.0, False)]


def test_cohort_by_channel_keeps_a_channel_without_mqls() -> None:
    got = cohort(by=["channel"]).filter(pl.col("step") == 2)
    assert got.select("quarter_index", "channel", "entered", "reached", "conversion").rows() == [
        (Q1I, "Events", 0, 0, None),
        (Q1I, "Paid Search", 1, 0, 0.0),
        (Q1I, "Webinar", 2, 2, 1.0),
        (Q2I, "Events", 0, 0, None),
        (Q2I, "Paid Search", 2, 0, 0.0),
        (Q2I, "Webinar", 1, 1, 1.0),
    ]


def test_period_mode_is_a_ratio_of_flows() -> None:
    got = funnel_period(LEADS_LF, OPPS_LF, calendar=UTC, first=Q1, last=Q2).collect()
    assert got.columns == [
        "quarter_index",
        "fiscal_quarter",
        "stage_order",
        "stage",
        "mode",
        "entering",
        "previous_stage",
        "flow_ratio",
    ]
    rows = got.select("quarter_index", "stage", "entering", "previous_stage", "flow_ratio").rows()
    assert rows == [
        (Q1I, "inquiry", 5, None, None),
        (Q1I, "mql", 3, "inquiry", 0.6),
        (Q1I, "sal", 2, "mql", pytest.approx(2 / 3)),
        (Q1I, "sql", 2, "sal", 1.0),
        (Q1I, "opportunity", 2, "sql", 1.0),
        (Q1I, "won", 1, "opportunity", 0.5),
        (Q2I, "inquiry", 2, None, None),
        (Q2I, "mql", 3, "inquiry", 1.5),
        (Q2I, "sal", 1, "mql", pytest.approx(1 / 3)),
        (Q2I, "sql", 1, "sal", 1.0),
        (Q2I, "opportunity", 1, "sql", 1.0),
        (Q2I, "won", 0, "opportunity", 0.0),
    ]


def test_stage_durations_median_and_p90() -> None:
    got = stage_durations(LEADS_LF, OPPS_LF, calendar=UTC, first=Q1, last=Q2).collect()
    rows = got.select("quarter_index", "step", "records", "median_days", "p90_days").rows()
    assert rows == [
        (Q1I, 1, 3, 2.0, pytest.approx(3.6)),
        (Q1I, 2, 2, 1.5, pytest.approx(1.9)),
        (Q1I, 3, 1, 10.0, 10.0),
        (Q1I, 4, 2, 1.5, pytest.approx(1.9)),
        (Q1I, 5, 1, 40.0, 40.0),
        (Q2I, 1, 3, 7.0, pytest.approx(11.8)),
        (Q2I, 2, 1, 1.0, 1.0),
        (Q2I, 3, 1, 6.0, 6.0),
        (Q2I, 4, 1, 1.0, 1.0),
        (Q2I, 5, 0, None, None),
    ]


def test_time_zone_moves_a_stage_across_the_quarter_boundary() -> None:
    # MQL at 2026-03-31 23:30 UTC is 2026-04-01 01:30 in Berlin (Q2) but 19:30 in New York (Q1).
    leads = frame(LEADS, [lead("Z", "Webinar", "03-30", mql_at="2026-03-31T23:30")])
    for tz, quarter in (("Europe/Berlin", Q2I), ("America/New_York", Q1I)):
        cal = FiscalCalendar(1, tz)
        got = funnel_cohort(leads, OPPS_LF, calendar=cal, first=Q1, last=Q2, as_of=AS_OF).collect()
        step2 = got.filter(pl.col("step") == 2, pl.col("entered") > 0)
        assert step2["quarter_index"].to_list() == [quarter], tz


def test_fiscal_year_starting_in_february() -> None:
    # Start month 2: FY2026-Q4 = Nov 2025 - Jan 2026, FY2027-Q1 = Feb - Apr 2026.
    feb = FiscalCalendar(2, "UTC")
    q4, q1 = FiscalQuarter(2026, 4), FiscalQuarter(2027, 1)
    got = funnel_period(LEADS_LF, OPPS_LF, calendar=feb, first=q4, last=q1).collect()
    inquiries = got.filter(pl.col("stage") == "inquiry")
    # Jan: L1 L2; Feb-Apr: L3 L4 L7 (March) and L5 (April)
    assert inquiries.select("fiscal_quarter", "entering").rows() == [
        ("FY2026-Q4", 2),
        ("FY2027-Q1", 4),
    ]


def test_empty_input_gives_a_zero_grid() -> None:
    got = cohort(leads=LEADS_LF.clear(), opps=OPPS_LF.clear())
    assert got.height == 2 * 5
    assert got["entered"].sum() == 0
    assert got["conversion"].null_count() == got.height
    assert cohort(leads=LEADS_LF.clear(), by=["channel"]).height == 0


def test_bad_parameters_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="source"):
        cohort(by=["source"])
    with pytest.raises(ParameterError, match="in_order"):
        cohort(mode="all")
    with pytest.raises(ParameterError, match="before first"):
        cohort(first=Q2, last=Q1)
    with pytest.raises(ParameterError, match="within_days"):
        cohort(within_days=-1)
