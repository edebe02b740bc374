"""What a page states about the forecast (``forecast_overview``), on the bundled sample.

The overview adds no arithmetic of its own: it puts side by side, per quarter shown,
``bookings_forecast``, ``seasonal_naive_forecast`` and ``forecast_accuracy`` of the
track record at the same point (elapsed share, quarters ahead). The tests check which
quarters are shown (a rule worked by hand), that every column is the one of the function
it comes from (the same calls made here), and the sample's numbers the pages state:

- at FY2026-Q3's end (2026-09-30, FY2026-Q4 current, nothing elapsed): FY2026-Q4,
  FY2027-Q1, FY2027-Q2; FY2026-Q4 forecast $6.18M (80% range $4.94M-$7.72M, the "done
  when" numbers of docs/metrics/forecast.md); the range held in 7 of the 8 quarters
  FY2024-Q4..FY2026-Q3 forecast from their start, mean error 10.2% (same quarter last
  year: 14.0% over the 7 with one);
- on 2026-08-15 (FY2026-Q3 current, half elapsed): FY2026-Q3 .. FY2027-Q2, the current
  quarter forecast too, with the pace so far taking part;
- without stage history (``calibration="ever"``): a record for the current quarter only
  (forecast_backtest's errors, their mean worked out here), none further out.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, load_funnel, parse_as_of
from alignment_lib.exceptions import ParameterError
from alignment_lib.metrics.forecast import (
    bookings_forecast,
    forecast_accuracy,
    forecast_backtest,
    forecast_overview,
    forecast_track_record,
    seasonal_naive_forecast,
)
from alignment_lib.metrics.forecast.bookings import FORECAST_COLUMNS
from alignment_lib.metrics.forecast.overview import _displayed
from tests.conftest import SAMPLE

CAL = FiscalCalendar(1, "UTC")
Q3 = FiscalQuarter(2026, 3)
END = CAL.quarter_end_instant(Q3)
MID = parse_as_of("2026-08-15", CAL)


@pytest.fixture(scope="module")
def full():
    return load_funnel(SAMPLE, calendar=CAL).materialize()


def overview(data, as_of, **kw) -> pl.DataFrame:
    seen = data.at(as_of)
    return forecast_overview(
        seen.opportunities,
        seen.stage_history,
        seen.targets,
        calendar=CAL,
        quarter=Q3,
        as_of=as_of,
        **kw,
    ).collect()


def test_the_quarters_shown() -> None:
    # report quarter 10; at its end 11 is current: 11..13 (the next three)
    assert _displayed(10, 11, 3) == (11, 13)
    # mid-quarter: the report quarter itself and the three after it
    assert _displayed(10, 10, 3) == (10, 13)
    # as-of far after the report quarter: three from the current one
    assert _displayed(10, 15, 3) == (15, 17)
    # as-of before the report quarter begins: from the current one to three after it
    assert _displayed(10, 9, 3) == (9, 13)
    assert _displayed(10, 11, 1) == (11, 11)


@pytest.mark.slow
def test_at_the_quarter_end_the_next_three_quarters(full) -> None:
    got = overview(full, END)
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q4", "FY2027-Q1", "FY2027-Q2"]
    assert got["quarters_ahead"].to_list() == [0, 1, 2]
    assert got["elapsed"].to_list() == [0.0] * 3
    assert got["calibration"].unique().to_list() == ["seasonal"]
    seen = full.at(END)
    forecast = bookings_forecast(
        seen.opportunities,
        seen.stage_history,
        seen.targets,
        calendar=CAL,
        quarter=FiscalQuarter(2026, 4),
        as_of=END,
    ).collect()
    assert_frame_equal(got.select(FORECAST_COLUMNS), forecast)
    baseline = seasonal_naive_forecast(
        seen.opportunities, calendar=CAL, quarter=FiscalQuarter(2026, 4), as_of=END
    ).collect()
    assert got["baseline_quarter"].to_list() == ["FY2025-Q4", "FY2026-Q1", "FY2026-Q2"]
    assert got["baseline_forecast"].to_list() == baseline["baseline_forecast"].to_list()
    record = forecast_accuracy(
        forecast_track_record(
            seen.opportunities,
            seen.stage_history,
            seen.targets,
            calendar=CAL,
            first=FiscalQuarter(2024, 4),
            last=Q3,
            as_of=END,
        )
    ).collect()
    assert got["record_quarters"].to_list() == record["quarters"].to_list()
    assert got["record_inside"].to_list() == record["inside"].to_list()
    assert got["record_mean_absolute_error"].to_list() == pytest.approx(
        record["mean_absolute_error"].to_list(), rel=1e-12
    )
    assert got["record_baseline_mean_absolute_error"].to_list() == pytest.approx(
        record["baseline_mean_absolute_error"].to_list(), rel=1e-12
    )
    assert (got["record_first"][0], got["record_last"][0]) == ("FY2024-Q4", "FY2026-Q3")
    first = got.row(0, named=True)
    assert first["forecast"] == pytest.approx(6.18e6, rel=1e-3)
    assert (first["forecast_low"], first["forecast_high"]) == (
        pytest.approx(4.945e6, rel=1e-3),
        pytest.approx(7.723e6, rel=1e-3),
    )
    assert (first["record_quarters"], first["record_inside"]) == (8, 7)
    assert first["record_mean_absolute_error"] == pytest.approx(0.1018, abs=1e-4)
    assert first["record_baseline_quarters"] == 7
    assert first["record_baseline_mean_absolute_error"] == pytest.approx(0.1403, abs=1e-4)


@pytest.mark.slow
def test_mid_quarter_forecasts_the_current_quarter_too(full) -> None:
    got = overview(full, MID)
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1", "FY2027-Q2"]
    assert got["quarters_ahead"].to_list() == [0, 1, 2, 3]
    assert got["elapsed"][0] == pytest.approx(0.5, abs=1e-9)
    now = got.row(0, named=True)
    assert now["booked_to_date"] > 0 and now["curve_weight"] > 0
    assert now["curve_basis"] == "same quarter"
    assert (now["record_first"], now["record_last"]) == ("FY2024-Q3", "FY2026-Q2")
    assert now["record_quarters"] == 8
    # three quarters ahead from halfway is backtested too (the page shows it)
    assert got["record_quarters"][3] > 0


@pytest.mark.slow
def test_without_stage_history_the_record_is_the_current_quarters_only(full) -> None:
    seen = full.at(END)
    history = seen.stage_history.clear()
    got = forecast_overview(
        seen.opportunities,
        history,
        seen.targets,
        calendar=CAL,
        quarter=Q3,
        as_of=END,
        calibration="ever",
    ).collect()
    assert got["calibration"].unique().to_list() == ["ever"]
    assert got["forecast"].null_count() == 0
    backtest = forecast_backtest(
        seen.opportunities,
        history,
        seen.targets,
        calendar=CAL,
        first=FiscalQuarter(2024, 4),
        last=Q3,
        as_of=END,
        calibration="ever",
    ).collect()
    errors = backtest["error"].drop_nulls().to_list()
    assert got["record_quarters"].to_list() == [len(errors), 0, 0]
    assert got["record_mean_absolute_error"][0] == pytest.approx(
        sum(abs(e) for e in errors) / len(errors), rel=1e-12
    )
    assert got["record_inside"][0] == int(backtest["inside_interval"].sum())
    assert got["record_mean_absolute_error"][1:].to_list() == [None, None]


def test_parameters_are_checked(full) -> None:
    with pytest.raises(ParameterError, match="calibration"):
        overview(full, END, calibration="crystal ball")
    with pytest.raises(ParameterError, match="ahead"):
        overview(full, END, ahead=0)
    late = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(ParameterError, match="not cut"):
        forecast_overview(
            full.opportunities,
            full.stage_history,
            full.targets,
            calendar=CAL,
            quarter=Q3,
            as_of=late - dt.timedelta(days=90),
        ).collect()
