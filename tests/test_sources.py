"""Strict CSV reading: each structural problem is a SourceError naming file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment_lib import SourceError
from alignment_lib.schema import TARGETS
from alignment_lib.sources import scan_file

HEADER = "fiscal_quarter,metric,team,value"
ROW = "FY2026-Q1,bookings,shared,1"


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "targets.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def refused(path: Path) -> str:
    with pytest.raises(SourceError) as info:
        scan_file(path, TARGETS)
    text = str(info.value)
    assert "targets.csv" in text and "fix:" in text, text
    return text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            f"{HEADER},value\n{ROW},2\n",
            "line 1: the header names a column more than once ('value' in columns 4, 5)",
        ),
        (
            f"{HEADER}\n{ROW}\nFY2026-Q2,bookings\n",
            "line 3 (2 fields, the last line) has fewer fields than the 4 of the header",
        ),
        (f"{HEADER}\n{ROW},5\n{ROW}\n", "line 2 (5 fields) has more fields"),
        (f"{HEADER}\n{ROW}\nFY2026-Q2,bo", "line 3 (2 fields, the last line)"),
        (
            f'{HEADER}\n{ROW}\nFY2026-Q2,"bookings,shared,1\n',
            "line 3: a quoted value opens here and is never closed",
        ),
        (f"{HEADER}\n{ROW}\n\n{ROW}\n", "line 3 is blank"),
        (f'{HEADER}\nFY2026-Q1,"a\nb",shared\n{ROW}\n', "line 2 (3 fields) has fewer fields"),
        (HEADER.replace(",", ";") + "\n", "line 1: the columns are separated by semicolons"),
        (HEADER.replace(",", "\t") + "\n", "line 1: the columns are separated by tabs"),
        (HEADER.replace(",", "|") + "\n", "line 1: the columns are separated by pipes"),
        ("", "is empty (not even a header row)"),
        (f"\n{HEADER}\n", "line 1: is blank"),
        (
            (f"{HEADER}\n{ROW}\nFY2026-Q2,bookings,caf\xe9,1\n").encode("latin-1"),
            "line 3: is not UTF-8",
        ),
        (
            (f"{HEADER}\nFY2026-Q2,bookings,\u201cx\u201d,1\n").encode("cp1252"),
            "looks like Windows-1252 (cp1252)",
        ),
        ((f"{HEADER}\n{ROW}\n").encode("utf-16"), "looks like UTF-16 little-endian"),
        ((f"{HEADER}\n{ROW}\n").encode("utf-16-be"), "UTF-16 without a byte-order mark"),
        ((f"{HEADER}\n{ROW}\n").encode("utf-32"), "looks like UTF-32"),
        (f"sep=,\n{HEADER}\n{ROW}\n", "line 1: is Excel's separator hint"),
        (f"{HEADER}\r{ROW}\r", "the lines end in carriage returns only"),
    ],
    ids=[
        "duplicate_header",
        "short_row",
        "long_row",
        "truncated_last_line",
        "unclosed_quote",
        "blank_line",
        "multiline_short",
        "semicolon",
        "tab",
        "pipe",
        "empty",
        "blank_header",
        "latin1",
        "cp1252",
        "utf16_bom",
        "utf16_no_bom",
        "utf32",
        "sep_hint",
        "cr_only",
    ],
)
def test_structural_problem_is_named_with_its_line(tmp_path, content, expected) -> None:
    assert expected in refused(write(tmp_path, content))


def test_latin1_far_into_a_big_file_names_its_line(tmp_path) -> None:
    # past the 1 MiB chunk of the slow path: the line count carries over chunks
    rows = [ROW] * 60_000 + ["FY2026-Q2,bookings,caf\xe9,1"]
    path = write(tmp_path, ("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    assert "line 60002: is not UTF-8" in refused(path)


@pytest.mark.parametrize(
    "content",
    [
        f"\ufeff{HEADER}\r\n{ROW}\r\n",
        '"fiscal_quarter","metric","team","value"\n"FY2026-Q1","bookings","shared","1"\n',
        f'{HEADER}\nFY2026-Q1,"two\nlines, and a comma",shared,1\n{ROW}\n',
        f'{HEADER}\nFY2026-Q1,"say ""hi""",shared,1\n',
        f"{HEADER}\n{ROW}",
        f"{HEADER}\n",
    ],
    ids=[
        "bom_crlf",
        "all_quoted",
        "multiline_value",
        "escaped_quotes",
        "no_final_newline",
        "header_only",
    ],
)
def test_well_formed_files_are_read_as_meant(tmp_path, content) -> None:
    raw = scan_file(write(tmp_path, content), TARGETS)
    # the file's columns: the four required ones (segment and region are optional)
    assert raw.columns == ("fiscal_quarter", "metric", "team", "value")
    frame = raw.frame.collect()
    assert frame.height == content.count("FY2026-Q1")
