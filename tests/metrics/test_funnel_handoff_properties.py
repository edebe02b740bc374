"""Property tests of the funnel and handoff metrics on generated lead tables.

Generated leads have every stage timestamp independently present or missing (so stages are
skipped and sometimes out of order, as in real CRM exports), whole-minute instants (so SLA
boundaries are hit exactly), null channels and owners, and linked opportunities that are
open, won or lost. Properties: rates within [0, 1]; parts sum to totals; results do not
depend on row order; empty input works; moving the as-of earlier (``FunnelData.at``) never
increases what has been reached, accepted or touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData
from alignment_lib.metrics.funnel import funnel_cohort, funnel_period, stage_durations
from alignment_lib.metrics.handoff import mql_outcomes, rejection_reasons, response_times
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

FIRST, LAST = FiscalQuarter(2025, 4), FiscalQuarter(2026, 3)
START = dt.datetime(2025, 9, 20, tzinfo=dt.UTC)
DAY = 1440  # minutes
CALENDARS = [
    FiscalCalendar(1, "UTC"),
    FiscalCalendar(2, "Europe/Berlin"),
    FiscalCalendar(1, "America/New_York"),
]
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def maybe(offset: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.none() | offset


@st.composite
def lead_rows(draw: st.DrawFn, index: int) -> tuple[dict, dict | None]:
    created = draw(st.integers(0, 300 * DAY))
    minutes = st.integers(0, 40 * DAY)
    mql = draw(maybe(minutes))
    touch = draw(maybe(st.sampled_from([0, 60, 24 * 60, 24 * 60 + 1, 3 * DAY]) | minutes))
    decision = draw(st.sampled_from(["none", "accepted", "rejected"]))
    decided = draw(minutes)
    sql = draw(maybe(minutes))
    lead = {
        "lead_id": f"L{index}",
        "created_at": at(created),
        "channel": draw(st.sampled_from(["Webinar", "Events", "webinar", None])),
        "owner_id": draw(st.sampled_from(["r1", "r2", None])),
        "mql_at": None if mql is None else at(created + mql),
        "first_touch_at": None if touch is None or mql is None else at(created + mql + touch),
        "sql_at": None if sql is None else at(created + sql),
    }
    if decision != "none":
        lead[f"{decision}_at"] = at(created + decided)
    if decision == "rejected":
        lead["rejection_reason"] = draw(st.sampled_from(["Not a fit", "Duplicate", None]))
    opp = None
    if draw(st.booleans()):
        opened = created + draw(minutes)
        outcome = draw(st.sampled_from([None, "won", "lost"]))
        opp = {
            "opportunity_id": f"O{index}",
            "created_at": at(opened),
            "source": "marketing",
            "stage": outcome or "Discovery",
            "amount": 1.0,
            "outcome": outcome,
            "closed_at": None if outcome is None else at(opened + draw(st.integers(0, 200 * DAY))),
        }
        lead["opportunity_id"] = opp["opportunity_id"]
    return lead, opp


@st.composite
def funnels(draw: st.DrawFn) -> FunnelData:
    n = draw(st.integers(0, 20))
    pairs = [draw(lead_rows(i)) for i in range(n)]
    return make_data(
        [lead for lead, _ in pairs],
        [opp for _, opp in pairs if opp is not None],
        draw(st.sampled_from(CALENDARS)),
    )


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in table.column_names} for r in rows], schema=table.polars_schema
    ).lazy()


def make_data(leads: list[dict], opps: list[dict], calendar: FiscalCalendar) -> FunnelData:
    return FunnelData(
        leads=frame(LEADS, leads),
        opportunities=frame(OPPORTUNITIES, opps),
        stage_history=frame(STAGE_HISTORY, []),
        targets=frame(TARGETS, []),
        calendar=calendar,
        source="generated",
        has_stage_history=False,
    )


AS_OF = st.integers(10 * DAY, 420 * DAY).map(at)


def metrics(
    data: FunnelData, as_of: dt.datetime, by: list[str], only: Iterable[str] | None = None
) -> dict[str, pl.DataFrame]:
    """Every metric of the two modules (or ``only`` those) on ``data`` seen at ``as_of``."""
    kw = {"calendar": data.calendar, "first": FIRST, "last": LAST, "by": by}
    lo, op = (f.lazy() for f in pl.collect_all([data.leads, data.opportunities]))
    frames = {
        "cohort": funnel_cohort(lo, op, **kw, as_of=as_of),
        "cohort_in_order": funnel_cohort(lo, op, **kw, as_of=as_of, mode="in_order"),
        "cohort_within": funnel_cohort(lo, op, **kw, as_of=as_of, within_days=5),
        "period": funnel_period(lo, op, **kw),
        "durations": stage_durations(lo, op, **kw),
        "outcomes": mql_outcomes(lo, **kw, as_of=as_of, channel_sla_hours={"Events": 4}),
        "outcomes_week": mql_outcomes(lo, **kw, as_of=as_of, period="week"),
        "reasons": rejection_reasons(lo, **kw),
        "response": response_times(lo, **kw, as_of=as_of, channel_sla_hours={"Events": 4}),
        "response_week": response_times(lo, **kw, as_of=as_of, period="week"),
    }
    if only is not None:
        frames = {name: frames[name] for name in only}
    collected = pl.collect_all(list(frames.values()))
    return dict(zip(frames, collected, strict=True))


def between_0_and_1(series: pl.Series) -> bool:
    return bool(series.drop_nulls().is_between(0.0, 1.0).all())


BY = st.sampled_from([[], ["channel"], ["owner_id", "channel"]])


def shuffled(seen: FunnelData, seed: int) -> FunnelData:
    leads, opps = pl.collect_all([seen.leads, seen.opportunities])
    return replace(
        seen,
        leads=leads.sample(fraction=1.0, shuffle=True, seed=seed).lazy(),
        opportunities=opps.sample(fraction=1.0, shuffle=True, seed=seed + 1).lazy(),
    )


#: the metrics re-run on shuffled rows (one of each function, to keep the test fast)
SHUFFLED = ("cohort_in_order", "period", "durations", "outcomes_week", "reasons", "response")


@pytest.mark.slow
@PROPERTY
@given(data=funnels(), as_of=AS_OF, by=BY, seed=st.integers(0, 2**16))
def test_rates_parts_and_row_order(data, as_of, by, seed) -> None:
    seen = data.at(as_of)
    m = metrics(seen, seen.as_of, by)

    # results do not depend on row order
    again = metrics(shuffled(seen, seed), seen.as_of, by, only=SHUFFLED)
    for name in SHUFFLED:
        assert_frame_equal(m[name], again[name], check_exact=False, rel_tol=1e-12)

    # rates within [0, 1]; parts sum to totals
    for name in ("cohort", "cohort_in_order", "cohort_within"):
        c = m[name]
        assert between_0_and_1(c["conversion"])
        assert (c["reached"] <= c["entered"]).all()
        assert (c["conversion"].is_null() == (c["entered"] == 0)).all()
    assert (m["period"]["flow_ratio"].drop_nulls() >= 0).all()  # a ratio of flows may pass 1
    d = m["durations"]
    assert (d["median_days"] <= d["p90_days"] + 1e-9).all()
    for name in ("outcomes", "outcomes_week"):
        o = m[name]
        parts = o["accepted"] + o["rejected"] + o["pending"] + o["leaked"]
        assert (parts == o["mqls"]).all()
        assert (o["leaked_untouched"] + o["leaked_stalled"] == o["leaked"]).all()
        for r in ("acceptance_rate", "rejection_rate", "pending_rate", "leaked_rate"):
            assert between_0_and_1(o[r])
        assert o["mqls"].sum() == m["outcomes"]["mqls"].sum()  # weeks add up to quarters
    for name in ("response", "response_week"):
        r = m[name]
        assert between_0_and_1(r["sla_compliance"])
        assert (r["within_sla"] <= r["touched"]).all()
        assert (r["touched"] <= r["mqls_due"]).all()
        assert (r["mqls_due"] <= r["mqls"]).all()
    # the response and outcome views count the same MQLs; MQLs leaked untouched are due and
    # missed (stalled ones were touched, in time or not)
    assert m["response"]["mqls"].to_list() == m["outcomes"]["mqls"].to_list()
    missed = m["response"]["mqls_due"] - m["response"]["within_sla"]
    assert (m["outcomes"]["leaked_untouched"] <= missed).all()
    reasons = m["reasons"]
    assert between_0_and_1(reasons["share"])
    shares = reasons.group_by("quarter_index", *by).agg(pl.col("share").sum(), pl.len())
    assert shares.filter(pl.col("share") > 0)["share"].is_between(1 - 1e-9, 1 + 1e-9).all()


@pytest.mark.slow
@PROPERTY
@given(data=funnels(), early=AS_OF, later=AS_OF, by=BY)
def test_an_earlier_as_of_never_reaches_accepts_or_touches_more(data, early, later, by) -> None:
    early, later = min(early, later), max(early, later)
    late_view = data.at(later)
    early_view = late_view.at(early)
    checks = {
        "cohort": ["entered", "reached"],
        "cohort_in_order": ["entered", "reached"],
        "period": ["entering"],
        "outcomes": ["mqls", "accepted", "rejected"],
        "response": ["mqls", "touched"],
        "response_week": ["touched"],
    }
    keys = {
        "cohort": ["quarter_index", "step"],
        "cohort_in_order": ["quarter_index", "step"],
        "period": ["quarter_index", "stage_order"],
        "outcomes": ["quarter_index"],
        "response": ["quarter_index"],
        "response_week": ["week_start"],
    }
    a = metrics(early_view, early_view.as_of, by, only=checks)
    b = metrics(late_view, late_view.as_of, by, only=checks)
    for name, columns in checks.items():
        on = [*keys[name], *by]
        # the early view can lack a by value (a lead not yet created): compare common rows
        joined = a[name].join(b[name], on=on, how="inner", nulls_equal=True, suffix="_later")
        for col in columns:
            assert (joined[col] <= joined[f"{col}_later"]).all(), (name, col)
        # summed over the keys, the early view never shows more either
        for col in columns:
            assert a[name][col].sum() <= b[name][col].sum(), (name, col)


EMPTY = make_data([], [], CALENDARS[0])


@pytest.mark.parametrize("by", [[], ["channel"], ["region", "owner_id"]])
def test_empty_input_is_handled(by: list[str]) -> None:
    as_of = at(100 * DAY)
    got = metrics(EMPTY, as_of, by)
    for name, frame_ in got.items():
        if by or name == "reasons":
            assert frame_.height == 0, name
        else:
            assert frame_.height > 0, name
    if not by:
        assert got["cohort"]["entered"].sum() == 0
        assert got["outcomes"]["mqls"].sum() == 0
        assert got["response"]["sla_compliance"].null_count() == got["response"].height
