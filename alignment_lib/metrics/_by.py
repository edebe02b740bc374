"""The one check of a metric's ``by`` option: which columns a metric can be split by.

A metric splits by columns of the frame it counts (leads or opportunities):

- a **canonical** column of that table, when the metric allows it (lead
  metrics allow the lead columns that describe a lead: channel, campaign,
  segment, region, owner; deal metrics any opportunity column);
- any **extra** column the frame carries: a dimension the source keeps
  (:attr:`FunnelData.dimensions`, e.g. ``product`` or ``lead_type``), or a
  column the caller added (``deal_size_band``).

So the data's dimensions are accepted wherever a metric takes ``by``, without
a list of them: they are the frame's columns beyond the canonical ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.schema import Table

__all__ = ["by_columns"]


def by_columns(
    frame: pl.LazyFrame,
    by: Sequence[str] | str,
    *,
    table: Table,
    groupings: Sequence[str] | None = None,
    hint: str = "",
) -> list[str]:
    """``by`` as a list of column names of ``frame``, each one a metric may split by.

    ``table``: the canonical table ``frame`` holds; ``groupings``: the canonical
    columns the metric allows (None: all of them). Any column of ``frame``
    that is not canonical (a dimension) is allowed. ``hint`` ends the message
    of a refused canonical column. Raises :class:`ParameterError` naming the
    column and what can be used instead.
    """
    names = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(n, str) for n in names):
        raise ParameterError(f"by must be a sequence of column names, got {by!r}")
    if len(set(names)) != len(names):
        raise ParameterError(f"by names a column twice: {names}")
    present = frame.collect_schema().names()
    canonical = set(table.column_names)
    extra = [c for c in present if c not in canonical]
    allowed = list(table.column_names if groupings is None else groupings)
    refused = [n for n in names if n in canonical and n not in allowed]
    missing = [n for n in names if n not in canonical and n not in present]
    absent = [n for n in names if n in allowed and n not in present]
    dimensions = f"; dimensions of this data: {', '.join(extra)}" if extra else ""
    if refused:
        raise ParameterError(
            f"cannot split a metric of {table.name} by {', '.join(map(repr, refused))}; "
            f"use {table.name} columns {', '.join(allowed)}{dimensions}{hint}"
        )
    if missing or absent:
        raise ParameterError(
            f"cannot group by {', '.join(map(repr, missing + absent))}: not a column of the "
            f"{table.name} (columns: {', '.join(present)}){dimensions}{hint}"
        )
    return names
