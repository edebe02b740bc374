"""A folder of CSV or Parquet files, one per table, read strictly.

The folder holds ``<table>.csv`` or ``<table>.parquet`` for each canonical
table it has (only ``opportunities`` is required). A file whose name looks
like a misspelled table (``lead.csv``, ``Leads.csv``, ``opportunity.parquet``)
is an error naming the file and the fix: since leads, stage history and
targets are optional, a typo would otherwise silently read as "this data has
no leads table".

Reading is strict (``docs/bad-input.md``): before a CSV file is handed on, its
structure is checked, so that a file polars would read *differently from what
was meant* is an error naming the file, the line and the fix rather than a
silently wrong number. The checks: the file is not empty, is UTF-8 (a UTF-8
byte-order mark and CRLF line endings are fine), is comma-separated, has no
duplicate column names, and every line holds as many fields as the header (no
short, long or blank lines, no quote left open at the end of the file). The
row check is one vectorised polars pass over the raw lines (about 30 ms for
the sample's 29,000 leads on one core).
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.schema import TABLES, Table
from alignment_lib.sources._base import (
    WINDOW_COLUMNS,
    Format,
    RawTable,
    SourceOptions,
    Window,
    look_alikes,
    window_filter,
)

__all__ = ["DirectorySource", "check_csv", "scan_file"]

_SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet"}

#: bytes read to check the header and the encoding's byte-order mark
_HEAD_BYTES = 1 << 16
#: line numbers shown per structural problem
_SHOW_LINES = 5
_OTHER_SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)"}
_CSV_FIX = "re-export the {table} table as comma-separated UTF-8 CSV (Excel: Save As 'CSV UTF-8')"


class DirectorySource:
    """A folder holding one ``<table>.csv`` or ``<table>.parquet`` per table.

    ``description`` is the folder's name (pages never show an absolute path);
    messages about the folder or its files name the path as given.
    ``check_names``: refuse files whose names look like a misspelled table
    (a mapping file that names its files itself turns this off).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        options: SourceOptions | None = None,
        check_names: bool = True,
    ) -> None:
        self.path = Path(path)
        self.description = self.path.resolve().name or str(self.path)
        self.options = options or SourceOptions()
        self.check_names = check_names
        if not self.path.exists():
            raise SourceError(
                f"data folder '{self.path}' does not exist; "
                "fix: pass --data (or the data_dir parameter) pointing at a folder with "
                "leads, opportunities and targets files (see docs/data-model.md), or at a "
                "DuckDB file or a postgresql:// URI (docs/sources.md)"
            )
        if not self.path.is_dir():
            raise SourceError(
                f"'{self.path}' is a file, not a data folder; "
                "fix: point at the folder that holds leads.csv, opportunities.csv, ..."
            )

    def _files(self) -> list[Path]:
        return sorted(
            p for p in self.path.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file()
        )

    def _find(self, table: Table) -> tuple[Path, Format] | None:
        files = self._files()
        found = [(p, _SUFFIXES[p.suffix]) for p in files if p.name in _exact_names(table)]
        if len(found) > 1:
            names = " and ".join(p.name for p, _ in found)
            raise SourceError(
                f"data folder '{self.path}' has both {names}; the kit cannot tell which "
                f"one is current; fix: keep only one file for the {table.name} table"
            )
        if self.check_names:
            self._check_look_alikes(table, files, found[0][0] if found else None)
        return found[0] if found else None

    def _check_look_alikes(self, table: Table, files: list[Path], found: Path | None) -> None:
        """A file named like ``table`` but not exactly (``lead.csv``, ``Leads.csv``) is an error."""
        stems = {p: p.name[: -len(p.suffix)] for p in files if p != found}
        others = set(TABLES) - {table.name}
        alike = [
            p
            for p, stem in stems.items()
            if stem not in others
            and (stem == table.name or table.name in look_alikes(stem, [table.name]))
        ]
        if not alike:
            return
        names = ", ".join(p.name for p in alike)
        expected = f"{table.name}.csv or {table.name}.parquet"
        if found is not None:
            raise SourceError(
                f"data folder '{self.path}' has {found.name} and also {names}, which looks "
                f"like the {table.name} table under another name; the kit reads only "
                f"{found.name}; fix: delete or move {names} (or, if it is the current export, "
                f"replace {found.name} with it)"
            )
        raise SourceError(
            f"data folder '{self.path}' has no {table.name} table, but has {names}, which looks "
            f"misspelled; table files are named exactly {expected} (lower case); "
            f"fix: rename {alike[0].name} to {table.name}{alike[0].suffix.lower()}"
        )

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None:
        hit = self._find(table)
        if hit is None:
            return None
        raw = scan_file(hit[0], table)
        column = WINDOW_COLUMNS.get(table.name)
        if raw.format == "parquet" and column is not None and window is not None:
            # typed Parquet columns: polars pushes the predicate into the reader
            raw = RawTable(
                raw.name,
                raw.location,
                raw.format,
                window_filter(raw.frame, column, window),
                raw.columns,
            )
        return raw

    def missing_table(self, table: Table) -> str:
        """The message for a required table the folder does not have."""
        return (
            f"data folder '{self.path}' has no {table.name} table ({table.name}.csv or "
            f"{table.name}.parquet); fix: export the missing table into that folder "
            "(docs/data-model.md lists its columns) or point the kit at the folder that has it"
        )


