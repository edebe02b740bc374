"""Small notebooks, built in code and run with papermill, for the export tests."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parents[1]

#: data values that break out of a <script> or an attribute if not escaped
HOSTILE = "</script><img src=x onerror=alert(1)>"
HOSTILE_2 = "<b onmouseover=alert(2)>R&D \u2028 team</b>"

#: markers whose presence in an exported page is tested
CODE_MARKER = "code_marker_5f3a"
PARAM_DEFAULT = "param-default-81c2"
PARAM_INJECTED = "param-injected-77d0"
STDOUT_MARKER = "stdout-marker-2b9e"
STDERR_MARKER = "stderr-warning-0c4d"
REMOVED_CELL_MARKER = "removed-cell-3e1f"
REMOVED_OUTPUT_MARKER = "removed-output-a6b8"
KEPT_OUTPUT_MARKER = "kept-output-d41c"
ERROR_MARKER = "boom-9f2e"

_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

_SETUP = """\
import warnings

import altair as alt
import polars as pl

from alignment_lib.export import enable_renderer

enable_renderer()
"""


def _notebook(cells: list[Any]) -> nbformat.NotebookNode:
    return new_notebook(cells=cells, metadata={"kernelspec": dict(_KERNELSPEC)})


def report_notebook() -> nbformat.NotebookNode:
    """A report with three charts (the first with hostile campaign names),
    a parameters cell, tagged cells, stdout, a warning and a table."""
    frame = (
        f"df = pl.DataFrame({{'campaign': ['Spring', {HOSTILE!r}, {HOSTILE_2!r}], "
        "'leads': [3, 5, 2]})"
    )
    return _notebook(
        [
            new_markdown_cell("# Pipeline report\n\nBookings reached 96% of target."),
            new_code_cell(
                f"label = {PARAM_DEFAULT!r}  # str: a label",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(f"{_SETUP}{CODE_MARKER} = 1\n{frame}"),
            # a chart as a cell's last expression
            new_code_cell(
                "alt.Chart(df).mark_bar().encode(x='campaign:N', y='leads:Q')"
                ".properties(title='Leads by campaign')"
            ),
            # a chart through display(), then a warning (stderr)
            new_code_cell(
                "display(alt.Chart(df).mark_point().encode(x='leads:Q', y='campaign:N'))\n"
                f"warnings.warn({STDERR_MARKER!r})\n"
                f"print({STDOUT_MARKER!r})"
            ),
            new_code_cell(
                "alt.Chart(pl.DataFrame({'q': ['Q1', 'Q2', 'Q3'], 'won': [1.0, 4.0, 2.5]}))"
                ".mark_line(point=True).encode(x='q:O', y='won:Q')"
            ),
            new_code_cell(f"print({REMOVED_CELL_MARKER!r})", metadata={"tags": ["remove-cell"]}),
            new_code_cell(
                f"print({REMOVED_OUTPUT_MARKER!r})", metadata={"tags": ["remove-output"]}
            ),
            new_code_cell(f"print({KEPT_OUTPUT_MARKER!r})", metadata={"tags": ["remove-input"]}),
            new_code_cell("df"),
        ]
    )


def failing_notebook() -> nbformat.NotebookNode:
    """A report whose third cell raises, after one chart."""
    return _notebook(
        [
            new_markdown_cell("# Report that fails"),
            new_code_cell(f"label = {PARAM_DEFAULT!r}  # str", metadata={"tags": ["parameters"]}),
            new_code_cell(
                f"{_SETUP}alt.Chart(pl.DataFrame({{'a': [1, 2]}}))"
                ".mark_bar().encode(x='a:O', y='a:Q')"
            ),
            new_code_cell(f"raise ValueError({ERROR_MARKER!r})"),
            new_code_cell("print('never runs')"),
        ]
    )


def execute(
    nb: nbformat.NotebookNode,
    workdir: Path,
    *,
    name: str = "report",
    parameters: dict[str, Any] | None = None,
) -> nbformat.NotebookNode:
    """Run ``nb`` with papermill in the venv's ``python3`` kernel.

    The kernel runs in the repository root so it imports ``alignment_lib``.
    A failing notebook is returned as papermill wrote it (with its error
    banner cells) instead of raising.
    """
    source = workdir / f"{name}.ipynb"
    output = workdir / f"{name}.out.ipynb"
    nbformat.write(nb, source)
    with contextlib.suppress(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            source,
            output,
            parameters=parameters,
            kernel_name="python3",
            cwd=str(REPO_ROOT),
            progress_bar=False,
            log_output=False,
        )
    return nbformat.read(output, as_version=4)
