"""The as-of cut as a pure function (alignment_lib.asof): the same tables as FunnelData.at.

``cut_at`` is what ``FunnelData.at`` does to the three event tables (issue 12 asks
``FunnelData.at`` to call it); here it is checked against ``FunnelData.at`` on the
sample at instants around quarter ends, with and without stage history, and
``uncut_rows`` counts by hand on a four-deal table:

    deal  created     closed               changes (stage history)
    A     2026-01-05  2026-02-01 (won)     2026-01-05, 2026-02-01
    B     2026-01-10  -                    2026-01-10, 2026-03-20
    C     2026-03-15  2026-04-02 (lost)    2026-03-15, 2026-04-02
    D     2026-04-10  -                    2026-04-10

As of 2026-03-31 23:59:59.999999: created later D (1); closed later C (1); changed
later C's 2026-04-02 row and D's row (2). As of 2026-04-30: nothing later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, cut_at, load_funnel
from alignment_lib.asof import cut_opportunities, uncut_rows
from alignment_lib.exceptions import ParameterError
from alignment_lib.schema import OPPORTUNITIES, STAGE_HISTORY
from tests.conftest import SAMPLE

UTC = dt.UTC


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def data():
    return load_funnel(SAMPLE, calendar=FiscalCalendar(1, "UTC")).materialize()


@pytest.mark.parametrize(
    "instant",
    ["2025-03-31T23:59:59.999999", "2025-08-15T12:00:00", "2026-06-30T23:59:59.999999"],
)
@pytest.mark.parametrize("history", [True, False])
def test_cut_at_equals_funnel_data_at(data, instant: str, history: bool) -> None:
    source = data if history else replace(data, has_stage_history=False)
    at = t(instant)
    seen = source.at(at)
    got = cut_at(
        source.leads,
        source.opportunities,
        source.stage_history,
        as_of=at,
        has_stage_history=history,
    )
    for name in ("leads", "opportunities", "stage_history"):
        want = getattr(seen, name).collect()
        assert_frame_equal(getattr(got, name).collect(), want, check_row_order=False)


def table(rows: list[dict], schema: dict) -> pl.LazyFrame:
    return pl.LazyFrame({c: [r.get(c) for r in rows] for c in schema}, schema=schema).with_columns(
        pl.col(c).cast(d) for c, d in schema.items()
    )


DEALS = table(
    [
        {
            "opportunity_id": "A",
            "created_at": t("2026-01-05T10:00"),
            "closed_at": t("2026-02-01T10:00"),
            "outcome": "won",
            "amount": 100.0,
            "stage": "Closed Won",
        },
        {
            "opportunity_id": "B",
            "created_at": t("2026-01-10T10:00"),
            "amount": 200.0,
            "stage": "Proposal",
        },
        {
            "opportunity_id": "C",
            "created_at": t("2026-03-15T10:00"),
            "closed_at": t("2026-04-02T10:00"),
            "outcome": "lost",
            "amount": 300.0,
            "stage": "Closed Lost",
        },
        {
            "opportunity_id": "D",
            "created_at": t("2026-04-10T10:00"),
            "amount": 400.0,
            "stage": "Discovery",
        },
    ],
    OPPORTUNITIES.polars_schema,
)
HISTORY = table(
    [
        {"opportunity_id": "A", "changed_at": t("2026-01-05T10:00"), "stage": "Proposal"},
        {"opportunity_id": "A", "changed_at": t("2026-02-01T10:00"), "stage": "Closed Won"},
        {"opportunity_id": "B", "changed_at": t("2026-01-10T10:00"), "stage": "Discovery"},
        {"opportunity_id": "B", "changed_at": t("2026-03-20T10:00"), "stage": "Proposal"},
        {
            "opportunity_id": "C",
            "changed_at": t("2026-03-15T10:00"),
            "stage": "Negotiation",
            "amount": 250.0,
        },
        {"opportunity_id": "C", "changed_at": t("2026-04-02T10:00"), "stage": "Closed Lost"},
        {"opportunity_id": "D", "changed_at": t("2026-04-10T10:00"), "stage": "Discovery"},
    ],
    STAGE_HISTORY.polars_schema,
)


def test_uncut_rows_by_hand() -> None:
    at = t("2026-03-31T23:59:59.999999")
    assert uncut_rows(DEALS, HISTORY, as_of=at).collect().row(0, named=True) == {
        "created_later": 1,
        "closed_later": 1,
        "changed_later": 2,
    }
    assert uncut_rows(DEALS, None, as_of=at).collect()["changed_later"].item() == 0
    later = t("2026-04-30T00:00")
    assert uncut_rows(DEALS, HISTORY, as_of=later).collect().row(0) == (0, 0, 0)
    # the cut tables hold nothing later, by construction
    opps, history = cut_opportunities(DEALS, HISTORY, as_of=at)
    assert uncut_rows(opps, history, as_of=at).collect().row(0) == (0, 0, 0)


def test_cut_opportunities_by_hand() -> None:
    opps, history = cut_opportunities(DEALS, HISTORY, as_of=t("2026-03-31T23:59:59.999999"))
    got = opps.sort("opportunity_id").collect()
    # D not created yet; C open again, with the stage and amount recorded on 2026-03-15;
    # B open, its amount as recorded (none on its history rows)
    assert got["opportunity_id"].to_list() == ["A", "B", "C"]
    assert got["stage"].to_list() == ["Closed Won", "Proposal", "Negotiation"]
    assert got["amount"].to_list() == [100.0, None, 250.0]
    assert got["outcome"].to_list() == ["won", None, None]
    assert history.collect().height == 5


def test_cut_needs_an_aware_instant() -> None:
    with pytest.raises(ParameterError, match="time-zone aware"):
        cut_opportunities(DEALS, HISTORY, as_of=dt.datetime(2026, 3, 31))