def _exact_names(table: Table) -> set[str]:
    return {f"{table.name}{suffix}" for suffix in _SUFFIXES}


def scan_file(path: str | Path, table: Table) -> RawTable:
    """One ``.csv`` or ``.parquet`` file as a :class:`RawTable`, its structure checked.

    Raises :class:`SourceError` naming the file, the line and the fix when a
    CSV file is not what the kit can read without guessing.
    """
    path = Path(path)
    fmt: Format = "parquet" if path.suffix.lower() == ".parquet" else "csv"
    if fmt == "csv":
        check_csv(path, table)
    try:
        if fmt == "csv":
            # Strings only: types are parsed by validation, which can then say
            # which row holds a bad value instead of failing inside the reader.
            frame = pl.scan_csv(path, infer_schema=False)
        else:
            frame = pl.scan_parquet(path)
        columns = tuple(frame.collect_schema().names())
    except (pl.exceptions.PolarsError, OSError) as exc:
        fix = (
            _CSV_FIX.format(table=table.name)
            if fmt == "csv"
            else f"re-export the {table.name} table as Parquet"
        )
        raise SourceError(
            f"cannot read '{path}' as {fmt.upper()}: {_first_line(exc)}; fix: {fix}"
        ) from exc
    return RawTable(table.name, str(path), fmt, frame, columns)


# -- strict CSV reading ------------------------------------------------------------------------
def check_csv(path: Path, table: Table) -> list[str]:
    """Check a CSV file's encoding, header and row structure; return its column names.

    Cheap on the happy path: the header is parsed from the first 64 KiB and the
    rows are checked by one vectorised polars pass over the raw lines. Only a
    file that fails is read again (in Python) to say where and how.
    """
    fix = _CSV_FIX.format(table=table.name)
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise SourceError(
            f"cannot read '{path}': {exc.strerror or exc}; fix: check the file's permissions"
        ) from exc
    encoding = _foreign_encoding(head)
    if encoding:
        raise SourceError(f"'{path}' is not UTF-8: it looks like {encoding}; fix: {fix}")
    text_head = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    if not text_head.strip():
        raise SourceError(
            f"'{path}' is empty (not even a header row); fix: export the {table.name} table "
            f"again with its header row ({', '.join(table.column_names[:3])}, ...), even when it "
            "has no rows"
        )
    if b"\n" not in text_head and b"\r" in text_head.rstrip(b"\r"):
        raise SourceError(
            f"'{path}': the lines end in carriage returns only (an old Mac line ending), so "
            f"the whole file reads as one line; fix: {fix}"
        )
    first = text_head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header_line = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, head, 1, exc.start, fix) from exc
    if not header_line.strip():
        raise SourceError(
            f"'{path}', line 1: is blank, but the header row must come first; fix: delete the "
            "blank lines above the header"
        )
    if header_line.lower().startswith("sep="):
        raise SourceError(
            f"'{path}', line 1: is Excel's separator hint ({header_line[:8]!r}), not the header; "
            "fix: delete the first line so that the header row comes first"
        )
    try:
        names = next(csv.reader([header_line]))
    except csv.Error as exc:
        raise SourceError(
            f"'{path}', line 1: the header cannot be read ({exc}); fix: {fix}"
        ) from exc
    _check_separator(path, header_line, names, table, fix)
    _check_duplicates(path, names)
    _check_rows(path, len(names), fix)
    return names


def _foreign_encoding(head: bytes) -> str:
    """A name for the encoding the first bytes show, when that is not UTF-8 ("" if it is)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32 (it starts with a UTF-32 byte-order mark)"
    if head.startswith(b"\xff\xfe"):
        return "UTF-16 little-endian (it starts with a UTF-16 byte-order mark)"
    if head.startswith(b"\xfe\xff"):
        return "UTF-16 big-endian (it starts with a UTF-16 byte-order mark)"
    first = head.split(b"\n", 1)[0]
    if first.count(b"\x00") * 3 >= len(first) > 0:
        return "UTF-16 without a byte-order mark (every other byte of the header is zero)"
    return ""


def _guess_8bit(data: bytes) -> str:
    """Which single-byte encoding non-UTF-8 bytes most likely are."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "Latin-1 (ISO-8859-1)"
    if any(0x80 <= b <= 0x9F for b in data):
        # smart quotes, euro sign, dashes: Windows-1252 only
        return "Windows-1252 (cp1252)"
    return "Latin-1 (ISO-8859-1) or Windows-1252 (cp1252)"


def _encoding_error(path: Path, chunk: bytes, line: int, pos: int, fix: str) -> SourceError:
    bad = chunk[pos : pos + 4]
    line_start = chunk.rfind(b"\n", 0, pos) + 1
    line_end = chunk.find(b"\n", pos)
    context = chunk[line_start : line_end if line_end >= 0 else len(chunk)]
    shown = context.decode("utf-8", errors="replace")
    if len(shown) > 60:
        at = len(chunk[line_start:pos].decode("utf-8", errors="replace"))
        shown = shown[max(0, at - 30) : at + 30]
    return SourceError(
        f"'{path}', line {line}: is not UTF-8 (bytes {bad!r} near {shown!r}); the file looks "
        f"like {_guess_8bit(context)}; fix: {fix}"
    )


