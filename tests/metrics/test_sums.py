"""The order-free sums every amount goes through (alignment_lib/metrics/_sums.py)."""

from __future__ import annotations

import itertools
import math
import statistics

import polars as pl
import pytest

from alignment_lib.metrics._sums import money_sum, stable_mean, stable_std, stable_sum


def _one(values: list[float | None], expr) -> float | None:
    frame = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    return frame.select(expr(pl.col("x"))).item()


def test_money_sum_is_exact_to_the_cent() -> None:
    # by hand: 10 + 20 + 30 cents = 60 cents; the float sum is 0.6000000000000001
    assert sum([0.1, 0.2, 0.3]) != 0.6
    assert _one([0.1, 0.2, 0.3], money_sum) == 0.6
    # 1234.56 + 0.44 = 1235.00; nulls are skipped
    assert _one([1234.56, None, 0.44], money_sum) == 1235.0
    # finer than a cent: rounded to the nearest cent before adding (0.004 -> 0, 0.006 -> 0.01)
    assert _one([0.004, 0.006], money_sum) == 0.01


def test_money_sum_of_nothing_is_zero() -> None:
    assert _one([], money_sum) == 0.0
    assert _one([None, None], money_sum) == 0.0


@pytest.mark.slow
def test_sums_do_not_depend_on_row_order() -> None:
    values = [1234.56, 0.07, 98765.43, 0.1, 0.2, 17.3]
    for expr in (money_sum, stable_sum, stable_mean, stable_std):
        results = {_one(list(p), expr) for p in itertools.permutations(values)}
        assert len(results) == 1, expr.__name__


def test_money_sum_in_groups_and_windows() -> None:
    frame = pl.DataFrame({"g": ["a", "b", "a", "b"], "x": [0.1, 1.0, 0.2, None]})
    grouped = frame.group_by("g").agg(money_sum(pl.col("x"))).sort("g")
    assert grouped["x"].to_list() == [0.3, 1.0]
    windowed = frame.select(money_sum(pl.col("x")).over("g"))["x"].to_list()
    assert windowed == [0.3, 1.0, 0.3, 1.0]


def test_stable_sum_mean_and_std_values() -> None:
    assert _one([0.5, None, 0.25], stable_sum) == 0.75
    assert _one([], stable_sum) == 0.0
    assert _one([1.0, 2.0, 6.0], stable_mean) == 3.0
    assert _one([None], stable_mean) is None
    # sample sd of 1, 2, 6: mean 3, squares 4 + 1 + 9 = 14, / 2 = 7
    assert _one([1.0, 2.0, 6.0], stable_std) == pytest.approx(math.sqrt(7))
    assert _one([1.0, 2.0, 6.0], stable_std) == pytest.approx(statistics.stdev([1, 2, 6]))
    assert _one([5.0], stable_std) is None
