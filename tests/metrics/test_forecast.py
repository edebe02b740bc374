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
(P has no amount): win rate by amount 0.5, required coverage 2.0.

Pipeline coverage (targets bookings/shared: Q3 200, Q4 600, FY2027-Q1 390, none for Q2)
| quarter   | qualified open in it     | pipeline | booked | remaining | coverage | gap  | status  |
| FY2026-Q3 | E, K, M (J is Discovery) | 400      | I 100  | 100       | 4.0      | 2.0  | covered |
| FY2026-Q4 | H                        | 300      | 0      | 600       | 0.5      | -1.5 | short   |
| FY2027-Q1 | none                     | 0        | 0      | 390       | 0.0      | -2.0 | short   |
| FY2027-Q2 | none                     | 0        | 0      | no target: the rest is null     |

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
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData
from alignment_lib.exceptions import ParameterError
from alignment_lib.metrics.forecast import (
    bookings_forecast,
    pipeline_coverage,
    pipeline_needed,
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
def test_pipeline_coverage_by_hand() -> None:
    got = pipeline_coverage(
        DATA.opportunities, DATA.targets, calendar=UTC, quarter=Q3, as_of=AS_OF, quarters=4
    ).collect()
    want = pl.DataFrame(
        {
            "quarter_index": [8106, 8107, 8108, 8109],
            "fiscal_quarter": ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1", "FY2027-Q2"],
            "open_deals": [3, 1, 0, 0],
            "open_pipeline": [400.0, 300.0, 0.0, 0.0],
            "bookings_to_date": [100.0, 0.0, 0.0, 0.0],
            "target": [200.0, 600.0, 390.0, None],
            "remaining": [100.0, 600.0, 390.0, None],
            "coverage": [4.0, 0.5, 0.0, None],
            "win_rate": [0.5] * 4,
            "required_coverage": [2.0] * 4,
            "coverage_gap": [2.0, -1.5, -2.0, None],
            "status": ["covered", "short", "short", None],
        },
        schema_overrides={"quarter_index": pl.Int32, "open_deals": pl.Int64},
    )
    assert_frame_equal(got, want)


def test_coverage_counts_every_stage_when_nothing_is_excluded() -> None:
    got = pipeline_coverage(
        DATA.opportunities,
        DATA.targets,
        calendar=UTC,
        quarter=Q3,
        as_of=AS_OF,
        quarters=1,
        exclude_stages=(),
    )
    assert rows(got, "open_deals", "open_pipeline", "coverage") == [(4, 900.0, 9.0)]


def test_target_already_met_is_covered_without_a_coverage_ratio() -> None:
    met = DATA.targets.with_columns(value=pl.lit(80.0))  # below the 100 booked in Q3
    got = pipeline_coverage(
        DATA.opportunities, met, calendar=UTC, quarter=Q3, as_of=AS_OF, quarters=1
    )
    assert rows(got, "remaining", "coverage", "status") == [(0.0, None, "covered")]


def test_no_closed_deals_in_window_gives_null_rates_not_errors() -> None:
    only_open = DATA.opportunities.filter(pl.col("closed_at").is_null())
    cov = pipeline_coverage(only_open, DATA.targets, calendar=UTC, quarter=Q3, as_of=AS_OF)
    assert rows(cov, "win_rate", "required_coverage", "coverage_gap", "status")[0] == (
        None,
        None,
        None,
        None,
    )
    fc = bookings_forecast(
        only_open, DATA.stage_history, calendar=UTC, quarter=Q3, as_of=AS_OF, quarters=1
    )
    assert rows(fc, "open_expected", "forecast", "forecast_low", "forecast_high") == [
        (None, None, None, None)
    ]


def test_win_rate_zero_has_no_required_coverage() -> None:
    all_lost = DATA.opportunities.with_columns(
        outcome=pl.when(pl.col("outcome").is_not_null()).then(pl.lit("lost"))
    )
    cov = pipeline_coverage(all_lost, DATA.targets, calendar=UTC, quarter=Q4, as_of=AS_OF)
    assert rows(cov, "win_rate", "required_coverage", "status")[0] == (0.0, None, None)
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
    options = {"quarter": Q3, "quarters": 2, "creation_quarters": 2} | kw
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
    }
    for column, values in expected.items():
        assert got[column].to_list() == pytest.approx(values, rel=1e-12), column
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


# -- calendars and time zones --------------------------------------------------------------------
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
            opps, DATA.targets, calendar=calendar, quarter=Q3, as_of=as_of, quarters=2
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
        opps, targets, calendar=feb, quarter=FiscalQuarter(2027, 1), as_of=as_of, quarters=2
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
    cov = pipeline_coverage(opps, targets, calendar=UTC, quarter=Q3, as_of=AS_OF).collect()
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
