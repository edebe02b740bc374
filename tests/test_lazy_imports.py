"""Imports on first use (docs/architecture.md, "Imports"): ``alignment validate``, the
exceptions and the metrics import none of altair, great_tables, IPython, papermill, nbconvert;
every public name still resolves from ``alignment_lib``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import alignment_lib

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("altair", "great_tables", "IPython", "papermill", "nbconvert")


def _loaded_after(code: str) -> list[str]:
    script = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_validate_and_the_exceptions_import_no_chart_or_notebook_stack() -> None:
    code = (
        "import alignment_lib.exceptions, alignment_lib.metrics, alignment_lib.workbook_metrics\n"
        "from alignment_lib.cli import main\n"
        "assert main(['validate', '--data', 'data/sample']) == 0"
    )
    assert _loaded_after(code) == []


def test_a_chart_name_imports_altair_when_first_used() -> None:
    loaded = _loaded_after("import alignment_lib as al\nal.chart_funnel_cohorts")
    assert "altair" in loaded


def test_every_public_name_resolves() -> None:
    for name in alignment_lib.__all__:
        assert getattr(alignment_lib, name) is not None, name
