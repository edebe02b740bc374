"""Formatting numbers and escaping values for findings shown on a page."""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from alignment_lib.gate import gated

# money is written in the reporting currency by one module (alignment_lib.money)
from alignment_lib.money import format_money

__all__ = [
    "escape_markdown",
    "format_count",
    "format_money",
    "format_share",
    "join_words",
    "shows",
]


def format_count(count: float) -> str:
    """1,234 - a count, never with a currency symbol."""
    return f"{count:,.0f}"


def format_share(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def escape_markdown(text: str) -> str:
    """Escape a data value for Markdown that nbconvert renders as HTML."""
    escaped = html.escape(str(text), quote=True)
    for ch in "\\`*_{}[]()#+!|~>":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _placeholder(
    builder: Callable[..., Any], label: str, said: list[str], kwargs: Mapping[str, Any]
) -> list[str] | str:
    """What a finding says when the data cannot support it: the sentences (a list for a
    page's findings, one text for a headline or a single sentence)."""
    returns = str(inspect.signature(builder).return_annotation)
    return list(said) if returns.startswith("list") else " ".join(said)


#: ``@shows("measure", ...)``: what a narrative function states (alignment_lib.gate)
shows = gated(_placeholder)
