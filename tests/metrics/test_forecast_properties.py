"""Property tests of stage and in-quarter probabilities, coverage, forecast and pipeline needed.

Random small funnels with stage history, seen through ``FunnelData.at`` at a
random instant, in three calendars, forecast with either calibration. Amounts
are whole hundreds.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FunnelData
from alignment_lib.metrics.forecast import (
    CALIBRATIONS,
    bookings_forecast,
    in_quarter_win_probabilities,
    pipeline_coverage,
    pipeline_needed,
    stage_win_probabilities,
)
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

SETTINGS = settings(max_examples=30, deadline=None)
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN_MINUTES = 2 * 365 * 24 * 60
CALENDARS = [
    FiscalCalendar(1, "UTC"),
    FiscalCalendar(2, "America/New_York"),
    FiscalCalendar(7, "Asia/Kolkata"),
]
SOURCES = ["marketing", "marketing", "sales", "partner"]
STAGES = ["Discovery", "Qualification", "Proposal", "Negotiation"]


def instant(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def table(rows: list[dict], schema: dict) -> pl.LazyFrame:
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()


@st.composite
def funnels(draw: st.DrawFn, max_deals: int = 16) -> FunnelData:
    """Random deals (won, lost, open) with a stage path, MQLs and bookings targets."""
    calendar = draw(st.sampled_from(CALENDARS))
    deals, history = [], []
    for i in range(draw(st.integers(0, max_deals))):
        oid = f"O{i}"
        created = draw(st.integers(0, SPAN_MINUTES))
        status = draw(st.sampled_from(["won", "lost", "open"]))
        cycle = draw(st.integers(60, 400 * 24 * 60))
        amount = draw(st.one_of(st.none(), st.integers(0, 500).map(lambda a: a * 100.0)))
        if status == "won" and amount is None:
            amount = 0.0
        path = draw(st.lists(st.sampled_from(STAGES), min_size=0, max_size=4))
        expected = (instant(created + cycle)).date()
        for step, stage in enumerate(path):
            history.append(
                {
                    "opportunity_id": oid,
                    "changed_at": instant(created + step * cycle // (len(path) + 1)),
                    "stage": stage,
                    "amount": amount,
                    "expected_close_date": expected,
                }
            )
        closed_at = None if status == "open" else instant(created + cycle)
        final = {"won": "Closed Won", "lost": "Closed Lost"}.get(status, path[-1] if path else "X")
        if closed_at is not None:
            history.append(
                {
                    "opportunity_id": oid,
                    "changed_at": closed_at,
                    "stage": final,
                    "amount": amount,
                    "expected_close_date": closed_at.date(),
                }
            )
        deals.append(
            {
                "opportunity_id": oid,
                "created_at": instant(created),
                "source": draw(st.sampled_from(SOURCES)),
                "amount": amount,
                "stage": final,
                "expected_close_date": expected,
                "closed_at": closed_at,
                "outcome": None if status == "open" else status,
            }
        )
    leads = []
    for i in range(draw(st.integers(0, 16))):
        created = draw(st.integers(0, SPAN_MINUTES))
        mql = draw(st.one_of(st.none(), st.integers(0, 60 * 24 * 60)))
        opp = draw(st.one_of(st.none(), st.integers(0, max(len(deals) - 1, 0))))
        leads.append(
            {
                "lead_id": f"L{i}",
                "created_at": instant(created),
                "mql_at": None if mql is None else instant(created + mql),
                "opportunity_id": f"O{opp}" if opp is not None and deals else None,
            }
        )
    first = calendar.quarter_of(START.date())
    targets = [
        {
            "fiscal_quarter": first.shift(i).label,
            "metric": "bookings",
            "team": "shared",
            "value": draw(st.integers(0, 50).map(lambda v: v * 1000.0)),
        }
        for i in range(12)
        if draw(st.booleans())
    ]
    return FunnelData(
        leads=table(leads, LEADS.polars_schema),
        opportunities=table(deals, OPPORTUNITIES.polars_schema),
        stage_history=table(history, STAGE_HISTORY.polars_schema),
        targets=table(targets, TARGETS.polars_schema),
        calendar=calendar,
        source="hypothesis",
        has_stage_history=True,
    )


AS_OF = st.integers(0, SPAN_MINUTES + 200 * 24 * 60).map(instant)
OFFSET = st.integers(-3, 3)


CALIBRATION = st.sampled_from(CALIBRATIONS)


def compute(
    data: FunnelData, as_of: dt.datetime, offset: int, calibration: str = "in_quarter"
) -> list[pl.DataFrame]:
    seen = data.at(as_of)
    calendar = data.calendar
    quarter = calendar.quarter_of(calendar.local_date(as_of)).shift(offset)
    kw = {"calendar": calendar, "quarter": quarter, "as_of": as_of}
    return pl.collect_all(
        [
            stage_win_probabilities(seen.opportunities, seen.stage_history, as_of=as_of),
            pipeline_coverage(
                seen.opportunities, seen.targets, stage_history=seen.stage_history, **kw
            ),
            bookings_forecast(
                seen.opportunities,
                seen.stage_history,
                seen.targets,
                **kw,
                creation_quarters=2,
                calibration=calibration,
                calibration_quarters=4,
            ),
            pipeline_needed(seen.opportunities, seen.leads, seen.targets, **kw),
            in_quarter_win_probabilities(
                seen.opportunities, seen.stage_history, calendar=calendar, as_of=as_of, quarters=4
            ),
        ]
    )


def in_unit_interval(series: pl.Series) -> bool:
    values = series.drop_nulls()
    return bool(((values >= 0) & (values <= 1 + 1e-12)).all())


def nonnegative(series: pl.Series) -> bool:
    return bool((series.drop_nulls() >= -1e-9).all())


@pytest.mark.slow
@SETTINGS
@given(data=funnels(), as_of=AS_OF, offset=OFFSET, calibration=CALIBRATION)
def test_rates_amounts_and_interval_are_in_range(data, as_of, offset, calibration) -> None:
    probs, coverage, forecast, needed, in_quarter = compute(data, as_of, offset, calibration)
    assert in_unit_interval(probs["p_win_count"]) and in_unit_interval(probs["p_win_amount"])
    assert (probs["won"] <= probs["deals"]).all()
    for column in ("p_in_quarter_count", "p_in_quarter_amount"):
        assert in_unit_interval(in_quarter[column]), column
    assert (in_quarter["won_in_quarter"] <= in_quarter["deals"]).all()
    assert (in_quarter["won_amount"] <= in_quarter["amount"] + 1e-9).all()
    assert in_unit_interval(coverage["conversion"])
    assert (coverage["open_deals_without_amount"] <= coverage["open_deals"]).all()
    for column in (
        "open_pipeline",
        "remaining",
        "coverage",
        "required_coverage",
        "overdue_pipeline",
    ):
        assert nonnegative(coverage[column]), column
    for column in (
        "open_variance",
        "not_yet_created_variance",
        "forecast_sd",
        "open_expected",
        "open_shock_sd",
        "not_yet_created_cv",
    ):
        assert nonnegative(forecast[column]), column
    # overdue deals are part of the open pipeline, and only of the current quarter's
    assert (forecast["overdue_deals"] <= forecast["open_deals"]).all()
    assert (forecast["overdue_pipeline"] <= forecast["open_pipeline"] + 1e-9).all()
    assert forecast.filter(pl.col("overdue_deals") > 0).height <= 1
    if calibration == "ever":
        assert forecast["overdue_deals"].sum() == 0
    for column in ("lag_share", "marketing_share", "mql_to_opportunity", "win_rate"):
        assert in_unit_interval(needed[column]), column
    for column in ("pipeline_required", "gap", "marketing_gap", "mqls_required"):
        assert nonnegative(needed[column]), column
    shares = needed["lag_share"]
    assert shares.null_count() == 4 or abs(shares.sum() - 1.0) < 1e-9

    # the interval holds the forecast, and never reaches below what is booked
    known = forecast.filter(pl.col("forecast_low").is_not_null())
    assert (known["forecast_low"] <= known["forecast"] + 1e-9).all()
    assert (known["forecast"] <= known["forecast_high"] + 1e-9).all()
    assert (known["forecast_low"] >= known["booked_to_date"] - 1e-9).all()
    # the weights of the estimates are shares; the forecast lies among the estimates weighed
    weights = ("pipeline_weight", "naive_weight", "curve_weight")
    for column in weights:
        assert in_unit_interval(forecast[column]), column
    made = forecast.filter(pl.col("forecast").is_not_null())
    sums = made.select(pl.sum_horizontal(weights)).to_series()
    assert bool(((sums - 1.0).abs() < 1e-9).all())
    if calibration == "seasonal" and made.height:
        estimates = ("pipeline_forecast", "naive_forecast", "curve_forecast")
        part = [
            pl.when(pl.col(w) > 0).then(pl.col(e)) for w, e in zip(weights, estimates, strict=True)
        ]
        bounds = made.select(
            "forecast", pl.min_horizontal(part).alias("lo"), pl.max_horizontal(part).alias("hi")
        )
        assert (bounds["lo"] <= bounds["forecast"] * (1 + 1e-9) + 1e-9).all()
        assert (bounds["forecast"] <= bounds["hi"] * (1 + 1e-9) + 1e-9).all()
        # last year's quarter is never weighed below what the quarter has booked
        naive = made.filter(pl.col("naive_forecast").is_not_null())
        assert (naive["naive_forecast"] >= naive["booked_to_date"] - 1e-9).all()
    # the open pipeline weighed is never more than the pipeline
    assert (forecast["open_expected"].fill_null(0) <= forecast["open_pipeline"] + 1e-9).all()
    # coverage and forecast agree on what is booked
    assert_frame_equal(
        coverage.select("quarter_index", pl.col("bookings_to_date").alias("booked")),
        forecast.select("quarter_index", pl.col("booked_to_date").alias("booked")),
    )


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(data=funnels(), as_of=AS_OF, offset=OFFSET, seed=st.integers(0, 2**16))
def test_row_order_does_not_matter(data, as_of, offset, seed) -> None:
    def shuffled(frame: pl.LazyFrame, salt: int) -> pl.LazyFrame:
        return frame.collect().sample(fraction=1.0, shuffle=True, seed=seed + salt).lazy()

    mixed = FunnelData(
        leads=shuffled(data.leads, 1),
        opportunities=shuffled(data.opportunities, 2),
        stage_history=shuffled(data.stage_history, 3),
        targets=shuffled(data.targets, 4),
        calendar=data.calendar,
        source="hypothesis",
        has_stage_history=True,
    )
    for got, want in zip(compute(mixed, as_of, offset), compute(data, as_of, offset), strict=True):
        assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(as_of=AS_OF, offset=OFFSET, calendar=st.sampled_from(CALENDARS))
def test_empty_input(as_of, offset, calendar) -> None:
    empty = FunnelData(
        leads=table([], LEADS.polars_schema),
        opportunities=table([], OPPORTUNITIES.polars_schema),
        stage_history=table([], STAGE_HISTORY.polars_schema),
        targets=table([], TARGETS.polars_schema),
        calendar=calendar,
        source="hypothesis",
        has_stage_history=True,
    )
    probs, coverage, forecast, needed, in_quarter = compute(empty, as_of, offset)
    assert probs.height == 0 and in_quarter.height == 0
    assert coverage.height == 3 and coverage["open_pipeline"].sum() == 0
    assert forecast.height == 3 and forecast["booked_to_date"].sum() == 0
    assert needed.height == 4 and needed["pipeline_required"].is_null().all()


DAY = 24 * 60


@st.composite
def slipping_funnels(draw: st.DrawFn) -> FunnelData:
    """Deals created in one year, each with 1-4 history rows whose expected dates move."""
    calendar = draw(st.sampled_from(CALENDARS))
    deals, history = [], []
    for i in range(draw(st.integers(1, 24))):
        oid = f"O{i}"
        created = draw(st.integers(0, 365 * DAY))
        changes = sorted(draw(st.lists(st.integers(0, 150 * DAY), min_size=1, max_size=4)))
        amount = draw(st.one_of(st.none(), st.integers(1, 50).map(lambda a: a * 100.0)))
        for offset in [0, *changes[1:]]:
            history.append(
                {
                    "opportunity_id": oid,
                    "changed_at": instant(created + offset),
                    "stage": draw(st.sampled_from(STAGES)),
                    "amount": amount,
                    "expected_close_date": instant(
                        created + offset + draw(st.integers(0, 120 * DAY))
                    ).date(),
                }
            )
        status = draw(st.sampled_from(["won", "lost", "open"]))
        closed_at = (
            None
            if status == "open"
            else instant(created + changes[-1] + draw(st.integers(1, 120 * DAY)))
        )
        if closed_at is not None:
            history.append(
                {
                    "opportunity_id": oid,
                    "changed_at": closed_at,
                    "stage": "Closed Won" if status == "won" else "Closed Lost",
                    "amount": amount if amount is not None else 0.0,
                    "expected_close_date": closed_at.date(),
                }
            )
        deals.append(
            {
                "opportunity_id": oid,
                "created_at": instant(created),
                "source": "sales",
                "amount": amount if closed_at is None or amount is not None else 0.0,
                "stage": history[-1]["stage"],
                "expected_close_date": history[-1]["expected_close_date"],
                "closed_at": closed_at,
                "outcome": None if status == "open" else status,
            }
        )
    return FunnelData(
        leads=table([], LEADS.polars_schema),
        opportunities=table(deals, OPPORTUNITIES.polars_schema),
        stage_history=table(history, STAGE_HISTORY.polars_schema),
        targets=table([], TARGETS.polars_schema),
        calendar=calendar,
        source="hypothesis",
        has_stage_history=True,
    )


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(
    data=slipping_funnels(),
    as_of=st.integers(150 * DAY, 500 * DAY).map(instant),
    elapsed=st.sampled_from([0.0, 0.37]),
)
def test_in_quarter_rates_match_the_tables_seen_at_each_snapshot(data, as_of, elapsed) -> None:
    """An oracle: cut the tables at each calibration quarter's snapshot with ``FunnelData.at``.

    The deals open then (with a history row by then) whose expected close date
    is in the quarter (or, for ``overdue=True``, before it), by stage; won = won
    before the next quarter began. Also: the raw tables and the tables seen at
    ``as_of`` give the same rates (later events are never looked at).
    """
    calendar = data.calendar
    seen = data.at(as_of)
    current = calendar.quarter_of(calendar.local_date(as_of + dt.timedelta(microseconds=1)))
    tz = zoneinfo.ZoneInfo(calendar.timezone)
    closes = data.opportunities.select("opportunity_id", "closed_at", "outcome").collect()
    parts = []
    for back in (2, 1):
        quarter = current.shift(-back)
        start, end = (
            dt.datetime.combine(calendar.quarter_start(q), dt.time(), tzinfo=tz).astimezone(dt.UTC)
            for q in (quarter, quarter.shift(1))
        )
        then = data.at(start + (end - start) * elapsed - dt.timedelta(microseconds=1))
        recorded = then.stage_history.select("opportunity_id").unique().collect()
        index = FiscalCalendar.quarter_index(quarter)
        parts.append(
            then.opportunities.filter(pl.col("closed_at").is_null())
            .collect()
            .join(recorded, on="opportunity_id", how="semi")
            .join(closes, on="opportunity_id", suffix="_final")
            .select(
                "stage",
                pl.col("expected_close_date")
                .map_elements(
                    lambda day: FiscalCalendar.quarter_index(calendar.quarter_of(day)),
                    return_dtype=pl.Int64,
                )
                .sub(index)
                .alias("offset"),
                (
                    (pl.col("outcome_final") == "won")
                    & (pl.col("closed_at_final") < end)
                    & (pl.col("closed_at_final") <= as_of)
                )
                .fill_null(False)
                .alias("won"),
                pl.col("amount").fill_null(0.0),
            )
        )
    expected = pl.concat(parts)
    for overdue in (False, True):
        kw = {"calendar": calendar, "as_of": as_of, "quarters": 2, "overdue": overdue}
        got = in_quarter_win_probabilities(
            seen.opportunities, seen.stage_history, elapsed=elapsed, **kw
        ).collect()
        raw = in_quarter_win_probabilities(
            data.opportunities, data.stage_history, elapsed=elapsed, **kw
        ).collect()
        assert_frame_equal(got, raw)
        oracle = (
            expected.filter(pl.col("offset") < 0 if overdue else pl.col("offset") == 0)
            .group_by("stage")
            .agg(
                pl.len().cast(pl.Int64).alias("deals"),
                pl.col("won").sum().cast(pl.Int64).alias("won_in_quarter"),
                pl.col("amount").sum(),
                pl.col("amount").filter("won").sum().alias("won_amount"),
            )
            .sort("stage")
        )
        assert_frame_equal(
            got.select(oracle.columns), oracle, check_exact=False, rel_tol=1e-9, abs_tol=1e-6
        )
