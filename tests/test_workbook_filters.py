"""The filter statement on the pages, and filter values that match nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignment_lib import ParameterError, describe_filters, open_workbook
from alignment_lib.workbook import _Filters

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def test_describe_filters_names_segment_then_region() -> None:
    assert describe_filters({}) == ""
    assert describe_filters({"segment": "", "region": ""}) == ""
    assert describe_filters({"region": "EMEA", "segment": "Enterprise"}) == (
        "Segment: Enterprise · Region: EMEA"
    )
    assert describe_filters({"region": "EMEA"}) == "Region: EMEA"


def test_filter_statement_is_escaped() -> None:
    text = describe_filters({"segment": "<b>Big</b> & co"})
    shown = _Filters(text, f"Targets: those set for {text} in the targets table.")
    assert repr(shown) == (
        "Filtered report · Segment: <b>Big</b> & co\n"
        "Targets: those set for Segment: <b>Big</b> & co in the targets table."
    )
    html = shown._repr_html_()
    assert "Filtered report · Segment: &lt;b&gt;Big&lt;/b&gt; &amp; co</p>" in html
    escaped = "Segment: &lt;b&gt;Big&lt;/b&gt; &amp; co"
    assert f"those set for {escaped} in the targets table.</p>" in html
    assert "<b>" not in html


@pytest.mark.parametrize(
    ("column", "value", "listed"),
    [
        ("segment", "Nope", "'Enterprise', 'Mid-Market', 'SMB'"),
        ("region", "emea", "'APAC', 'EMEA', 'LATAM', 'NA'"),
    ],
)
def test_filter_value_that_matches_nothing_is_a_parameter_error(
    column: str, value: str, listed: str
) -> None:
    with pytest.raises(ParameterError) as info:
        open_workbook(quarter="FY2026-Q3", data_dir=str(SAMPLE), **{column: value})
    assert str(info.value) == (
        f"no lead or opportunity has {column} {value!r}; the {column}s in the data location "
        f"'sample' are: "
        f"{listed}; fix: pass one of them (spelled exactly, case included), or leave "
        f"{column} empty for all"
    )


def test_filter_that_exists_keeps_its_rows() -> None:
    wb = open_workbook(quarter="FY2026-Q3", data_dir=str(SAMPLE), segment="Enterprise")
    assert wb.filters == {"segment": "Enterprise"}
    segments = wb.data.opportunities.select("segment").unique().collect()["segment"].to_list()
    assert segments == ["Enterprise"]


@pytest.mark.slow
def test_kernels_skip_the_rfc3987_grammar() -> None:
    # every kernel imports the kit; the grammar cost ~1.7 s of CPU each (alignment_lib/_startup)
    import subprocess
    import sys

    code = (
        "import sys, alignment_lib, altair, jsonschema; "
        "print(sys.modules.get('rfc3987_syntax', 'absent'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() in ("None", "absent")
