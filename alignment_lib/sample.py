"""Seeded generator of the bundled sample funnel data.

The sample is a CRM extract of a fictional mid-size B2B software company,
taken on :data:`SAMPLE_EXTRACT_DATE` and covering the three years from
:data:`SAMPLE_START`. It exists so that every notebook, chart and test has
realistic data to run on, with the dynamics the kit is built to expose:

* marketing-sourced deals take longer to close than sales-sourced ones (median
  about 130 vs 45 days), and Enterprise deals are bigger and slower than SMB deals;
* seasonality: bookings peak in Q4 (year-end budgets, above all in large
  accounts) and are weak in Q1; lead volume sags in July/August and December;
* a quarter-end hockey stick: about half of each quarter's bookings close in
  its third month, a third or more in its last two weeks;
* a leaky handoff: two channels (Content Syndication, Events) and three reps
  respond to MQLs in days instead of hours, some MQLs are never touched,
  rejected MQLs carry a reason and some MQLs are neither accepted nor rejected;
* one story: a marketing budget freeze (mid-March to end of June 2025) cuts
  MQLs by about 40% in FY2025-Q2 and marketing pipeline by about half; the
  hole reappears two quarters later, in FY2025-Q4, where marketing-sourced
  bookings fall behind the prior year and marketing's share of bookings drops
  to its low (Q4 is still the year's biggest quarter overall);
* an opportunity stage history with expected-close-date pushes (slipped deals)
  that agrees with each opportunity's final state.

The first half year looks like a ramp-up: the extract starts with an empty
pipeline, so bookings (marketing-sourced above all) need two to three quarters
to reach their steady level.

Nothing in the extract happens on or after the extract date: events that
would happen later are simply not there yet, so the most recent cohorts look
immature, as they would in a real extract.

Reproducibility: all randomness is drawn from ``random.Random(seed).random()``
through the small inverse-CDF helpers of :class:`_Rng`; where plain draws would
drown the story in sampling noise, evenly spread streams (:class:`_Stream`)
seeded from it are used instead. Python guarantees that
stream across versions, unlike ``choices``, ``gauss`` or ``randrange``. Every
iteration runs over tuples or lists in a fixed order, never over hashed sets,
so the same seed gives byte-identical files. Internally every instant is a
whole number of minutes since 1970-01-01T00:00Z (so seconds are always 0) and
every calendar date a whole number of days since 1970-01-01.

Fiscal calendar of the sample: fiscal year = calendar year (start month 1),
time zone UTC; see :data:`SAMPLE_CALENDAR`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import TypeVar

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.schema import TABLES, Column

__all__ = [
    "CHANNELS",
    "LOST_REASONS",
    "REGIONS",
    "REJECTION_REASONS",
    "SAMPLE_CALENDAR",
    "SAMPLE_EXTRACT_DATE",
    "SAMPLE_SEED",
    "SAMPLE_START",
    "SEGMENTS",
    "STAGES",
    "generate_sample",
    "write_sample",
]

#: default seed of the committed sample files
SAMPLE_SEED = 2026
#: first day of the sample (local date); nothing is created before it
SAMPLE_START = date(2023, 10, 1)
#: day the extract was taken: every event is strictly before its midnight (UTC)
SAMPLE_EXTRACT_DATE = date(2026, 11, 15)
#: fiscal calendar the sample's story is told in (FY = calendar year, UTC)
SAMPLE_CALENDAR = FiscalCalendar(start_month=1, timezone="UTC")

#: marketing channels of inbound leads, in a fixed order (also the iteration order)
CHANNELS = (
    "Paid Search",
    "Organic Search",
    "Webinar",
    "Events",
    "Content Syndication",
    "Paid Social",
    "Partner Referral",
)
#: channel of sales-sourced (outbound) opportunities and of the leads SDRs create
OUTBOUND = "Outbound"
PARTNER = "Partner Referral"
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
STAGES = ("Discovery", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
REJECTION_REASONS = (
    "Not a fit",
    "Student/Competitor",
    "Bad contact data",
    "No budget",
    "Duplicate",
)
LOST_REASONS = ("No decision", "Competitor", "Price", "Timing", "Missing feature")

_T = TypeVar("_T")

_EPOCH = date(1970, 1, 1)
_MINUTES_PER_DAY = 1440
_MICROS_PER_MINUTE = 60_000_000
# The story: a marketing budget freeze announced mid-March 2025 holds through FY2025-Q2;
# programs ramp back during July. MQLs fall by about a third in FY2025-Q2, and the missing
# pipeline shows as a dip in marketing-sourced bookings two quarters later (FY2025-Q4).
_FREEZE_START = date(2025, 3, 17)
_FREEZE_END = date(2025, 6, 30)
_FREEZE_RAMP_DAYS = 31
_FREEZE_QUARTER = FiscalQuarter(2025, 2)  # events cancelled: one roadshow, no trade show


# --------------------------------------------------------------------------------------------
# randomness: inverse-CDF helpers over random() only
# --------------------------------------------------------------------------------------------
class _Rng:
    """Draws built only on ``random.Random.random()`` (stable across Python versions)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random
        self._streams: dict[tuple[str, str], _Stream] = {}

    def uniform(self) -> float:
        """U[0, 1)."""
        return self._random()

    def between(self, lo: float, hi: float) -> float:
        """U[lo, hi)."""
        return lo + (hi - lo) * self._random()

    def integer(self, lo: int, hi: int) -> int:
        """Uniform whole number in [lo, hi], both ends included."""
        return lo + min(int(self._random() * (hi - lo + 1)), hi - lo)

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self._random() < p

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean (inverse CDF)."""
        return -mean * math.log(1.0 - self._random())

    def normal(self) -> float:
        """Standard normal (inverse CDF)."""
        return _normal_quantile(self._random())

    def lognormal(self, median: float, sigma: float) -> float:
        """Lognormal given its median (not its mean) and log-scale sigma."""
        return median * math.exp(sigma * self.normal())

    def poisson(self, lam: float) -> int:
        """Poisson count: Knuth's product method for small means, normal approximation above."""
        if lam <= 0.0:
            return 0
        if lam > 40.0:
            return max(0, round(lam + math.sqrt(lam) * self.normal()))
        limit = math.exp(-lam)
        k, p = 0, self._random()
        while p > limit:
            k += 1
            p *= self._random()
        return k

    def even(self, purpose: str, key: str) -> float:
        """Next value of the evenly spread stream of ``purpose`` and ``key`` (a :class:`_Stream`).

        A stream starts at a random point the first time it is used; the code path is
        deterministic, so is the order in which streams are started.
        """
        stream = self._streams.get((purpose, key))
        if stream is None:
            stream = _Stream(self._random(), _STREAM_INCREMENTS[purpose])
            self._streams[(purpose, key)] = stream
        return stream.next()

    def weighted(self, options: Sequence[tuple[_T, float]], *, u: float | None = None) -> _T:
        """One value of ``(value, weight)`` pairs, with probability proportional to weight.

        ``u`` replaces the random draw (e.g. a value of :meth:`even`).
        """
        total = sum(w for _, w in options)
        x = (self._random() if u is None else u) * total
        for value, weight in options:
            x -= weight
            if x < 0.0:
                return value
        return options[-1][0]


