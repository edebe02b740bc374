"""The table of a 'By <dimension>' section: one row per value of an extra dimension."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.exceptions import ParameterError
from alignment_lib.money import fmt_money
from alignment_lib.tables._empty import table_no_data

__all__ = ["table_by_dimension"]

Kind = Literal["amount", "count", "share", "days", "hours"]


def table_by_dimension(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    dimension: str,
    columns: Mapping[str, tuple[str, Kind]],
    title: str,
    subtitle: str | None = None,
    table_id: str,
    note: str | None = None,
) -> gt.GT:
    """One row per group: the first (all values together) in bold, then each value.

    ``frame``: ``group`` (the row's name) and the ``columns`` keys, in the row
    order shown. ``columns``: column -> (heading, kind); kinds format as
    amounts in the reporting currency, whole counts, percentages (0-1 in),
    days or hours (one decimal). Missing values show "–". ``dimension``
    ("Product") heads the first column; ``note`` goes under the table.
    Names are escaped and cut at 60 characters like every row label
    (docs/text-display.md).
    """
    data = collect(frame)
    wanted = ["group", *columns]
    absent = [c for c in wanted if c not in data.columns]
    if absent:
        raise ParameterError(
            f"table_by_dimension: the frame has no column {', '.join(absent)} "
            f"(it has {', '.join(data.columns)})"
        )
    if data.is_empty():
        return table_no_data(title, f"No data by {dimension.lower()}", table_id=table_id)
    table = (
        gt.GT(data.select(wanted), id=table_id)
        .tab_header(title=title, subtitle=subtitle)
        .cols_label(cases={"group": dimension, **{c: h for c, (h, _) in columns.items()}})
    )
    by_kind: dict[str, list[str]] = {}
    for column, (_, kind) in columns.items():
        by_kind.setdefault(kind, []).append(column)
    if by_kind.get("amount"):
        table = table.pipe(fmt_money, by_kind["amount"])
    if by_kind.get("count"):
        table = table.fmt_integer(columns=by_kind["count"])
    if by_kind.get("share"):
        table = table.fmt_percent(columns=by_kind["share"], decimals=0)
    if by_kind.get("days"):
        table = table.fmt_number(columns=by_kind["days"], decimals=0)
    if by_kind.get("hours"):
        table = table.fmt_number(columns=by_kind["hours"], decimals=1)
    table = (
        table.sub_missing(missing_text="–")
        .cols_align(align="right", columns=list(columns))
        .tab_style(style=gt.style.text(weight="bold"), locations=gt.loc.body(rows=[0]))
    )
    return table.tab_source_note(note) if note else table
