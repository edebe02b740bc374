"""The text a reader sees on a rendered page, for tests that read pages.

``visible`` gives it as one line of words (for ``in`` checks); ``page_lines`` as the
page's lines, a block (heading, paragraph, list item, table row) per line, so a
snapshot's diff shows the one sentence or row that changed.
"""

from __future__ import annotations

import html
import re

#: code and styling, never shown as text
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S)
#: tags that start or end a block of text (a line of their own)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|thead|tbody|tfoot|caption|title|"
    r"main|body|head|section|article|header|footer|nav|aside|figure|figcaption|details|"
    r"summary|blockquote|pre|hr|br)\b[^>]*>",
    re.I,
)
#: the end of a table cell: cells of a row stay on the row's line, " | " between them
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_CELL = "\x1f"


def visible(page: str) -> str:
    """The text a reader sees: no script, style or tags; entities decoded; one line."""
    page = _HIDDEN.sub(" ", page)
    return " ".join(html.unescape(_TAG.sub(" ", page)).split())


def page_lines(page: str) -> list[str]:
    """The text a reader sees, one line per block; a table row's cells joined by " | ".

    Whitespace within a line is collapsed (as a browser shows it) and empty lines are
    dropped; the words are those of ``visible(page)``.
    """
    # a line break in the HTML source is a space on the page
    page = " ".join(_HIDDEN.sub(" ", page).split())
    page = _BLOCK.sub("\n", page)
    page = _CELL_END.sub(_CELL, page)
    text = html.unescape(_TAG.sub(" ", page))
    lines = []
    for raw in text.split("\n"):
        cells = [" ".join(cell.split()) for cell in raw.split(_CELL)]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    return lines
