"""Property tests of the deal, lag and cohort metrics on random small funnels.

Amounts are whole hundreds so that sums are exact whatever the row order.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import zoneinfo
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData, bookings
from alignment_lib.metrics.deals import closed_deal_stats, sales_cycle, sales_velocity, win_rates
from alignment_lib.metrics.lag import (
    _months_to_win,
    cohort_conversion_curve,
    creation_to_close_lag,
    mql_cohort_curve,
)
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

SETTINGS = settings(max_examples=50, deadline=None)
#: for the tests that compute every metric twice per example (keeps the file near 10 s)
HEAVY = settings(max_examples=30, deadline=None)
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN_MINUTES = 2 * 365 * 24 * 60
CALENDARS = [
    FiscalCalendar(1, "UTC"),
    FiscalCalendar(2, "America/New_York"),
    FiscalCalendar(7, "Asia/Kolkata"),
]
SEGMENTS = [None, "SMB", "Enterprise"]


def instant(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


@st.composite
def funnels(draw: st.DrawFn, max_deals: int = 20) -> FunnelData:
    """Random opportunities (won, lost, open) and MQLs linked to some of them."""
    deals = []
    for i in range(draw(st.integers(0, max_deals))):
        created = draw(st.integers(0, SPAN_MINUTES))
        status = draw(st.sampled_from(["won", "lost", "open"]))
        cycle = draw(st.one_of(st.just(0), st.integers(0, 60 * 24), st.integers(0, 500 * 24 * 60)))
        amount = draw(st.one_of(st.none(), st.integers(0, 2000).map(lambda a: a * 100.0)))
        if status == "won" and amount is None:
            amount = 0.0
        deals.append(
            {
                "opportunity_id": f"O{i}",
                "created_at": instant(created),
                "source": draw(st.sampled_from(["marketing", "sales", "partner"])),
                "amount": amount,
                "stage": status,
                "closed_at": None if status == "open" else instant(created + cycle),
                "outcome": None if status == "open" else status,
                "segment": draw(st.sampled_from(SEGMENTS)),
            }
        )
    leads = []
    for i in range(draw(st.integers(0, 12))):
        created = draw(st.integers(0, SPAN_MINUTES))
        mql = draw(st.one_of(st.none(), st.integers(0, 90 * 24 * 60)))
        opp = draw(st.one_of(st.none(), st.integers(0, max(len(deals) - 1, 0))))
        leads.append(
            {
                "lead_id": f"L{i}",
                "created_at": instant(created),
                "mql_at": None if mql is None else instant(created + mql),
                "opportunity_id": f"O{opp}" if opp is not None and deals else None,
                "channel": draw(st.sampled_from(["Webinar", "Paid Search"])),
            }
        )

    def table(rows: list[dict], schema: dict) -> pl.LazyFrame:
        return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()

    return FunnelData(
        leads=table(leads, LEADS.polars_schema),
        opportunities=table(deals, OPPORTUNITIES.polars_schema),
        stage_history=pl.LazyFrame(schema=STAGE_HISTORY.polars_schema),
        targets=pl.LazyFrame(schema=TARGETS.polars_schema),
        calendar=draw(st.sampled_from(CALENDARS)),
        source="hypothesis",
        has_stage_history=False,
    )


def quarters(data: FunnelData) -> dict:
    first = data.calendar.quarter_of(START.date()).shift(-1)
    return {"calendar": data.calendar, "first": first, "last": first.shift(11)}


def seen_at(data: FunnelData, as_of: dt.datetime) -> FunnelData:
    """``data.at(as_of)`` with its tables computed once (the metrics reuse them)."""
    cut = data.at(as_of)
    leads, opps = pl.collect_all([cut.leads, cut.opportunities])
    return replace(cut, leads=leads.lazy(), opportunities=opps.lazy())


def run(*frames: pl.LazyFrame) -> list[pl.DataFrame]:
    return pl.collect_all(list(frames))


def shuffled(frame: pl.LazyFrame, seed: int) -> pl.LazyFrame:
    return frame.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()


def in_unit_interval(series: pl.Series) -> bool:
    values = series.drop_nulls()
    return bool(((values >= 0) & (values <= 1 + 1e-12)).all())


AS_OF = st.integers(0, SPAN_MINUTES + 200 * 24 * 60).map(instant)


# -- rates and parts ------------------------------------------------------------------
@pytest.mark.slow
@SETTINGS
@given(data=funnels(), as_of=AS_OF)
def test_rates_are_between_0_and_1_and_counts_add_up(data: FunnelData, as_of) -> None:
    opps = data.opportunities
    kw = quarters(data)
    rates, by_segment, stats, cycle, velocity = run(
        win_rates(opps, **kw),
        win_rates(opps, **kw, by=("segment",)),
        closed_deal_stats(opps, as_of=as_of, by=("segment",)),
        sales_cycle(opps, **kw),
        sales_velocity(opps, calendar=data.calendar, as_of=as_of, by=("segment",)),
    )
    for frame in (rates, by_segment, stats):
        assert in_unit_interval(frame["win_rate_count"])
        assert in_unit_interval(frame["win_rate_amount"])
        assert (frame["avg_deal_size"].drop_nulls() >= 0).all()
    # the segments' rows add up to the all-deals rows (quarters without closes: zeros)
    parts = ["won", "lost", "won_amount", "lost_amount", "closed_without_amount"]
    for frame in (rates, by_segment, stats):
        assert (frame["closed_without_amount"] <= frame["won"] + frame["lost"]).all()
    summed = (
        rates.select("quarter_index")
        .join(
            by_segment.group_by("quarter_index").agg(pl.col(parts).sum()),
            on="quarter_index",
            how="left",
        )
        .fill_null(0)
    )
    assert_frame_equal(summed, rates.select(summed.columns), check_dtypes=False)
    assert cycle["won"].to_list() == rates["won"].to_list()
    assert (cycle["closed"] == rates["won"] + rates["lost"]).all()
    ordered = cycle.filter(pl.col("closed") > 0)
    assert (ordered["p90_days_closed"] >= ordered["median_days_closed"] - 1e-9).all()
    assert (ordered["median_days_closed"] >= 0).all()
    assert (velocity["velocity_per_day"].drop_nulls() >= 0).all()


@pytest.mark.slow
@SETTINGS
@given(data=funnels())
def test_lag_shares_sum_to_one_and_amounts_to_bookings(data: FunnelData) -> None:
    kw = quarters(data)
    lag = creation_to_close_lag(data.opportunities, **kw).collect()
    assert (
        lag.group_by("quarter_index").len()["len"].to_list()
        == [4] * lag["quarter_index"].n_unique()
    )
    per_quarter = lag.group_by("quarter_index").agg(
        pl.col("amount").sum(),
        pl.col("deals").sum(),
        pl.col("share").sum().alias("share_sum"),
        pl.col("share").null_count().alias("nulls"),
    )
    booked = (
        bookings(data.opportunities, **kw)
        .group_by("quarter_index")
        .agg(pl.col("amount").sum().alias("booked"), pl.col("deals").sum().alias("booked_deals"))
        .collect()
    )
    both = per_quarter.join(booked, on="quarter_index")
    assert both.height == per_quarter.height
    assert (both["amount"] == both["booked"]).all()
    assert (both["deals"] == both["booked_deals"]).all()
    with_bookings = both.filter(pl.col("booked") > 0)
    assert ((with_bookings["share_sum"] - 1).abs() < 1e-9).all()
    assert (with_bookings["nulls"] == 0).all()
    assert (both.filter(pl.col("booked") == 0)["nulls"] == 4).all()
    assert in_unit_interval(lag["share"])


def check_curve(result: pl.DataFrame, keys: list[str], max_months: int) -> None:
    assert in_unit_interval(result["share"])
    assert (result["won_cumulative"] <= result["cohort_size"]).all()
    steps = result.with_columns(
        pl.col("won_cumulative").diff().over(keys, order_by="months_since_creation").alias("d"),
        pl.col("observed")
        .cast(pl.Int8)
        .diff()
        .over(keys, order_by="months_since_creation")
        .alias("o"),
    )
    assert (steps["d"].drop_nulls() >= 0).all()  # cumulative: never down
    assert (steps["o"].drop_nulls() <= 0).all()  # observed months form a prefix
    # one maturity for every cohort; mature exactly when the point at maturity_months is
    # observed (past max_months: every point observed, at least)
    assert result["maturity_months"].n_unique() <= 1
    assert (result["maturity_months"] >= 0).all()
    at = result.filter(
        pl.col("months_since_creation") == pl.min_horizontal("maturity_months", max_months)
    )
    assert (at["observed"] | ~at["mature"]).all()
    inside = at.filter(pl.col("maturity_months") <= max_months)
    assert (inside["observed"] == inside["mature"]).all()
    assert result.height == result.select(keys).n_unique() * (max_months + 1)


@pytest.mark.slow
@SETTINGS
@given(data=funnels(), as_of=AS_OF, max_months=st.integers(0, 15))
def test_cumulative_curves_never_go_down(data: FunnelData, as_of, max_months: int) -> None:
    kw = {**quarters(data), "as_of": as_of, "max_months": max_months}
    by_amount, by_count, mql = run(
        *(
            cohort_conversion_curve(data.opportunities, **kw, measure=m, by=("source",))
            for m in ("amount", "count")
        ),
        mql_cohort_curve(data.leads, data.opportunities, **kw),
    )
    check_curve(by_amount, ["quarter_index", "source"], max_months)
    check_curve(by_count, ["quarter_index", "source"], max_months)
    check_curve(mql, ["quarter_index"], max_months)


# -- order, emptiness ----------------------------------------------------------------
@pytest.mark.slow
@HEAVY
@given(data=funnels(), seed=st.integers(0, 1000), as_of=AS_OF)
def test_row_order_does_not_matter(data: FunnelData, seed: int, as_of) -> None:
    opps, mixed = data.opportunities, shuffled(data.opportunities, seed)
    leads, mixed_leads = data.leads, shuffled(data.leads, seed)
    kw = quarters(data)
    seg = {"by": ("segment",)}
    pairs = [
        (metric(mixed, **kw, **seg), metric(opps, **kw, **seg))
        for metric in (win_rates, sales_cycle, creation_to_close_lag)
    ]
    pairs.append(
        (
            closed_deal_stats(mixed, as_of=as_of, **seg),
            closed_deal_stats(opps, as_of=as_of, **seg),
        )
    )
    history, mixed_history = data.stage_history, shuffled(data.stage_history, seed)
    pairs.append(
        (
            sales_velocity(
                mixed, calendar=data.calendar, as_of=as_of, stage_history=mixed_history, **seg
            ),
            sales_velocity(opps, calendar=data.calendar, as_of=as_of, stage_history=history, **seg),
        )
    )
    pairs.append(
        (
            cohort_conversion_curve(mixed, **kw, as_of=as_of, max_months=6),
            cohort_conversion_curve(opps, **kw, as_of=as_of, max_months=6),
        )
    )
    pairs.append(
        (
            mql_cohort_curve(mixed_leads, mixed, **kw, as_of=as_of),
            mql_cohort_curve(leads, opps, **kw, as_of=as_of),
        )
    )
    results = run(*(frame for pair in pairs for frame in pair))
    for left, right in zip(results[::2], results[1::2], strict=True):
        assert_frame_equal(left, right)


def test_empty_input() -> None:
    opps = pl.LazyFrame(schema=OPPORTUNITIES.polars_schema)
    leads = pl.LazyFrame(schema=LEADS.polars_schema)
    kw = {"calendar": CALENDARS[0], "first": FiscalQuarter(2026, 1), "last": FiscalQuarter(2026, 2)}
    at = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
    assert win_rates(opps, **kw).collect().height == 2
    assert sales_cycle(opps, **kw).collect()["median_days_won"].null_count() == 2
    assert creation_to_close_lag(opps, **kw).collect().height == 8
    assert closed_deal_stats(opps, as_of=at).collect().row(0)[:4] == (0, 0, 0.0, 0.0)
    velocity = sales_velocity(opps, calendar=CALENDARS[0], as_of=at)
    assert velocity.collect()["open_deals"].to_list() == [0]
    assert cohort_conversion_curve(opps, **kw, as_of=at, max_months=2).collect().height == 6
    assert mql_cohort_curve(leads, opps, **kw, as_of=at, max_months=2).collect().height == 6
    for metric in (win_rates, sales_cycle, creation_to_close_lag):
        assert metric(opps, **kw, by=("segment",)).collect().height == 0
    assert closed_deal_stats(opps, as_of=at, by=("segment",)).collect().height == 0


# -- as of -----------------------------------------------------------------------------
def quarter_end(data: FunnelData, index: int) -> dt.datetime:
    return data.calendar.quarter_end_instant(FiscalCalendar.quarter_from_index(index))


@pytest.mark.slow
@HEAVY
@given(data=funnels(), a=AS_OF, b=AS_OF)
def test_a_later_as_of_leaves_finished_quarters_and_observed_points_alone(
    data: FunnelData, a, b
) -> None:
    early, late = sorted((a, b))
    then, now = seen_at(data, early), seen_at(data, late)
    kw = quarters(data)
    quarterly = (win_rates, sales_cycle, creation_to_close_lag)
    curves = (
        lambda d, t: cohort_conversion_curve(d.opportunities, **kw, as_of=t, measure="count"),
        lambda d, t: cohort_conversion_curve(d.opportunities, **kw, as_of=t),
        lambda d, t: mql_cohort_curve(d.leads, d.opportunities, **kw, as_of=t),
    )
    results = run(
        *(metric(d.opportunities, **kw) for metric in quarterly for d in (then, now)),
        *(build(d, t) for build in curves for d, t in ((then, early), (now, late))),
    )
    pairs = list(zip(results[::2], results[1::2], strict=True))
    for old, new in pairs[: len(quarterly)]:
        # a quarter that had ended by the earlier date is final
        done = [i for i in old["quarter_index"].unique() if quarter_end(data, i) <= early]
        assert_frame_equal(
            old.filter(pl.col("quarter_index").is_in(done)),
            new.filter(pl.col("quarter_index").is_in(done)),
        )
    old_rates, new_rates = pairs[0]
    assert (old_rates["won"] + old_rates["lost"]).sum() <= (
        new_rates["won"] + new_rates["lost"]
    ).sum()
    for old, new in pairs[len(quarterly) :]:
        # a point observed at the earlier date is final; later dates only add wins
        assert_frame_equal(
            # maturity moves with the wins known (both dates' wins set the p90)
            old.filter("observed").drop("mature", "maturity_months"),
            new.filter(old["observed"]).drop("mature", "maturity_months"),
        )
        assert (new["won_cumulative"] >= old["won_cumulative"]).all()
        assert (new["observed"].cast(pl.Int8) >= old["observed"].cast(pl.Int8)).all()


@pytest.mark.slow
@HEAVY
@given(data=funnels(), as_of=AS_OF)
def test_as_of_inside_the_metric_agrees_with_funnel_data_at(data: FunnelData, as_of) -> None:
    seen = seen_at(data, as_of)
    kw = {**quarters(data), "as_of": as_of}
    seg = {"by": ("segment",)}
    # (not sales_velocity: it reads an open deal's stage and expected close date, which only
    # the as-of cut rebuilds from stage history; it takes the tables as seen at as_of)
    results = run(
        *(closed_deal_stats(d.opportunities, as_of=as_of, **seg) for d in (data, seen)),
        *(cohort_conversion_curve(d.opportunities, **kw) for d in (data, seen)),
        *(mql_cohort_curve(d.leads, d.opportunities, **kw) for d in (data, seen)),
    )
    for raw, cut in zip(results[::2], results[1::2], strict=True):
        assert_frame_equal(raw, cut)


@pytest.mark.slow
@SETTINGS
@given(data=funnels())
def test_a_segment_group_equals_the_filtered_data(data: FunnelData) -> None:
    kw = quarters(data)
    segments = ("SMB", "Enterprise")
    metrics = (win_rates, creation_to_close_lag)
    results = run(
        *(metric(data.opportunities, **kw, by=("segment",)) for metric in metrics),
        *(
            metric(data.where(segment=segment).opportunities, **kw)
            for metric in metrics
            for segment in segments
        ),
    )
    grouped, alone = results[: len(metrics)], iter(results[len(metrics) :])
    for by_segment in grouped:
        for segment in segments:
            part = by_segment.filter(pl.col("segment") == segment).drop("segment")
            filtered = next(alone)
            if part.height:
                assert_frame_equal(part, filtered)


# -- months since creation ---------------------------------------------------------------
def add_months(day: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = pycalendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


@settings(max_examples=50, deadline=None)
@given(
    created=st.integers(0, SPAN_MINUTES),
    cycle=st.one_of(st.integers(0, 3 * 24 * 60), st.integers(0, 700 * 24 * 60)),
    zone=st.sampled_from(["UTC", "America/New_York", "Australia/Sydney"]),
)
def test_months_to_win_is_the_first_month_anniversary_on_or_after_the_win(
    created: int, cycle: int, zone: str
) -> None:
    start, won = instant(created), instant(created + cycle)
    tz = zoneinfo.ZoneInfo(zone)
    local_start = start.astimezone(tz).replace(tzinfo=None)
    local_won = won.astimezone(tz).replace(tzinfo=None)
    want = next(m for m in range(40) if local_won <= add_months(local_start, m))
    frame = pl.DataFrame(
        {"s": [start], "w": [won]},
        schema={"s": pl.Datetime("us", "UTC"), "w": pl.Datetime("us", "UTC")},
    )
    got = frame.select(_months_to_win(FiscalCalendar(1, zone), "s", "w")).item()
    assert got == want
