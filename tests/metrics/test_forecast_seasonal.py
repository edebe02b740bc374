"""The season-aware forecast (issue 10 item 1): hand-worked pieces and properties.

**Seasonal shrinkage** (``seasonal_win_probabilities``). Calendar: fiscal year =
calendar year, UTC, every time 10:00. Forecast date: the end of FY2026-Q2, so the
current quarter N is FY2026-Q3; with ``quarters=4`` the snapshots are the starts of
FY2025-Q3, FY2025-Q4, FY2026-Q1 and FY2026-Q2. Six closed deals, all in Proposal,
each with one history row at creation (amount, expected close) and one at the close:

    deal  created     amount  expected    closed       snapshots it is open at
    A     2025-06-10  100     2025-09-15  won 08-01    Q3-25 (offset 0, won k=0)
    B     2025-06-11  100     2025-09-20  lost 08-10   Q3-25 (offset 0)
    F     2025-06-12  100     2025-09-30  won 10-15    Q3-25 (offset 0, won k=1),
                                                       Q4-25 (offset -1 overdue, won k=0)
    C     2025-09-10  200     2025-12-01  lost 11-01   Q4-25 (offset 0)
    D     2025-12-10  100     2026-03-01  lost 02-01   Q1-26 (offset 0)
    E     2026-03-10  100     2026-06-01  won 05-01    Q2-26 (offset 0, won k=0)

k = 1 needs Q + 1 complete: snapshots Q3-25, Q4-25, Q1-26 (3 quarters); k = 0 all 4.
The same fiscal quarter of the year as N (Q3) is Q3-25 only. Season weight w = 1.

- (offset 0, k 0): pooled amount 300 + 200 + 100 + 100 = 700, won A + E = 200,
  p_pooled = 2/7; a = 700 / 4 = 175; season: amount 300 (A, B, F), won 100 (A),
  p_season = 1/3; p = (100 + 1 x 175 x 2/7) / (300 + 175) = 150 / 475 = 6/19.
- (offset 0, k 1): pooled amount 300 + 200 + 100 = 600, won in Q + 1: F = 100,
  p_pooled = 1/6; a = 600 / 3 = 200; season 300, won F 100; p = (100 + 200 / 6) /
  (300 + 200) = 4/15.
- (offset -1, k 0): F at Q4-25, won in Q4: amount 100, won 100, p_pooled 1; no
  season amount, so p = (0 + 25 x 1) / (0 + 25) = 1 (a = 100 / 4).
- (offset -1, k 1): F at Q4-25, not won in Q1-26: p = 0.

**The open part of the forecast** (``bookings_forecast``, calibration_quarters 4). Two
deals open at the end of FY2026-Q2: G (1000, Proposal, expected 2026-08-01: offset 0)
and H (500, expected 2026-05-30: overdue, offset -1). FY2026-Q3: open_expected = 1000 x
6/19 + 500 x 1 = 815.789...; open_variance = 1000^2 x 6/19 x 13/19 + 500^2 x 1 x 0 =
216066.48...; open deals G and H (H overdue), pipeline 1500. FY2026-Q4: open_expected =
1000 x 4/15 + 500 x 0 = 266.67, no deal expected in it.

**Pipeline not created yet** (same call; creation_quarters 4, the data's first quarter
FY2025-Q2). Created per quarter as known at the forecast date: FY2025-Q3 200 (C),
FY2025-Q4 100 (D), FY2026-Q1 100 (E), FY2026-Q2 1500 (G, H): creation_rate = 1900 / 4 =
475. Season index of Q3 = (1 x 200 / 475 + 1) / (1 + 1) = 0.710526 (one Q3 in the
window, weight 1); of Q4 = (1 x 100 / 475 + 1) / 2 = 0.605263. Share of a quarter's
created amount won k quarters later: k = 0: nothing (0); k = 1 (creation quarters
FY2025-Q3..FY2026-Q1: 400 created, E's 100 won a quarter later): pooled 0.25, a = 400 / 3;
for a Q3 (FY2025-Q3: 200, none won): (0 + 1 x 133.33 x 0.25) / (200 + 133.33) = 0.1.
FY2026-Q3: not_yet_created_share = index(Q3) x conv(k=0) = 0; FY2026-Q4: index(Q3) x
conv(Q3, 1) + index(Q4) x conv(Q4, 0) = 0.710526 x 0.1 + 0 = 0.0710526, expected = 475 x
0.0710526 = 33.75.

**Last year's same quarter** (same call). Won amount by quarters from creation to
close: A 100 and E 100 one quarter, F 100 two: 67% within one quarter, 100% within
two, so the reference lag is 2 (90% rule) and a year-ago quarter counts from the data's
first quarter + 2 = FY2025-Q4 on. FY2026-Q3 <- FY2025-Q3: too early, null; FY2026-Q4 <-
FY2025-Q4, which booked F's 100. Creation growth needs two years of data: null (x 1), so
naive_forecast = 100. No past forecast had a naive estimate, so it starts at the pipeline
estimate's own accuracy: equal weights, forecast(FY2026-Q4) = (300.4167 + 100) / 2 =
200.2083 (pipeline 0 + 266.67 + 33.75 = 300.4167); FY2026-Q3 is the pipeline estimate.

**Creation growth** (``GROWING``: one deal a quarter from FY2024-Q1 to FY2026-Q2,
each won within the quarter it was created in; amounts 100 up to FY2025-Q2, 120 in
FY2025-Q3 and Q4, 130 in FY2026-Q1 and Q2; forecast at the end of FY2026-Q2,
``creation_quarters`` 4, pooled rates). Created in the last year FY2025-Q3..FY2026-Q2:
500, in the year before FY2024-Q3..FY2025-Q2: 400: creation_growth = 1.25.
creation_rate = 500 / 4 = 125, the mean of the last four quarters, centred two quarters
before the forecast date. Everything created is won in its own quarter (share 1 at 0
quarters, 0 at 1). FY2026-Q3 is created 0.5 quarter into it: the level is carried 2.5
quarters, x 1.25^(2.5 / 4) = 1.1496582, not_yet_created_expected = 143.7073; FY2026-Q4
is created in FY2026-Q4 itself (3.5 quarters): x 1.25^(3.5 / 4) = 1.2156156, 151.9519.
Reference lag 0 (all won in the quarter created), so a year-ago quarter counts from the
data's second quarter: FY2026-Q3 <- FY2025-Q3 = 120, FY2026-Q4 <- FY2025-Q4 = 120, both
x 1.25 = 150.

**The interval and the mid-quarter weights** (``track.combine`` on hand-built
points). Past origins 10, 11, 12 forecast their own quarter at 100 (model cv 0.1);
actuals 110, 90, 100: log errors ln 1.1, ln 0.9, 0 (sum of squares 0.0201849). The
current origin 13 forecasts 200 (cv 0.1), booked 150 so far:

- origin 13: n = 3 errors, s^2 = (1 x 0.1^2 + 0.0201849) / (1 + 3) = 0.0075462,
  s = 0.0868690; t with 4 degrees of freedom at 90% = 1.533206; high = 200 x
  exp(1.533206 x 0.0868690) = 228.4930; low = 200 x exp(-...) = 175.0601.
- origin 10: no error yet, s = 0.1 (the model's), t(1 dof) = 3.077684: 136.0386 and
  73.5086. Origin 11: one error, s^2 = (0.01 + ln(1.1)^2) / 2 = 0.0095420, t(2 dof) =
  1.885618: 120.2248 and 83.1775. Origin 12: two errors, s^2 = (0.01 + ln(1.1)^2 +
  ln(0.9)^2) / 3 = 0.0100616, t(3 dof) = 1.637744: 117.8542 and 84.8506.
- booked 190 instead of 150: low is floored at 190.
- the pipeline estimate alone takes part in every row: pipeline_weight 1, the others 0.
- mid-quarter, origin 13 also has a curve estimate 260 with no past error: the mean
  square of the errors taking part is m = 0.0201849 / 3 = 0.0067283; the pipeline's
  mse = (0.0201849 + m) / (3 + 1) = m, the curve's (0 + m) / (0 + 1) = m: equal weights,
  forecast = (200 + 260) / 2 = 230. Interval: prior = the pipeline cv 0.1, past errors
  of the (pipeline-only) past forecasts as above: s^2 = 0.0075462, high = 230 x
  exp(1.533206 x 0.0868690) = 262.7669, low = 201.3191.

**The combination with three estimates** (``track.combine``). Same origins and
actuals; pipeline 100, 100, 100, 200; last year's quarter grown (naive) -, 100, 95, 210;
curve 150, 60, 130, 260. Log errors ln(actual / estimate): pipeline ln 1.1, ln 0.9, 0;
naive (11) ln 0.9, (12) ln(100 / 95) = 0.0512933; curve ln(110 / 150) = -0.3101549,
ln(90 / 60) = 0.4054651, ln(100 / 130) = -0.2623643. Origin 13 (errors of 10..12):
sums of squares P 0.0201849 (3), N 0.0137318 (2), C 0.3294331 (3); m = 0.3633498 / 8 =
0.0454187; mse P = (0.0201849 + m) / 4 = 0.0164009, N = (0.0137318 + m) / 3 = 0.0197169,
C = (0.3294331 + m) / 4 = 0.0937129; weights (1 / mse normalised) P 0.4982975, N
0.4144944, C 0.0872081; forecast = 0.4982975 x 200 + 0.4144944 x 210 + 0.0872081 x 260 =
209.3774. Origin 10 (no error yet, no naive): P and C equal, 125. Origin 11 (one
error each of P and C): m = (0.0090840 + 0.0961961) / 2 = 0.0526401, mse P 0.0308620,
N (no error) 0.0526401, C 0.0744181: weights 0.4997511, 0.2929963, 0.2072526, forecast
91.7099. Origin 12: 0.4999685, 0.3768922, 0.1231393, forecast 101.8097. The interval
of origin 13 from the combined forecasts' own errors ln(110 / 125), ln(90 / 91.7099),
ln(100 / 101.8097): s^2 = (0.1^2 + 0.0170019) / 4 = 0.0067543, high = 209.3774 x
exp(1.533206 x 0.0821847) = 237.4945, low = 184.5891.

**The baseline** (``seasonal_naive_forecast``): won 10 in FY2024-Q4 (the data's
first quarter: the first deal was created on 2024-10-05), 50 + 100 in FY2025-Q1, 200
in FY2025-Q2, nothing after. As of the end of FY2026-Q1 (current FY2026-Q2):
FY2025-Q4 <- null (FY2024-Q4 is the data's first quarter, partial), FY2026-Q1 <-
FY2025-Q1 = 150 (half the target of 300), FY2026-Q2 <- 200, FY2026-Q3, FY2026-Q4 and
FY2027-Q1 <- 0 (complete quarters that booked nothing), FY2027-Q2 <- null (FY2026-Q2 is
not complete).
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData, load_funnel, parse_as_of
from alignment_lib.asof import cut_opportunities
from alignment_lib.exceptions import ParameterError
from alignment_lib.metrics.forecast import (
    bookings_forecast,
    forecast_accuracy,
    forecast_track_record,
    seasonal_naive_forecast,
    seasonal_win_probabilities,
)
from alignment_lib.metrics.forecast.seasonal import origin_instant, seasonal_points
from alignment_lib.metrics.forecast.track import combine
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS
from tests.conftest import SAMPLE

UTC = FiscalCalendar(1, "UTC")
END_Q2 = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
Q3, Q4 = FiscalQuarter(2026, 3), FiscalQuarter(2026, 4)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=dt.UTC)


def frame(schema: dict, rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()


def deal(oid, created, amount, expected, closed=None, outcome=None):
    opp = {
        "opportunity_id": oid,
        "created_at": at(created),
        "source": "sales",
        "amount": amount,
        "stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome, "Proposal"),
        "closed_at": at(closed) if closed else None,
        "outcome": outcome,
        "expected_close_date": dt.date.fromisoformat(expected),
    }
    history = [
        {
            "opportunity_id": oid,
            "changed_at": at(created),
            "stage": "Proposal",
            "amount": amount,
            "expected_close_date": dt.date.fromisoformat(expected),
        }
    ]
    if closed:
        history.append(
            {
                "opportunity_id": oid,
                "changed_at": at(closed),
                "stage": opp["stage"],
                "amount": amount,
                "expected_close_date": dt.date.fromisoformat(closed),
            }
        )
    return opp, history


def funnel(deals: list, targets: list[dict] = ()) -> FunnelData:
    return FunnelData(
        leads=frame(LEADS.polars_schema, []),
        opportunities=frame(OPPORTUNITIES.polars_schema, [o for o, _ in deals]),
        stage_history=frame(STAGE_HISTORY.polars_schema, [r for _, h in deals for r in h]),
        targets=frame(TARGETS.polars_schema, list(targets)),
        calendar=UTC,
        source="test",
        has_stage_history=True,
    )


CLOSED = [
    deal("A", "2025-06-10", 100.0, "2025-09-15", "2025-08-01", "won"),
    deal("B", "2025-06-11", 100.0, "2025-09-20", "2025-08-10", "lost"),
    deal("F", "2025-06-12", 100.0, "2025-09-30", "2025-10-15", "won"),
    deal("C", "2025-09-10", 200.0, "2025-12-01", "2025-11-01", "lost"),
    deal("D", "2025-12-10", 100.0, "2026-03-01", "2026-02-01", "lost"),
    deal("E", "2026-03-10", 100.0, "2026-06-01", "2026-05-01", "won"),
]
OPEN = [
    deal("G", "2026-06-15", 1000.0, "2026-08-01"),
    deal("H", "2026-05-01", 500.0, "2026-05-30"),
]
SEASON = funnel(CLOSED + OPEN).at(END_Q2)


def rates(**options) -> pl.DataFrame:
    kw = {"calendar": UTC, "as_of": END_Q2, "quarters": 4, "horizon": 1, "season_weight": 1.0}
    return seasonal_win_probabilities(
        SEASON.opportunities, SEASON.stage_history, **(kw | options)
    ).collect()


def test_seasonal_rates_by_hand() -> None:
    want = pl.DataFrame(
        {
            "stage": ["Proposal"] * 4,
            "expected_offset": [-1, -1, 0, 0],
            "quarters_ahead": [0, 1, 0, 1],
            "amount": [100.0, 100.0, 700.0, 600.0],
            "won_amount": [100.0, 0.0, 200.0, 100.0],
            "calibration_quarters": [4, 3, 4, 3],
            "season_amount": [0.0, 0.0, 300.0, 300.0],
            "season_won_amount": [0.0, 0.0, 100.0, 100.0],
            "p_pooled": [1.0, 0.0, 2 / 7, 1 / 6],
            "p_season": [None, None, 1 / 3, 1 / 3],
            "p": [1.0, 0.0, 6 / 19, 4 / 15],
        },
        schema_overrides={"expected_offset": pl.Int32, "quarters_ahead": pl.Int32},
    )
    assert_frame_equal(rates(), want, check_exact=False, rel_tol=1e-12)


def test_season_weight_moves_between_pooled_and_season() -> None:
    pooled = rates(season_weight=None)
    assert pooled["p"].to_list() == pytest.approx(pooled["p_pooled"].to_list())
    # weight 0: the season's own rate where it has one, else the pooled rate
    own = rates(season_weight=0.0)
    assert own["p"].to_list() == pytest.approx([1.0, 0.0, 1 / 3, 1 / 3])
    # a large weight tends to the pooled rate
    heavy = rates(season_weight=1e9)
    assert heavy["p"].to_list() == pytest.approx(heavy["p_pooled"].to_list(), rel=1e-6)
    with pytest.raises(ParameterError, match="season_weight"):
        rates(season_weight=-1.0)


@pytest.mark.slow
def test_seasonal_forecast_parts_by_hand() -> None:
    got = bookings_forecast(
        SEASON.opportunities,
        SEASON.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=2,
        calibration_quarters=4,
        season_weight=1.0,
    ).collect()
    assert got["quarters_ahead"].to_list() == [0, 1]
    assert got["open_deals"].to_list() == [2, 0]
    assert got["overdue_deals"].to_list() == [1, 0]
    assert got["open_pipeline"].to_list() == [1500.0, 0.0]
    assert got["open_expected"].to_list() == pytest.approx([1000 * 6 / 19 + 500, 1000 * 4 / 15])
    assert got["open_variance"].to_list()[0] == pytest.approx(1e6 * 6 / 19 * 13 / 19)
    assert got["open_deals_without_stage_rate"].to_list() == [0, 0]
    assert got["creation_rate"].to_list() == pytest.approx([475.0, 475.0])
    assert got["not_yet_created_share"].to_list() == pytest.approx([0.0, 0.0710526], rel=1e-6)
    assert got["not_yet_created_expected"].to_list() == pytest.approx([0.0, 33.75], rel=1e-6)
    # the forecast is its parts: nothing booked yet at a quarter's start
    parts = got.select(
        pl.col("booked_to_date") + pl.col("open_expected") + pl.col("not_yet_created_expected")
    ).to_series()
    assert got["pipeline_forecast"].to_list() == pytest.approx(parts.to_list())
    # last year's same quarter: FY2025-Q3 is inside the data's first two quarters (the
    # reference lag), FY2025-Q4 booked F's 100; no creation growth yet (under two years)
    assert got["naive_reference"].to_list() == [None, 100.0]
    assert got["naive_forecast"].to_list() == [None, 100.0]
    assert got["creation_growth"].to_list() == [None, None]
    assert got["naive_weight"].to_list() == pytest.approx([0.0, 0.5])
    assert got["pipeline_weight"].to_list() == pytest.approx([1.0, 0.5])
    assert got["forecast"].to_list() == pytest.approx([815.789474, 200.208333], rel=1e-6)
    assert (got["forecast_low"] <= got["forecast"]).all()
    assert (got["forecast"] <= got["forecast_high"]).all()


# -- creation growth: last year's quarter grown, the creation level carried forward ---------------
def growing() -> FunnelData:
    deals = []
    for i, q in enumerate(range(8096, 8106)):
        year, month = q // 4, (q % 4) * 3 + 1
        amount = 100.0 if q <= 8101 else 120.0 if q <= 8103 else 130.0
        created, closed = f"{year}-{month:02d}-10", f"{year}-{month + 1:02d}-20"
        deals.append(deal(f"G{i}", created, amount, closed, closed, "won"))
    return funnel(deals).at(END_Q2)


def test_creation_growth_by_hand() -> None:
    data = growing()
    got = bookings_forecast(
        data.opportunities,
        data.stage_history,
        calendar=UTC,
        quarter=Q3,
        as_of=END_Q2,
        quarters=2,
        creation_quarters=4,
        season_weight=None,
    ).collect()
    assert got["creation_growth"].to_list() == pytest.approx([1.25, 1.25])
    assert got["creation_rate"].to_list() == pytest.approx([125.0, 125.0])
    assert got["open_expected"].to_list() == [0.0, 0.0]
    assert got["not_yet_created_share"].to_list() == pytest.approx(
        [1.25 ** (2.5 / 4), 1.25 ** (3.5 / 4)], rel=1e-9
    )
    assert got["not_yet_created_expected"].to_list() == pytest.approx(
        [143.7073, 151.9519], rel=1e-6
    )
    assert got["naive_reference"].to_list() == [120.0, 120.0]
    assert got["naive_forecast"].to_list() == pytest.approx([150.0, 150.0])
    naive = seasonal_naive_forecast(
        data.opportunities, calendar=UTC, quarter=Q3, as_of=END_Q2, quarters=2
    ).collect()
    assert naive["baseline_forecast"].to_list() == [120.0, 120.0]
    assert naive["creation_growth"].to_list() == pytest.approx([1.25, 1.25])
    assert naive["reference_lag"].to_list() == [0, 0]
    assert naive["naive_forecast"].to_list() == pytest.approx([150.0, 150.0])


def test_growth_needs_two_years_of_data() -> None:
    """Cut a year earlier (end of FY2025-Q2), the data holds only FY2024-Q1..FY2025-Q2: no
    year before last to compare with, so no growth (null) and the naive is not grown."""
    as_of = dt.datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
    data = growing().at(as_of)
    got = seasonal_naive_forecast(
        data.opportunities, calendar=UTC, quarter=FiscalQuarter(2025, 3), as_of=as_of, quarters=1
    ).collect()
    assert got["creation_growth"].to_list() == [None]
    assert got["naive_forecast"].to_list() == [100.0]


# -- the interval and the mid-quarter weights ----------------------------------------------------
def points(
    booked: float = 150.0,
    curve: float | None = None,
    naive: list | None = None,
    curves: list | None = None,
) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "origin": [10, 11, 12, 13],
            "quarters_ahead": [0, 0, 0, 0],
            "quarter_index": [10, 11, 12, 13],
            "booked_to_date": [0.0, 0.0, 0.0, booked],
            "pipeline_forecast": [100.0, 100.0, 100.0, 200.0],
            "pipeline_cv": [0.1] * 4,
            "naive_forecast": naive or [None] * 4,
            "curve_forecast": curves or [None, None, None, curve],
        },
        schema_overrides={
            "origin": pl.Int32,
            "quarters_ahead": pl.Int32,
            "quarter_index": pl.Int32,
            "naive_forecast": pl.Float64,
            "curve_forecast": pl.Float64,
        },
    )


ACTUALS = pl.LazyFrame(
    {"quarter_index": [10, 11, 12], "actual": [110.0, 90.0, 100.0]},
    schema_overrides={"quarter_index": pl.Int32},
)


def interval(**kw) -> pl.DataFrame:
    # z = the exact normal 90% quantile, so that t is taken at exactly 0.9 (Z_80 = 1.2816 is
    # that number rounded)
    z = NormalDist().inv_cdf(0.9)
    return combine(points(**kw), ACTUALS, track_quarters=8, z=z).sort("origin").collect()


def test_interval_from_past_errors_by_hand() -> None:
    got = interval()
    assert got["track_quarters"].to_list() == [0, 1, 2, 3]
    assert got["forecast_high"].to_list() == pytest.approx(
        [136.0386, 120.2248, 117.8542, 228.4930], rel=1e-6
    )
    assert got["forecast_low"].to_list() == pytest.approx(
        [73.5086, 83.1775, 84.8506, 175.0601], rel=1e-6
    )
    assert got["forecast_sd"].to_list()[3] == pytest.approx(200 * 0.0868690, rel=1e-5)
    assert got["track_rms_error"].to_list()[3] == pytest.approx(math.sqrt(0.0201849 / 3), rel=1e-5)
    assert got["pipeline_weight"].to_list() == [1.0] * 4
    assert got["naive_weight"].to_list() == [0.0] * 4
    assert got["curve_weight"].to_list() == [0.0] * 4
    assert got["forecast"].to_list() == [100.0, 100.0, 100.0, 200.0]
    # the low end never goes below what is already booked
    assert interval(booked=190.0)["forecast_low"].to_list()[3] == 190.0


def test_a_new_estimate_starts_at_the_average_accuracy() -> None:
    got = interval(curve=260.0).row(3, named=True)
    assert got["pipeline_weight"] == pytest.approx(0.5) and got["curve_weight"] == pytest.approx(
        0.5
    )
    assert got["naive_weight"] == 0.0
    assert got["forecast"] == pytest.approx(230.0)
    assert got["forecast_high"] == pytest.approx(262.7669, rel=1e-6)
    assert got["forecast_low"] == pytest.approx(201.3191, rel=1e-6)


def test_combination_weights_by_hand() -> None:
    got = interval(naive=[None, 100.0, 95.0, 210.0], curves=[150.0, 60.0, 130.0, 260.0])
    assert got["pipeline_weight"].to_list() == pytest.approx(
        [0.5, 0.4997511, 0.4999685, 0.4982975], rel=1e-6
    )
    assert got["naive_weight"].to_list() == pytest.approx(
        [0.0, 0.2929963, 0.3768922, 0.4144944], rel=1e-6
    )
    assert got["curve_weight"].to_list() == pytest.approx(
        [0.5, 0.2072526, 0.1231393, 0.0872081], rel=1e-6
    )
    assert got["forecast"].to_list() == pytest.approx(
        [125.0, 91.709895, 101.809719, 209.377429], rel=1e-7
    )
    weights = got.select(pl.sum_horizontal("pipeline_weight", "naive_weight", "curve_weight"))
    assert weights.to_series().to_list() == pytest.approx([1.0] * 4)
    last = got.row(3, named=True)
    assert last["track_quarters"] == 3
    assert last["forecast_high"] == pytest.approx(237.4945, rel=1e-6)
    assert last["forecast_low"] == pytest.approx(184.5891, rel=1e-6)


def test_an_estimate_at_zero_takes_no_part() -> None:
    """A naive of 0 (last year's quarter booked nothing) has no log error and no weight;
    without a pipeline estimate there is no forecast."""
    got = interval(naive=[0.0, 0.0, 0.0, 0.0]).row(3, named=True)
    assert got["naive_weight"] == 0.0 and got["forecast"] == 200.0
    frame = points().with_columns(pl.lit(None, dtype=pl.Float64).alias("pipeline_forecast"))
    none = combine(frame, ACTUALS, track_quarters=8, z=1.2816).collect()
    assert none["forecast"].null_count() == 4


# -- the baseline ---------------------------------------------------------------------------
def test_seasonal_naive_baseline_by_hand() -> None:
    data = funnel(
        [
            deal("P", "2024-11-01", 50.0, "2025-03-01", "2025-03-01", "won"),
            deal("Q", "2025-04-03", 200.0, "2025-05-01", "2025-05-01", "won"),
            deal("R", "2024-12-01", 100.0, "2025-02-01", "2025-02-01", "won"),
            deal("S", "2024-10-05", 10.0, "2024-12-01", "2024-12-01", "won"),
        ],
        targets=[
            {"fiscal_quarter": "FY2026-Q1", "metric": "bookings", "team": "shared", "value": 300.0}
        ],
    )
    as_of = dt.datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    seen = data.at(as_of)
    got = seasonal_naive_forecast(
        seen.opportunities,
        seen.targets,
        calendar=UTC,
        quarter=FiscalQuarter(2025, 4),
        as_of=as_of,
        quarters=7,
    ).collect()
    assert got["fiscal_quarter"].to_list() == [
        "FY2025-Q4",
        "FY2026-Q1",
        "FY2026-Q2",
        "FY2026-Q3",
        "FY2026-Q4",
        "FY2027-Q1",
        "FY2027-Q2",
    ]
    assert got["baseline_quarter"].to_list()[:3] == ["FY2024-Q4", "FY2025-Q1", "FY2025-Q2"]
    # FY2024-Q4 is the data's first quarter: no year-ago reference for FY2025-Q4
    assert got["baseline_forecast"].to_list() == [None, 150.0, 200.0, 0.0, 0.0, 0.0, None]
    assert got["forecast_to_target"].to_list()[1] == 0.5


# -- refusing uncut tables ------------------------------------------------------------------------
@pytest.mark.slow
def test_forecast_refuses_tables_not_cut_at_as_of() -> None:
    raw = funnel(CLOSED + OPEN)
    with pytest.raises(ParameterError) as caught:
        bookings_forecast(
            raw.opportunities, raw.stage_history, calendar=UTC, quarter=Q3, as_of=at("2025-09-01")
        )
    message = str(caught.value)
    # created later: C, D, E, G, H; closed later: F, C, D, E (A and B closed in August);
    # stage rows later: the creation rows of C, D, E, G, H and the closings of F, C, D, E
    assert "5 opportunities created later" in message
    assert "4 opportunities closed later" in message
    assert "9 stage history rows recorded later" in message
    assert "FunnelData.at" in message and "cut_at" in message
    for calibration in ("in_quarter", "ever"):
        with pytest.raises(ParameterError, match="not cut at as_of"):
            bookings_forecast(
                raw.opportunities,
                raw.stage_history,
                calendar=UTC,
                quarter=Q3,
                as_of=at("2025-09-01"),
                calibration=calibration,
            )
    # the same tables cut there are accepted
    seen = raw.at(at("2025-09-01"))
    bookings_forecast(
        seen.opportunities, seen.stage_history, calendar=UTC, quarter=Q3, as_of=at("2025-09-01")
    ).collect()


# -- on the sample: one plan for many origins = each origin on its own cut tables ----------
@pytest.fixture(scope="module")
def sample() -> FunnelData:
    return load_funnel(SAMPLE, calendar=UTC).materialize()


OPTIONS = {
    "window_days": 730,
    "creation_quarters": 4,
    "calibration_quarters": 8,
    "season_weight": 0.5,
}


@pytest.mark.slow
@pytest.mark.parametrize("elapsed", [0.0, 0.5])
def test_each_origin_sees_only_what_was_known_then(sample, elapsed: float) -> None:
    """The row of origin o in a many-origin plan on today's tables equals the plan of o
    alone on the tables cut at o: no later close, stage change, amount or deal leaks."""
    today, history = cut_opportunities(
        sample.opportunities, sample.stage_history, as_of=parse_as_of("2026-11-13", UTC)
    )
    many = seasonal_points(
        today,
        history,
        calendar=UTC,
        elapsed=elapsed,
        horizons={o: 3 for o in range(8097, 8107)},
        cuts={},
        **OPTIONS,
    ).collect()
    for origin in (8099, 8103, 8106):
        instant = origin_instant(UTC, origin, elapsed)
        opps, hist = cut_opportunities(sample.opportunities, sample.stage_history, as_of=instant)
        alone = seasonal_points(
            opps, hist, calendar=UTC, elapsed=elapsed, horizons={origin: 3}, cuts={}, **OPTIONS
        ).collect()
        # every origin here can calibrate the quarters it forecasts (k = 3 from FY2024-Q4
        # cannot: no snapshot three quarters before it had its outcome yet)
        assert alone["pipeline_forecast"].head(3).null_count() == 0
        assert_frame_equal(
            many.filter(pl.col("origin") == origin), alone, check_exact=False, rel_tol=1e-9
        )


@pytest.mark.slow
def test_forecast_equals_its_track_record_row(sample) -> None:
    """bookings_forecast on the tables cut at a past quarter's start = the track record's
    row for that quarter and horizon (same point forecast, same interval)."""
    as_of = parse_as_of("2026-09-30", UTC)
    seen = sample.at(as_of)
    record = forecast_track_record(
        seen.opportunities,
        seen.stage_history,
        calendar=UTC,
        first=FiscalQuarter(2026, 1),
        last=FiscalQuarter(2026, 3),
        as_of=as_of,
        quarters_ahead=(0, 1),
    ).collect()
    start = origin_instant(UTC, UTC.quarter_index(FiscalQuarter(2026, 2)), 0.0)
    then = sample.at(start)
    direct = bookings_forecast(
        then.opportunities,
        then.stage_history,
        calendar=UTC,
        quarter=FiscalQuarter(2026, 2),
        as_of=start,
        quarters=2,
    ).collect()
    for k, quarter in ((0, "FY2026-Q2"), (1, "FY2026-Q3")):
        row = record.filter(pl.col("quarters_ahead") == k, pl.col("fiscal_quarter") == quarter)
        want = direct.filter(pl.col("fiscal_quarter") == quarter)
        for column in ("forecast", "forecast_low", "forecast_high", "open_expected"):
            assert row[column].item() == pytest.approx(want[column].item(), rel=1e-9), column


@pytest.mark.slow
def test_complete_quarters_forecast_what_was_booked(sample) -> None:
    as_of = parse_as_of("2026-08-15", UTC)
    seen = sample.at(as_of)
    got = bookings_forecast(
        seen.opportunities,
        seen.stage_history,
        seen.targets,
        calendar=UTC,
        quarter=FiscalQuarter(2026, 2),
        as_of=as_of,
        quarters=3,
    ).collect()
    assert got["quarters_ahead"].to_list() == [-1, 0, 1]
    q2 = got.row(0, named=True)
    assert q2["forecast"] == q2["booked_to_date"] == q2["forecast_low"] == q2["forecast_high"]
    assert q2["forecast"] == pytest.approx(4_149_600.0)
    current = got.row(1, named=True)
    # mid-quarter: booked so far; the pace so far and last year's quarter beside the
    # pipeline estimate, each with a weight in 0..1; the forecast lies among them
    assert current["booked_to_date"] > 0 and current["curve_basis"] == "same quarter"
    assert 0 < current["curve_weight"] < 1 and 0 < current["naive_weight"] < 1
    estimates = [current[c] for c in ("pipeline_forecast", "naive_forecast", "curve_forecast")]
    assert min(estimates) <= current["forecast"] <= max(estimates)
    weights = [current[c] for c in ("pipeline_weight", "naive_weight", "curve_weight")]
    assert sum(weights) == pytest.approx(1.0)
    assert current["forecast"] == pytest.approx(
        sum(w * e for w, e in zip(weights, estimates, strict=True))
    )
    assert got["forecast_to_target"].to_list() == pytest.approx(
        (got["forecast"] / got["target"]).to_list()
    )


def test_accuracy_summary_by_hand() -> None:
    record = pl.DataFrame(
        {
            "elapsed": [0.0] * 4,
            "quarters_ahead": [0] * 4,
            "error": [0.1, -0.2, None, 0.05],
            "inside_interval": [True, False, None, True],
            "baseline_error": [None, 0.3, 0.1, -0.1],
        }
    )
    got = forecast_accuracy(record).collect().row(0, named=True)
    assert got["quarters"] == 3 and got["inside"] == 2
    assert got["mean_absolute_error"] == pytest.approx(0.35 / 3)
    assert got["bias"] == pytest.approx(-0.05 / 3)
    assert got["hit_rate"] == pytest.approx(2 / 3)
    # the baseline only over the quarters both have: -0.2 / 0.3 and 0.05 / -0.1
    assert got["baseline_quarters"] == 2
    assert got["baseline_mean_absolute_error"] == pytest.approx(0.2)
    assert got["baseline_bias"] == pytest.approx(0.1)
    assert got["mean_absolute_error_same_quarters"] == pytest.approx(0.125)


def test_track_record_parameters_are_checked(sample) -> None:
    as_of = parse_as_of("2026-09-30", UTC)
    kw = {"calendar": UTC, "first": FiscalQuarter(2026, 1), "as_of": as_of}
    with pytest.raises(ParameterError, match="not complete"):
        forecast_track_record(
            sample.opportunities, sample.stage_history, last=FiscalQuarter(2026, 4), **kw
        )
    with pytest.raises(ParameterError, match="quarters_ahead"):
        forecast_track_record(
            sample.opportunities,
            sample.stage_history,
            last=FiscalQuarter(2026, 3),
            quarters_ahead=(-1,),
            **kw,
        )


@pytest.mark.slow
def test_empty_tables_give_nulls_not_errors() -> None:
    empty = funnel([])
    got = bookings_forecast(
        empty.opportunities, empty.stage_history, calendar=UTC, quarter=Q3, as_of=END_Q2
    ).collect()
    assert got.height == 3
    assert got["forecast"].null_count() == 3
    assert got["booked_to_date"].to_list() == [0.0, 0.0, 0.0]
    record = forecast_track_record(
        empty.opportunities,
        empty.stage_history,
        calendar=UTC,
        first=FiscalQuarter(2026, 1),
        last=FiscalQuarter(2026, 2),
        as_of=END_Q2,
    ).collect()
    assert record.height == 6 and record["forecast"].null_count() == 6
    summary = forecast_accuracy(record).collect()
    assert summary["quarters"].to_list() == [0, 0, 0]
    assert summary["mean_absolute_error"].null_count() == 3
