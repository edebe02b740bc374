"""The Data health workbook lists what loading repaired or warned about, with the rows.

Runs notebooks/data_health.ipynb with papermill on a corpus slice holding both
control characters (four leads columns) and a 1e15 amount, then reads the
executed notebook and its executive page.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill as pm
import pytest

from tests.conftest import REPO
from tests.corpus.build_corpus import Case, _amount, _control_characters, build

pytestmark = pytest.mark.slow


def _both(folder: Path) -> None:
    _control_characters(folder)
    _amount("1e15")(folder)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    root = tmp_path_factory.mktemp("health")
    folder = build(root, {"both": Case(_both, 0, ())})["both"]
    out = root / "data_health.ipynb"
    pm.execute_notebook(
        str(REPO / "notebooks" / "data_health.ipynb"),
        str(out),
        parameters={"data_dir": str(folder), "quarter": "latest"},
        kernel_name="python3",
        cwd=str(REPO / "notebooks"),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for key in ("text/html", "text/plain"):
                value = output.get("data", {}).get(key)
                if value:
                    texts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(texts)


def test_the_page_lists_repairs_and_warnings_with_their_rows(executed) -> None:
    text = _outputs(executed)
    assert "Repairs and warnings on load" in text
    assert "1 amount (opportunities.csv) is more than 1,000 times the median won amount" in text
    assert "4 values had control or right-to-left override characters" in text
    for where in ("leads.csv, campaign", "leads.csv, channel", "opportunities.csv, amount"):
        assert where in text, where
    # the control characters themselves never reach a page
    assert "\x07" not in text and "\x1b" not in text and "\u202e" not in text
