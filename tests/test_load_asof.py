"""As-of: events after the as-of instant are invisible."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, ParameterError, load_funnel, parse_as_of
from tests.conftest import lead, opp


@pytest.fixture
def data(make_data):
    leads = [
        lead(
            lead_id="L1",
            created_at="2026-01-05T09:00:00Z",
            mql_at="2026-01-06T09:00:00Z",
            rejected_at="2026-04-02T09:00:00Z",
            rejection_reason="Not a fit",
            opportunity_id="O2",
        ),
        lead(lead_id="L2", created_at="2026-04-05T09:00:00Z"),
    ]
    opps = [
        opp(
            opportunity_id="O1",
            created_at="2026-01-10T09:00:00Z",
            amount="100",
            closed_at="2026-04-10T09:00:00Z",
            outcome="won",
            stage="Closed Won",
        ),
        opp(opportunity_id="O2", created_at="2026-04-10T09:00:00Z", amount="50"),
    ]
    return load_funnel(make_data(leads=leads, opportunities=opps))


def test_as_of_hides_later_creations_closes_and_handoffs(data) -> None:
    past = data.at("2026-03-31")
    o = past.opportunities.collect()
    assert o["opportunity_id"].to_list() == ["O1"]
    assert o.select("closed_at", "outcome", "stage").row(0) == (None, None, "Open")
    ld = past.leads.collect()
    assert ld["lead_id"].to_list() == ["L1"]
    assert ld.select("rejected_at", "rejection_reason", "opportunity_id").row(0) == (
        None,
        None,
        None,
    )
    assert ld["mql_at"].to_list() == [dt.datetime(2026, 1, 6, 9, tzinfo=dt.UTC)]


def test_as_of_cannot_move_later_than_the_data(data) -> None:
    past = data.at("2026-03-31")
    with pytest.raises(ParameterError, match="later than"):
        past.at("2026-06-30")


def test_as_of_is_monotone(data) -> None:
    counts = [
        data.at(day).opportunities.select(pl.col("closed_at").count()).collect().item()
        for day in ("2026-01-01", "2026-03-31", "2026-04-10", "2026-12-31")
    ]
    assert counts == sorted(counts) == [0, 0, 1, 1]


def test_as_of_date_means_end_of_local_day() -> None:
    ny = FiscalCalendar(1, "America/New_York")
    assert parse_as_of("2026-09-30", ny) == dt.datetime(
        2026, 10, 1, 3, 59, 59, 999999, tzinfo=dt.UTC
    )
    with pytest.raises(ParameterError, match="2026-09-30"):
        parse_as_of("last tuesday", ny)


def test_where_filters_leads_opportunities_and_history(make_data) -> None:
    leads = [lead(lead_id="L1", segment="SMB"), lead(lead_id="L2", segment="Enterprise")]
    opps = [opp(opportunity_id="O1", segment="SMB"), opp(opportunity_id="O2", segment="Enterprise")]
    data = load_funnel(make_data(leads=leads, opportunities=opps))
    only = data.where(segment="Enterprise", region=None)
    assert only.leads.collect()["lead_id"].to_list() == ["L2"]
    assert only.opportunities.collect()["opportunity_id"].to_list() == ["O2"]
    assert data.where(segment="") is data
    with pytest.raises(ParameterError, match="not a column"):
        data.where(colour="blue")


def test_open_deal_is_rebuilt_from_stage_history_at_as_of(make_data) -> None:
    # Regression: a deal still open today (closed_at null) kept today's stage, amount
    # and expected close date at a past as-of instead of those recorded then.
    from alignment_lib.schema import STAGE_HISTORY
    from tests.conftest import write_table

    folder = make_data(
        opportunities=[
            opp(
                opportunity_id="O1",
                stage="Negotiation",
                amount="90",
                expected_close_date="2026-08-15",
            ),
        ]
    )
    write_table(
        folder,
        "stage_history",
        STAGE_HISTORY.column_names,
        [
            {
                "opportunity_id": "O1",
                "changed_at": "2026-01-10T09:00:00Z",
                "stage": "Discovery",
                "amount": "50",
                "expected_close_date": "2026-03-31",
            },
            {
                "opportunity_id": "O1",
                "changed_at": "2026-04-02T09:00:00Z",
                "stage": "Negotiation",
                "amount": "90",
                "expected_close_date": "2026-08-15",
            },
        ],
    )
    past = load_funnel(folder).at("2026-03-31").opportunities.collect()
    assert past.select("stage", "amount", "expected_close_date").row(0) == (
        "Discovery",
        50.0,
        dt.date(2026, 3, 31),
    )
    now = load_funnel(folder).opportunities.collect()
    assert now.select("stage", "amount").row(0) == ("Negotiation", 90.0)


def test_materialize_keeps_every_table_equal(data) -> None:
    from polars.testing import assert_frame_equal

    past = data.at("2026-03-31")
    ready = past.materialize()
    for name in ("leads", "opportunities", "stage_history", "targets"):
        assert_frame_equal(getattr(ready, name).collect(), getattr(past, name).collect())
    assert ready.as_of == past.as_of


def test_stage_history_without_amounts_keeps_the_deals_own(make_data) -> None:
    # A history of stages only (HubSpot's stage-entered dates): at a past as-of, an open
    # deal's stage is the one recorded then; its amount and expected close date are the
    # deal's own (the history does not record them), not empty.
    from tests.conftest import write_table

    folder = make_data(
        opportunities=[
            opp(
                opportunity_id="O1",
                stage="Negotiation",
                amount="90",
                expected_close_date="2026-08-15",
            )
        ]
    )
    write_table(
        folder,
        "stage_history",
        ["opportunity_id", "changed_at", "stage"],
        [
            {"opportunity_id": "O1", "changed_at": "2026-01-10T09:00:00Z", "stage": "Discovery"},
            {"opportunity_id": "O1", "changed_at": "2026-04-02T09:00:00Z", "stage": "Negotiation"},
        ],
    )
    past = load_funnel(folder).at("2026-03-31").opportunities.collect()
    assert past.select("stage", "amount", "expected_close_date").row(0) == (
        "Discovery",
        90.0,
        dt.date(2026, 8, 15),
    )