def _find_bad_utf8(path: Path, fix: str) -> SourceError | None:
    """The first invalid UTF-8 byte of the file as an error with its line (slow path)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start counts in the decoder's buffer: the undecoded tail + chunk
                pos = exc.start
                line = lines_before + data.count(b"\n", 0, pos) + 1
                return _encoding_error(path, data, line, pos, fix)
            state = decoder.getstate()[0]
            lines_before += data.count(b"\n") - state.count(b"\n")
            tail = state
    return None


def _check_separator(path: Path, header: str, names: list[str], table: Table, fix: str) -> None:
    expected = set(table.column_names)
    for sep, label in _OTHER_SEPARATORS.items():
        parts = [p.strip().strip('"') for p in header.split(sep)]
        if len(parts) > 1 and len(expected & set(parts)) > len(expected & set(names)):
            raise SourceError(
                f"'{path}', line 1: the columns are separated by {label}, not commas (the header "
                f"reads {header[:60]!r}); fix: {fix}"
                + (
                    "; such exports often write decimal commas too (1234,50): export with a "
                    "point as the decimal separator"
                    if sep == ";"
                    else ""
                )
            )


def _check_duplicates(path: Path, names: list[str]) -> None:
    stripped = [n.strip() for n in names]
    counts = Counter(stripped)
    dups = [n for n, k in counts.items() if k > 1]
    if dups:
        where = "; ".join(
            f"'{n}' in columns {', '.join(str(i + 1) for i, m in enumerate(stripped) if m == n)}"
            for n in dups
        )
        raise SourceError(
            f"'{path}', line 1: the header names a column more than once ({where}); the kit "
            "cannot tell which one holds the data; fix: delete or rename the extra column so "
            "that each name appears once"
        )


def _check_rows(path: Path, n_fields: int, fix: str) -> None:
    """Every line holds ``n_fields`` fields: one vectorised pass over the raw lines."""
    text = pl.col("text")
    quotes = text.str.count_matches('"', literal=True)
    lines = pl.scan_lines(path, name="text").with_row_index("line", offset=1)
    try:
        stats = (
            lines.with_columns(**_shape(text, quotes), quotes=quotes)
            .select(
                pl.len().alias("n"),
                (pl.col("quotes") % 2 == 1).any().alias("odd"),
                *_line_checks(n_fields),
            )
            .collect()
            .row(0, named=True)
        )
    except pl.exceptions.PolarsError as exc:
        error = _find_bad_utf8(path, fix)
        if error is not None:
            raise error from exc
        raise SourceError(f"cannot read '{path}': {_first_line(exc)}; fix: {fix}") from exc
    if stats["odd"]:
        # A quoted field spans lines (or a quote is never closed): count per record.
        stats = _record_stats(lines, n_fields, path)
    last = stats["n"]
    problems = []
    if stats["short_n"]:
        problems.append(
            _describe_lines(
                stats["short_n"],
                stats["short_lines"],
                stats["short_fields"],
                f"fewer fields than the {n_fields} of the header",
                last,
            )
            + " (a row cut short or missing trailing commas: its last columns would silently "
            "be read as empty)"
        )
    if stats["long_n"]:
        problems.append(
            _describe_lines(
                stats["long_n"],
                stats["long_lines"],
                stats["long_fields"],
                f"more fields than the {n_fields} of the header",
                last,
            )
            + " (an unquoted comma inside a value, or an extra column without a header)"
        )
    if stats["blank_n"]:
        shown = ", ".join(str(n) for n in stats["blank_lines"])
        more = stats["blank_n"] - len(stats["blank_lines"])
        problems.append(
            f"{'line' if stats['blank_n'] == 1 else 'lines'} {shown}"
            + (f" and {more} more" if more > 0 else "")
            + f" {'is' if stats['blank_n'] == 1 else 'are'} blank (each would be read as a row of "
            "empty values)"
        )
    if problems:
        raise SourceError(
            f"'{path}': " + "; ".join(problems) + "; fix: every line needs one value per header "
            "column: quote values that contain commas, delete blank lines, re-export a file "
            "cut off by an interrupted export"
        )


def _shape(text: pl.Expr, quotes: pl.Expr) -> dict[str, pl.Expr]:
    """A line's (or record's) field count, quoted commas not counted, and whether it is blank."""
    unquoted = pl.when(quotes > 0).then(text.str.replace_all(r'"[^"]*"', "")).otherwise(text)
    return {
        "fields": unquoted.str.count_matches(",", literal=True) + 1,
        "blank": text.str.strip_chars().str.len_bytes() == 0,
    }


def _line_checks(n_fields: int) -> list[pl.Expr]:
    """Short, long and blank lines (records): their count, first lines and field counts."""
    return [
        *_flagged("short", (pl.col("fields") < n_fields) & ~pl.col("blank")),
        *_flagged("long", pl.col("fields") > n_fields),
        *_flagged("blank", pl.col("blank") & (pl.col("line") > 1)),
    ]


def _flagged(name: str, bad: pl.Expr) -> list[pl.Expr]:
    return [
        bad.sum().alias(f"{name}_n"),
        pl.col("line").filter(bad).head(_SHOW_LINES).implode().alias(f"{name}_lines"),
        pl.col("fields").filter(bad).head(_SHOW_LINES).implode().alias(f"{name}_fields"),
    ]


def _record_stats(lines: pl.LazyFrame, n_fields: int, path: Path) -> dict[str, Any]:
    """Field counts per CSV record when quoted values span lines (a rarer, slower path)."""
    text = pl.col("text")
    quotes = text.str.count_matches('"', literal=True)
    inside = ((quotes.cum_sum() - quotes) % 2) == 1  # the line starts inside a quoted value
    records = (
        lines.with_columns(start=~inside, quotes=quotes)
        .with_columns(record=pl.col("start").cum_sum())
        .group_by("record", maintain_order=True)
        .agg(
            pl.col("line").first(),
            text.str.join("\n"),
            pl.col("quotes").sum(),
            pl.col("line").last().alias("last_line"),
        )
        .with_columns(**_shape(text, pl.col("quotes")))
    )
    stats = (
        records.select(
            pl.col("last_line").max().alias("n"),
            (pl.col("quotes").sum() % 2 == 1).alias("open"),
            pl.col("line").last().alias("open_line"),
            *_line_checks(n_fields),
        )
        .collect()
        .row(0, named=True)
    )
    if stats["open"]:
        raise SourceError(
            f"'{path}', line {stats['open_line']}: a quoted value opens here and is never "
            'closed: the file ends inside it (a truncated export, or a stray " in a value); '
            'fix: close the quote, or write a quote inside a value as two (""); '
            "re-export the file if it was cut off"
        )
    return stats


def _describe_lines(n: int, lines: list[int], fields: list[int], what: str, last: int) -> str:
    shown = ", ".join(
        f"{line} ({k} field{'s' if k != 1 else ''}{', the last line' if line == last else ''})"
        for line, k in zip(lines, fields, strict=True)
    )
    more = n - len(lines)
    return (
        f"{'line' if n == 1 else 'lines'} {shown}"
        + (f" and {more} more" if more > 0 else "")
        + f" {'has' if n == 1 else 'have'} {what}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