_STANDARD_NORMAL = NormalDist()


def _normal_quantile(u: float) -> float:
    """Standard normal quantile of ``u``, clamped away from 0 and 1."""
    return _STANDARD_NORMAL.inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))


class _Stream:
    """Low-discrepancy uniforms ``u_k = frac(u_0 + k * increment)`` (a Weyl sequence).

    Used where plain random draws would drown the story in sampling noise (a quarter has
    only a handful of Enterprise wins): segment mix, funnel conversions, deal outcomes, sizes
    and cycle lengths. Consecutive values cover [0, 1) evenly, so a quarter's conversion
    rates and bookings stay close to what the parameters say, while each record still looks
    random. Streams used side by side need rationally independent increments.
    """

    def __init__(self, start: float, increment: float) -> None:
        self._u = start
        self._increment = increment

    def next(self) -> float:
        self._u = (self._u + self._increment) % 1.0
        return self._u


# Stream increments: fractional parts of square roots of distinct primes, which are rationally
# independent, so streams that advance together (e.g. a lead's segment and its MQL decision,
# both per channel) do not move in lockstep.
_STREAM_INCREMENTS = {
    purpose: math.sqrt(prime) % 1.0
    for purpose, prime in (
        ("segment", 2),
        ("mql", 3),
        ("sql", 5),
        ("opportunity", 7),
        ("win", 11),
        ("size", 13),
        ("cycle", 17),
        ("pull", 19),
    )
}


# --------------------------------------------------------------------------------------------
# calendar helpers (day numbers and minute numbers since 1970-01-01)
# --------------------------------------------------------------------------------------------
def _day(d: date) -> int:
    return (d - _EPOCH).days


