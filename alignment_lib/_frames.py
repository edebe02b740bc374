"""Frame handling shared by the presentation layers (charts, tables, narrative)."""

from __future__ import annotations

from typing import cast

import polars as pl

__all__ = ["collect", "column_max", "column_min"]


def collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Charts and tables take metric results; a lazy one is collected here (it is small)."""
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def column_max(data: pl.DataFrame, column: str) -> float | None:
    """The largest value of a numeric column as a float; None if it has none.

    polars types ``Series.max()`` as any Python literal; the columns
    the presentation layers take a maximum of are numeric.
    """
    value = data[column].max()
    return None if value is None else float(cast(float, value))


def column_min(data: pl.DataFrame, column: str) -> float | None:
    """The smallest value of a numeric column as a float; None if it has none."""
    value = data[column].min()
    return None if value is None else float(cast(float, value))
