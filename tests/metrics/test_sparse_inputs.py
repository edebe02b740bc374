"""Every metric the workbooks call, on sparse and on empty data: no NaN, rates in 0..1.

Sparse: the sample filtered to Enterprise in LATAM (60 deals over three years, quarters and
channels with no MQL, no rejection or no win). Empty: the same tables with no rows. A rate
with a zero denominator must be null (docs/architecture.md), never NaN from 0/0 and never
a number.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import polars.selectors as cs
import pytest

import alignment_lib as al

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
#: rate-like columns (0..1) by name
RATE = r"^(.*_rate.*|.*share.*|conversion|sla_compliance|p_.*|win_rate.*)$"
#: named like rates but not shares: amounts per quarter, ratios of flows (can pass 1)
NOT_SHARES = {"creation_rate", "flow_ratio", "ratio_to_previous"}


def metric_set(wb: al.Workbook) -> dict[str, pl.DataFrame]:
    leads, opps, history, targets = (
        wb.data.leads,
        wb.data.opportunities,
        wb.data.stage_history,
        wb.data.targets,
    )
    span, timing = wb.span, {"as_of": wb.as_of, **wb.span}
    at = {"calendar": wb.calendar, "as_of": wb.as_of}
    sized = opps.with_columns(al.deal_size_band(pl.col("amount")))
    frames = {
        "pipeline_vs_bookings": al.pipeline_vs_bookings(opps, **span),
        "creation_to_close_lag": al.creation_to_close_lag(opps, **span),
        "cohort_conversion_curve": al.cohort_conversion_curve(
            opps, **span, as_of=wb.as_of, max_months=12
        ),
        "bookings_forecast": al.bookings_forecast(
            opps, history, targets, quarter=wb.quarter.shift(1), calibration="ever", **at
        ),
        "shared_scorecard": al.shared_scorecard(leads, opps, targets, quarter=wb.quarter, **at),
        "pipeline_coverage": al.pipeline_coverage(
            opps, targets, stage_history=history, quarter=wb.quarter.shift(1), quarters=2, **at
        ),
        "pipeline_needed": al.pipeline_needed(
            opps, leads, targets, quarter=wb.quarter.shift(2), **at
        ),
        "mql_outcomes": al.mql_outcomes(leads, **timing, by=["channel"]),
        "rejection_reasons": al.rejection_reasons(leads, **span, by=["channel"]),
        "response_times": al.response_times(leads, **timing, by=["owner_id"]),
        "weekly": al.response_times(leads, **timing, period="week"),
        "funnel_cohort": al.funnel_cohort(
            leads, opps, **span, as_of=wb.as_of, by=["channel", "segment"]
        ),
        "funnel_period": al.funnel_period(leads, opps, **span, by=["channel", "segment"]),
        "stage_durations": al.stage_durations(leads, opps, **span, by=["channel"]),
        "bookings_linearity": al.bookings_linearity(opps, **span),
        "bookings_by_week": al.bookings_by_week(opps, **span),
        "seasonality": al.seasonality(opps, leads, **span),
        "sales_cycle": al.sales_cycle(sized, **span, by=("deal_size_band",)),
        "slipped_deals": al.slipped_deals(opps, history, **span),
    }
    return {name: frame.collect() for name, frame in frames.items()}


@pytest.fixture(scope="module")
def sparse() -> al.Workbook:
    return al.open_workbook(
        quarter="FY2026-Q3", data_dir=str(SAMPLE), segment="Enterprise", region="LATAM"
    )


def check(frames: dict[str, pl.DataFrame]) -> None:
    for name, frame in frames.items():
        floats = frame.select(cs.float())
        nans = {
            c: int(floats[c].is_nan().sum()) for c in floats.columns if floats[c].is_nan().any()
        }
        assert not nans, f"{name}: NaN in {nans}"
        rates = frame.select(cs.float() & cs.matches(RATE))
        for c in set(rates.columns) - NOT_SHARES:
            values = rates[c].drop_nulls()
            assert ((values >= 0) & (values <= 1 + 1e-9)).all(), f"{name}.{c} outside 0..1"


def test_sparse_filter_gives_no_nan(sparse: al.Workbook) -> None:
    frames = metric_set(sparse)
    check(frames)
    # the four outcomes still add up to the MQLs in a sparse quarter
    q3 = frames["mql_outcomes"].filter(pl.col("fiscal_quarter") == "FY2026-Q3")
    assert (
        q3["mqls"].sum()
        == q3.select(pl.sum_horizontal("accepted", "rejected", "pending", "leaked").sum()).item()
    )


def test_empty_tables_give_nulls_not_nan(sparse: al.Workbook) -> None:
    data = sparse.data
    empty = replace(
        sparse,
        data=replace(
            data,
            leads=data.leads.clear(),
            opportunities=data.opportunities.clear(),
            stage_history=data.stage_history.clear(),
        ),
    )
    frames = metric_set(empty)
    check(frames)
    # zero denominators: null rates, zero counts
    outcomes = frames["mql_outcomes"]
    assert outcomes.is_empty() or outcomes["accepted_rate"].is_null().all()
    linearity = frames["bookings_linearity"]
    assert linearity.height == 8 and linearity["month3_share"].is_null().all()
    assert (linearity["bookings"] == 0).all()
