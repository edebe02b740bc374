"""Money in the reporting currency: findings, tables, chart locale, index page.

Expected strings worked out by hand from the rule in alignment_lib/money.py:
the prefix is CLDR's English symbol ($, €, £, ¥, CA$), or the code and a
space where CLDR has only the code (CHF); short amounts take K/M/B with one
decimal (3,912,345 -> 3.9M; 830,000 -> 830.0K; 950 -> 950); whole amounts
round half to even (1,234.5 -> 1,234; 1,235.5 -> 1,236).
"""

from __future__ import annotations

import datetime as dt
import doctest
import re

import altair as alt
import great_tables as gt
import polars as pl
import pytest

from alignment_lib import money
from alignment_lib.charts import chart_pipeline_vs_bookings
from alignment_lib.exceptions import ParameterError
from alignment_lib.index_page import build_index
from alignment_lib.money import (
    check_currency,
    currency_prefix,
    fmt_money,
    format_amount,
    format_money,
    reporting_currency,
    use_currency,
    vega_number_locale,
)
from alignment_lib.tables import table_pipeline_vs_bookings
from alignment_lib.theme import enable_theme


@pytest.fixture(autouse=True)
def _usd_after_each_test() -> object:
    yield
    use_currency("USD")


@pytest.mark.parametrize(
    ("code", "big", "small", "negative"),
    [
        ("USD", "$3.9M", "$950", "-$830.0K"),
        ("EUR", "€3.9M", "€950", "-€830.0K"),
        ("GBP", "£3.9M", "£950", "-£830.0K"),
        ("JPY", "¥3.9M", "¥950", "-¥830.0K"),
        ("CHF", "CHF 3.9M", "CHF 950", "-CHF 830.0K"),
        ("CAD", "CA$3.9M", "CA$950", "-CA$830.0K"),
    ],
)
def test_short_amounts_in_each_currency(code: str, big: str, small: str, negative: str) -> None:
    assert format_money(3_912_345.0, currency=code) == big
    assert format_money(950.0, currency=code) == small
    assert format_money(-830_000.0, currency=code) == negative


def test_usd_short_amounts_are_unchanged() -> None:
    # the strings the sample's pages have always shown
    assert format_money(3_912_345.0) == "$3.9M"
    assert format_money(3_000_000.0) == "$3.0M"
    assert format_money(2_500_000_000.0) == "$2.5B"
    assert format_money(12_345.0) == "$12.3K"
    assert format_money(0.0) == "$0"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("USD", ["$1,234", "$1,236", "−$5", "$0"]),
        ("EUR", ["€1,234", "€1,236", "−€5", "€0"]),
        ("GBP", ["£1,234", "£1,236", "−£5", "£0"]),
        ("JPY", ["¥1,234", "¥1,236", "−¥5", "¥0"]),
        ("CHF", ["CHF 1,234", "CHF 1,236", "−CHF 5", "CHF 0"]),
    ],
)
def test_whole_amounts(code: str, expected: list[str]) -> None:
    values = [1234.5, 1235.5, -5.0, -0.4]
    assert [format_amount(v, currency=code) for v in values] == expected


def test_reporting_currency_is_the_default_and_a_scope_restores_it() -> None:
    assert reporting_currency() == "USD"
    with use_currency("eur"):
        assert reporting_currency() == "EUR"
        assert format_money(1_500.0) == "€1.5K"
    assert reporting_currency() == "USD"
    use_currency("GBP")  # not as a context manager: stays
    assert format_money(1_500.0) == "£1.5K"


@pytest.mark.parametrize("code", ["EURO", "", "US$", "XYZ", None])
def test_unknown_currency_codes_are_parameter_errors(code: object) -> None:
    with pytest.raises(ParameterError, match="ISO 4217"):
        check_currency(code)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="ISO 4217"):
        use_currency(code)  # type: ignore[arg-type]
    assert reporting_currency() == "USD"


