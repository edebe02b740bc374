"""The table shown in place of a table with no rows."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib.theme import MESSAGE_GREY

__all__ = ["table_no_data"]


def table_no_data(title: str, message: str, *, table_id: str) -> gt.GT:
    """A one-cell table with the usual ``title`` that states what is missing.

    ``message`` e.g. "No MQLs in FY2026-Q3". great_tables escapes both (they
    can hold data values such as a segment name).
    """
    frame = pl.DataFrame({"message": [message]})
    return (
        gt.GT(frame, id=table_id)
        .tab_header(title=title)
        .cols_label(message="")
        .tab_style(
            style=gt.style.text(style="italic", color=MESSAGE_GREY),
            locations=gt.loc.body(columns="message"),
        )
    )
