"""Sums that give the same answer on every run.

polars' ``sum()`` adds floats in SIMD blocks whose boundaries depend on where
a group's values sit in memory, and its joins and group-bys do not keep row
order. Floating-point addition is not associative, so a plain sum of amounts
with cents (``1234.56`` has no exact binary value) can differ in its last
digits from one run to the next, and a re-rendered report would not be
byte-identical (measured: ``creation_to_close_lag`` on the sample with cents
added changed in 1 collect of 8).

- :func:`money_sum` for currency amounts: each amount in whole cents, summed as
  integers (exact, in any order), back to currency. Amounts finer than a cent
  are rounded to the cent before they are added (``docs/metrics.md``,
  conventions).
- :func:`stable_sum` for any other float (weighted amounts, shares): the
  sorted values added strictly left to right by a cumulative sum.
"""

from __future__ import annotations

import polars as pl

__all__ = ["CENTS", "money_sum", "stable_mean", "stable_std", "stable_sum"]

#: currency units are summed in hundredths
CENTS = 100


def money_sum(expr: pl.Expr) -> pl.Expr:
    """Sum of currency amounts, exact to the cent and independent of row order.

    Nulls are skipped and an empty or all-null input sums to 0.0, as ``sum()``.
    Int64 cents hold totals up to about 9e16 currency units.
    """
    cents = (expr * CENTS).round().cast(pl.Int64)
    return cents.sum().cast(pl.Float64) / CENTS


def stable_sum(expr: pl.Expr) -> pl.Expr:
    """Sum of non-integer floats that does not depend on row order or memory layout.

    The sorted values (nulls first, skipped) added left to right by a
    cumulative sum; an empty or all-null input sums to 0.0, as ``sum()``.
    O(n log n) per group instead of O(n): use it where the values are not
    currency amounts (for those, :func:`money_sum`).
    """
    return expr.sort().cum_sum().last().fill_null(0.0)


def stable_mean(expr: pl.Expr) -> pl.Expr:
    """Mean of the non-null values, by :func:`stable_sum`; null when there are none."""
    count = expr.is_not_null().sum()
    return pl.when(count > 0).then(stable_sum(expr) / count)


def stable_std(expr: pl.Expr, ddof: int = 1) -> pl.Expr:
    """Standard deviation (``ddof`` as ``Expr.std``) by :func:`stable_sum`; null with
    ``ddof`` or fewer non-null values."""
    count = expr.is_not_null().sum()
    squares = stable_sum((expr - stable_mean(expr)).pow(2))
    return pl.when(count > ddof).then((squares / (count - ddof)).sqrt())
