"""Text made safe on load, in one place, for every consumer.

Every text value the kit reads (ids, names, categories) passes through
:func:`safe_text` while it is parsed (``validate.parse_column``): control
characters and the Unicode bidirectional override and isolate controls are
removed before any metric, chart, table or page sees the value.

- C0 controls U+0000-U+001F (NUL, BEL, ESC, ...), DEL U+007F and C1 controls
  U+0080-U+009F are removed; tab, line feed and carriage return become a space
  (a campaign name split over two lines stays two words).
- Bidirectional embeddings and overrides U+202A-U+202E and isolates
  U+2066-U+2069 are removed: they can make a name display reversed or hide
  part of a page's text.

One vectorised ``str.replace_all`` per rule, no per-row Python. How many
values each column had cleaned is counted by validation and shown on the
data-health page (``docs/bad-input.md``).
"""

from __future__ import annotations

import polars as pl

__all__ = ["UNSAFE_TEXT", "has_unsafe_text", "safe_text"]

_SPACES = r"[\t\n\r]"
_REMOVED = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\x{202A}-\x{202E}\x{2066}-\x{2069}]"
#: every character :func:`safe_text` changes (a regular expression)
UNSAFE_TEXT = r"[\x00-\x1F\x7F-\x9F\x{202A}-\x{202E}\x{2066}-\x{2069}]"


def safe_text(expr: pl.Expr) -> pl.Expr:
    """``expr`` (a String expression) without control and bidi-override characters."""
    cleaned = expr.str.replace_all(_SPACES, " ").str.replace_all(_REMOVED, "")
    # the test is cheaper than two replacements, and almost every value passes it
    return pl.when(has_unsafe_text(expr)).then(cleaned).otherwise(expr)


def has_unsafe_text(expr: pl.Expr) -> pl.Expr:
    """True where :func:`safe_text` would change the value."""
    return expr.str.contains(UNSAFE_TEXT)
