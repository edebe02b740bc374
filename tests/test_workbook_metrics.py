"""workbook_metrics computes what each notebook computes: the same frames, by the same names.

Each notebook's assignments (not its display calls) run on the sample as in a
kernel; every metric frame they leave behind must be one of
``workbook_metrics(name, wb)`` with equal values, and the other way round. A
notebook that gains, loses or changes a metric call fails here until
``alignment_lib/workbook_metrics.py`` follows.
"""

from __future__ import annotations

import ast
import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import alignment_lib as al
from alignment_lib.metrics import HealthReport
from alignment_lib.render import NOTEBOOK_DIR
from alignment_lib.workbook_metrics import (
    WORKBOOK_NAMES,
    collect_metrics,
    metric_names,
    workbook_metrics,
)

QUARTER = "FY2026-Q3"


@pytest.fixture(scope="module")
def wb() -> al.Workbook:
    return al.open_workbook(quarter=QUARTER, data_dir="sample")


def _notebook_frames(name: str, wb: al.Workbook) -> dict[str, pl.DataFrame]:
    """The metric frames the notebook's assignments leave behind, run on ``wb``."""
    cells = json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    namespace: dict[str, object] = {"al": al, "pl": pl, "wb": wb}
    for source in code:  # the parameters cell too: the notebook's defaults
        for statement in ast.parse(source).body:
            if isinstance(statement, ast.Assign | ast.AnnAssign) and not (
                isinstance(
                    target := getattr(statement, "target", None) or statement.targets[0], ast.Name
                )
                and target.id == "wb"
            ):
                exec(compile(ast.Module([statement], []), name, "exec"), namespace)
    frames = {k: v for k, v in namespace.items() if isinstance(v, pl.DataFrame)}
    for value in namespace.values():
        if isinstance(value, HealthReport):  # the page reads its other frames off the report
            frames.update(tracked=value.tracked, switched_off=value.switched_off)
    return frames


@pytest.mark.parametrize("name", WORKBOOK_NAMES)
def test_workbook_metrics_are_the_notebooks_frames(name: str, wb: al.Workbook) -> None:
    want = _notebook_frames(name, wb)
    got = collect_metrics(workbook_metrics(name, wb))
    assert set(got) == set(want) == set(metric_names(name))
    for key, frame in got.items():
        assert_frame_equal(frame, want[key], check_exact=True)


def test_only_some_metrics(wb: al.Workbook) -> None:
    got = workbook_metrics("handoff", wb, only=["by_owner"])
    assert list(got) == ["by_owner"]
    assert workbook_metrics("data_health", wb, only=[]) == {}


def test_unknown_names_are_refused(wb: al.Workbook) -> None:
    with pytest.raises(al.ParameterError, match="the workbooks are: scorecard"):
        workbook_metrics("pipeline", wb)
    with pytest.raises(al.ParameterError, match="computes no cohort; it computes: cohorts"):
        workbook_metrics("funnel", wb, only=["cohort"])
