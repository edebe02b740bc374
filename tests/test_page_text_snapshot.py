"""Snapshots of the text each executive page of the sample report shows.

Every number and sentence a reader sees on the six workbook pages and index.html,
one line per heading, paragraph, list item or table row, compared with
tests/__snapshots__/test_page_text_snapshot.ambr: an unintended change of any of
them fails with a diff of the lines that changed. After an intended change,
re-record with ``make snapshot-refresh`` and review the diff (docs/development.md).

Only what differs between two renders of the same data is normalised: the index's
"Rendered at" line (found by diffing two renders; the pages show no absolute path,
their data location is the folder's name, and no kit version).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from alignment_lib.render import WORKBOOKS
from tests._pages import page_lines

QUARTER = "FY2026-Q3"
PAGES = [*WORKBOOKS, "index"]

#: the index's render time: the one line that differs between two renders
RENDERED_AT = re.compile(r"Rendered at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\.")


def page_text(page: str) -> list[str]:
    """The page's visible lines, the render time replaced by a placeholder."""
    return [RENDERED_AT.sub("Rendered at <render time> UTC.", line) for line in page_lines(page)]


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_page_text(sample_report: Path, snapshot: SnapshotAssertion, name: str) -> None:
    page = (sample_report / QUARTER / f"{name}.html").read_text(encoding="utf-8")
    assert "An Exception was encountered" not in page
    lines = page_text(page)
    # the placeholder replaced exactly the index's one render time
    placeholders = sum("<render time>" in line for line in lines)
    assert placeholders == (name == "index"), placeholders
    assert lines == snapshot


@pytest.mark.slow
def test_every_executive_page_has_a_snapshot(sample_report: Path) -> None:
    shown = sorted(p.stem for p in (sample_report / QUARTER).glob("*.html"))
    assert shown == sorted(PAGES)


def test_page_lines_keeps_blocks_and_rows_apart() -> None:
    page = (
        "<html><head><title>T &amp; Co</title><style>p {color: red}</style></head><body>"
        "<h1>Head</h1><p>One  <strong>bold</strong>\n word.</p>"
        "<script>var x = '<p>no</p>';</script>"
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td></td><td>$3</td></tr></table>"
        "<ul><li>x &lt; y</li><li>z</li></ul><p class=small>Rendered at 2026-12-08 01:26 UTC.</p>"
        "</body></html>"
    )
    assert page_text(page) == [
        "T & Co",
        "Head",
        "One bold word.",
        "A | B",
        "1 |  | $3",
        "x < y",
        "z",
        "Rendered at <render time> UTC.",
    ]
