"""The one ``by=`` check (alignment_lib/metrics/_by.py): canonical groupings and dimensions.

The leads are tests/metrics/test_handoff.py's table with a dimension ``lead_type``
added: H1-H3 "Inbound", H4-H6 "Event", H7-H10 without one. Worked by hand from that
module's table: Q1 MQLs are H1-H6, so Inbound 3 (accepted H1 H3 = 2, rejected H2 = 1) and
Event 3 (accepted 0, rejected H6 = 1, leaked H4 = 1 never touched and H5 = 1 stalled: touched,
undecided 35 days later, past the 30-day fallback of that table); Q2 MQLs H7-H9 have
no lead type: 3 MQLs in the null group (leaked H8 = 1, pending H7 H9), Inbound and Event 0;
the null group has no Q1 MQL (H10 never became one).
"""

from __future__ import annotations

import polars as pl
import pytest

from alignment_lib import ParameterError
from alignment_lib.metrics import (
    bookings_linearity,
    funnel_cohort,
    mql_outcomes,
    rejection_reasons,
    response_times,
    sales_cycle,
    win_rates,
)
from tests.metrics.test_handoff import AS_OF, KW, LEADS_LF
from tests.metrics.test_pipeline import BY_PRODUCT, DEALS

TYPES = {"H1": "Inbound", "H2": "Inbound", "H3": "Inbound", "H4": "Event", "H5": "Event"}
TYPES |= {"H6": "Event"}
LEADS = LEADS_LF.with_columns(
    pl.col("lead_id").replace_strict(TYPES, default=None, return_dtype=pl.String).alias("lead_type")
)


def test_lead_metrics_split_by_a_dimension() -> None:
    got = mql_outcomes(LEADS, **KW, as_of=AS_OF, by=["lead_type"]).collect()
    cells = got.select("fiscal_quarter", "lead_type", "mqls", "accepted", "rejected", "leaked")
    assert cells.rows() == [
        ("FY2026-Q1", None, 0, 0, 0, 0),
        ("FY2026-Q1", "Event", 3, 0, 1, 2),
        ("FY2026-Q1", "Inbound", 3, 2, 1, 0),
        ("FY2026-Q2", None, 3, 0, 0, 1),
        ("FY2026-Q2", "Event", 0, 0, 0, 0),
        ("FY2026-Q2", "Inbound", 0, 0, 0, 0),
    ]
    for metric in (response_times, rejection_reasons):
        kw = {"as_of": AS_OF} if metric is response_times else {}
        assert "lead_type" in metric(LEADS, **KW, **kw, by=["lead_type"]).collect().columns
    opps = DEALS.with_columns(pl.lit(None, dtype=pl.String).alias("lead_id"))
    cohort = funnel_cohort(LEADS, opps, **KW, as_of=AS_OF, by=["lead_type"]).collect()
    assert set(cohort["lead_type"].to_list()) == {None, "Event", "Inbound"}


def test_deal_metrics_split_by_a_dimension() -> None:
    for metric in (win_rates, sales_cycle, bookings_linearity):
        got = metric(BY_PRODUCT, **KW, by=["product"]).collect()
        assert "product" in got.columns, metric.__name__


def test_a_lead_metric_refuses_a_canonical_column_it_cannot_split_by() -> None:
    with pytest.raises(ParameterError) as caught:
        mql_outcomes(LEADS, **KW, as_of=AS_OF, by=["mql_at"])
    message = str(caught.value)
    assert "'mql_at'" in message and "channel, campaign, segment, region, owner_id" in message
    assert "dimensions of this data: lead_type" in message


def test_an_unknown_column_names_the_dimensions_there_are() -> None:
    with pytest.raises(ParameterError, match=r"'product': not a column.*dimensions.*lead_type"):
        mql_outcomes(LEADS, **KW, as_of=AS_OF, by=["product"])
    with pytest.raises(ParameterError, match=r"'lead_type': not a column.*dimensions.*product"):
        win_rates(BY_PRODUCT, **KW, by=["lead_type"])


@pytest.mark.parametrize("by", [["lead_type", "lead_type"], [1], "lead_type,channel"])
def test_malformed_by_is_a_parameter_error(by: object) -> None:
    with pytest.raises(ParameterError):
        mql_outcomes(LEADS, **KW, as_of=AS_OF, by=by)  # type: ignore[arg-type]
