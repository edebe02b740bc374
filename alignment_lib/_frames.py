"""Frame handling shared by the presentation layers (charts, tables)."""

from __future__ import annotations

import polars as pl

__all__ = ["collect"]


def collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Charts and tables take metric results; a lazy one is collected here (it is small)."""
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame
