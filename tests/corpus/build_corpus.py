"""The malformed-input corpus: one small broken copy of the sample per case.

``build(root)`` writes a folder per case under ``root`` and returns
``{case: folder}``. Each case starts from a small valid slice of
``data/sample`` (the first 400 leads, the first 150 opportunities and their
stage history, every target) and breaks exactly one thing. The expected
outcome of every case is in :data:`CASES` and in ``docs/bad-input.md``;
``tests/test_bad_input.py`` checks each through ``alignment validate``.

Run ``python -m tests.corpus.build_corpus DIR`` to write the corpus for a
look by hand.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
_LEADS, _OPPS = 400, 150


@dataclass(frozen=True)
class Case:
    """One corpus case: how to break the slice, and what ``alignment validate`` must do."""

    break_it: Callable[[Path], None]
    exit_code: int
    #: fragments the message must contain (file, line or row, the fix)
    says: tuple[str, ...]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write_lines(path: Path, lines: list[str], *, end: str = "\n") -> None:
    path.write_bytes((end.join(lines) + end).encode("utf-8"))


def _set(path: Path, column: str, row: int, value: str) -> None:
    """Set one value (row 1 = first data row) and rewrite the file with csv quoting."""
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row - 1)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    frame.write_csv(path)


def _won_row(folder: Path) -> int:
    outcome = pl.read_csv(folder / "opportunities.csv", infer_schema=False)["outcome"]
    return outcome.to_list().index("won") + 1


def _edit_line(path: Path, line: int, edit: Callable[[str], str]) -> None:
    lines = _lines(path)
    lines[line - 1] = edit(lines[line - 1])
    _write_lines(path, lines)


def _duplicate_header(folder: Path) -> None:
    path = folder / "opportunities.csv"
    lines = _lines(path)
    _write_lines(path, [lines[0] + ",amount"] + [line + ",0" for line in lines[1:]])


def _short_rows(folder: Path) -> None:
    # line 5 loses its last four fields (the commas too): segment, region, ... vanish
    _edit_line(folder / "opportunities.csv", 5, lambda s: s.rsplit(",", 4)[0])


def _long_row(folder: Path) -> None:
    _edit_line(folder / "leads.csv", 7, lambda s: s + ",extra")


def _truncated_last_line(folder: Path) -> None:
    path = folder / "opportunities.csv"
    data = path.read_bytes().rstrip(b"\n")
    path.write_bytes(data[: data.rfind(b"\n") + 20])  # the last line cut after 19 bytes


def _unclosed_quote(folder: Path) -> None:
    path = folder / "opportunities.csv"
    lines = _lines(path)
    head, tail = lines[-1].split(",", 1)
    lines[-1] = f'{head},"{tail}'
    _write_lines(path, lines)


def _blank_line(folder: Path) -> None:
    path = folder / "leads.csv"
    lines = _lines(path)
    _write_lines(path, [*lines[:10], "", *lines[10:]])


def _control_characters(folder: Path) -> None:
    path = folder / "leads.csv"
    _set(path, "campaign", 3, "Spring\x07 Launch\x1b[31m")
    _set(path, "channel", 4, "Web\x00inar")
    _set(path, "owner_id", 5, "rep-\u202e100\u202c")
    _set(path, "rejection_reason", 6, "Bad\tfit\nnow\x85")


def _year(column: str, table: str, value: str) -> Callable[[Path], None]:
    def break_it(folder: Path) -> None:
        row = _won_row(folder) if table == "opportunities" else 2
        _set(folder / f"{table}.csv", column, row, value)

    return break_it


def _amount(value: str) -> Callable[[Path], None]:
    def break_it(folder: Path) -> None:
        _set(folder / "opportunities.csv", "amount", _won_row(folder), value)

    return break_it


def _separator(sep: str) -> Callable[[Path], None]:
    def break_it(folder: Path) -> None:
        path = folder / "targets.csv"
        pl.read_csv(path, infer_schema=False).write_csv(path, separator=sep)

    return break_it


def _encoding(codec: str) -> Callable[[Path], None]:
    def break_it(folder: Path) -> None:
        path = folder / "leads.csv"
        if codec == "latin-1":
            _set(path, "campaign", 9, "Caf\u00e9 Europe")
        path.write_bytes(path.read_text(encoding="utf-8").encode(codec))

    return break_it


def _header_only(folder: Path) -> None:
    path = folder / "leads.csv"
    _write_lines(path, _lines(path)[:1])


def _empty_file(folder: Path) -> None:
    (folder / "leads.csv").write_bytes(b"")


def _dates(*values: str) -> Callable[[Path], None]:
    def break_it(folder: Path) -> None:
        for i, value in enumerate(values):
            _set(folder / "leads.csv", "created_at", 2 + i, value)

    return break_it


def _bom(folder: Path) -> None:
    for name in ("leads", "opportunities", "targets"):
        path = folder / f"{name}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _crlf(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        _write_lines(path, _lines(path), end="\r\n")


def _sep_hint(folder: Path) -> None:
    path = folder / "targets.csv"
    path.write_bytes(b"sep=,\n" + path.read_bytes())


def _cr_only(folder: Path) -> None:
    path = folder / "targets.csv"
    _write_lines(path, _lines(path), end="\r")


def _spaced_header(folder: Path) -> None:
    path = folder / "opportunities.csv"
    _edit_line(path, 1, lambda s: s.replace("amount", " Amount "))


def _valid(folder: Path) -> None:
    pass


#: case -> how to break it and what `alignment validate` must answer (docs/bad-input.md)
CASES: dict[str, Case] = {
    "valid": Case(_valid, 0, ("valid",)),
    "duplicate_header": Case(
        _duplicate_header, 2, ("opportunities.csv", "line 1", "'amount' in columns 5, 15", "fix:")
    ),
    "short_rows": Case(_short_rows, 2, ("opportunities.csv", "line 5", "fewer fields", "fix:")),
    "long_row": Case(_long_row, 2, ("leads.csv", "line 7", "more fields", "fix:")),
    "truncated_last_line": Case(
        _truncated_last_line, 2, ("opportunities.csv", "line 151", "the last line", "fix:")
    ),
    "unclosed_quote": Case(
        _unclosed_quote, 2, ("opportunities.csv", "line 151", "never closed", "fix:")
    ),
    "blank_line": Case(_blank_line, 2, ("leads.csv", "line 11", "blank", "fix:")),
    "control_characters": Case(
        _control_characters, 0, ("valid", "repaired", "leads.csv", "column 'campaign'", "row 3")
    ),
    "year_2200": Case(
        _year("closed_at", "opportunities", "2200-03-31T12:00:00Z"),
        3,
        ("opportunities.csv", "column 'closed_at'", "extract date", "row ", "fix:"),
    ),
    "year_1900": Case(
        _year("created_at", "leads", "1900-01-01T00:00:00Z"),
        3,
        ("leads.csv", "column 'created_at'", "before 1990-01-01", "(row 2)", "fix:"),
    ),
    "amount_1e15": Case(
        _amount("1e15"),
        0,
        ("valid", "warning", "opportunities.csv", "column 'amount'", "1,000 times", "row "),
    ),
    "semicolon_separated": Case(
        _separator(";"), 2, ("targets.csv", "line 1", "semicolons", "fix:")
    ),
    "tab_separated": Case(_separator("\t"), 2, ("targets.csv", "line 1", "tabs", "fix:")),
    "latin1_encoding": Case(
        _encoding("latin-1"), 2, ("leads.csv", "line 10", "not UTF-8", "Latin-1", "fix:")
    ),
    "utf16_encoding": Case(_encoding("utf-16"), 2, ("leads.csv", "UTF-16", "fix:")),
    "header_only": Case(_header_only, 3, ("leads.csv", "no data rows", "fix:")),
    "empty_file": Case(_empty_file, 2, ("leads.csv", "is empty", "fix:")),
    "mixed_date_formats": Case(
        _dates("2026-01-05", "01/05/2026", "5 Jan 2026 10:00"),
        3,
        ("leads.csv", "column 'created_at'", "(rows 3, 4)", "'01/05/2026'", "fix:"),
    ),
    "excel_dates": Case(
        _dates("45123", "3/31/2026"),
        3,
        ("leads.csv", "column 'created_at'", "(rows 2, 3)", "'45123'", "fix:"),
    ),
    "thousands_separator": Case(
        _amount("1,234.50"),
        3,
        ("opportunities.csv", "column 'amount'", "'1,234.50'", "thousands separators", "fix:"),
    ),
    "currency_symbol": Case(
        _amount("$1200"), 3, ("opportunities.csv", "column 'amount'", "'$1200'", "fix:")
    ),
    "nan_amount": Case(
        _amount("NaN"), 3, ("opportunities.csv", "column 'amount'", "'NaN'", "NaN and inf")
    ),
    "inf_amount": Case(_amount("inf"), 3, ("opportunities.csv", "column 'amount'", "'inf'")),
    "excel_sep_hint": Case(_sep_hint, 2, ("targets.csv", "line 1", "separator hint", "fix:")),
    "cr_line_endings": Case(_cr_only, 2, ("targets.csv", "carriage returns only", "fix:")),
    "spaced_header": Case(
        _spaced_header, 3, ("opportunities.csv", "column 'amount'", "' Amount '", "fix:")
    ),
    "utf8_bom": Case(_bom, 0, ("valid",)),
    "crlf_line_endings": Case(_crlf, 0, ("valid",)),
}


def _slice(folder: Path) -> None:
    """A small valid copy of the sample: the first leads, opportunities and their history."""
    folder.mkdir(parents=True)
    leads = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False, n_rows=_LEADS)
    opps = pl.read_csv(SAMPLE / "opportunities.csv", infer_schema=False, n_rows=_OPPS)
    history = pl.read_csv(SAMPLE / "stage_history.csv", infer_schema=False).join(
        opps.select("opportunity_id"), on="opportunity_id", how="semi"
    )
    leads.write_csv(folder / "leads.csv")
    opps.write_csv(folder / "opportunities.csv")
    history.write_csv(folder / "stage_history.csv")
    shutil.copy(SAMPLE / "targets.csv", folder / "targets.csv")


def build(root: Path, cases: dict[str, Case] | None = None) -> dict[str, Path]:
    """Write one folder per case under ``root``; return ``{case: folder}``."""
    base = root / "_base"
    if not base.exists():
        _slice(base)
    folders = {}
    for name, case in (cases or CASES).items():
        folder = root / name
        shutil.copytree(base, folder)
        case.break_it(folder)
        folders[name] = folder
    return folders


if __name__ == "__main__":
    for name, folder in build(Path(sys.argv[1])).items():
        print(name, folder)
