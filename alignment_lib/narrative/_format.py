"""Formatting numbers and escaping values for findings shown on a page."""

from __future__ import annotations

import html
from collections.abc import Sequence

# money is written in the reporting currency by one module (alignment_lib.money)
from alignment_lib.money import format_money

__all__ = ["escape_markdown", "format_money", "format_share", "join_words"]


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
