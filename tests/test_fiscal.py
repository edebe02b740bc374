import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError


@pytest.mark.parametrize(
    ("start", "day", "label"),
    [
        (1, dt.date(2026, 1, 1), "FY2026-Q1"),
        (1, dt.date(2026, 9, 30), "FY2026-Q3"),
        (1, dt.date(2026, 10, 1), "FY2026-Q4"),
        # February start: FY2027 runs 2026-02-01 .. 2027-01-31 (named for the year it ends)
        (2, dt.date(2026, 1, 31), "FY2026-Q4"),
        (2, dt.date(2026, 2, 1), "FY2027-Q1"),
        (2, dt.date(2026, 5, 1), "FY2027-Q2"),
        (2, dt.date(2027, 1, 31), "FY2027-Q4"),
        (7, dt.date(2026, 6, 30), "FY2026-Q4"),
        (7, dt.date(2026, 7, 1), "FY2027-Q1"),
    ],
)
def test_quarter_of_python_and_polars_agree(start: int, day: dt.date, label: str) -> None:
    cal = FiscalCalendar(start)
    assert cal.quarter_of(day).label == label
    index = pl.select(cal.quarter_index_expr(pl.lit(day))).item()
    assert FiscalCalendar.quarter_from_index(index).label == label
    assert pl.select(FiscalCalendar.quarter_label_expr(pl.lit(index))).item() == label


def test_quarter_bounds_february_start() -> None:
    cal = FiscalCalendar(2)
    q = FiscalQuarter(2027, 1)
    assert cal.quarter_start(q) == dt.date(2026, 2, 1)
    assert cal.quarter_end(q) == dt.date(2026, 4, 30)
    assert cal.quarter_end(FiscalQuarter(2027, 4)) == dt.date(2027, 1, 31)


def test_time_zone_decides_the_quarter_near_a_boundary() -> None:
    # 02:00 UTC on 1 October is still 30 September (22:00) in New York.
    instant = pl.lit(dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC))
    ny, utc = FiscalCalendar(1, "America/New_York"), FiscalCalendar(1, "UTC")
    assert pl.select(ny.quarter_index_expr(ny.local_date_expr(instant))).item() % 4 == 2  # Q3
    assert pl.select(utc.quarter_index_expr(utc.local_date_expr(instant))).item() % 4 == 3  # Q4


def test_quarter_end_instant_is_last_microsecond_in_zone() -> None:
    cal = FiscalCalendar(1, "America/New_York")
    end = cal.quarter_end_instant(FiscalQuarter(2026, 3))
    assert end == dt.datetime(2026, 10, 1, 3, 59, 59, 999999, tzinfo=dt.UTC)


def test_shift_and_parse() -> None:
    assert FiscalQuarter.parse("FY2026-Q1").shift(-1) == FiscalQuarter(2025, 4)
    assert FiscalQuarter(2025, 4).shift(5).label == "FY2027-Q1"
    for bad in ("2026Q1", "FY2026-Q5", "FY26-Q1", ""):
        with pytest.raises(ParameterError, match="FY2026-Q3"):
            FiscalQuarter.parse(bad)


def test_settings_are_checked() -> None:
    with pytest.raises(ParameterError, match="1 to 12"):
        FiscalCalendar(13)
    with pytest.raises(ParameterError, match="IANA"):
        FiscalCalendar(1, "Mars/Olympus_Mons")