def _date(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def _weekday(day: int) -> int:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def _month_end(day: int) -> int:
    d = _date(day)
    first_next = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return _day(first_next) - 1


def _quarter(day: int) -> FiscalQuarter:
    return SAMPLE_CALENDAR.quarter_of(_date(day))


def _quarter_end(day: int) -> int:
    return _day(SAMPLE_CALENDAR.quarter_end(_quarter(day)))


def _quarter_start(day: int) -> int:
    return _day(SAMPLE_CALENDAR.quarter_start(_quarter(day)))


def _round_to(value: float, step: int) -> float:
    """Whole multiple of ``step``, at least ``step`` (amounts are always positive)."""
    return float(max(step, step * round(value / step)))


#: UTC offset (hours) of each region's business day; a fixed offset keeps quarters stable
_REGION_OFFSET_HOURS = {"NA": -5, "EMEA": 1, "APAC": 8, "LATAM": -3}


def _to_utc(local_minute: int, region: str) -> int:
    return local_minute - _REGION_OFFSET_HOURS[region] * 60


def _to_local(utc_minute: int, region: str) -> int:
    return utc_minute + _REGION_OFFSET_HOURS[region] * 60


def _office_minute(rng: _Rng) -> int:
    """Minute of the local day of a person's action: mostly office hours, peaking late morning."""
    if rng.chance(0.88):
        # mean of two uniforms: a triangular bump over 08:00-18:00
        return 480 + int(600 * (rng.uniform() + rng.uniform()) / 2)
    # early birds 06:00-08:00 and evenings 18:00-23:00
    m = rng.integer(0, 7 * 60 - 1)
    return 360 + m if m < 120 else 1080 + (m - 120)


def _business_day(day: int, *, forward: bool = True) -> int:
    """The day itself if a weekday, else the next (or previous) Monday-Friday."""
    while _weekday(day) >= 5:
        day += 1 if forward else -1
    return day


def _at_office(rng: _Rng, local_day: int, region: str) -> int:
    """UTC minute of a deliberate action (a close, a stage change) on a local business day.

    09:00-17:30 local time falls on the same calendar date in UTC for every region, so a
    close on the last day of a quarter stays in that quarter.
    """
    minute = rng.integer(540, 1050)
    return _to_utc(_business_day(local_day) * _MINUTES_PER_DAY + minute, region)


def _next_office_time(rng: _Rng, utc_minute: int, region: str) -> int:
    """The same instant if inside local office hours on a weekday, else the next morning."""
    local = _to_local(utc_minute, region)
    day, minute = divmod(local, _MINUTES_PER_DAY)
    if _weekday(day) < 5 and 480 <= minute < 1080:
        return utc_minute
    if minute >= 1080:
        day += 1
    day = _business_day(day)
    return _to_utc(day * _MINUTES_PER_DAY + 480 + rng.integer(0, 90), region)


def _local_day(utc_minute: int, region: str) -> int:
    return _to_local(utc_minute, region) // _MINUTES_PER_DAY


# --------------------------------------------------------------------------------------------
# the company: reps, volumes and rates (tune the story here)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rep:
    owner_id: str
    region: str
    start: date = SAMPLE_START
    #: slow responders: MQL follow-up in days, and more MQLs never touched
    slow: bool = False


def _build_reps() -> tuple[_Rep, ...]:
    """32 reps; a few hired during the sample; three chronically slow responders."""
    regions = ["NA"] * 14 + ["EMEA"] * 9 + ["APAC"] * 3 + ["LATAM"] * 2
    regions += ["NA", "EMEA", "NA", "APAC"]  # rep-029..rep-032: hired later
    hires = {
        29: date(2024, 7, 1),
        30: date(2025, 1, 15),
        31: date(2025, 9, 1),
        32: date(2026, 3, 2),
    }
    slow = (7, 19, 26)
    return tuple(
        _Rep(
            owner_id=f"rep-{i:03d}",
            region=region,
            start=hires.get(i, SAMPLE_START),
            slow=i in slow,
        )
        for i, region in enumerate(regions, start=1)
    )


# inbound leads per weekday at the start of the sample, before seasonality (Events come in
# bursts from the event schedule instead)
_DAILY_LEADS = {
    "Paid Search": 5.6,
    "Organic Search": 4.6,
    "Webinar": 3.4,
    "Content Syndication": 3.8,
    "Paid Social": 3.0,
    "Partner Referral": 1.1,
}
# lead volume drops in summer and at year end (holidays)
_LEAD_SEASON = (1.10, 1.08, 1.10, 1.02, 1.00, 0.92, 0.72, 0.70, 1.02, 1.10, 1.02, 0.72)
_WEEKDAY = (1.18, 1.22, 1.22, 1.12, 0.95, 0.33, 0.33)  # Monday..Sunday
_ANNUAL_GROWTH = 0.15  # linear growth of volumes per year
# lead volume during the budget freeze relative to normal, per channel. The freeze cut the
# expensive high-intent programs (search, events, webinars) and moved what was left into cheap
# cost-per-lead syndication, so MQLs fall by over a third but marketing pipeline by almost half
_FREEZE = {
    "Paid Search": 0.20,
    "Organic Search": 0.60,
    "Webinar": 0.35,
    "Content Syndication": 1.40,
    "Paid Social": 0.40,
    "Partner Referral": 1.00,
}
_REGION_WEIGHTS = (("NA", 0.50), ("EMEA", 0.28), ("APAC", 0.14), ("LATAM", 0.08))
_SEGMENT_WEIGHTS = {
    "Paid Search": (("SMB", 0.60), ("Mid-Market", 0.32), ("Enterprise", 0.08)),
    "Organic Search": (("SMB", 0.62), ("Mid-Market", 0.30), ("Enterprise", 0.08)),
    "Webinar": (("SMB", 0.50), ("Mid-Market", 0.40), ("Enterprise", 0.10)),
    "Events": (("SMB", 0.36), ("Mid-Market", 0.46), ("Enterprise", 0.18)),
    "Content Syndication": (("SMB", 0.46), ("Mid-Market", 0.42), ("Enterprise", 0.12)),
    "Paid Social": (("SMB", 0.68), ("Mid-Market", 0.26), ("Enterprise", 0.06)),
    "Partner Referral": (("SMB", 0.25), ("Mid-Market", 0.40), ("Enterprise", 0.35)),
    OUTBOUND: (("SMB", 0.22), ("Mid-Market", 0.40), ("Enterprise", 0.38)),
}

# funnel rates per channel: lead -> MQL, MQL -> accepted / rejected (rest pending),
# accepted -> SQL; SQL -> opportunity is the same for all
_MQL_RATE = {
    "Paid Search": 0.36,
    "Organic Search": 0.30,
    "Webinar": 0.34,
    "Events": 0.40,
    "Content Syndication": 0.30,
    "Paid Social": 0.22,
    "Partner Referral": 0.60,
}
# demo requests and contact-us forms are MQLs at once; the rest are scored after nurture
_INSTANT_MQL = {
    "Paid Search": 0.50,
    "Organic Search": 0.45,
    "Webinar": 0.10,
    "Events": 0.0,
    "Content Syndication": 0.05,
    "Paid Social": 0.20,
    "Partner Referral": 0.70,
}
_NURTURE_MEAN_DAYS = 12.0
_ACCEPT = {
    "Paid Search": 0.68,
    "Organic Search": 0.70,
    "Webinar": 0.58,
    "Events": 0.55,
    "Content Syndication": 0.42,
    "Paid Social": 0.55,
    "Partner Referral": 0.80,
}
_REJECT = {
    "Paid Search": 0.22,
    "Organic Search": 0.20,
    "Webinar": 0.30,
    "Events": 0.32,
    "Content Syndication": 0.46,
    "Paid Social": 0.34,
    "Partner Referral": 0.12,
}
_SQL_RATE = {
    "Paid Search": 0.62,
    "Organic Search": 0.60,
    "Webinar": 0.52,
    "Events": 0.52,
    "Content Syndication": 0.36,
    "Paid Social": 0.46,
    "Partner Referral": 0.66,
}
_SEGMENT_FUNNEL = {"SMB": 0.95, "Mid-Market": 1.0, "Enterprise": 1.10}
_SQL_TO_OPPORTUNITY = 0.85
# pending MQLs a rep turns straight into an SQL without recording acceptance (a skipped stage)
_SKIP_ACCEPTANCE = 0.02

# handoff SLA behaviour: response time in hours (lognormal median, sigma) and never-touched share.
# Event badge scans and syndicated content arrive as list uploads that nobody owns quickly.
_RESPONSE_FAST = (2.0, 1.0)
_RESPONSE_SLOW_CHANNEL = {"Content Syndication": (50.0, 0.8), "Events": (36.0, 0.8)}
_RESPONSE_SLOW_REP = (40.0, 0.7)
_NEVER_TOUCHED = 0.03
_NEVER_TOUCHED_SLOW = 0.12

_REASON_WEIGHTS_DEFAULT = (0.35, 0.12, 0.18, 0.20, 0.15)
_REASON_WEIGHTS = {
    "Content Syndication": (0.32, 0.10, 0.38, 0.12, 0.08),
    "Webinar": (0.30, 0.28, 0.14, 0.16, 0.12),
    "Events": (0.30, 0.14, 0.16, 0.12, 0.28),
}

# opportunities created per weekday by outbound prospecting (sales) and partner deal registration
_DAILY_OUTBOUND = 1.05
_DAILY_PARTNER_DIRECT = 0.16
# January territory kick-off lifts prospecting; December and August are quiet
_OUTBOUND_SEASON = (1.25, 1.10, 1.00, 1.05, 1.00, 0.95, 0.85, 0.80, 1.00, 1.05, 1.00, 0.70)
# outbound opportunities whose SDR first created a lead record (lead_id set, channel Outbound)
_OUTBOUND_WITH_LEAD = 0.06

# deal economics: amount (lognormal median, sigma) per segment; cycle median days per source
# before the segment factor (measured cycles come out longer: quarter-end rush, year-end pulls)
_AMOUNT = {"SMB": (14_000.0, 0.40), "Mid-Market": (40_000.0, 0.40), "Enterprise": (110_000.0, 0.40)}
_SOURCE_AMOUNT = {"marketing": 1.0, "sales": 1.15, "partner": 1.05}
_CYCLE_DAYS = {"marketing": 140.0, "sales": 40.0, "partner": 85.0}
_SEGMENT_CYCLE = {"SMB": 0.80, "Mid-Market": 1.0, "Enterprise": 1.20}
_CYCLE_SIGMA = 0.35
_WIN_RATE = {"marketing": 0.27, "sales": 0.20, "partner": 0.31}
_SEGMENT_WIN = {"SMB": 1.10, "Mid-Market": 1.0, "Enterprise": 0.85}
# win-rate factor by quarter of the natural close: year-end budgets get spent (in Q4), above all
# in large accounts; January is slow (and some of its deals were pulled into December)
_QUARTER_WIN = {1: 0.85, 2: 1.0, 3: 0.95}
_Q4_WIN = {"SMB": 1.10, "Mid-Market": 1.25, "Enterprise": 1.60}
# chance a deal's close is dragged into the last two weeks of its quarter (the hockey stick)
_HOCKEY_STICK_WON = {"SMB": 0.15, "Mid-Market": 0.22, "Enterprise": 0.28}
_HOCKEY_STICK_LOST = 0.25  # quarter-end pipeline clean-ups
_YEAR_END_PULL = 0.20  # won deals due in early Q1 that get pulled into December
_NEGLECTED_PIPELINE = 0.10  # deals whose close date is pushed weeks after it passed
_OPEN_WITHOUT_AMOUNT = {"SMB": 0.45, "Mid-Market": 0.30, "Enterprise": 0.25}


# --------------------------------------------------------------------------------------------
# records under construction
# --------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Lead:
    created: int
    channel: str
    campaign: str | None
    segment: str | None
    region: str
    owner: str | None = None
    mql: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    reason: str | None = None
    touch: int | None = None
    sql: int | None = None
    opportunity: _Opportunity | None = None
    lead_id: str = ""


@dataclass(slots=True)
class _Opportunity:
    created: int
    source: str
    channel: str
    segment: str
    region: str
    owner: str
    lead: _Lead | None
    #: (changed_at minute, stage, amount, expected close day), chronological, cut at the extract
    history: list[tuple[int, str, float | None, int | None]] = field(default_factory=list)
    lost_reason: str | None = None
    opportunity_id: str = ""


# --------------------------------------------------------------------------------------------
# leads
# --------------------------------------------------------------------------------------------
def _campaign(rng: _Rng, channel: str, day: int) -> str | None:
    """Campaign name of an inbound lead (organic search has none)."""
    q = _quarter(day)
    tag = f"{q.year}-Q{q.quarter}"
    if channel == "Organic Search":
        return None
    if channel == "Paid Search":
        # always-on programs plus a quarterly competitor push
        return rng.weighted(
            (
                ("Paid Search - Brand", 0.40),
                ("Paid Search - Category", 0.40),
                (f"{tag} Paid Search Competitor Campaign", 0.20),
            )
        )
    if channel == "Webinar":
        return f"{tag} Webinar Series"
    if channel == "Content Syndication":
        theme = "Analyst Report" if q.quarter in (1, 3) else "Buyer's Guide Ebook"
        return f"{tag} {theme} Syndication"
    if channel == "Paid Social":
        return rng.weighted(((f"{tag} Paid Social ABM", 0.6), ("Paid Social - Retargeting", 0.4)))
    return "Partner Referral Program"


def _volume_factor(day: int, start_day: int) -> float:
    """Trend times lead seasonality times weekday pattern."""
    d = _date(day)
    trend = 1.0 + _ANNUAL_GROWTH * (day - start_day) / 365.25
    return trend * _LEAD_SEASON[d.month - 1] * _WEEKDAY[_weekday(day)]


def _freeze_factor(channel: str, day: int) -> float:
    """Lead volume factor of the budget freeze, ramping back after it is lifted."""
    cut = _FREEZE.get(channel, 1.0)
    if _day(_FREEZE_START) <= day <= _day(_FREEZE_END):
        return cut
    since_end = day - _day(_FREEZE_END)
    if 0 < since_end <= _FREEZE_RAMP_DAYS:
        return cut + (1.0 - cut) * since_end / _FREEZE_RAMP_DAYS
    return 1.0


_CITIES = {
    "NA": ("Chicago", "Austin", "Toronto", "New York", "San Francisco"),
    "EMEA": ("London", "Berlin", "Amsterdam", "Paris", "Stockholm"),
    "APAC": ("Sydney", "Singapore", "Tokyo"),
    "LATAM": ("Sao Paulo", "Mexico City"),
}


@dataclass(frozen=True)
class _Event:
    day: int
    campaign: str
    region: str | None  # None: a global event, attendees from every region
    size: float  # median number of leads


def _event_schedule(rng: _Rng, start_day: int, end_day: int) -> list[_Event]:
    """Field roadshows every quarter, a Q2 trade show and an October user conference."""
    events: list[_Event] = []
    q = _quarter(start_day)
    while SAMPLE_CALENDAR.quarter_start(q) < _date(end_day):
        q_start = _day(SAMPLE_CALENDAR.quarter_start(q))
        tag = f"{q.year}-Q{q.quarter}"
        in_freeze = q == _FREEZE_QUARTER
        for _ in range(1 if in_freeze else 2):
            region = rng.weighted(_REGION_WEIGHTS)
            city = _CITIES[region][rng.integer(0, len(_CITIES[region]) - 1)]
            day = q_start + rng.integer(10, 80)
            day += (1 - _weekday(day)) % 7  # roadshows run on Tuesdays
            events.append(_Event(day, f"{tag} Roadshow {city}", region, 75.0))
        if q.quarter == 2 and not in_freeze:
            events.append(
                _Event(q_start + 40 + rng.integer(0, 14), f"{tag} Industry Trade Show", None, 210.0)
            )
        if q.quarter == 4:
            events.append(
                _Event(q_start + 20 + rng.integer(0, 6), f"{q.year} User Conference", None, 360.0)
            )
        q = q.shift(1)
    return [e for e in events if start_day <= e.day]


def _event_leads(rng: _Rng, event: _Event) -> list[_Lead]:
    """Badge scans arrive as one to three list uploads a few days after the event."""
    n = max(5, round(rng.lognormal(event.size, 0.25)))
    leads: list[_Lead] = []
    uploads = rng.integer(1, 3)
    for upload in range(uploads):
        count = n // uploads + (1 if upload < n % uploads else 0)
        ops_region = event.region or "NA"  # marketing ops in NA import global events
        upload_day = _business_day(event.day + rng.integer(1, 4) + 2 * upload)
        created = _at_office(rng, upload_day, ops_region)  # the whole upload shares one minute
        for _ in range(count):
            if event.region is not None and rng.chance(0.85):
                region = event.region
            else:
                region = rng.weighted(_REGION_WEIGHTS)
            segment = rng.weighted(_SEGMENT_WEIGHTS["Events"], u=rng.even("segment", "Events"))
            leads.append(_Lead(created, "Events", event.campaign, segment, region))
    return leads


def _inbound_leads(rng: _Rng, start_day: int, end_day: int) -> list[_Lead]:
    """Inbound leads in creation order: daily Poisson volumes per channel plus event uploads."""
    leads: list[_Lead] = []
    events = _event_schedule(rng, start_day, end_day)
    for day in range(start_day, end_day):
        factor = _volume_factor(day, start_day)
        for channel in CHANNELS:
            if channel == "Events":
                continue
            n = rng.poisson(_DAILY_LEADS[channel] * factor * _freeze_factor(channel, day))
            for _ in range(n):
                region = rng.weighted(_REGION_WEIGHTS)
                # web forms fill round the clock, but mostly in the visitor's office hours
                created = _to_utc(day * _MINUTES_PER_DAY + _office_minute(rng), region)
                segment = rng.weighted(_SEGMENT_WEIGHTS[channel], u=rng.even("segment", channel))
                leads.append(_Lead(created, channel, _campaign(rng, channel, day), segment, region))
        for event in events:
            if event.day == day:
                leads.extend(_event_leads(rng, event))
    return leads


def _pick_rep(rng: _Rng, reps: Sequence[_Rep], region: str, day: int) -> _Rep:
    """Round-robin stand-in: a uniform pick among the region's reps already hired."""
    pool = [r for r in reps if r.region == region and _day(r.start) <= day]
    return pool[rng.integer(0, len(pool) - 1)]


def _run_lead_funnel(rng: _Rng, lead: _Lead, reps: Sequence[_Rep], extract: int) -> _Rep | None:
    """MQL, handoff, first touch, accept/reject, SQL. Events at or after ``extract`` are dropped.

    Returns the owning rep when the lead became an SQL that turns into an opportunity.
    """
    ch, seg = lead.channel, lead.segment or "SMB"  # inbound leads all have a segment here
    if rng.even("mql", ch) >= _MQL_RATE[ch] * _SEGMENT_FUNNEL[seg]:
        return None
    if rng.chance(_INSTANT_MQL[ch]):
        mql = lead.created + rng.integer(0, 10)
    elif ch == "Events":
        # lead scoring runs over the upload within two days
        mql = lead.created + rng.integer(30, 2 * _MINUTES_PER_DAY)
    else:
        # a nurture touch (email click, content download) tips the score, in office hours
        days = min(150, int(rng.exponential(_NURTURE_MEAN_DAYS))) + 1
        local_day = _local_day(lead.created, lead.region) + days
        mql = _to_utc(local_day * _MINUTES_PER_DAY + _office_minute(rng), lead.region)
    if mql >= extract:
        return None
    lead.mql = mql
    rep = _pick_rep(rng, reps, lead.region, _local_day(mql, lead.region))
    lead.owner = rep.owner_id

    slow_channel = _RESPONSE_SLOW_CHANNEL.get(ch)
    touched = not rng.chance(_NEVER_TOUCHED_SLOW if slow_channel or rep.slow else _NEVER_TOUCHED)
    touch: int | None = None
    if touched:
        if slow_channel or rep.slow:
            median, sigma = slow_channel or _RESPONSE_SLOW_REP
            hours = rng.lognormal(median, sigma)
            touch = _next_office_time(rng, mql + int(hours * 60), lead.region)
        else:
            # reps work in office hours: the clock effectively starts the next morning
            start = _next_office_time(rng, mql, lead.region)
            touch = start + int(rng.lognormal(*_RESPONSE_FAST) * 60)
        touch = max(touch, mql + 1)
        lead.touch = touch if touch < extract else None

    # decision: accept, reject (with a reason) or leave pending
    decision_base = touch if touch is not None else mql
    if touch is None:
        # untouched MQLs mostly sit (leaked); ops clean up a few obvious duds
        outcome = "reject" if rng.chance(0.15) else "pending"
        reason = rng.weighted((("Bad contact data", 0.6), ("Duplicate", 0.4)))
        decided = decision_base + int(rng.exponential(10.0) * _MINUTES_PER_DAY) + 60
    else:
        p_accept, p_reject = _ACCEPT[ch], _REJECT[ch]
        outcome = rng.weighted(
            (("accept", p_accept), ("reject", p_reject), ("pending", 1.0 - p_accept - p_reject))
        )
        weights = _REASON_WEIGHTS.get(ch, _REASON_WEIGHTS_DEFAULT)
        reason = rng.weighted(tuple(zip(REJECTION_REASONS, weights, strict=True)))
        hours = rng.exponential(30.0)
        decided = _next_office_time(rng, decision_base + 5 + int(hours * 60), lead.region)
    if outcome == "reject" and decided < extract:
        lead.rejected, lead.reason = decided, reason
        return None

    sql: int | None = None
    if outcome == "accept":
        if decided >= extract:
            return None
        lead.accepted = decided
        if rng.even("sql", ch) < _SQL_RATE[ch] * _SEGMENT_FUNNEL[seg]:
            delay = rng.exponential(12.0) + 0.5  # days
            sql = _next_office_time(rng, decided + int(delay * _MINUTES_PER_DAY), lead.region)
    elif outcome == "pending" and touch is not None and rng.chance(_SKIP_ACCEPTANCE):
        delay = rng.exponential(10.0) + 0.5  # days
        sql = _next_office_time(rng, touch + int(delay * _MINUTES_PER_DAY), lead.region)
    if sql is None or sql >= extract:
        return None
    lead.sql = sql
    return rep if rng.even("opportunity", ch) < _SQL_TO_OPPORTUNITY else None


# --------------------------------------------------------------------------------------------
# opportunities and their stage history
# --------------------------------------------------------------------------------------------
def _close_day(rng: _Rng, opp: _Opportunity, natural: int, *, won: bool) -> int:
    """Actual close day: the natural day bent by year-end pulls and the quarter-end rush."""
    created_day = _local_day(opp.created, opp.region)
    day = natural
    d = _date(day)
    early_q1 = d.month == 1 or (d.month == 2 and d.day <= 15)
    if won and early_q1 and rng.even("pull", opp.segment) < _YEAR_END_PULL:
        # "get it signed before year end": an early-Q1 deal closes in late December
        dec_16 = _day(date(d.year - 1, 12, 16))
        if created_day < dec_16:
            day = dec_16 + rng.integer(0, 15)
    p = _HOCKEY_STICK_WON[opp.segment] if won else _HOCKEY_STICK_LOST
    if rng.chance(p):
        q_end = _quarter_end(day)
        lo = max(day, q_end - 13)
        day = lo + rng.integer(0, q_end - lo)
    # nobody signs on a weekend: Friday if still in the quarter and after creation, else Monday
    if _weekday(day) >= 5:
        friday = _business_day(day, forward=False)
        day = friday if friday >= max(created_day, _quarter_start(day)) else _business_day(day)
    return max(day, created_day)


def _lost_reason(rng: _Rng, reached: str) -> str:
    if reached in ("Discovery", "Qualification"):
        weights = (0.45, 0.15, 0.10, 0.22, 0.08)
    else:
        weights = (0.25, 0.32, 0.25, 0.10, 0.08)
    return rng.weighted(tuple(zip(LOST_REASONS, weights, strict=True)))


def _new_expected_close(rng: _Rng, day: int, *, floor: int) -> int:
    """A rep's (optimistic) new expected close date: a month end or the next quarter end."""
    if rng.chance(0.3):
        candidate = _quarter_end(_quarter_end(day) + 1)
    else:
        candidate = _month_end(day + rng.integer(10, 70))
    while candidate <= floor:
        candidate = _month_end(candidate + 1)
    return candidate


def _simulate_opportunity(rng: _Rng, opp: _Opportunity, extract: int) -> None:
    """Fill ``opp.history`` with the deal's full life, then cut it at the extract.

    The deal is simulated to its end (won or lost) even if that lies beyond the extract;
    cutting afterwards keeps open deals consistent with the deals that already closed.
    """
    seg, src, region = opp.segment, opp.source, opp.region
    created = opp.created
    created_day = _local_day(created, region)
    median_amount, amount_sigma = _AMOUNT[seg]
    # streams per source and segment: a quarter has only a handful of Enterprise wins, and
    # evenly spread outcomes, sizes and cycles keep that handful close to its expectation
    key = f"{src}/{seg}"
    size_z = _normal_quantile(rng.even("size", key))
    amount = median_amount * _SOURCE_AMOUNT[src] * math.exp(amount_sigma * size_z)
    typical_cycle = _CYCLE_DAYS[src] * _SEGMENT_CYCLE[seg]
    cycle_z = _normal_quantile(rng.even("cycle", key))
    cycle = max(3.0, typical_cycle * math.exp(_CYCLE_SIGMA * cycle_z))
    natural = created_day + round(cycle)
    quarter = _quarter(natural).quarter
    season = _Q4_WIN[seg] if quarter == 4 else _QUARTER_WIN[quarter]
    won = rng.even("win", key) < _WIN_RATE[src] * _SEGMENT_WIN[seg] * season
    close_day = _close_day(rng, opp, natural, won=won)
    close = max(_at_office(rng, close_day, region), created + 30)

    if won:
        path = ["Qualification", "Proposal"]
        if not rng.chance(0.35 if seg == "SMB" else 0.10):  # small deals often skip it
            path.append("Negotiation")
        final = "Closed Won"
    else:
        reached = rng.weighted(
            (
                ("Discovery", 0.35),
                ("Qualification", 0.30),
                ("Proposal", 0.20),
                ("Negotiation", 0.15),
            )
        )
        path = list(STAGES[1 : STAGES.index(reached) + 1])
        final = "Closed Lost"
        opp.lost_reason = _lost_reason(rng, reached)

    # amounts: often blank at discovery, a rep's guess at qualification, firm at proposal,
    # discounted at signature
    first_amount = None if rng.chance(_OPEN_WITHOUT_AMOUNT[seg]) else amount * rng.between(0.8, 1.4)
    stage_amount = {
        "Qualification": amount * rng.between(0.9, 1.35),
        "Proposal": amount * rng.between(0.97, 1.15),
        "Negotiation": amount * rng.between(1.0, 1.06),
    }
    step = 100 if seg == "SMB" else 500

    # stage change instants spread over the cycle, strictly increasing
    fractions = {
        "Qualification": rng.between(0.05, 0.22),
        "Proposal": rng.between(0.30, 0.55),
        "Negotiation": rng.between(0.60, 0.88),
    }
    span = close - created
    events: list[tuple[int, str, float | None]] = []
    last = created
    current_amount = None if first_amount is None else _round_to(first_amount, step)
    for stage in path:
        t = _at_office(rng, _local_day(created + int(span * fractions[stage]), region), region)
        t = max(t, last + rng.integer(5, 90))
        current_amount = _round_to(stage_amount[stage], step)
        events.append((t, stage, current_amount))
        last = t
    close = max(close, last + rng.integer(5, 90))
    closing_amount = _round_to(amount, step) if won else current_amount
    events.append((close, final, closing_amount))

    # expected close date: the rep's optimistic guess, pushed whenever it passes; a few reps
    # neglect their pipeline and push weeks late (stale close dates in the open pipeline)
    push_lag = (21, 90) if rng.chance(_NEGLECTED_PIPELINE) else (-3, 6)
    guess = created_day + int(typical_cycle * rng.between(0.45, 1.0))
    expected = _quarter_end(guess) if rng.chance(0.35) else _month_end(guess)
    rows: list[tuple[int, str, float | None, int | None]] = [
        (
            created,
            "Discovery",
            None if first_amount is None else _round_to(first_amount, step),
            expected,
        )
    ]
    for i, (t, stage, stage_amt) in enumerate(events):
        event_day = _local_day(t, region)
        pushes = 0
        while expected < event_day and pushes < 8:
            prev_t, prev_stage, prev_amount, _ = rows[-1]
            # the rep notices around the date (forecast call, or the week after)
            push_t = _at_office(rng, expected + rng.integer(*push_lag), region)
            push_t = max(push_t, prev_t + rng.integer(30, 600))
            if push_t >= t:
                break
            expected = _new_expected_close(rng, _local_day(push_t, region), floor=expected)
            rows.append((push_t, prev_stage, prev_amount, expected))
            pushes += 1
        if i == len(events) - 1:
            expected = event_day  # once closed, the close date is the actual one
        elif expected < event_day:
            expected = _new_expected_close(rng, event_day, floor=event_day)
        rows.append((t, stage, stage_amt, expected))

    opp.history = [row for row in rows if row[0] < extract]
    if opp.history[-1][1] != final:
        opp.lost_reason = None


def _outbound_opportunities(
    rng: _Rng, reps: Sequence[_Rep], start_day: int, end_day: int
) -> tuple[list[_Opportunity], list[_Lead]]:
    """Sales-sourced (outbound) and partner-registered deals, with the few SDR-created leads."""
    opps: list[_Opportunity] = []
    leads: list[_Lead] = []
    for day in range(start_day, end_day):
        if _weekday(day) >= 5:
            continue
        trend = 1.0 + _ANNUAL_GROWTH * (day - start_day) / 365.25
        season = _OUTBOUND_SEASON[_date(day).month - 1]
        for source, rate in (("sales", _DAILY_OUTBOUND), ("partner", _DAILY_PARTNER_DIRECT)):
            for _ in range(rng.poisson(rate * trend * season)):
                active = [r for r in reps if _day(r.start) <= day]
                rep = active[rng.integer(0, len(active) - 1)]
                channel = OUTBOUND if source == "sales" else PARTNER
                segment = rng.weighted(_SEGMENT_WEIGHTS[channel], u=rng.even("segment", channel))
                created = _to_utc(day * _MINUTES_PER_DAY + rng.integer(540, 1050), rep.region)
                opp = _Opportunity(
                    created, source, channel, segment, rep.region, rep.owner_id, None
                )
                lead_day = _business_day(day - rng.integer(3, 25), forward=False)
                if source == "sales" and rng.chance(_OUTBOUND_WITH_LEAD) and lead_day > start_day:
                    # the SDR logged the prospect as a lead and qualified it before converting
                    lead_created = _at_office(rng, lead_day, rep.region)
                    sql = min(created - 1, lead_created + rng.integer(1, 5) * _MINUTES_PER_DAY)
                    lead = _Lead(lead_created, OUTBOUND, None, segment, rep.region, rep.owner_id)
                    lead.sql = max(sql, lead_created)
                    lead.opportunity, opp.lead = opp, lead
                    leads.append(lead)
                opps.append(opp)
    return opps, leads


# --------------------------------------------------------------------------------------------
# assembling the tables
# --------------------------------------------------------------------------------------------
def _column(column: Column, values: Sequence[object]) -> pl.Series:
    """A canonical column from Python values: minutes for timestamps, day numbers for dates."""
    if column.kind == "timestamp":
        micros = pl.Series(column.name, values, dtype=pl.Int64) * _MICROS_PER_MINUTE
        return micros.cast(column.dtype)
    if column.kind == "date":
        return pl.Series(column.name, values, dtype=pl.Int32).cast(column.dtype)
    return pl.Series(column.name, values, dtype=column.dtype)


def _frame(table: str, values: dict[str, Sequence[object]]) -> pl.DataFrame:
    """A frame with exactly the canonical columns, order and dtypes of ``table``."""
    return pl.DataFrame([_column(c, values[c.name]) for c in TABLES[table].columns])


def _leads_frame(leads: Sequence[_Lead]) -> pl.DataFrame:
    return _frame(
        "leads",
        {
            "lead_id": [x.lead_id for x in leads],
            "created_at": [x.created for x in leads],
            "channel": [x.channel for x in leads],
            "campaign": [x.campaign for x in leads],
            "segment": [x.segment for x in leads],
            "region": [x.region for x in leads],
            "owner_id": [x.owner for x in leads],
            "mql_at": [x.mql for x in leads],
            "accepted_at": [x.accepted for x in leads],
            "rejected_at": [x.rejected for x in leads],
            "rejection_reason": [x.reason for x in leads],
            "first_touch_at": [x.touch for x in leads],
            "sql_at": [x.sql for x in leads],
            "opportunity_id": [
                x.opportunity.opportunity_id if x.opportunity else None for x in leads
            ],
        },
    )


_OUTCOMES = {"Closed Won": "won", "Closed Lost": "lost"}


def _opportunities_frame(opps: Sequence[_Opportunity]) -> pl.DataFrame:
    """Each opportunity's state on the extract date: its last history row."""
    finals = [o.history[-1] for o in opps]
    return _frame(
        "opportunities",
        {
            "opportunity_id": [o.opportunity_id for o in opps],
            "created_at": [o.history[0][0] for o in opps],
            "source": [o.source for o in opps],
            "channel": [o.channel for o in opps],
            "amount": [f[2] for f in finals],
            "stage": [f[1] for f in finals],
            "expected_close_date": [f[3] for f in finals],
            "closed_at": [f[0] if f[1] in _OUTCOMES else None for f in finals],
            "outcome": [_OUTCOMES.get(f[1]) for f in finals],
            "lost_reason": [o.lost_reason for o in opps],
            "owner_id": [o.owner for o in opps],
            "segment": [o.segment for o in opps],
            "region": [o.region for o in opps],
            "lead_id": [o.lead.lead_id if o.lead else None for o in opps],
        },
    )


def _stage_history_frame(opps: Sequence[_Opportunity]) -> pl.DataFrame:
    rows = [(o.opportunity_id, *row) for o in opps for row in o.history]
    return _frame(
        "stage_history",
        {
            name: [r[i] for r in rows]
            for i, name in enumerate(
                ("opportunity_id", "changed_at", "stage", "amount", "expected_close_date")
            )
        },
    )


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------
_TARGET_FIRST = FiscalQuarter(2024, 1)
_TARGET_LAST = FiscalQuarter(2027, 2)
_TARGET_TEAMS = (
    ("bookings", "shared"),
    ("pipeline_created", "shared"),
    ("marketing_pipeline_created", "marketing"),
    ("mqls", "marketing"),
    ("sla_compliance", "sales"),
)
_SLA_HOURS = 24
_PLAN_GROWTH = 1.12  # next year's plan: last year's actual plus growth
# quarters after SAMPLE_START before a metric is at its steady level (the extract starts with an
# empty pipeline: MQLs are there at once, bookings need the cycle length to fill up)
_RAMP_UP_QUARTERS = {
    "bookings": 3,
    "pipeline_created": 1,
    "marketing_pipeline_created": 1,
    "mqls": 1,
}
# quarters planners do not budget from: the freeze and the hole it left two quarters later
_FREEZE_Q = SAMPLE_CALENDAR.quarter_index(_FREEZE_QUARTER)
_FREEZE_AFTERMATH = {
    "bookings": (_FREEZE_Q + 1, _FREEZE_Q + 2),
    "pipeline_created": (_FREEZE_Q, _FREEZE_Q + 1),
    "marketing_pipeline_created": (_FREEZE_Q, _FREEZE_Q + 1),
    "mqls": (_FREEZE_Q, _FREEZE_Q + 1),
}


def _quarter_actuals(leads: pl.DataFrame, opps: pl.DataFrame) -> dict[str, dict[int, float]]:
    """Actual value per target metric and fiscal quarter index (for setting plausible targets)."""
    cal = SAMPLE_CALENDAR

    def by_quarter(frame: pl.DataFrame, when: str, value: pl.Expr) -> dict[int, float]:
        out = (
            frame.filter(pl.col(when).is_not_null())
            .group_by(cal.quarter_index_expr(cal.local_date_expr(pl.col(when))).alias("q"))
            .agg(value.alias("v"))
        )
        return dict(zip(out["q"].to_list(), out["v"].to_list(), strict=True))

    amount = pl.col("amount").fill_null(0.0).sum()
    sla = pl.col("first_touch_at").is_not_null() & (
        (pl.col("first_touch_at") - pl.col("mql_at")) <= pl.duration(hours=_SLA_HOURS)
    )
    return {
        "bookings": by_quarter(opps.filter(pl.col("outcome") == "won"), "closed_at", amount),
        "pipeline_created": by_quarter(opps, "created_at", amount),
        "marketing_pipeline_created": by_quarter(
            opps.filter(pl.col("source") == "marketing"), "created_at", amount
        ),
        "mqls": by_quarter(leads, "mql_at", pl.len().cast(pl.Float64)),
        "sla_compliance": by_quarter(leads, "mql_at", sla.mean()),
    }


def _targets_frame(rng: _Rng, leads: pl.DataFrame, opps: pl.DataFrame) -> pl.DataFrame:
    """Quarterly targets near (not equal to) actuals: some quarters hit, some missed.

    Planned the usual way: the same quarter of the last normal year plus growth, times a
    planning error, so seasonality is in the plan and the freeze quarters show as misses.
    Where there is no normal year before (the extract starts with an empty pipeline that takes
    a while to fill), the plan is the actual times the planning error. SLA compliance is a
    yearly policy at the year's typical share (rounded to 5 points), so quarters scatter
    around it.
    """
    actuals = _quarter_actuals(leads, opps)
    cal = SAMPLE_CALENDAR
    extract_q = cal.quarter_index(_quarter(_day(SAMPLE_EXTRACT_DATE)))
    first_q = cal.quarter_index(_quarter(_day(SAMPLE_START)))
    rows: list[tuple[str, str, str, float]] = []
    for q in range(cal.quarter_index(_TARGET_FIRST), cal.quarter_index(_TARGET_LAST) + 1):
        label = cal.quarter_from_index(q).label
        for metric, team in _TARGET_TEAMS:
            series = actuals[metric]
            if metric == "sla_compliance":
                year = [series[i] for i in range(q - q % 4, q - q % 4 + 4) if i in series]
                year = year or [series[i] for i in range(q - q % 4 - 4, q - q % 4) if i in series]
                rows.append((label, metric, team, round(sum(year) / len(year) * 20) / 20))
                continue
            # plan off the last normal year: skip the ramp-up and the freeze's aftermath
            refs = [q - 4 * years for years in (1, 2)]
            usable = [
                r
                for r in refs
                if first_q + _RAMP_UP_QUARTERS[metric] <= r < extract_q
                and r not in _FREEZE_AFTERMATH[metric]
            ]
            if usable:
                base = series[usable[0]] * _PLAN_GROWTH ** ((q - usable[0]) // 4)
            else:
                base = series[q]
            value = base * rng.between(0.88, 1.12)
            rows.append((label, metric, team, _round_to(value, 10 if metric == "mqls" else 10_000)))
    names = ("fiscal_quarter", "metric", "team", "value")
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    # the sample's targets are the company's: no segment or region (docs/data-model.md)
    return _frame(
        "targets", {**columns, "segment": [None] * len(rows), "region": [None] * len(rows)}
    )


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def generate_sample(*, seed: int = SAMPLE_SEED) -> dict[str, pl.DataFrame]:
    """Generate the four canonical tables of the sample extract.

    Returns ``{"leads", "opportunities", "stage_history", "targets"}``, each with exactly the
    columns and dtypes of ``schema.TABLES[name].polars_schema``. Grains: one row per lead, per
    opportunity (its state on the extract date), per opportunity change, and per fiscal quarter,
    metric and team. Amounts are whole currency units (Float64); timestamps are UTC instants
    with seconds 0, all strictly before :data:`SAMPLE_EXTRACT_DATE` (midnight UTC).
    Rows are sorted by their key; ids follow creation order (``L000001``, ``O00001``).
    """
    rng = _Rng(seed)
    start_day, end_day = _day(SAMPLE_START), _day(SAMPLE_EXTRACT_DATE)
    # the window is by UTC instant: local times near midnight can fall outside it
    start, extract = start_day * _MINUTES_PER_DAY, end_day * _MINUTES_PER_DAY
    reps = _build_reps()

    leads = [x for x in _inbound_leads(rng, start_day, end_day) if start <= x.created < extract]
    opps: list[_Opportunity] = []
    for lead in leads:
        rep = _run_lead_funnel(rng, lead, reps, extract)
        if lead.mql is None and rng.chance(0.04):
            lead.segment = None  # never enriched: firmographics are bought for MQLs only
        if rep is None or lead.sql is None or lead.segment is None:
            continue
        created = _next_office_time(
            rng, lead.sql + int(rng.exponential(4.0) * _MINUTES_PER_DAY), lead.region
        )
        if created >= extract:
            continue
        source = "partner" if lead.channel == PARTNER else "marketing"
        opp = _Opportunity(
            created, source, lead.channel, lead.segment, lead.region, rep.owner_id, lead
        )
        lead.opportunity = opp
        opps.append(opp)
    outbound, sdr_leads = _outbound_opportunities(rng, reps, start_day, end_day)
    opps += [o for o in outbound if start <= o.created < extract]
    leads += [x for x in sdr_leads if x.opportunity is not None and x.opportunity.created < extract]

    # ids in creation order; the sort is stable, so ties keep generation order
    leads.sort(key=lambda x: x.created)
    for i, lead in enumerate(leads, start=1):
        lead.lead_id = f"L{i:06d}"
    opps.sort(key=lambda o: o.created)
    for i, opp in enumerate(opps, start=1):
        opp.opportunity_id = f"O{i:05d}"
        _simulate_opportunity(rng, opp, extract)

    leads_df = _leads_frame(leads)
    opps_df = _opportunities_frame(opps)
    return {
        "leads": leads_df,
        "opportunities": opps_df,
        "stage_history": _stage_history_frame(opps),
        "targets": _targets_frame(rng, leads_df, opps_df),
    }


def write_sample(out_dir: str | Path, *, seed: int = SAMPLE_SEED) -> list[Path]:
    """Write ``<table>.csv`` for each sample table into ``out_dir``; return the paths written.

    Timestamps are ISO 8601 UTC with ``Z`` (``2025-03-04T14:05:00Z``), dates ``2025-03-04``,
    amounts whole currency units without a decimal point. Same seed, same bytes. Optional
    scope columns no row uses (the targets' segment and region: the sample's targets are the
    company's) are left out of the file, as an export without them leaves them out.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, frame in generate_sample(seed=seed).items():
        amounts = [c.name for c in TABLES[name].columns if c.kind == "amount"]
        # amounts are whole by construction; Int64 drops the ".0" from the file
        frame = frame.with_columns(pl.col(amounts).round(0).cast(pl.Int64))
        unused = [c for c in TABLES[name].scope if frame[c].null_count() == frame.height]
        frame = frame.drop(unused)
        path = out / f"{name}.csv"
        frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ", date_format="%Y-%m-%d")
        paths.append(path)
    return paths
