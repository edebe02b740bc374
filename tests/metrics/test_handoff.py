"""The handoff (MQL outcomes, rejection reasons, response times) on a hand-built table.

Every expected value below is worked out by hand from this table, not by running the code.
Calendar: fiscal year = calendar year, UTC; Q1 = Jan-Mar 2026, Q2 = Apr-Jun 2026.
As of 2026-04-10 12:00 UTC. SLA 24 hours unless a test says otherwise. Each lead was
created one hour before its MQL.

| lead | channel     | owner | mql (2026)  | first touch  | response | decision              |
|------|-------------|-------|-------------|--------------|----------|-----------------------|
| H1   | Webinar     | r1    | 03-02 09:00 | 03-02 11:00  | 2 h      | accepted 03-03        |
| H2   | Webinar     | r1    | 03-03 09:00 | 03-04 09:00  | 24 h     | rejected 03-05 "Not a fit" |
| H3   | Paid Search | r2    | 03-04 09:00 | 03-06 09:00  | 48 h     | accepted 03-07        |
| H4   | Paid Search | r2    | 03-05 09:00 | never        |          | none                  |
| H5   | Paid Search | r2    | 03-06 09:00 | 03-06 15:00  | 6 h      | none                  |
| H6   | Events      | r1    | 03-09 09:00 | never        |          | rejected 03-20, no reason |
| H7   | Webinar     | r1    | 04-09 12:00 | never        |          | none (24 h old)       |
| H8   | Webinar     | r2    | 04-09 06:00 | never        |          | none (30 h old)       |
| H9   | Paid Search | r1    | 04-10 10:00 | 04-10 11:00  | 1 h      | none                  |
| H10  | Outbound    |       | no MQL      |              |          |                       |

2026-03-02 is a Monday, so H1-H5 are in the week of 03-02 and H6 in the week of 03-09.

**Stall threshold**: the decisions known at the as-of are H1 (1 day after its MQL), H2
(2 days), H3 (3 days) and H6 (11 days): 4 decisions, fewer than 100, so the p99 is not
trusted and a touched MQL without a decision is stalled after the fallback, 30 days
(``stall_rule`` "fallback"); median decision (2 + 3) / 2 = 2.5 days, p99 at position
0.99 * 3 = 2.97: 3 + 0.97 * (11 - 3) = 10.76 days.

**MQL outcomes, by quarter** (stall threshold 30 days):
Q1: 6 MQLs (H1-H6); accepted H1 H3 = 2; rejected H2 H6 = 2; leaked 2: H4 (untouched,
weeks old) and H5 (touched 03-06, undecided, 35 days 3 hours = 35.125 days old > 30:
stalled); pending 0. 2+2+0+2 = 6. Rates 1/3, 1/3, 0, 1/3.
Q2: 3 MQLs (H7-H9); accepted 0, rejected 0; leaked H8 = 1 (untouched, 30 h > 24 h); pending
H7 (exactly 24 h: the window has not passed yet) and H9 (touched 2 h ago) = 2. Rates 0, 0,
2/3, 1/3.
By channel, Q1: Events 1 MQL, rejected 1; Outbound 0 MQLs, every rate null; Paid Search
3 = 1 accepted + 2 leaked (H4 untouched, H5 stalled); Webinar 2 = 1 accepted + 1 rejected.
Q2: Events 0; Outbound 0; Paid Search 1 pending (H9); Webinar 2 = H7 pending + H8 leaked.
With ``channel_sla_hours={"Webinar": 4}``: H7 is 24 h > 4 h old: Q2 leaked 2, pending 1.
One microsecond after the as-of (SLA 24 h), H7 is past its window: Q2 leaked 2, pending 1.
With ``stall_days=35.125`` H5 is exactly at the threshold: pending (stalled only once
strictly older); one microsecond later it is stalled. With ``stall_days=40`` it is pending.

**Response times, by quarter**:
Q1: touched H1 H2 H3 H5 = 4, hours 2, 24, 48, 6 -> sorted 2, 6, 24, 48: median (6+24)/2 = 15,
p90 at position 0.9 * 3 = 2.7: 24 + 0.7 * (48 - 24) = 40.8. Due: the 4 touched + H4 and H6
(untouched, past the SLA) = 6. Within SLA: H1 2 h, H2 24 h (exactly at the boundary counts as
within), H5 6 h = 3. Compliance 3/6 = 0.5.
Q2: touched H9 = 1 (1 h): median 1, p90 1. Due: H9 (touched), H8 (30 h) = 2; H7 is exactly
24 h old: not yet due. Within: H9 = 1. Compliance 1/2 = 0.5.
By owner, Q1: r1 = H1 H2 H6: touched 2 (2 h, 24 h): median 13, p90 2 + 0.9 * 22 = 21.8; due 3;
within 2; compliance 2/3. r2 = H3 H4 H5: touched 2 (48 h, 6 h): median 27, p90 6 + 0.9 * 42 =
43.8; due 3; within 1 (H5); compliance 1/3.
With ``channel_sla_hours={"Webinar": 4}``: Q1 H2 (24 h > 4 h) is a miss: within 2, due 6,
compliance 1/3. Q2: H7 (Webinar, 24 h old > 4 h) becomes due: due 3, within 1: 1/3.
By week (Q1): 14 weeks touch Q1 (Mondays 2025-12-29 to 2026-03-30). Week of 03-02: 5 MQLs,
touched 4, due 5, within 3 (H1 H2 H5): 0.6. Week of 03-09: H6 only, due 1, within 0: 0.0.
Every other week: 0 MQLs, compliance null.

**Edge cases** (own small tables): an MQL at 2026-03-31 23:30 UTC is in Q2 in Berlin
(01:30 on 1 April) and in Q1 in New York and UTC. Fiscal year from February: an MQL at
2026-01-31 23:00 (untouched: leaked) is FY2026-Q4; MQLs at 02-01 00:30 (accepted) and 03-15
(touched: pending) are FY2027-Q1. FY2025-Q4 has no MQLs: zeros, null rates and times.

**Rejection reasons** (by quarter of rejected_at): Q1 "(no reason given)" 1 (H6) share 0.5,
"Not a fit" 1 (H2) share 0.5; Q2 both 0, share null (no rejections).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError
from alignment_lib.metrics.handoff import (
    mql_outcomes,
    rejection_reasons,
    response_times,
    stall_threshold,
)
from alignment_lib.schema import LEADS

Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)
Q1I, Q2I = 2026 * 4, 2026 * 4 + 1
UTC = FiscalCalendar(1, "UTC")
AS_OF = dt.datetime(2026, 4, 10, 12, 0, tzinfo=dt.UTC)


def t(text: str) -> dt.datetime:
    """``"03-02 09:00"`` means 2026-03-02 09:00 UTC."""
    if len(text) == 11:
        text = f"2026-{text}"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in LEADS.column_names} for r in rows], schema=LEADS.polars_schema
    ).lazy()


def mql(lead_id: str, channel: str, owner: str | None, at: str, **events: str) -> dict:
    row = {
        "lead_id": lead_id,
        "channel": channel,
        "owner_id": owner,
        "created_at": t(at) - dt.timedelta(hours=1),
        "mql_at": t(at),
    }
    for name, value in events.items():
        row[name] = t(value) if name.endswith("_at") else value
    return row


ROWS = [
    mql("H1", "Webinar", "r1", "03-02 09:00", first_touch_at="03-02 11:00",
        accepted_at="03-03 09:00"),
    mql("H2", "Webinar", "r1", "03-03 09:00", first_touch_at="03-04 09:00",
        rejected_at="03-05 09:00", rejection_reason="Not a fit"),
    mql("H3", "Paid Search", "r2", "03-04 09:00", first_touch_at="03-06 09:00",
        accepted_at="03-07 09:00"),
    mql("H4", "Paid Search", "r2", "03-05 09:00"),
    mql("H5", "Paid Search", "r2", "03-06 09:00", first_touch_at="03-06 15:00"),
    mql("H6", "Events", "r1", "03-09 09:00", rejected_at="03-20 09:00"),
    mql("H7", "Webinar", "r1", "04-09 12:00"),
    mql("H8", "Webinar", "r2", "04-09 06:00"),
    mql("H9", "Paid Search", "r1", "04-10 10:00", first_touch_at="04-10 11:00"),
    {"lead_id": "H10", "channel": "Outbound", "created_at": t("03-01 09:00")},
]  # fmt: skip
LEADS_LF = frame(ROWS)
KW = {"calendar": UTC, "first": Q1, "last": Q2}

OUTCOMES = ["mqls", "accepted", "rejected", "pending", "leaked"]
KINDS = ["leaked_untouched", "leaked_stalled"]
RATES = ["acceptance_rate", "rejection_rate", "pending_rate", "leaked_rate"]
RESPONSE = ["mqls", "mqls_due", "touched", "median_hours", "p90_hours", "within_sla"]


def test_mql_outcomes_by_quarter() -> None:
    got = mql_outcomes(LEADS_LF, **KW, as_of=AS_OF).collect()
    assert got.columns == [
        "quarter_index",
        "fiscal_quarter",
        *OUTCOMES,
        *KINDS,
        *RATES,
        "stall_days",
    ]
    assert got.select("quarter_index", *OUTCOMES, *KINDS).rows() == [
        (Q1I, 6, 2, 2, 0, 2, 1, 1),
        (Q2I, 3, 0, 0, 2, 1, 1, 0),
    ]
    assert got.select(RATES).rows() == [
        pytest.approx((1 / 3, 1 / 3, 0.0, 1 / 3)),
        pytest.approx((0.0, 0.0, 2 / 3, 1 / 3)),
    ]
    assert got["stall_days"].to_list() == [30.0, 30.0]
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q1", "FY2026-Q2"]


def test_mql_outcomes_by_channel_keeps_a_channel_with_no_mqls() -> None:
    got = mql_outcomes(LEADS_LF, **KW, as_of=AS_OF, by=["channel"]).collect()
    assert got.select("quarter_index", "channel", *OUTCOMES).rows() == [
        (Q1I, "Events", 1, 0, 1, 0, 0),
        (Q1I, "Outbound", 0, 0, 0, 0, 0),
        (Q1I, "Paid Search", 3, 1, 0, 0, 2),
        (Q1I, "Webinar", 2, 1, 1, 0, 0),
        (Q2I, "Events", 0, 0, 0, 0, 0),
        (Q2I, "Outbound", 0, 0, 0, 0, 0),
        (Q2I, "Paid Search", 1, 0, 0, 1, 0),
        (Q2I, "Webinar", 2, 0, 0, 1, 1),
    ]
    outbound = got.filter(pl.col("channel") == "Outbound").select(RATES)
    assert outbound.null_count().row(0) == (2, 2, 2, 2)


def test_mql_exactly_at_the_sla_boundary() -> None:
    # H7 is exactly 24 h old at the as-of: not leaked, not yet due. One microsecond later: both.
    later = AS_OF + dt.timedelta(microseconds=1)
    at = mql_outcomes(LEADS_LF, **KW, as_of=AS_OF).collect().row(1, named=True)
    after = mql_outcomes(LEADS_LF, **KW, as_of=later).collect().row(1, named=True)
    assert (at["pending"], at["leaked"]) == (2, 1)
    assert (after["pending"], after["leaked"]) == (1, 2)
    due = [response_times(LEADS_LF, **KW, as_of=a).collect()["mqls_due"][1] for a in (AS_OF, later)]
    assert due == [2, 3]
    # H2 was touched exactly 24 h after its MQL: within the SLA (Q1 within = H1, H2, H5)
    assert response_times(LEADS_LF, **KW, as_of=AS_OF).collect()["within_sla"][0] == 3


def test_stall_threshold_falls_back_with_few_decisions() -> None:
    got = stall_threshold(LEADS_LF, calendar=UTC, as_of=AS_OF).collect()
    assert got.columns == [
        "decisions",
        "median_decision_days",
        "p99_decision_days",
        "stall_days",
        "stall_rule",
    ]
    assert got.row(0) == (4, 2.5, pytest.approx(10.76), 30.0, "fallback")
    given = stall_threshold(LEADS_LF, calendar=UTC, as_of=AS_OF, stall_days=7).collect()
    assert given.select("decisions", "stall_days", "stall_rule").row(0) == (4, 7.0, "set")


def test_touched_mql_exactly_at_the_stall_threshold() -> None:
    # H5 is 35.125 days old at the as-of: at the threshold it is pending, past it stalled
    later = AS_OF + dt.timedelta(microseconds=1)
    q1 = {"calendar": UTC, "first": Q1, "last": Q1}
    at = mql_outcomes(LEADS_LF, **q1, as_of=AS_OF, stall_days=35.125).collect()
    after = mql_outcomes(LEADS_LF, **q1, as_of=later, stall_days=35.125).collect()
    assert at.select("pending", *KINDS).row(0) == (1, 1, 0)
    assert after.select("pending", *KINDS).row(0) == (0, 1, 1)
    assert mql_outcomes(LEADS_LF, **q1, as_of=AS_OF, stall_days=40).collect()["pending"][0] == 1


def test_channel_sla_overrides_the_default() -> None:
    sla = {"Webinar": 4}
    out = mql_outcomes(LEADS_LF, **KW, as_of=AS_OF, channel_sla_hours=sla).collect()
    assert out.select("pending", "leaked").rows() == [(0, 2), (1, 2)]
    got = response_times(LEADS_LF, **KW, as_of=AS_OF, channel_sla_hours=sla).collect()
    assert got.select("mqls_due", "within_sla", "sla_compliance").rows() == [
        (6, 2, pytest.approx(1 / 3)),
        (3, 1, pytest.approx(1 / 3)),
    ]
    # channel names match case-insensitively
    lower = response_times(LEADS_LF, **KW, as_of=AS_OF, channel_sla_hours={"webinar": 4})
    assert lower.collect().equals(got)


def test_response_times_by_quarter() -> None:
    got = response_times(LEADS_LF, **KW, as_of=AS_OF).collect()
    assert got.columns == [
        "quarter_index",
        "fiscal_quarter",
        *RESPONSE,
        "sla_compliance",
        "calendar_clock_mqls",
    ]
    assert got.select(*RESPONSE, "sla_compliance", "calendar_clock_mqls").rows() == [
        (6, 6, 4, 15.0, pytest.approx(40.8), 3, 0.5, 6),
        (3, 2, 1, 1.0, 1.0, 1, 0.5, 3),
    ]


def test_response_times_by_owner() -> None:
    got = response_times(LEADS_LF, **KW, as_of=AS_OF, by=["owner_id"]).collect()
    q1 = got.filter(pl.col("quarter_index") == Q1I, pl.col("owner_id").is_not_null())
    assert q1.select("owner_id", *RESPONSE[1:], "sla_compliance").rows() == [
        ("r1", 3, 2, 13.0, pytest.approx(21.8), 2, pytest.approx(2 / 3)),
        ("r2", 3, 2, 27.0, pytest.approx(43.8), 1, pytest.approx(1 / 3)),
    ]
    # H10 has no owner: its (empty) group is shown, with nothing due
    none = got.filter(pl.col("owner_id").is_null())
    assert none["mqls"].to_list() == [0, 0]
    assert none["sla_compliance"].to_list() == [None, None]


def test_response_times_by_week() -> None:
    got = response_times(
        LEADS_LF, calendar=UTC, first=Q1, last=Q1, as_of=AS_OF, period="week"
    ).collect()
    assert got.columns[0] == "week_start"
    assert got.height == 14
    assert got["week_start"][0] == dt.date(2025, 12, 29)
    assert got["week_start"][-1] == dt.date(2026, 3, 30)
    busy = got.filter(pl.col("mqls") > 0)
    assert busy.select("week_start", "mqls", "touched", "mqls_due", "within_sla").rows() == [
        (dt.date(2026, 3, 2), 5, 4, 5, 3),
        (dt.date(2026, 3, 9), 1, 0, 1, 0),
    ]
    assert busy["sla_compliance"].to_list() == [0.6, 0.0]
    assert got.filter(pl.col("mqls") == 0)["sla_compliance"].null_count() == 12
    weekly = mql_outcomes(LEADS_LF, calendar=UTC, first=Q1, last=Q1, as_of=AS_OF, period="week")
    assert weekly.collect()["mqls"].sum() == 6  # the weeks add up to the quarter


def test_rejection_reasons_show_missing_reason() -> None:
    got = rejection_reasons(LEADS_LF, **KW).collect()
    assert got.columns == [
        "quarter_index",
        "fiscal_quarter",
        "rejection_reason",
        "rejected",
        "share",
    ]
    assert got.select("quarter_index", "rejection_reason", "rejected", "share").rows() == [
        (Q1I, "(no reason given)", 1, 0.5),
        (Q1I, "Not a fit", 1, 0.5),
        (Q2I, "(no reason given)", 0, None),
        (Q2I, "Not a fit", 0, None),
    ]


def test_quarter_with_no_mqls() -> None:
    q = FiscalQuarter(2025, 4)
    out = mql_outcomes(LEADS_LF, calendar=UTC, first=q, last=q, as_of=AS_OF).collect()
    assert out.select(OUTCOMES).row(0) == (0, 0, 0, 0, 0)
    assert out.select(RATES).row(0) == (None, None, None, None)
    rt = response_times(LEADS_LF, calendar=UTC, first=q, last=q, as_of=AS_OF).collect()
    assert rt.select("mqls_due", "median_hours", "p90_hours", "sla_compliance").row(0) == (
        0,
        None,
        None,
        None,
    )


def test_time_zone_near_a_quarter_boundary() -> None:
    # An MQL at 2026-03-31 23:30 UTC is 2026-04-01 in Berlin (Q2) and 31 March in New York (Q1).
    leads = frame([mql("Z", "Webinar", "r1", "03-31 23:30")])
    for tz, counts in (("Europe/Berlin", [0, 1]), ("America/New_York", [1, 0]), ("UTC", [1, 0])):
        cal = FiscalCalendar(1, tz)
        got = mql_outcomes(leads, calendar=cal, first=Q1, last=Q2, as_of=AS_OF).collect()
        assert got["mqls"].to_list() == counts, tz


def test_fiscal_year_starting_in_february() -> None:
    # Start month 2: FY2026-Q4 = Nov 2025 - Jan 2026; FY2027-Q1 = Feb - Apr 2026.
    leads = frame(
        [
            mql("J", "Webinar", "r1", "01-31 23:00"),
            mql("F", "Webinar", "r1", "02-01 00:30", accepted_at="02-02 09:00"),
            mql("M", "Webinar", "r1", "03-15 09:00", first_touch_at="03-15 10:00"),
        ]
    )
    feb = FiscalCalendar(2, "UTC")
    got = mql_outcomes(
        leads, calendar=feb, first=FiscalQuarter(2026, 4), last=FiscalQuarter(2027, 1), as_of=AS_OF
    ).collect()
    assert got.select("fiscal_quarter", "mqls", "accepted", "pending", "leaked").rows() == [
        ("FY2026-Q4", 1, 0, 0, 1),
        ("FY2027-Q1", 2, 1, 1, 0),
    ]


def test_empty_input() -> None:
    empty = LEADS_LF.clear()
    out = mql_outcomes(empty, **KW, as_of=AS_OF).collect()
    assert out["mqls"].to_list() == [0, 0]
    assert response_times(empty, **KW, as_of=AS_OF, by=["channel"]).collect().height == 0
    assert rejection_reasons(empty, **KW).collect().height == 0


def test_bad_parameters_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="period"):
        mql_outcomes(LEADS_LF, **KW, as_of=AS_OF, period="month")
    with pytest.raises(ParameterError, match="sla_hours"):
        response_times(LEADS_LF, **KW, as_of=AS_OF, sla_hours=0)
    with pytest.raises(ParameterError, match="Webinar"):
        response_times(LEADS_LF, **KW, as_of=AS_OF, channel_sla_hours={"Webinar": -4})
    with pytest.raises(ParameterError, match="team"):
        response_times(LEADS_LF, **KW, as_of=AS_OF, by=["team"])
    with pytest.raises(ParameterError, match="stall_days"):
        mql_outcomes(LEADS_LF, **KW, as_of=AS_OF, stall_days=0)
