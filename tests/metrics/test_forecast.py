"""Coverage, forecast and pipeline needed on a hand-built funnel; expected values worked by hand.

Calendar: fiscal year = calendar year, UTC. As of 2026-08-16 00:00 UTC: the
current quarter is FY2026-Q3 (1 Jul - 1 Oct, 92 days), 46 days elapsed, so
elapsed = 0.5; the last complete quarter is FY2026-Q2. Every time is 10:00 UTC.
The tables go through ``FunnelData.at(AS_OF)`` like a report's.

Opportunities (amount: the one recorded at as-of; stages: while open, from stage_history)
| deal | created    | source    | amount | at as-of          | stages while open            |
| A    | 2025-11-10 | marketing | 100    | won 2026-02-10    | Discovery Proposal Negotiation |
| B    | 2025-12-05 | sales     | 300    | lost 2026-01-20   | Discovery Qualification Negotiation |
| C    | 2026-01-15 | marketing | 100    | won 2026-03-20    | Discovery Qualification Proposal |
| D    | 2026-02-01 | marketing | 100    | won 2026-05-10    | Discovery Proposal Negotiation |
| E    | 2026-03-01 | marketing | 200    | open, Proposal, expected 2026-09-15 (1)          |
| F    | 2026-04-10 | marketing | 200    | lost 2026-06-15   | Discovery Qualification Proposal |
| G    | 2026-05-01 | sales     | 100    | won 2026-06-30    | Discovery Negotiation        |
| H    | 2026-06-10 | marketing | 300    | open, Proposal, expected 2026-11-20              |
| I    | 2026-07-05 | marketing | 100    | won 2026-08-01    | Discovery                    |
| J    | 2026-07-20 | sales     | 500    | open, Discovery, expected 2026-09-30             |
| K    | 2026-08-01 | partner   | 100    | open, Negotiation, expected 2026-08-10 (overdue) |
| M    | 2026-08-10 | marketing | 100    | open, Negotiation, expected 2026-09-01 (2)       |
| P    | 2026-04-05 | marketing | (none) | lost 2026-04-25   | Discovery                    |
| R    | 2025-09-10 | partner   | 100    | won 2026-06-20    | Negotiation                  |
| S    | 2025-08-20 | marketing | 100    | won 2026-01-25    | Proposal                     |
| T    | 2025-09-01 | sales     | 200    | lost 2026-02-01   | Qualification                |
| Z    | 2024-03-01 | sales     | 1000   | lost 2024-06-01   | Discovery Proposal           |
(1) on 2026-09-01, after as-of, E moves to Negotiation at 1000: invisible at as-of.
(2) M is won on 2026-08-20 at 80, after as-of: open at as-of, rebuilt from its history
    (Negotiation at 100 expected 2026-09-01; its earlier Discovery row said 2026-12-01).
Each closed deal's history ends with "Closed Won"/"Closed Lost" at its closed_at:
not a stage it was in while open.

Stage win probabilities (window 730 days: closes after 2024-08-16; Z is outside)
| stage         | deals          | won | p_win_count | amount | won_amount | p_win_amount |
| Discovery     | A B C D F G I P | 5  | 5/8 = 0.625 | 1000   | 500        | 0.5          |
| Negotiation   | A B D G R      | 4   | 0.8         | 700    | 400        | 4/7          |
| Proposal      | A C D F S      | 4   | 0.8         | 600    | 400        | 2/3          |
| Qualification | B C F T        | 1   | 0.25        | 800    | 100        | 0.125        |
With 1000 days Z counts too: Discovery 5/9, Proposal 4/6.

Trailing 365 days (closes after 2025-08-16): won A C D G I R S = 700, lost B F T = 700
(P has no amount): win rate by amount 0.5.

Pipeline coverage (targets bookings/shared: Q3 200, Q4 600, FY2027-Q1 390, none for Q2)
| quarter   | qualified open in it     | pipeline | booked | remaining | coverage |
| FY2026-Q3 | E, K, M (J is Discovery) | 400      | I 100  | 100       | 4.0      |
| FY2026-Q4 | H                        | 300      | 0      | 600       | 0.5      |
| FY2027-Q1 | none                     | 0        | 0      | 390       | 0.0      |
| FY2027-Q2 | none                     | 0        | 0      | no target: the rest is null     |
The required coverage (1 / the in-quarter conversion) is worked on the second table in
tests/metrics/test_coverage.py: this table's closed deals have no expected close dates in
their history, so no past quarter's pipeline can be seen (the conversion is unknown).

Bookings forecast (FY2026-Q3 and Q4; window 730, creation_quarters 2, z 1.2816)
Open, p by count of the current stage, variance amount^2 p (1 - p):
  Q3: E 200 x 0.8 = 160 (40000 x 0.16 = 6400); J 500 x 0.625 = 312.5 (250000 x 0.234375
      = 58593.75); K 100 x 0.8 = 80 (1600); M 100 x 0.8 = 80 (1600):
      open_expected 632.5, open_variance 68193.75, open_pipeline 900, 4 deals.
  Q4: H 300 x 0.8 = 240, variance 90000 x 0.16 = 14400.
Not yet created: created FY2026-Q1 = C + D + E = 400, FY2026-Q2 = F + G + H + P = 600;
  creation_rate = (400 + 600) / 2 = 500.
  w(0) = won in the creation quarter / created, cohorts Q1, Q2: (C 100 + G 100) / 1000 = 0.2.
  w(1) = won one quarter later, cohorts FY2025-Q4 (A + B = 400) and Q1 (400):
         (A 100 + D 100) / 800 = 0.25.
  Q3 share = (1 - 0.5) x w(0) = 0.1 -> 50; Q4 share = 0.5 x w(1) + w(0) = 0.325 -> 162.5.
  Won amounts in the window are all 100: E[S^2] / E[S] = 100, variance = 100 x expected:
  Q3 5000, Q4 16250.
Q3: forecast = 100 + 632.5 + 50 = 782.5, variance 73193.75, target 200 -> 3.9125.
Q4: forecast = 0 + 240 + 162.5 = 402.5, variance 30650, target 600 -> 0.670833.
Low / high = forecast -/+ 1.2816 x sqrt(variance), the low floored at booked_to_date.
FY2026-Q2 (complete): forecast = booked D + R + G = 300, variance 0.

Pipeline needed for FY2027-Q1 (target 390), lag from the last 8 complete quarters:
  bookings FY2026-Q1: A (lag 1), C (0), S (created FY2025-Q3: 2); FY2026-Q2: D (1), G (0),
  R (created FY2025-Q3: 3) -> shares 200/600, 200/600, 100/600, 100/600.
  pipeline_required = 390 x share / 0.5: 260 (FY2027-Q1), 260 (FY2026-Q4), 130 (FY2026-Q3),
  130 (FY2026-Q2). Created so far: FY2026-Q3 I + J + K + M = 800 (marketing I + M = 200),
  FY2026-Q2 600 (marketing F + H + P = 500), later quarters 0. Gaps 260, 260, 0, 0.
  Marketing: pipeline created in the 365 days: 2600, marketing 1300 in 10 deals -> share 0.5,
  average 130. MQLs in the window: L1 (-> C, marketing), L2, L3, L4 (-> K, partner: not a
  marketing opportunity) -> 1 / 4 = 0.25; L5 is older, L7's MQL comes after as-of.
  Marketing required 130, 130, 65, 65; gaps 130, 130, 0, 0; MQLs = required / (130 x 0.25
  = 32.5): 4, 4, 2, 2.

Pipeline to create in the current quarter FY2026-Q3 (in progress) for every target it feeds:
  lag shares k = 0, 1, 2, 3+: 1/3, 1/3, 1/6, 1/6; slices = target x share / 0.5:
  FY2026-Q3 200 -> 133.33, FY2026-Q4 600 -> 400, FY2027-Q1 390 -> 130, FY2027-Q2 no
  target (left out). Total 663.33 over 3 targets; created so far in Q3 800: gap 0.
  Marketing (x 0.5): 66.67 + 200 + 65 = 331.67, created 200 (I + M): gap 131.67.
  MQLs (/ 32.5): 2.0513 + 6.1538 + 2 = 10.2051; MQLs so far in Q3: L4 (L7 comes after
  as-of): 1, gap 9.2051. For FY2026-Q4 (not started): 400 (Q4) + 260 (FY2027-Q1), two
  targets, total 660, nothing created yet: gap 660.

In-quarter win probabilities and the in-quarter forecast: a second table (times 10:00 UTC
unless said otherwise; every history row has an expected close date).

| deal | created    | history: day stage amount expected-close (closing row not shown) | end     |
| A1   | 2025-12-01 | 12-01 Discovery 100 03-15; 02-01 Proposal 100 03-20     | won 2026-03-10  |
| A2   | 2025-12-05 | 12-05 Proposal 200 02-28; 03-01 Proposal 200 05-15      | won 2026-05-10  |
| A3   | 2025-11-01 | 11-01 Negotiation 300 01-31                             | lost 2026-02-15 |
| A4   | 2025-12-10 | 12-10 Discovery 400 06-30; 05-01 Proposal 400 06-30     | lost 2026-06-20 |
| A5   | 2025-10-01 | 10-01 Proposal 150 2025-12-15                           | won 2026-01-20  |
| A6   | 2026-01-10 | 01-10 Negotiation 50 03-31                              | won 2026-03-25  |
| A7   | 2026-03-15 | 03-15 Proposal (no amount) 04-30                        | won 2026-04-20, 80 |
| A9   | 2026-02-01 | none (60, Proposal, expected 05-31 on the opportunity)  | lost 2026-06-05 |
| A10  | 2026-03-01 | 03-01 Qualification 120 06-30; 06-25 (same) 09-30       | won 2026-08-20  |
| A11  | 2026-02-10 | 02-10 Qualification 100 05-31                           | lost 2026-05-20 |
| A12  | 2026-01-05 | 01-05 Negotiation 500 03-31                             | won 04-01 00:00 |
| A13  | 2025-11-15 | 11-15 Qualification 350 2025-12-31                      | lost 2026-02-01 |
| B1   | 2026-05-01 | 05-01 Proposal 1000 08-31                               | open            |
| B2   | 2026-06-01 | 06-01 Discovery 100 09-15                               | open            |
| B3   | 2026-02-20 | 02-20 Legal 200 06-15                                   | open            |
| B4   | 2026-06-10 | 06-10 Proposal 300 11-20                                | open            |
Amounts do not change; a closed deal's history ends with Closed Won/Lost at its closed_at.

in_quarter_win_probabilities at 2026-08-16 (current FY2026-Q3), quarters=2: FY2026-Q1, Q2.
At the start of Q1 (state before 2026-01-01): A1 Discovery exp Q1, won in Q1; A2 Proposal exp
  Q1, not won in Q1 (won in Q2); A3 Negotiation exp Q1, lost. A4 is expected in Q2, A5 and A13
  are overdue (expected in FY2025-Q4), A6 and A12 do not exist yet.
At the start of Q2: A2 Proposal exp Q2 (after its slip), won; A4 Discovery exp Q2, lost; A7
  Proposal exp Q2 with no amount (adds 0), won; A10 Qualification exp Q2, won only after
  as-of (open here); A11 Qualification, lost; B3 Legal exp Q2, still open. A12 (expected
  2026-03-31) is overdue; its close at 2026-04-01 00:00 is inside Q2 and it was open at the
  start. A9 has no history: dropped. A6 closed in Q1.
| stage         | deals | won_in_quarter | amount | won_amount | p count | p amount |
| Discovery     | 2     | 1              | 500    | 100        | 0.5     | 0.2      |
| Legal         | 1     | 0              | 200    | 0          | 0       | 0        |
| Negotiation   | 1     | 0              | 300    | 0          | 0       | 0        |
| Proposal      | 3     | 2              | 400    | 200        | 2/3     | 0.5      |
| Qualification | 2     | 0              | 220    | 0          | 0       | 0        |
quarters=1 (Q2 only): Discovery 1/0/400/0, Legal 1/0/200/0, Proposal 2/2/200/200 (1.0),
  Qualification 2/0/220/0.
overdue=True: Q1 start A5 Proposal 150 won, A13 Qualification 350 lost; Q2 start A12
  Negotiation 500 won -> Negotiation 1/1/500/500, Proposal 1/1/150/150, Qualification
  1/0/350/0; pooled by amount 650 / 1000 = 0.65.
elapsed=0.5: snapshots at Q1 + 45 days (before 2026-02-15 00:00) and Q2 + 45.5 days (before
  2026-05-16 12:00). Q1: A1 Proposal exp Q1 won; A2 Proposal exp Q1 not won in Q1; A3 (lost
  later that day) Negotiation; A6 Negotiation won; A12 Negotiation exp Q1, won at Q2's first
  instant: not in Q1. Q2: A4 Proposal lost; A10, A11 Qualification; B3 Legal.
  Legal 1/0/200/0; Negotiation 3/1/850/50; Proposal 3/1/700/100; Qualification 2/0/220/0.

bookings_forecast, in-quarter, as of 2026-06-30 23:59:59.999999 (current Q3, nothing elapsed),
quarters=2, calibration_quarters=2 (the table above), creation_quarters=2:
  Q3: A10 Qualification 120 x 0 = 0; B1 Proposal 1000 x 0.5 = 500 (variance 1e6 x 0.25 =
  250000); B2 Discovery 100 x 0.2 = 20 (10000 x 0.16 = 1600); B3 overdue (expected 06-15), no
  overdue rate for Legal: the pooled overdue rate 0.65 -> 130 (40000 x 0.65 x 0.35 = 9100).
  open 4 deals, 1420, of which overdue 1 / 200; expected 650; variance 260700; 1 deal took a
  pooled rate. Q4: B4 Proposal 300 x 0.5 = 150, variance 22500.
  Shock: per calibration quarter, predicted / observed / independent-deal variance:
  Q1 270 / 250 / 11600; Q2 680 / 700 / 35600: the gaps (20^2) are below chance: sd 0.
  Not yet created: created Q1 = A6 50 + A7 80 + A9 60 + A10 120 + A11 100 + A12 500 + B3 200
  = 1110, Q2 = B1 + B2 + B4 = 1400 -> creation_rate 1255. w(0) = A6 50 / 2510;
  w(1) = (A1 100 + A5 150 won in Q1 from FY2025-Q4's 1500, A7 80 + A12 500 won in Q2 from Q1's
  1110) = 830 / 2610. Q3: 1255 x 50 / 2510 = 25; Q4: 25 + 1255 x 830 / 2610.
  cv of same-quarter wins [50, 0] = sqrt(2); won sizes in the window A1 A2 A5 A6 A7 A12:
  E[S^2]/E[S] = 331400 / 1080. Q3 variance max(25 x 331400 / 1080, 2 x 25^2) = the Poisson
  one; Q4 max(..., 2 x nyc^2) = the spread one.
At 2026-08-16 (half of Q3 elapsed) Q3's rates come from the elapsed=0.5 table: B1 Proposal 1/7;
  B2 (no Discovery rate there) and B3 (overdue, none at the midpoints) take the rate pooled
  over the snapshot, 150 / 1970; A10 0. Q4 still uses the start rates: B4 150.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData
from alignment_lib.exceptions import ParameterError
from alignment_lib.metrics.forecast import (
    bookings_forecast,
    forecast_backtest,
    in_quarter_win_probabilities,
    pipeline_coverage,
    pipeline_needed,
    pipeline_to_create,
    stage_win_probabilities,
)
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

UTC = FiscalCalendar(1, "UTC")
AS_OF = dt.datetime(2026, 8, 16, tzinfo=dt.UTC)
Q2, Q3, Q4 = FiscalQuarter(2026, 2), FiscalQuarter(2026, 3), FiscalQuarter(2026, 4)
NEXT_Q1 = FiscalQuarter(2027, 1)
Z = 1.2816


def t(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=dt.UTC)


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    full = [{c: r.get(c) for c in table.column_names} for r in rows]
    return pl.DataFrame(full, schema=table.polars_schema).lazy()


def closed(oid, created, source, amount, outcome, closed_at, stages, *, history_amount=None):
    """A closed deal and its history: one row per stage while open, then the closing row."""
    opp = {
        "opportunity_id": oid,
        "created_at": t(created),
        "source": source,
        "amount": amount,
        "stage": "Closed Won" if outcome == "won" else "Closed Lost",
        "closed_at": t(closed_at),
        "outcome": outcome,
        "expected_close_date": d(closed_at),
    }
    days = [created] + [f"{created[:8]}{int(created[8:]) + i:02d}" for i in range(1, len(stages))]
    history = [
        {"opportunity_id": oid, "changed_at": t(day), "stage": stage, "amount": amount}
        for day, stage in zip(days, stages, strict=True)
    ]
    history.append(
        {
            "opportunity_id": oid,
            "changed_at": t(closed_at),
            "stage": opp["stage"],
            "amount": amount,
            "expected_close_date": d(closed_at),
        }
    )
    return opp, history


def open_deal(oid, created, source, amount, stage, expected):
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "source": source,
        "amount": amount,
        "stage": stage,
        "expected_close_date": d(expected),
    }


def change(oid, day, stage, amount, expected):
    return {
        "opportunity_id": oid,
        "changed_at": t(day),
        "stage": stage,
        "amount": amount,
        "expected_close_date": d(expected),
    }


CLOSED = [
    closed("A", "2025-11-10", "marketing", 100.0, "won", "2026-02-10",
           ["Discovery", "Proposal", "Negotiation"]),
    closed("B", "2025-12-05", "sales", 300.0, "lost", "2026-01-20",
           ["Discovery", "Qualification", "Negotiation"]),
    closed("C", "2026-01-15", "marketing", 100.0, "won", "2026-03-20",
           ["Discovery", "Qualification", "Proposal"]),
    closed("D", "2026-02-01", "marketing", 100.0, "won", "2026-05-10",
           ["Discovery", "Proposal", "Negotiation"]),
    closed("F", "2026-04-10", "marketing", 200.0, "lost", "2026-06-15",
           ["Discovery", "Qualification", "Proposal"]),
    closed("G", "2026-05-01", "sales", 100.0, "won", "2026-06-30", ["Discovery", "Negotiation"]),
    closed("I", "2026-07-05", "marketing", 100.0, "won", "2026-08-01", ["Discovery"]),
    closed("P", "2026-04-05", "marketing", None, "lost", "2026-04-25", ["Discovery"]),
    closed("R", "2025-09-10", "partner", 100.0, "won", "2026-06-20", ["Negotiation"]),
    closed("S", "2025-08-20", "marketing", 100.0, "won", "2026-01-25", ["Proposal"]),
    closed("T", "2025-09-01", "sales", 200.0, "lost", "2026-02-01", ["Qualification"]),
    closed("Z", "2024-03-01", "sales", 1000.0, "lost", "2024-06-01", ["Discovery", "Proposal"]),
]  # fmt: skip

OPEN = [
    # E as stored today: moved to Negotiation at 1000 after as-of
    open_deal("E", "2026-03-01", "marketing", 1000.0, "Negotiation", "2026-09-15"),
    open_deal("H", "2026-06-10", "marketing", 300.0, "Proposal", "2026-11-20"),
    open_deal("J", "2026-07-20", "sales", 500.0, "Discovery", "2026-09-30"),
    open_deal("K", "2026-08-01", "partner", 100.0, "Negotiation", "2026-08-10"),
]
M = {  # won after as-of: open at as-of, rebuilt from its history
    "opportunity_id": "M",
    "created_at": t("2026-08-10"),
    "source": "marketing",
    "amount": 80.0,
    "stage": "Closed Won",
    "closed_at": t("2026-08-20"),
    "outcome": "won",
    "expected_close_date": d("2026-08-20"),
}
OPEN_HISTORY = [
    change("E", "2026-03-01", "Discovery", 200.0, "2026-06-30"),
    change("E", "2026-06-01", "Proposal", 200.0, "2026-09-15"),
    change("E", "2026-09-01", "Negotiation", 1000.0, "2026-09-15"),
    change("H", "2026-06-10", "Discovery", 300.0, "2026-09-30"),
    change("H", "2026-07-15", "Proposal", 300.0, "2026-11-20"),
    change("J", "2026-07-20", "Discovery", 500.0, "2026-09-30"),
    change("K", "2026-08-01", "Negotiation", 100.0, "2026-08-10"),
    change("M", "2026-08-10", "Discovery", 100.0, "2026-12-01"),
    change("M", "2026-08-12", "Negotiation", 100.0, "2026-09-01"),
    change("M", "2026-08-20", "Closed Won", 80.0, "2026-08-20"),
]


def lead(lid, created, mql=None, opportunity=None):
    return {
        "lead_id": lid,
        "created_at": t(created),
        "mql_at": None if mql is None else t(mql),
        "opportunity_id": opportunity,
    }


LEAD_ROWS = [
    lead("L1", "2026-01-05", "2026-01-10", "C"),
    lead("L2", "2026-02-20", "2026-03-01"),
    lead("L3", "2026-04-20", "2026-05-01"),
    lead("L4", "2026-06-20", "2026-07-01", "K"),
    lead("L5", "2025-05-20", "2025-06-01", "A"),
    lead("L6", "2026-03-01"),
    lead("L7", "2026-08-01", "2026-08-20"),
]
TARGET_ROWS = [
    {"fiscal_quarter": q, "metric": m, "team": team, "value": v}
    for q, m, team, v in [
        ("FY2026-Q3", "bookings", "shared", 200.0),
        ("FY2026-Q3", "bookings", "marketing", 999.0),
        ("FY2026-Q3", "pipeline_created", "shared", 5000.0),
        ("FY2026-Q4", "bookings", "shared", 600.0),
        ("FY2027-Q1", "bookings", "shared", 390.0),
    ]
]


def funnel(
    opportunities: list[dict],
    history: list[dict],
    *,
    leads: list[dict] = (),
    targets: list[dict] = (),
    calendar: FiscalCalendar = UTC,
) -> FunnelData:
    return FunnelData(
        leads=frame(LEADS, list(leads)),
        opportunities=frame(OPPORTUNITIES, opportunities),
        stage_history=frame(STAGE_HISTORY, history),
        targets=frame(TARGETS, list(targets)),
        calendar=calendar,
        source="test",
        has_stage_history=True,
    )


RAW = funnel(
    [o for o, _ in CLOSED] + OPEN + [M],
    [row for _, h in CLOSED for row in h] + OPEN_HISTORY,
    leads=LEAD_ROWS,
    targets=TARGET_ROWS,
)
DATA = RAW.at(AS_OF)


def rows(frame: pl.LazyFrame, *columns: str) -> list[tuple]:
    return frame.select(columns).collect().rows()


# -- stage win probabilities ------------------------------------------------------------------
def test_stage_win_probabilities_from_history_of_closed_deals() -> None:
    got = stage_win_probabilities(DATA.opportunities, DATA.stage_history, as_of=AS_OF).collect()
    want = pl.DataFrame(
        {
            "stage": ["Discovery", "Negotiation", "Proposal", "Qualification"],
            "deals": [8, 5, 5, 4],
            "won": [5, 4, 4, 1],
            "amount": [1000.0, 700.0, 600.0, 800.0],
            "won_amount": [500.0, 400.0, 400.0, 100.0],
            "p_win_count": [0.625, 0.8, 0.8, 0.25],
            "p_win_amount": [0.5, 4 / 7, 2 / 3, 0.125],
        },
        schema_overrides={"deals": pl.Int64, "won": pl.Int64},
    )
    assert_frame_equal(got, want)


def test_stage_window_reaches_back_to_older_closes() -> None:
    got = stage_win_probabilities(
        DATA.opportunities, DATA.stage_history, as_of=AS_OF, window_days=1000
    )
    by_stage = {s: (n, w) for s, n, w in rows(got, "stage", "deals", "won")}
    assert by_stage["Discovery"] == (9, 5)
    assert by_stage["Proposal"] == (6, 4)


def test_stage_win_probabilities_without_history_or_closes_is_empty() -> None:
    empty = stage_win_probabilities(DATA.opportunities, DATA.stage_history.clear(), as_of=AS_OF)
    assert empty.collect().height == 0
    early = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # nothing closed yet
    assert (
        stage_win_probabilities(RAW.opportunities, RAW.stage_history, as_of=early).collect().height
        == 0
    )


# -- pipeline coverage ---------------------------------------------------------------------------
def coverage_of(opportunities: pl.LazyFrame = DATA.opportunities, **kw) -> pl.LazyFrame:
    options = {"calendar": UTC, "quarter": Q3, "as_of": AS_OF} | kw
    return pipeline_coverage(
        opportunities, DATA.targets, stage_history=DATA.stage_history, **options
    )


def test_pipeline_coverage_by_hand() -> None:
    got = coverage_of(quarters=4).collect()
    want = pl.DataFrame(
        {
            "quarter_index": [8106, 8107, 8108, 8109],
            "fiscal_quarter": ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1", "FY2027-Q2"],
            "open_deals": [3, 1, 0, 0],
            "open_pipeline": [400.0, 300.0, 0.0, 0.0],
            "open_deals_without_amount": [0, 0, 0, 0],
            "bookings_to_date": [100.0, 0.0, 0.0, 0.0],
            "target": [200.0, 600.0, 390.0, None],
            "remaining": [100.0, 600.0, 390.0, None],
            "coverage": [4.0, 0.5, 0.0, None],
        },
        schema_overrides={
            "quarter_index": pl.Int32,
            "open_deals": pl.Int64,
            "open_deals_without_amount": pl.Int64,
        },
    )
    assert_frame_equal(got.select(want.columns), want)
    # K (expected 2026-08-10) is past its date but in the current quarter: not overdue
    assert got.select("overdue_deals", "overdue_pipeline").unique().rows() == [(0, 0.0)]
    # no past quarter's pipeline is visible here (see the docstring): no required coverage
    assert got["conversion"].is_null().all() and got["status"].is_null().all()


def test_coverage_counts_every_stage_when_nothing_is_excluded() -> None:
    got = coverage_of(quarters=1, exclude_stages=())
    assert rows(got, "open_deals", "open_pipeline", "coverage") == [(4, 900.0, 9.0)]


def test_target_already_met_is_covered_without_a_coverage_ratio() -> None:
    met = DATA.targets.with_columns(value=pl.lit(80.0))  # below the 100 booked in Q3
    got = pipeline_coverage(
        DATA.opportunities,
        met,
        stage_history=DATA.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=AS_OF,
        quarters=1,
    )
    assert rows(got, "remaining", "coverage", "status") == [(0.0, None, "covered")]


def test_no_closed_deals_in_window_gives_null_rates_not_errors() -> None:
    only_open = DATA.opportunities.filter(pl.col("closed_at").is_null())
    cov = coverage_of(only_open)
    assert rows(cov, "conversion", "required_coverage", "coverage_gap", "status")[0] == (
        None,
        None,
        None,
        None,
    )
    fc = bookings_forecast(
        only_open,
        DATA.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=AS_OF,
        quarters=1,
        calibration="ever",
    )
    assert rows(fc, "open_expected", "forecast", "forecast_low", "forecast_high") == [
        (None, None, None, None)
    ]
    # in-quarter: the deals open at past quarter starts were never won in them, so p = 0
    fc = bookings_forecast(
        only_open, DATA.stage_history, calendar=UTC, quarter=Q3, as_of=AS_OF, quarters=1
    )
    assert rows(fc, "open_expected", "forecast") == [(0.0, 0.0)]


def test_win_rate_zero_gives_zeros_and_no_pipeline_needed() -> None:
    all_lost = DATA.opportunities.with_columns(
        outcome=pl.when(pl.col("outcome").is_not_null()).then(pl.lit("lost"))
    )
    fc = bookings_forecast(
        all_lost, DATA.stage_history, calendar=UTC, quarter=Q4, as_of=AS_OF, quarters=1
    ).collect()
    # every stage probability is 0 and nothing was ever won: only zeros
    assert fc.select("open_expected", "open_variance", "not_yet_created_expected").row(0) == (
        0.0,
        0.0,
        0.0,
    )
    assert fc["forecast"].to_list() == [0.0]
    needed = pipeline_needed(
        all_lost, DATA.leads, DATA.targets, calendar=UTC, quarter=NEXT_Q1, as_of=AS_OF
    ).collect()
    assert needed["pipeline_required"].is_null().all()
    assert needed["mqls_required"].is_null().all()


# -- bookings forecast ---------------------------------------------------------------------------
def forecast(**kw) -> pl.DataFrame:
    """The previous ("ever won") forecast on the table above; the in-quarter one is further down."""
    options = {"quarter": Q3, "quarters": 2, "creation_quarters": 2, "calibration": "ever"} | kw
    return bookings_forecast(
        DATA.opportunities, DATA.stage_history, DATA.targets, calendar=UTC, as_of=AS_OF, **options
    ).collect()


def test_forecast_components_by_hand() -> None:
    got = forecast()
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q3", "FY2026-Q4"]
    assert got["quarter_index"].dtype == pl.Int32
    expected = {
        "booked_to_date": [100.0, 0.0],
        "open_deals": [4, 1],
        "open_pipeline": [900.0, 300.0],
        "open_expected": [632.5, 240.0],
        "open_variance": [68193.75, 14400.0],
        "open_deals_without_stage_rate": [0, 0],
        "creation_rate": [500.0, 500.0],
        "not_yet_created_share": [0.1, 0.325],
        "not_yet_created_expected": [50.0, 162.5],
        "not_yet_created_variance": [5000.0, 16250.0],
        "forecast": [782.5, 402.5],
        "target": [200.0, 600.0],
        "forecast_to_target": [782.5 / 200, 402.5 / 600],
        "overdue_deals": [0, 0],  # K's date (2026-08-10) has passed, but in the current quarter
        "overdue_pipeline": [0.0, 0.0],
    }
    for column, values in expected.items():
        assert got[column].to_list() == pytest.approx(values, rel=1e-12), column
    # the "ever" path has no shock term and no new-deal spread: the previous interval
    assert got["open_shock_sd"].to_list() == [None, None]
    assert got["not_yet_created_cv"].to_list() == [None, None]
    sd = [math.sqrt(73193.75), math.sqrt(30650.0)]
    assert got["forecast_sd"].to_list() == pytest.approx(sd, rel=1e-12)
    assert got["forecast_low"].to_list() == pytest.approx(
        [782.5 - Z * sd[0], 402.5 - Z * sd[1]], rel=1e-12
    )
    assert got["forecast_high"].to_list() == pytest.approx(
        [782.5 + Z * sd[0], 402.5 + Z * sd[1]], rel=1e-12
    )


def test_forecast_low_is_floored_at_what_is_booked() -> None:
    got = forecast(quarters=1, z=10.0)
    assert got["forecast_low"].to_list() == [100.0]


def test_complete_quarter_forecast_is_its_bookings() -> None:
    got = forecast(quarter=Q2, quarters=1)
    assert got.select(
        "booked_to_date", "open_expected", "not_yet_created_expected", "forecast", "forecast_sd"
    ).row(0) == (300.0, 0.0, 0.0, 300.0, 0.0)
    assert got["forecast_low"][0] == got["forecast_high"][0] == 300.0
    assert got["target"][0] is None and got["forecast_to_target"][0] is None


def test_stage_without_calibrated_rate_uses_the_overall_win_rate() -> None:
    # N: open, no history, in a stage no closed deal went through. Closed in the 730 days:
    # A B C D F G I P R S T, 7 of 11 won -> p = 7/11: 110 x 7/11 = 70, variance 12100 x 28/121.
    extra = open_deal("N", "2026-07-01", "sales", 110.0, "Legal review", "2026-12-15")
    data = funnel(
        [o for o, _ in CLOSED] + OPEN + [M, extra],
        [row for _, h in CLOSED for row in h] + OPEN_HISTORY,
    ).at(AS_OF)
    got = bookings_forecast(
        data.opportunities,
        data.stage_history,
        calendar=UTC,
        quarter=Q4,
        as_of=AS_OF,
        quarters=1,
        creation_quarters=2,
        calibration="ever",
    ).collect()
    assert got["open_deals_without_stage_rate"].to_list() == [1]
    assert got["open_expected"].to_list() == pytest.approx([240.0 + 70.0])
    assert got["open_variance"].to_list() == pytest.approx([14400.0 + 2800.0])
    assert got["target"].to_list() == [None]


def test_forecast_of_a_quarter_without_open_pipeline() -> None:
    got = forecast(quarter=FiscalQuarter(2027, 2), quarters=1)
    # share = 0.5 w(3) + w(2) + w(1) + w(0): w(2) and w(3) come from cohorts FY2025-Q3..Q4
    # and FY2025-Q2..Q3: S (created FY2025-Q3, won 2 quarters later) 100 and R (3 later)
    # 100 over created FY2025-Q3 R + S + T = 400 and FY2025-Q4 400 / FY2025-Q2 0:
    # w(2) = 100 / 800, w(3) = 100 / 400.
    assert got["open_deals"].to_list() == [0]
    assert got["open_expected"].to_list() == [0.0]
    share = 0.5 * 0.25 + 0.125 + 0.25 + 0.2
    assert got["not_yet_created_share"].to_list() == pytest.approx([share])
    assert got["forecast"].to_list() == pytest.approx([500 * share])


# -- pipeline needed -----------------------------------------------------------------------------
def test_pipeline_needed_by_hand() -> None:
    got = pipeline_needed(
        DATA.opportunities, DATA.leads, DATA.targets, calendar=UTC, quarter=NEXT_Q1, as_of=AS_OF
    ).collect()
    assert got.select(
        "target_quarter_index",
        "target_fiscal_quarter",
        "quarter_index",
        "fiscal_quarter",
        "lag_quarters",
        "lag_bucket",
        "creation_status",
    ).rows() == [
        (8108, "FY2027-Q1", 8105, "FY2026-Q2", 3, "3+ quarters before", "complete"),
        (8108, "FY2027-Q1", 8106, "FY2026-Q3", 2, "2 quarters before", "in progress"),
        (8108, "FY2027-Q1", 8107, "FY2026-Q4", 1, "1 quarter before", "not started"),
        (8108, "FY2027-Q1", 8108, "FY2027-Q1", 0, "same quarter", "not started"),
    ]
    expected = {
        "target": [390.0] * 4,
        "win_rate": [0.5] * 4,
        "lag_share": [1 / 6, 1 / 6, 1 / 3, 1 / 3],
        "pipeline_required": [130.0, 130.0, 260.0, 260.0],
        "pipeline_created_so_far": [600.0, 800.0, 0.0, 0.0],
        "gap": [0.0, 0.0, 260.0, 260.0],
        "marketing_share": [0.5] * 4,
        "marketing_pipeline_required": [65.0, 65.0, 130.0, 130.0],
        "marketing_pipeline_created_so_far": [500.0, 200.0, 0.0, 0.0],
        "marketing_gap": [0.0, 0.0, 130.0, 130.0],
        "avg_marketing_opportunity": [130.0] * 4,
        "mql_to_opportunity": [0.25] * 4,
        "mqls_required": [2.0, 2.0, 4.0, 4.0],
    }
    for column, values in expected.items():
        assert got[column].to_list() == pytest.approx(values, rel=1e-12), column


def test_pipeline_needed_without_target_is_null() -> None:
    got = pipeline_needed(
        DATA.opportunities,
        DATA.leads,
        DATA.targets,
        calendar=UTC,
        quarter=FiscalQuarter(2027, 2),
        as_of=AS_OF,
    ).collect()
    assert got.height == 4
    assert got["target"].is_null().all()
    assert got["pipeline_required"].is_null().all() and got["mqls_required"].is_null().all()
    assert got["lag_share"].sum() == pytest.approx(1.0)


def test_pipeline_to_create_by_hand() -> None:
    got = pipeline_to_create(
        DATA.opportunities, DATA.leads, DATA.targets, calendar=UTC, as_of=AS_OF
    ).collect()
    assert got.select(
        "creation_quarter_index",
        "creation_fiscal_quarter",
        "creation_status",
        "quarter_index",
        "fiscal_quarter",
        "lag_quarters",
        "lag_bucket",
    ).rows() == [
        (8106, "FY2026-Q3", "in progress", 8106, "FY2026-Q3", 0, "same quarter"),
        (8106, "FY2026-Q3", "in progress", 8107, "FY2026-Q4", 1, "1 quarter before"),
        (8106, "FY2026-Q3", "in progress", 8108, "FY2027-Q1", 2, "2 quarters before"),
        (8106, "FY2026-Q3", "in progress", 8109, "FY2027-Q2", 3, "3+ quarters before"),
    ]
    slices = {
        "target": [200.0, 600.0, 390.0, None],
        "lag_share": [1 / 3, 1 / 3, 1 / 6, 1 / 6],
        "pipeline_required": [400 / 3, 400.0, 130.0, None],
        "marketing_pipeline_required": [200 / 3, 200.0, 65.0, None],
        "mqls_required": [200 / 3 / 32.5, 200 / 32.5, 2.0, None],
    }
    for column, values in slices.items():
        assert got[column].to_list()[:3] == pytest.approx(values[:3], rel=1e-12), column
        assert (
            got[column][3] == pytest.approx(values[3], rel=1e-12)
            if values[3]
            else (got[column][3] is None)
        ), column
    totals = {
        "targets_counted": 3,
        "total_pipeline_required": 400 / 3 + 530,
        "total_marketing_pipeline_required": 200 / 3 + 265,
        "total_mqls_required": (200 / 3 + 265) / 32.5,
        "pipeline_created_so_far": 800.0,
        "marketing_pipeline_created_so_far": 200.0,
        "mqls_so_far": 1.0,
        "gap": 0.0,
        "marketing_gap": 200 / 3 + 65,
        "mqls_gap": (200 / 3 + 265) / 32.5 - 1,
    }
    for column, value in totals.items():
        assert got[column].to_list() == pytest.approx([value] * 4, rel=1e-12), column
    # each slice is pipeline_needed's row of the creation quarter, for its target quarter
    for r in got.head(3).iter_rows(named=True):
        needed = pipeline_needed(
            DATA.opportunities,
            DATA.leads,
            DATA.targets,
            calendar=UTC,
            quarter=FiscalQuarter.parse(r["fiscal_quarter"]),
            as_of=AS_OF,
        ).collect()
        row = needed.filter(pl.col("fiscal_quarter") == "FY2026-Q3").row(0, named=True)
        assert row["pipeline_required"] == pytest.approx(r["pipeline_required"], rel=1e-12)
        assert row["mqls_required"] == pytest.approx(r["mqls_required"], rel=1e-12)


def test_pipeline_to_create_for_a_later_quarter_and_without_targets() -> None:
    later = pipeline_to_create(
        DATA.opportunities, DATA.leads, DATA.targets, calendar=UTC, as_of=AS_OF, quarter=Q4
    ).collect()
    assert later["creation_status"].unique().to_list() == ["not started"]
    assert later["pipeline_required"].to_list()[:2] == pytest.approx([400.0, 260.0])
    assert later["pipeline_required"].to_list()[2:] == [None, None]
    first = later.row(0, named=True)
    assert (first["targets_counted"], first["pipeline_created_so_far"]) == (2, 0.0)
    assert first["total_pipeline_required"] == pytest.approx(660.0)
    assert (first["gap"], first["mqls_so_far"]) == (pytest.approx(660.0), 0.0)
    none = pipeline_to_create(
        DATA.opportunities, DATA.leads, DATA.targets.clear(), calendar=UTC, as_of=AS_OF
    ).collect()
    assert none["targets_counted"].to_list() == [0] * 4
    for column in ("total_pipeline_required", "total_mqls_required", "gap", "mqls_gap"):
        assert none[column].is_null().all(), column
    assert none["pipeline_created_so_far"].to_list() == [800.0] * 4
    empty = pipeline_to_create(
        DATA.opportunities.clear(),
        DATA.leads.clear(),
        DATA.targets,
        calendar=UTC,
        as_of=AS_OF,
    ).collect()
    assert empty.height == 4 and empty["total_pipeline_required"].is_null().all()
    assert empty["pipeline_created_so_far"].to_list() == [0.0] * 4
    assert empty["mqls_so_far"].to_list() == [0.0] * 4


# -- calendars and time zones --------------------------------------------------------------------
@pytest.mark.slow
def test_close_late_on_the_quarter_end_counts_in_the_local_quarter() -> None:
    # W won 2026-10-01 02:00 UTC = 2026-09-30 22:00 in New York: FY2026-Q3 there, Q4 in UTC.
    won = {
        "opportunity_id": "W",
        "created_at": t("2026-09-01"),
        "source": "sales",
        "amount": 50.0,
        "stage": "Closed Won",
        "closed_at": dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC),
        "outcome": "won",
    }
    opps = frame(OPPORTUNITIES, [won])
    as_of = dt.datetime(2026, 10, 1, 3, tzinfo=dt.UTC)
    ny = FiscalCalendar(1, "America/New_York")
    for calendar, booked in ((ny, [50.0, 0.0]), (UTC, [0.0, 50.0])):
        cov = pipeline_coverage(
            opps,
            DATA.targets,
            stage_history=DATA.stage_history.clear(),
            calendar=calendar,
            quarter=Q3,
            as_of=as_of,
            quarters=2,
        )
        assert rows(cov, "bookings_to_date") == [(b,) for b in booked]
        fc = bookings_forecast(
            opps, DATA.stage_history.clear(), calendar=calendar, quarter=Q3, as_of=as_of, quarters=2
        )
        assert rows(fc, "booked_to_date") == [(b,) for b in booked]


def test_fiscal_year_starting_in_february() -> None:
    # FY2027 = Feb 2026 - Jan 2027: Q1 = Feb-Apr 2026, Q2 = May-Jul 2026.
    feb = FiscalCalendar(2, "UTC")
    opps = frame(
        OPPORTUNITIES,
        [
            open_deal("X1", "2026-01-05", "sales", 10.0, "Proposal", "2026-01-31"),  # FY2026-Q4
            open_deal("X2", "2026-01-05", "sales", 20.0, "Proposal", "2026-04-30"),  # FY2027-Q1
            open_deal("X3", "2026-01-05", "sales", 40.0, "Proposal", "2026-05-01"),  # FY2027-Q2
        ],
    )
    targets = frame(
        TARGETS,
        [{"fiscal_quarter": "FY2027-Q1", "metric": "bookings", "team": "shared", "value": 80.0}],
    )
    as_of = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    got = pipeline_coverage(
        opps,
        targets,
        stage_history=DATA.stage_history.clear(),
        calendar=feb,
        quarter=FiscalQuarter(2027, 1),
        as_of=as_of,
        quarters=2,
    )
    assert rows(got, "quarter_index", "fiscal_quarter", "open_pipeline", "coverage") == [
        (8108, "FY2027-Q1", 20.0, 0.25),
        (8109, "FY2027-Q2", 40.0, None),
    ]
    needed = pipeline_needed(
        opps, DATA.leads.clear(), targets, calendar=feb, quarter=FiscalQuarter(2027, 1), as_of=as_of
    )
    assert rows(needed, "fiscal_quarter", "creation_status") == [
        ("FY2026-Q2", "complete"),
        ("FY2026-Q3", "complete"),
        ("FY2026-Q4", "in progress"),
        ("FY2027-Q1", "not started"),
    ]


# -- empty input and parameters ------------------------------------------------------------------
def test_empty_input_gives_rows_of_zeros_and_nulls() -> None:
    opps, history = DATA.opportunities.clear(), DATA.stage_history.clear()
    leads, targets = DATA.leads.clear(), DATA.targets.clear()
    assert stage_win_probabilities(opps, history, as_of=AS_OF).collect().height == 0
    cov = pipeline_coverage(
        opps, targets, stage_history=history, calendar=UTC, quarter=Q3, as_of=AS_OF
    ).collect()
    assert cov.height == 3
    assert cov["open_pipeline"].to_list() == [0.0] * 3
    assert cov["coverage"].is_null().all() and cov["status"].is_null().all()
    fc = bookings_forecast(opps, history, calendar=UTC, quarter=Q3, as_of=AS_OF).collect()
    assert fc.height == 3
    assert fc["booked_to_date"].to_list() == [0.0] * 3
    assert fc["open_expected"].to_list() == [0.0] * 3
    assert fc["forecast"].is_null().all()  # no history to calibrate the new pipeline on
    needed = pipeline_needed(
        opps, leads, targets, calendar=UTC, quarter=NEXT_Q1, as_of=AS_OF
    ).collect()
    assert needed.height == 4
    assert needed["pipeline_created_so_far"].to_list() == [0.0] * 4
    assert needed["mql_to_opportunity"].is_null().all()


@pytest.mark.slow
def test_result_does_not_depend_on_row_order() -> None:
    def shuffle(frame: pl.LazyFrame, seed: int) -> pl.LazyFrame:
        return frame.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()

    seen = FunnelData(
        leads=shuffle(RAW.leads, 1),
        opportunities=shuffle(RAW.opportunities, 2),
        stage_history=shuffle(RAW.stage_history, 3),
        targets=shuffle(RAW.targets, 4),
        calendar=UTC,
        source="test",
        has_stage_history=True,
    ).at(AS_OF)
    for one, other in [(seen, DATA), (DATA, seen)]:
        assert_frame_equal(
            bookings_forecast(
                one.opportunities,
                one.stage_history,
                one.targets,
                calendar=UTC,
                quarter=Q3,
                as_of=AS_OF,
            ).collect(),
            bookings_forecast(
                other.opportunities,
                other.stage_history,
                other.targets,
                calendar=UTC,
                quarter=Q3,
                as_of=AS_OF,
            ).collect(),
            check_exact=False,
            rel_tol=1e-12,
        )
    assert_frame_equal(
        pipeline_needed(
            seen.opportunities,
            seen.leads,
            seen.targets,
            calendar=UTC,
            quarter=NEXT_Q1,
            as_of=AS_OF,
        ).collect(),
        pipeline_needed(
            DATA.opportunities,
            DATA.leads,
            DATA.targets,
            calendar=UTC,
            quarter=NEXT_Q1,
            as_of=AS_OF,
        ).collect(),
        check_exact=False,
        rel_tol=1e-12,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: forecast(quarters=0), "quarters"),
        (lambda: forecast(creation_quarters=0), "creation_quarters"),
        (lambda: forecast(z=-1.0), "z must"),
        (lambda: forecast(quarter="FY2026-Q3"), "FiscalQuarter"),
        (lambda: forecast(window_days=0), "window_days"),
        (lambda: forecast(calibration="crm"), "calibration must be one of"),
        (lambda: forecast(calibration_quarters=0), "calibration_quarters"),
        (lambda: in_quarter(quarters=0), "quarters"),
        (lambda: in_quarter(overdue="yes"), "overdue must be"),
        (lambda: in_quarter(elapsed=1.0), "elapsed must be"),
        (lambda: in_quarter(as_of=dt.datetime(2026, 8, 16)), "aware"),
        (lambda: backtest(last=Q3), "not complete"),
        (lambda: backtest(first=Q2, last=FiscalQuarter(2026, 1)), "must not be before"),
        (lambda: backtest(elapsed=-0.1), "elapsed must be"),
        (
            lambda: pipeline_needed(
                DATA.opportunities,
                DATA.leads,
                DATA.targets,
                calendar=UTC,
                quarter=Q4,
                as_of=AS_OF,
                lag_quarters=0,
            ),
            "lag_quarters",
        ),
        (
            lambda: stage_win_probabilities(
                DATA.opportunities, DATA.stage_history, as_of=dt.datetime(2026, 8, 16)
            ),
            "aware",
        ),
    ],
)
def test_bad_parameters_are_parameter_errors(call, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        call()


# -- in-quarter win probabilities and the in-quarter forecast ------------------------------------
# The second table (IQ_*), with the expected close date on every history row: the module
# docstring works it by hand.
def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def _deal(oid, created, amount, end=None, outcome=None, *, stage=None, expected=None):
    closed_at = None if end is None else (end if isinstance(end, dt.datetime) else _at(end))
    return {
        "opportunity_id": oid,
        "created_at": _at(created),
        "source": "sales",
        "amount": amount,
        "stage": stage or {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome),
        "closed_at": closed_at,
        "outcome": outcome,
        "expected_close_date": d(expected) if expected else closed_at.date(),
    }


def _steps(oid, rows, close=None, outcome=None, amount=None):
    history = [
        {
            "opportunity_id": oid,
            "changed_at": _at(day),
            "stage": stage,
            "amount": value,
            "expected_close_date": d(expected),
        }
        for day, stage, value, expected in rows
    ]
    if close is not None:
        at = close if isinstance(close, dt.datetime) else _at(close)
        history.append(
            {
                "opportunity_id": oid,
                "changed_at": at,
                "stage": "Closed Won" if outcome == "won" else "Closed Lost",
                "amount": amount,
                "expected_close_date": at.date(),
            }
        )
    return history


A12_CLOSE = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)  # Q2's first instant
IQ_DEALS = [
    _deal("A1", "2025-12-01", 100.0, "2026-03-10", "won"),
    _deal("A2", "2025-12-05", 200.0, "2026-05-10", "won"),
    _deal("A3", "2025-11-01", 300.0, "2026-02-15", "lost"),
    _deal("A4", "2025-12-10", 400.0, "2026-06-20", "lost"),
    _deal("A5", "2025-10-01", 150.0, "2026-01-20", "won"),
    _deal("A6", "2026-01-10", 50.0, "2026-03-25", "won"),
    _deal("A7", "2026-03-15", 80.0, "2026-04-20", "won"),
    _deal("A9", "2026-02-01", 60.0, "2026-06-05", "lost"),
    _deal("A10", "2026-03-01", 120.0, "2026-08-20", "won"),
    _deal("A11", "2026-02-10", 100.0, "2026-05-20", "lost"),
    _deal("A12", "2026-01-05", 500.0, A12_CLOSE, "won"),
    _deal("A13", "2025-11-15", 350.0, "2026-02-01", "lost"),
    _deal("B1", "2026-05-01", 1000.0, stage="Proposal", expected="2026-08-31"),
    _deal("B2", "2026-06-01", 100.0, stage="Discovery", expected="2026-09-15"),
    _deal("B3", "2026-02-20", 200.0, stage="Legal", expected="2026-06-15"),
    _deal("B4", "2026-06-10", 300.0, stage="Proposal", expected="2026-11-20"),
]
IQ_HISTORY = [
    *_steps("A1", [("2025-12-01", "Discovery", 100.0, "2026-03-15"),
                   ("2026-02-01", "Proposal", 100.0, "2026-03-20")], "2026-03-10", "won", 100.0),
    *_steps("A2", [("2025-12-05", "Proposal", 200.0, "2026-02-28"),
                   ("2026-03-01", "Proposal", 200.0, "2026-05-15")], "2026-05-10", "won", 200.0),
    *_steps("A3", [("2025-11-01", "Negotiation", 300.0, "2026-01-31")],
            "2026-02-15", "lost", 300.0),
    *_steps("A4", [("2025-12-10", "Discovery", 400.0, "2026-06-30"),
                   ("2026-05-01", "Proposal", 400.0, "2026-06-30")], "2026-06-20", "lost", 400.0),
    *_steps("A5", [("2025-10-01", "Proposal", 150.0, "2025-12-15")], "2026-01-20", "won", 150.0),
    *_steps("A6", [("2026-01-10", "Negotiation", 50.0, "2026-03-31")], "2026-03-25", "won", 50.0),
    *_steps("A7", [("2026-03-15", "Proposal", None, "2026-04-30")], "2026-04-20", "won", 80.0),
    *_steps("A10", [("2026-03-01", "Qualification", 120.0, "2026-06-30"),
                    ("2026-06-25", "Qualification", 120.0, "2026-09-30")],
            "2026-08-20", "won", 120.0),
    *_steps("A11", [("2026-02-10", "Qualification", 100.0, "2026-05-31")],
            "2026-05-20", "lost", 100.0),
    *_steps("A12", [("2026-01-05", "Negotiation", 500.0, "2026-03-31")], A12_CLOSE, "won", 500.0),
    *_steps("A13", [("2025-11-15", "Qualification", 350.0, "2025-12-31")],
            "2026-02-01", "lost", 350.0),
    *_steps("B1", [("2026-05-01", "Proposal", 1000.0, "2026-08-31")]),
    *_steps("B2", [("2026-06-01", "Discovery", 100.0, "2026-09-15")]),
    *_steps("B3", [("2026-02-20", "Legal", 200.0, "2026-06-15")]),
    *_steps("B4", [("2026-06-10", "Proposal", 300.0, "2026-11-20")]),
]  # fmt: skip
IQ_RAW = funnel(IQ_DEALS, IQ_HISTORY)
IQ = IQ_RAW.at(AS_OF)
END_Q2 = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
IQ_Q2 = IQ_RAW.at(END_Q2)


def in_quarter(data: FunnelData = IQ, **kw) -> pl.DataFrame:
    options = {"calendar": UTC, "as_of": AS_OF, "quarters": 2} | kw
    return in_quarter_win_probabilities(data.opportunities, data.stage_history, **options).collect()


def test_in_quarter_win_probabilities_by_hand() -> None:
    want = pl.DataFrame(
        {
            "stage": ["Discovery", "Legal", "Negotiation", "Proposal", "Qualification"],
            "deals": [2, 1, 1, 3, 2],
            "won_in_quarter": [1, 0, 0, 2, 0],
            "amount": [500.0, 200.0, 300.0, 400.0, 220.0],
            "won_amount": [100.0, 0.0, 0.0, 200.0, 0.0],
            "p_in_quarter_count": [0.5, 0.0, 0.0, 2 / 3, 0.0],
            "p_in_quarter_amount": [0.2, 0.0, 0.0, 0.5, 0.0],
        },
        schema_overrides={"deals": pl.Int64, "won_in_quarter": pl.Int64},
    )
    assert_frame_equal(in_quarter(), want)
    # the raw tables give the same: later closes and changes are never looked at
    assert_frame_equal(in_quarter(IQ_RAW), want)


def test_in_quarter_calibration_range_and_overdue_deals() -> None:
    one = in_quarter(quarters=1)
    assert one.select("stage", "deals", "won_in_quarter", "amount", "won_amount").rows() == [
        ("Discovery", 1, 0, 400.0, 0.0),
        ("Legal", 1, 0, 200.0, 0.0),
        ("Proposal", 2, 2, 200.0, 200.0),
        ("Qualification", 2, 0, 220.0, 0.0),
    ]
    overdue = in_quarter(overdue=True)
    assert overdue.select("stage", "deals", "won_in_quarter", "p_in_quarter_amount").rows() == [
        ("Negotiation", 1, 1, 1.0),
        ("Proposal", 1, 1, 1.0),
        ("Qualification", 1, 0, 0.0),
    ]


def test_in_quarter_calibration_at_the_same_point_of_the_quarter() -> None:
    got = in_quarter(elapsed=0.5)
    assert got.select("stage", "deals", "won_in_quarter", "amount", "won_amount").rows() == [
        ("Legal", 1, 0, 200.0, 0.0),
        ("Negotiation", 3, 1, 850.0, 50.0),
        ("Proposal", 3, 1, 700.0, 100.0),
        ("Qualification", 2, 0, 220.0, 0.0),
    ]


def test_in_quarter_without_history_is_empty() -> None:
    assert in_quarter(replace(IQ, stage_history=IQ.stage_history.clear())).height == 0


def iq_forecast(data: FunnelData = IQ_Q2, as_of: dt.datetime = END_Q2, **kw) -> pl.DataFrame:
    options = {
        "quarter": Q3,
        "quarters": 2,
        "creation_quarters": 2,
        "calibration_quarters": 2,
        "calibration": "in_quarter",
    }
    return bookings_forecast(
        data.opportunities, data.stage_history, calendar=UTC, as_of=as_of, **(options | kw)
    ).collect()


def test_in_quarter_forecast_by_hand() -> None:
    got = iq_forecast()
    size_ratio = 331400 / 1080
    nyc_q4 = 25.0 + 1255 * 830 / 2610
    expected = {
        "booked_to_date": [0.0, 0.0],
        "open_deals": [4, 1],
        "open_pipeline": [1420.0, 300.0],
        "overdue_deals": [1, 0],
        "overdue_pipeline": [200.0, 0.0],
        "open_expected": [650.0, 150.0],
        "open_variance": [260700.0, 22500.0],
        "open_shock_sd": [0.0, 0.0],
        "open_deals_without_stage_rate": [1, 0],
        "creation_rate": [1255.0, 1255.0],
        "not_yet_created_share": [50 / 2510, 50 / 2510 + 830 / 2610],
        "not_yet_created_expected": [25.0, nyc_q4],
        "not_yet_created_cv": [math.sqrt(2), math.sqrt(2)],
        "not_yet_created_variance": [25.0 * size_ratio, 2 * nyc_q4**2],
        "forecast": [675.0, 150.0 + nyc_q4],
    }
    for column, values in expected.items():
        assert got[column].to_list() == pytest.approx(values, rel=1e-12), column
    sd = [math.sqrt(260700 + 25 * size_ratio), math.sqrt(22500 + 2 * nyc_q4**2)]
    assert got["forecast_sd"].to_list() == pytest.approx(sd, rel=1e-12)
    assert got["forecast_low"].to_list() == pytest.approx(
        [675 - Z * sd[0], max(150 + nyc_q4 - Z * sd[1], 0.0)], rel=1e-12
    )
    assert got["forecast_high"].to_list() == pytest.approx(
        [675 + Z * sd[0], 150 + nyc_q4 + Z * sd[1]], rel=1e-12
    )


def test_in_quarter_forecast_mid_quarter_uses_rates_at_the_same_point() -> None:
    got = iq_forecast(IQ, AS_OF)
    pooled = 150 / 1970
    assert got["open_expected"].to_list() == pytest.approx(
        [1000 / 7 + 100 * pooled + 200 * pooled, 150.0], rel=1e-12
    )
    assert got["open_deals_without_stage_rate"].to_list() == [2, 0]
    assert got["overdue_deals"].to_list() == [1, 0]


def test_ever_calibration_leaves_overdue_deals_out() -> None:
    got = iq_forecast(calibration="ever")
    assert got["open_deals"].to_list() == [3, 1]
    assert got["overdue_deals"].to_list() == [0, 0]


def test_quarter_wide_shock_widens_the_interval() -> None:
    # Ten Proposal deals of 100 expected in each of FY2026-Q1 and Q2 at its start: all ten
    # won in Q1, none in Q2. p = 0.5; per quarter predicted 500, observed 1000 and 0,
    # independent-deal variance 10 x 100^2 x 0.25 = 25000; shock^2 = (2 x 500^2 - 2 x 25000)
    # / (2 x 500^2) = 0.9. A fresh Proposal deal of 100 in Q3: expected 50, variance 2500 +
    # 0.9 x 50^2 = 4750.
    deals, history = [], []
    for quarter, (created, close, outcome) in enumerate(
        [("2025-12-01", "2026-02-15", "won"), ("2026-03-01", "2026-06-15", "lost")]
    ):
        expected = "2026-03-31" if quarter == 0 else "2026-06-30"
        for i in range(10):
            oid = f"S{quarter}{i}"
            deals.append(_deal(oid, created, 100.0, close, outcome))
            history += _steps(oid, [(created, "Proposal", 100.0, expected)], close, outcome, 100.0)
    deals.append(_deal("F", "2026-06-10", 100.0, stage="Proposal", expected="2026-09-30"))
    history += _steps("F", [("2026-06-10", "Proposal", 100.0, "2026-09-30")])
    data = funnel(deals, history).at(END_Q2)
    got = bookings_forecast(
        data.opportunities,
        data.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=1,
        calibration_quarters=2,
        calibration="in_quarter",
    ).collect()
    assert got["open_shock_sd"].to_list() == pytest.approx([math.sqrt(0.9)], rel=1e-12)
    assert got["open_expected"].to_list() == pytest.approx([50.0], rel=1e-12)
    assert got["open_variance"].to_list() == pytest.approx([4750.0], rel=1e-12)


def test_in_quarter_forecast_without_history_has_no_probability() -> None:
    got = iq_forecast(replace(IQ_Q2, stage_history=IQ_Q2.stage_history.clear()))
    # open deals, but nothing to calibrate an in-quarter rate on: unknown, not 0
    assert got["open_expected"].to_list() == [None, None]
    assert got["forecast"].to_list() == [None, None]


# -- forecast backtest ---------------------------------------------------------------------------
def backtest(**kw) -> pl.DataFrame:
    options = {
        "calendar": UTC,
        "first": FiscalQuarter(2026, 1),
        "last": Q2,
        "as_of": AS_OF,
        "creation_quarters": 1,
        "calibration_quarters": 1,
    } | kw
    return forecast_backtest(IQ.opportunities, IQ.stage_history, **options).collect()


@pytest.mark.slow
def test_backtest_forecasts_each_quarter_from_its_start() -> None:
    got = backtest()
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q1", "FY2026-Q2"]
    starts = [dt.datetime(2026, m, 1, tzinfo=dt.UTC) - dt.timedelta(microseconds=1) for m in (1, 4)]
    assert got["forecast_as_of"].to_list() == starts
    # booked: Q1 A1 100 + A5 150 + A6 50; Q2 A2 200 + A7 80 + A12 500 (A10's win is after as-of)
    assert got["actual"].to_list() == [300.0, 780.0]
    # Q1: nothing was open at the start of FY2025-Q4 to calibrate on: no forecast, no verdict
    assert got.row(0, named=True)["forecast"] is None
    assert got.row(0, named=True)["error"] is None
    assert got.row(0, named=True)["inside_interval"] is None
    # Q2 is exactly the forecast made on the tables as they were at its start
    seen = IQ_RAW.at(starts[1])
    direct = bookings_forecast(
        seen.opportunities,
        seen.stage_history,
        calendar=UTC,
        quarter=Q2,
        as_of=starts[1],
        quarters=1,
        creation_quarters=1,
        calibration_quarters=1,
    ).collect()
    q2 = got.row(1, named=True)
    for column in (
        "forecast",
        "forecast_low",
        "forecast_high",
        "open_expected",
        "not_yet_created_expected",
    ):
        assert q2[column] == pytest.approx(direct[column][0], rel=1e-12), column
    assert q2["forecast"] > 0
    assert q2["error"] == pytest.approx(q2["forecast"] / 780 - 1, rel=1e-12)
    assert q2["inside_interval"] == (q2["forecast_low"] <= 780 <= q2["forecast_high"])


@pytest.mark.slow
def test_backtest_mid_quarter_forecasts_from_that_point() -> None:
    got = backtest(first=Q2, elapsed=0.5)
    # Q2 is 91 days: halfway is 2026-05-16 12:00, forecast from the microsecond before
    assert got["forecast_as_of"].to_list() == [
        dt.datetime(2026, 5, 16, 12, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    ]
    seen = IQ_RAW.at(got["forecast_as_of"][0])
    direct = bookings_forecast(
        seen.opportunities,
        seen.stage_history,
        calendar=UTC,
        quarter=Q2,
        as_of=got["forecast_as_of"][0],
        quarters=1,
        creation_quarters=1,
        calibration_quarters=1,
    ).collect()
    assert got["forecast"][0] == pytest.approx(direct["forecast"][0], rel=1e-12)
    assert direct["booked_to_date"][0] == 780.0  # A12 04-01, A7 04-20, A2 05-10: all booked
