"""Stalled MQLs (the default threshold from the p99 of decision times) and SLAs in business
hours, on hand-built tables. Every expected value is worked out by hand here.

**The p99 default.** Leads D1..D100 became MQLs on 2025-01-01 00:00 UTC and were decided
(accepted) 1, 2, ..., 100 days later (D100 on 2025-04-11). As of 2025-06-01 00:00 UTC all 100
decisions are known. Sorted decision times x_0..x_99 = 1..100 days; the p99 (linear
interpolation) sits at position 0.99 * 99 = 98.01: x_98 + 0.01 * (x_99 - x_98) = 99 + 0.01 =
99.01 days; the median at 49.5: (50 + 51) / 2 = 50.5 days. 100 decisions >= 100: the
threshold is the p99 (``stall_rule`` "p99").
Three more leads, each touched a day after its MQL and never decided:
S1 MQL 99 days before the as-of (99 < 99.01: pending); S2 MQL 99 days and 1 hour before
(99.0417 > 99.01: stalled); S3 MQL 10 days before (pending). A fourth, LATE, became an MQL on
2025-01-01 and was accepted on 2025-09-01 (243 days later), after the as-of: its decision is
not known then and does not count (counted, the 101 values would put the p99 at position
0.99 * 100 = 99: 100 days); the stats stay 100 decisions and 99.01 days.
All of them are in FY2025-Q1 but S1 (2025-02-22, Q1), S2 (2025-02-21 23:00, Q1) and S3
(2025-05-22, Q2): Q1 = D1..D100, S1, S2, LATE = 103 MQLs: accepted 101 (D1..D100 and LATE,
whose acceptance the metric sees because the frame is not cut), pending 1 (S1), leaked 1
(S2, stalled). Q2 = S3: pending 1.
Dropping D100 leaves 99 decisions: fewer than 100, so the threshold falls back to 30 days
(``stall_rule`` "fallback"): S1 and S2 (99 days old) are stalled, S3 (10 days) pending.
100 MQLs decided at the instant they became MQLs have a p99 of 0 days: the threshold is
floored at 1 day.

**Business hours** (Monday to Friday, 09:00-17:00 local wall-clock time):
* Weekend and a clock change: Friday 2026-03-06 16:00 New York (EST, 21:00 UTC) to Monday
  2026-03-09 10:00 New York (EDT since Sunday 8 March, 14:00 UTC): Friday 16-17 = 1 h,
  Saturday and Sunday 0, Monday 9-10 = 1 h: 2 h. Calendar hours: 65 h.
* Time zones: Monday 2026-03-02 08:00 to 14:00 UTC (6 calendar hours) is 08:00-14:00 in
  London (working 09-14: 5 h), 03:00-09:00 in New York (0 h), 16:00-22:00 in Singapore
  (16-17: 1 h) and 05:00-11:00 in Sao Paulo (09-11: 2 h).
* Before and after the working day: Monday 2026-03-02 07:00 to Tuesday 03-03 18:00 London:
  8 + 8 = 16 h. Two whole weeks: Monday 03-02 12:00 to Monday 03-16 12:00 London: 10
  working days = 80 h. Backwards (end before start): -80 h. Saturday 03-07 10:00 to Sunday
  03-08 15:00: 0 h.

**An SLA of 4 hours on two clocks** (as of Monday 2026-03-16 02:00 UTC, all in FY2026-Q1):

| lead | region | MQL (UTC)       | first touch (UTC) | calendar | business                        |
|------|--------|-----------------|-------------------|----------|---------------------------------|
| B1   | EMEA   | Fri 03-06 16:00 | Mon 03-09 10:00   | 66 h     | 1 + 1 = 2 h (London)            |
| B2   | NA     | Mon 03-02 08:00 | Mon 03-02 14:00   | 6 h      | 0 h (New York 03:00-09:00)      |
| B3   | none   | Mon 03-02 08:00 | Mon 03-02 14:00   | 6 h      | 6 h (no zone: calendar hours)   |
| B4   | APAC   | Fri 03-13 08:00 | never             | 66 h old | 2 h old (Singapore: 1 + 1 h)    |

(B4: Friday 16-17 and Monday 09-10 in Singapore.) Calendar clock: every touch misses (66, 6,
6 > 4); B4 is 66 h old, overdue: due 4, within
0, compliance 0; outcomes: B4 leaked (never touched), B1-B3 pending (touched, no decision,
far below the 30-day fallback). Median response (6, 6, 66) = 6 h; p90 at 1.8: 6 + 0.8 * 60
= 54 h. calendar_clock_mqls 4.
Business clock: B1 2 h and B2 0 h are within, B3 (calendar) misses; B4 is only 2 working
hours old: not due, and pending. Due 3, within 2: compliance 2/3; leaked 0, pending 4.
Response hours (2, 0, 6): median 2, p90 at 1.8: 2 + 0.8 * 4 = 5.2 h. calendar_clock_mqls 1
(B3). With ``region_timezones={"emea": "Asia/Tokyo"}`` (lower case matches "EMEA"), B1 is
Saturday 01:00 to Monday 19:00 in Tokyo: Monday 09-17 = 8 h, a miss; and NA and APAC have
no zone: B2 (6 h) misses, B4 (66 h old) is overdue and leaks: due 4, within 0, calendar
MQLs 3.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError
from alignment_lib.metrics.handoff import (
    business_hours_between,
    mql_outcomes,
    response_times,
    stall_threshold,
)
from alignment_lib.schema import LEADS

UTC = FiscalCalendar(1, "UTC")
NINE_TO_FIVE = (dt.time(9), dt.time(17))
TS = pl.Datetime("us", "UTC")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in LEADS.column_names} for r in rows], schema=LEADS.polars_schema
    ).lazy()


# -- the p99 default -------------------------------------------------------------------------
BASE = utc("2025-01-01 00:00")
AS_OF_2025 = utc("2025-06-01 00:00")


def lead(lead_id: str, mql: dt.datetime, **events: dt.datetime) -> dict:
    return {"lead_id": lead_id, "created_at": mql, "mql_at": mql, **events}


DECIDED = [lead(f"D{i}", BASE, accepted_at=BASE + dt.timedelta(days=i)) for i in range(1, 101)]
UNDECIDED = [
    lead(
        name,
        AS_OF_2025 - age,
        first_touch_at=AS_OF_2025 - age + dt.timedelta(days=1),
    )
    for name, age in (
        ("S1", dt.timedelta(days=99)),
        ("S2", dt.timedelta(days=99, hours=1)),
        ("S3", dt.timedelta(days=10)),
    )
]
LATE = lead("LATE", BASE, accepted_at=utc("2025-09-01 00:00"))
SPAN_2025 = {"calendar": UTC, "first": FiscalQuarter(2025, 1), "last": FiscalQuarter(2025, 2)}


def test_default_threshold_is_the_p99_of_decisions_known_at_the_as_of() -> None:
    leads = frame([*DECIDED, *UNDECIDED, LATE])
    got = stall_threshold(leads, calendar=UTC, as_of=AS_OF_2025).collect()
    assert got.row(0) == (100, 50.5, pytest.approx(99.01), pytest.approx(99.01), "p99")
    out = mql_outcomes(leads, **SPAN_2025, as_of=AS_OF_2025).collect()
    assert out.select(
        "mqls", "accepted", "pending", "leaked_untouched", "leaked_stalled"
    ).rows() == [
        (103, 101, 1, 0, 1),
        (1, 0, 1, 0, 0),
    ]
    assert out["stall_days"].to_list() == [pytest.approx(99.01)] * 2


def test_too_few_decisions_fall_back_to_thirty_days() -> None:
    leads = frame([*DECIDED[:-1], *UNDECIDED])
    got = stall_threshold(leads, calendar=UTC, as_of=AS_OF_2025).collect()
    assert got.select("decisions", "stall_days", "stall_rule").row(0) == (99, 30.0, "fallback")
    out = mql_outcomes(leads, **SPAN_2025, as_of=AS_OF_2025).collect()
    assert out.select("pending", "leaked_stalled").rows() == [(0, 2), (1, 0)]


def test_a_threshold_from_the_data_is_at_least_a_day() -> None:
    # 100 MQLs decided at the very instant they became MQLs: the p99 is 0 days, and a
    # touched MQL an hour old would be stalled; the threshold is floored at 1 day
    instant = [lead(f"I{i}", BASE, accepted_at=BASE) for i in range(100)]
    got = stall_threshold(frame(instant), calendar=UTC, as_of=AS_OF_2025).collect()
    assert got.row(0) == (100, 0.0, 0.0, 1.0, "p99")


def test_no_decision_at_all_falls_back_and_nothing_is_lost() -> None:
    leads = frame(UNDECIDED)
    got = stall_threshold(leads, calendar=UTC, as_of=AS_OF_2025).collect()
    assert got.row(0) == (0, None, None, 30.0, "fallback")
    empty = stall_threshold(frame([]), calendar=UTC, as_of=AS_OF_2025).collect()
    assert empty.row(0) == (0, None, None, 30.0, "fallback")


# -- business hours --------------------------------------------------------------------------
def hours(start: str, end: str, zone: str) -> float:
    out = pl.select(
        business_hours_between(
            pl.lit(utc(start)), pl.lit(utc(end)), timezone=zone, working_hours=NINE_TO_FIVE
        )
    )
    return out.item()


def test_business_hours_skip_the_weekend_across_a_clock_change() -> None:
    assert hours("2026-03-06 21:00", "2026-03-09 14:00", "America/New_York") == 2.0


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("Europe/London", 5.0), ("America/New_York", 0.0), ("Asia/Singapore", 1.0),
     ("America/Sao_Paulo", 2.0)],
)  # fmt: skip
def test_business_hours_depend_on_the_time_zone(zone: str, expected: float) -> None:
    assert hours("2026-03-02 08:00", "2026-03-02 14:00", zone) == expected


def test_business_hours_whole_days_weeks_and_order() -> None:
    london = "Europe/London"
    assert hours("2026-03-02 07:00", "2026-03-03 18:00", london) == 16.0
    assert hours("2026-03-02 12:00", "2026-03-16 12:00", london) == 80.0
    assert hours("2026-03-16 12:00", "2026-03-02 12:00", london) == -80.0
    assert hours("2026-03-07 10:00", "2026-03-08 15:00", london) == 0.0


CLOCK_LEADS = frame(
    [
        {**lead("B1", utc("2026-03-06 16:00")), "region": "EMEA",
         "first_touch_at": utc("2026-03-09 10:00")},
        {**lead("B2", utc("2026-03-02 08:00")), "region": "NA",
         "first_touch_at": utc("2026-03-02 14:00")},
        {**lead("B3", utc("2026-03-02 08:00")), "first_touch_at": utc("2026-03-02 14:00")},
        {**lead("B4", utc("2026-03-13 08:00")), "region": "APAC"},
    ]
)  # fmt: skip
CLOCK = {
    "calendar": UTC,
    "first": FiscalQuarter(2026, 1),
    "last": FiscalQuarter(2026, 1),
    "as_of": utc("2026-03-16 02:00"),
    "sla_hours": 4,
}
RESPONSE = ["mqls_due", "within_sla", "median_hours", "p90_hours", "calendar_clock_mqls"]


def test_sla_in_calendar_hours_by_default() -> None:
    got = response_times(CLOCK_LEADS, **CLOCK).collect()
    assert got.select(RESPONSE).row(0) == (4, 0, 6.0, pytest.approx(54.0), 4)
    out = mql_outcomes(CLOCK_LEADS, **CLOCK).collect()
    assert out.select("pending", "leaked_untouched", "leaked_stalled").row(0) == (3, 1, 0)


def test_sla_in_business_hours_of_the_leads_region() -> None:
    got = response_times(CLOCK_LEADS, **CLOCK, sla_clock="business").collect()
    assert got.select(RESPONSE).row(0) == (3, 2, 2.0, pytest.approx(5.2), 1)
    assert got["sla_compliance"][0] == pytest.approx(2 / 3)
    out = mql_outcomes(CLOCK_LEADS, **CLOCK, sla_clock="business").collect()
    assert out.select("pending", "leaked").row(0) == (4, 0)


def test_region_time_zones_are_a_setting() -> None:
    tokyo = {"emea": "Asia/Tokyo"}
    got = response_times(
        CLOCK_LEADS, **CLOCK, sla_clock="business", region_timezones=tokyo
    ).collect()
    assert got.select("mqls_due", "within_sla", "calendar_clock_mqls").row(0) == (4, 0, 3)
    out = mql_outcomes(CLOCK_LEADS, **CLOCK, sla_clock="business", region_timezones=tokyo)
    assert out.collect()["leaked_untouched"][0] == 1


def test_bad_clock_settings_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="sla_clock"):
        response_times(CLOCK_LEADS, **CLOCK, sla_clock="working")
    with pytest.raises(ParameterError, match="Mars/Olympus"):
        response_times(
            CLOCK_LEADS, **CLOCK, sla_clock="business", region_timezones={"NA": "Mars/Olympus"}
        )
    with pytest.raises(ParameterError, match="end after"):
        mql_outcomes(
            CLOCK_LEADS, **CLOCK, sla_clock="business", working_hours=(dt.time(17), dt.time(9))
        )
    with pytest.raises(ParameterError, match="working_hours"):
        mql_outcomes(CLOCK_LEADS, **CLOCK, working_hours=(9, 17))


INSTANTS = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(dt.UTC),
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, database=None)
@given(
    a=INSTANTS,
    b=INSTANTS,
    c=INSTANTS,
    zone=st.sampled_from(["Europe/London", "America/New_York", "Asia/Singapore", "UTC"]),
)
def test_business_hours_add_up_and_never_exceed_calendar_hours(a, b, c, zone) -> None:
    a, b, c = sorted((a, b, c))
    frame_ = pl.DataFrame({"a": [a], "b": [b], "c": [c]}, schema={k: TS for k in "abc"})
    got = frame_.select(
        ab=business_hours_between(
            pl.col("a"), pl.col("b"), timezone=zone, working_hours=NINE_TO_FIVE
        ),
        bc=business_hours_between(
            pl.col("b"), pl.col("c"), timezone=zone, working_hours=NINE_TO_FIVE
        ),
        ac=business_hours_between(
            pl.col("a"), pl.col("c"), timezone=zone, working_hours=NINE_TO_FIVE
        ),
    ).row(0, named=True)
    assert got["ab"] + got["bc"] == pytest.approx(got["ac"], abs=1e-9)
    # a wall-clock hour can be longer than an hour of elapsed time on the day clocks go back,
    # never by more than one hour a year
    years = (c - a).days / 365 + 1
    assert 0 <= got["ac"] <= (c - a).total_seconds() / 3600 + years
    # at most 40 working hours a week
    assert got["ac"] <= 40 * ((c - a).days / 7 + 1)
