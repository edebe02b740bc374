"""The table shown in place of a table with no rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import great_tables as gt
import polars as pl

from alignment_lib._text import SENTENCE_COLUMN
from alignment_lib.gate import default_of, gated
from alignment_lib.theme import MESSAGE_GREY

__all__ = ["shows", "table_no_data"]


def table_no_data(title: str, message: str, *, table_id: str) -> gt.GT:
    """A one-cell table with the usual ``title`` that states what is missing.

    ``message`` e.g. "No MQLs in FY2026-Q3". great_tables escapes both (they
    can hold data values such as a segment name).
    """
    frame = pl.DataFrame({SENTENCE_COLUMN: [message]})
    return (
        gt.GT(frame, id=table_id)
        .tab_header(title=title)
        .cols_label(cases={SENTENCE_COLUMN: ""})
        .tab_style(
            style=gt.style.text(style="italic", color=MESSAGE_GREY),
            locations=gt.loc.body(columns=SENTENCE_COLUMN),
        )
    )


def _placeholder(
    builder: Callable[..., Any], label: str, said: list[str], kwargs: Mapping[str, Any]
) -> gt.GT:
    """A table the data cannot support: its id, titled ``label``, one cell stating why."""
    table_id = default_of(builder, "table_id", kwargs) or builder.__name__.replace("_", "-")
    return table_no_data(label, " ".join(said), table_id=table_id)


#: ``@shows("measure", ...)``: what a table builder shows (alignment_lib.gate)
shows = gated(_placeholder)