def test_prefix_spaces_only_letter_symbols() -> None:
    assert currency_prefix("USD") == "$"
    assert currency_prefix("EUR") == "€"
    assert currency_prefix("CHF") == "CHF "
    assert currency_prefix("SEK") == "SEK "


def _cells(table: gt.GT) -> list[str]:
    return re.findall(r"<td [^>]*class=\"gt_row[^\"]*\"[^>]*>([^<]*)</td>", table.as_raw_html())


def test_table_cells_in_usd_match_great_tables_fmt_currency() -> None:
    frame = pl.DataFrame({"a": [1234567.5, -5.0, 0.0, 2.5, None]}, schema={"a": pl.Float64})
    ours = fmt_money(gt.GT(frame), "a").sub_missing(missing_text="–")
    theirs = gt.GT(frame).fmt_currency(columns="a", currency="USD", decimals=0)
    theirs = theirs.sub_missing(missing_text="–")
    assert _cells(ours) == _cells(theirs) == ["$1,234,568", "−$5", "$0", "$2", "–"]


def test_table_cells_in_the_reporting_currency() -> None:
    frame = pl.DataFrame({"a": [1234567.0, None]}, schema={"a": pl.Float64})
    with use_currency("CHF"):
        cells = _cells(fmt_money(gt.GT(frame), ["a"]).sub_missing(missing_text="–"))
    assert cells == ["CHF 1,234,567", "–"]
    assert _cells(fmt_money(gt.GT(frame), "a", currency="JPY"))[0] == "¥1,234,567"


def _pvb() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter_index": [8105, 8105],
            "fiscal_quarter": ["FY2026-Q2", "FY2026-Q2"],
            "measure": ["pipeline_created", "bookings"],
            "source": ["marketing", "marketing"],
            "deals": [2, 1],
            "amount": [2_000_000.0, 1_500_000.0],
        },
        schema_overrides={"quarter_index": pl.Int32, "deals": pl.Int64},
    )


def test_a_pipeline_table_in_eur_has_no_dollar() -> None:
    with use_currency("EUR"):
        html = table_pipeline_vs_bookings(_pvb()).as_raw_html()
    assert "€2,000,000" in html and "€1,500,000" in html
    assert "$" not in html


def test_charts_get_the_currency_through_the_theme_locale() -> None:
    enable_theme()
    try:
        chart = chart_pipeline_vs_bookings(_pvb(), title="t")
        assert "locale" not in chart.to_dict()["config"]  # USD: d3's own locale
        with use_currency("EUR"):
            spec = chart.to_dict()
        assert spec["config"]["locale"]["number"]["currency"] == ["€", ""]
        with use_currency("CHF"):
            assert chart.to_dict()["config"]["locale"]["number"]["currency"] == ["CHF ", ""]
    finally:
        alt.theme.enable("default")


def test_vega_draws_the_axis_in_the_locale_currency() -> None:
    import vl_convert

    spec = {
        "data": {"values": [{"q": "a", "v": 3_900_000}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "q", "type": "nominal"},
            "y": {"field": "v", "type": "quantitative", "axis": {"format": "$~s"}},
        },
        "config": {"locale": {"number": vega_number_locale("GBP")}},
    }
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", vl_convert.vegalite_to_svg(spec))
    assert "£3M" in texts and not any("$" in t for t in texts)


def test_index_page_writes_the_data_currency() -> None:
    scorecard = pl.DataFrame(
        {
            "metric": ["bookings"],
            "team": ["shared"],
            "label": ["Bookings"],
            "kind": ["amount"],
            "target": [3_700_000.0],
            "actual": [3_900_000.0],
            "attainment": [1.05],
            "status": ["on track"],
        }
    )
    page = build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=scorecard,
        pages=[],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        currency="EUR",
    )
    assert "€3.9M" in page and "€3.7M" in page and "$" not in page


def test_module_examples() -> None:
    failures, tried = doctest.testmod(money)
    assert tried >= 3 and failures == 0
