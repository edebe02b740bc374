"""One exception family for the kit.

Every error says what was expected, what was found, where (file, column,
rows) and how to fix it. The command line turns any :class:`AlignmentError`
into a readable message and a non-zero exit code, never a traceback.

Exit codes (``docs/rendering.md`` lists them with examples): 2 source,
3 data, 4 parameter, 5 render (a workbook failed), 6 output (the output
folder cannot be written: a file in the way, no permission, read-only,
full disk, or a folder the kit did not write), 7 busy (another render is
writing the same report folder). The command line adds 130 (interrupted,
Ctrl-C), 143 (terminated, SIGTERM) and 70 (a bug in the kit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AlignmentError",
    "DataValidationError",
    "MappingError",
    "OutputError",
    "ParameterError",
    "Problem",
    "RenderError",
    "ReportBusyError",
    "SourceError",
]


class AlignmentError(Exception):
    """Base class of every error the kit raises on purpose."""

    #: process exit code the command line uses for this family
    exit_code: int = 1


class SourceError(AlignmentError):
    """The data location cannot be read: missing folder, file or format."""

    exit_code = 2


class MappingError(SourceError):
    """A mapping file (or preset) cannot be used as written: the data cannot be read as meant.

    The message names the mapping file, the key and the offending value (an
    unknown key or column, a SQL expression that does not parse, an invalid
    currency code, ...) and the fix. Values of the export that the mapping
    cannot convert (an unmapped stage, a date in none of the formats) are
    :class:`DataValidationError` problems instead, with their rows.
    """


@dataclass(frozen=True)
class Problem:
    """One broken rule in one column of one input file."""

    file: str
    column: str | None
    rule: str
    message: str
    fix: str
    rows: tuple[int, ...] = field(default=())
    n_rows: int = 0

    def describe(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = self.n_rows - len(self.rows)
            text += f" (row{'s' if self.n_rows > 1 else ''} {shown}"
            text += f" and {more} more)" if more > 0 else ")"
        return f"{text}\n    fix: {self.fix}"


class DataValidationError(AlignmentError):
    """The input tables break the canonical data model.

    ``problems`` lists every broken rule found (not only the first), each with
    the file, column, offending rows (1 = first data row after the header) and
    the fix.
    """

    exit_code = 3

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        lines = [
            f"the input data has {n} problem{'s' if n != 1 else ''} "
            "(rows count from 1 at the first data row under the header):"
        ]
        lines += [f"  - {p.describe()}" for p in self.problems]
        super().__init__("\n".join(lines))


class ParameterError(AlignmentError):
    """A report or notebook parameter is unknown, ill-typed or out of range."""

    exit_code = 4


class RenderError(AlignmentError):
    """A workbook failed while rendering; the previous report is untouched.

    ``workbooks`` names the workbooks that failed (their executed notebooks
    are kept for debugging).
    """

    exit_code = 5

    def __init__(self, message: str, *, workbooks: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.workbooks = tuple(workbooks)


class OutputError(AlignmentError):
    """The report cannot be written where asked: an environment problem, not a bug.

    The output folder is a file (or under one), not writable, on a read-only
    file system, on a full disk, or holds a folder of the same name that the
    kit did not write (the kit never deletes or replaces such a folder). The
    previous report is untouched and the partial render removed.
    """

    exit_code = 6


class ReportBusyError(AlignmentError):
    """Another render holds the lock of the same report folder."""

    exit_code = 7
