"""Re-record the outputs nbval compares against: ``make nbval-refresh``.

Executes each source workbook in ``notebooks/`` with its default parameters
(the bundled sample data, latest complete quarter) and writes the executed
copy to ``tests/notebooks/``. nbval (``--nbval-lax``) then re-runs those copies
in every test run and fails when a cell tagged ``nbval-check-output`` shows
different numbers. Review the diff of ``tests/notebooks/`` before committing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "notebooks"
TARGET = REPO / "tests" / "notebooks"
STATIC_CLASS = "alignment-chart-static"
_PICTURE = re.compile(rf'<div class="{STATIC_CLASS}" .*?</div></div>\n?', re.DOTALL)


def refresh(name: str) -> Path:
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(TARGET)}}
    ).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if isinstance(html, str) and STATIC_CLASS in html:
                # nbval does not compare chart outputs; their ~100 KB pictures would
                # only bloat the repository
                output["data"]["text/html"] = _PICTURE.sub("", html)
    out = TARGET / f"{name}.ipynb"
    nbformat.write(nb, out)
    return out


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in SOURCES.glob("*.ipynb"))
    for name in names:
        print(refresh(name))
