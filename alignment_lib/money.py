"""Money on the way out: the reporting currency, and how every amount is written.

One place writes money for every page, in the data's currency
(:attr:`FunnelData.currency`, an ISO 4217 code from the source's options; a
mapping file sets it, the sample is USD):

- findings and the index page: short amounts, :func:`format_money`
  ("$3.9M", "€830K", "CHF 1.2M");
- tables: whole amounts, :func:`fmt_money` on a great_tables table
  ("€1,234,567");
- charts: Vega's number locale (:func:`vega_number_locale`), which the house
  theme puts in every chart's ``config.locale``, so the d3 formats of axes
  and tooltips (``"$~s"``, ``"$,.0f"``: ``$`` there means "the locale's
  currency") write the currency's symbol.

**The symbol** is the one CLDR gives in English (through babel): ``$`` for
USD, ``€`` EUR, ``£`` GBP, ``¥`` JPY, ``CA$`` CAD, ``₹`` INR. Where CLDR has
no unambiguous symbol it gives the code itself (CHF, SEK, PLN): the code is
written with a space, "CHF 1.2M". great_tables' own currency table is not
used: it writes CAD as a bare "$" and CHF as "SFr.".

**The reporting currency travels like the house theme**: :func:`open_workbook`
makes the data's currency the session's (:func:`use_currency`), so notebook
cells pass nothing and every chart, table and finding of the page agrees.
Every formatter also takes ``currency=`` explicitly (the index page, tests).
See docs/architecture.md ("The reporting currency").

>>> format_money(3_912_345.0)
'$3.9M'
>>> format_money(1_234_567.0, currency="CHF")
'CHF 1.2M'
>>> format_amount(-1234.4, currency="EUR")
'−€1,234'
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from alignment_lib.exceptions import ParameterError

if TYPE_CHECKING:
    import great_tables as gt
    from altair.theme import NumberLocaleKwds

__all__ = [
    "DEFAULT_CURRENCY",
    "check_currency",
    "currency_prefix",
    "fmt_money",
    "format_amount",
    "format_money",
    "reporting_currency",
    "use_currency",
    "vega_number_locale",
]

#: the currency of data whose source names none (the sample's)
DEFAULT_CURRENCY = "USD"
#: the minus sign of table cells (great_tables writes U+2212 too); findings use "-"
TABLE_MINUS = "\u2212"


class _State:
    code = DEFAULT_CURRENCY


_STATE = _State()


@functools.cache
def _codes() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """``code`` as an upper-case ISO 4217 code; a :class:`ParameterError` if it is none.

    Case does not matter ("eur" is EUR); surrounding spaces are ignored.
    """
    text = code.strip().upper() if isinstance(code, str) else ""
    if text not in _codes():
        raise ParameterError(
            f"currency {code!r} is not an ISO 4217 currency code; fix: name the currency of "
            "the amounts by its three-letter code, e.g. USD, EUR, GBP, JPY or CHF"
        )
    return text


@functools.cache
def currency_prefix(code: str) -> str:
    """What is written before an amount: '$', '€', 'CA$', or 'CHF ' (code and a space).

    The symbol is CLDR's English one (babel); a symbol that ends in a letter
    (the code itself, 'FCFA') gets a space so it does not run into the digits.
    """
    from babel.numbers import get_currency_symbol

    code = check_currency(code)
    symbol = get_currency_symbol(code, locale="en")
    return f"{symbol} " if symbol[-1:].isalpha() else symbol


def reporting_currency() -> str:
    """The session's reporting currency (ISO 4217; USD until :func:`use_currency`)."""
    return _STATE.code


class _CurrencyScope:
    """Returned by :func:`use_currency`: restores the previous currency when used in ``with``."""

    def __init__(self, previous: str) -> None:
        self._previous = previous

    def __enter__(self) -> _CurrencyScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _STATE.code = self._previous


def use_currency(code: str) -> _CurrencyScope:
    """Make ``code`` the reporting currency of this process (checked; see :func:`check_currency`).

    Takes effect at once (``open_workbook`` calls it with the data's
    currency); as a context manager it restores the previous one on exit::

        with use_currency("EUR"):
            chart.to_dict()  # axis and tooltip amounts in €
    """
    checked = check_currency(code)
    scope = _CurrencyScope(_STATE.code)
    _STATE.code = checked
    return scope


def _code(currency: str | None) -> str:
    return _STATE.code if currency is None else check_currency(currency)


def format_money(amount: float, *, currency: str | None = None) -> str:
    """A short amount for sentences: '$1.2M', '€830K', '£950', 'CHF 3.9B', '-$4.0K'.

    ``amount`` in units of ``currency`` (default: the reporting currency).
    Thousands (K), millions (M) and billions (B) with one decimal; below
    1,000 whole units.
    """
    prefix = currency_prefix(_code(currency))
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if a >= size:
            return f"{sign}{prefix}{a / size:.1f}{unit}"
    return f"{sign}{prefix}{a:,.0f}"


def format_amount(amount: float, *, currency: str | None = None, minus: str = TABLE_MINUS) -> str:
    """A whole amount with thousands separators: '$1,234,567', '−€5', 'CHF 12,500'.

    Rounded to whole units (half to even, like Python's and great_tables'
    formatting); a value that rounds to 0 has no sign. ``minus``: the sign
    written before a negative amount (tables: U+2212, as great_tables writes).
    """
    prefix = currency_prefix(_code(currency))
    digits = f"{abs(amount):,.0f}"
    negative = amount < 0 and digits.strip("0,") != ""
    return f"{minus if negative else ''}{prefix}{digits}"


def fmt_money(table: gt.GT, columns: str | Sequence[str], *, currency: str | None = None) -> gt.GT:
    """``table`` with ``columns`` written as whole amounts of ``currency`` (:func:`format_amount`).

    Missing values are left for the table's ``sub_missing``. With USD the
    cells are exactly what great_tables' ``fmt_currency(currency="USD",
    decimals=0)`` writes.
    """
    code = _code(currency)

    def write(value: Any) -> Any:
        if value is None or value != value:  # missing, or NaN: left to sub_missing
            return value
        return format_amount(float(value), currency=code)

    return table.fmt(write, columns=list(columns) if not isinstance(columns, str) else columns)


def vega_number_locale(currency: str | None = None) -> NumberLocaleKwds | None:
    """The Vega number locale (d3-format) that writes ``currency``; None for USD.

    English separators ("1,234.5"); ``currency`` is the prefix of
    :func:`currency_prefix`. d3's default locale (en-US) already writes "$",
    so USD needs none and its chart specs stay as they were.
    """
    code = _code(currency)
    if code == DEFAULT_CURRENCY:
        return None
    return {
        "decimal": ".",
        "thousands": ",",
        "grouping": [3],
        "currency": [currency_prefix(code), ""],
    }
