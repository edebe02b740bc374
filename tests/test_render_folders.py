"""Report folder names: the company report and each filter apart, any value made safe."""

from __future__ import annotations

import re

import pytest

from alignment_lib.exceptions import ParameterError
from alignment_lib.render import filter_label, report_folder


@pytest.mark.parametrize(
    ("segment", "region", "folder"),
    [
        (None, None, "FY2026-Q3"),
        ("", "", "FY2026-Q3"),
        ("Enterprise", None, "FY2026-Q3-segment-Enterprise"),
        (None, "EMEA", "FY2026-Q3-region-EMEA"),
        ("Enterprise", "EMEA", "FY2026-Q3-segment-Enterprise-region-EMEA"),
        ("Mid-Market", None, "FY2026-Q3-segment-Mid-Market"),
    ],
)
def test_report_folder_of_plain_filters(segment, region, folder) -> None:
    assert report_folder("FY2026-Q3", segment=segment, region=region) == folder


@pytest.mark.parametrize(
    "value",
    [
        "../",
        "../../etc",
        "/abs/path",
        "a/b",
        ".",
        "..",
        "Mid Market",
        "Élite ünïcode",
        "日本",
        "x" * 300,
        "A-region-B",
        "nul\x00byte",
        "-",
        "",
    ],
)
def test_report_folder_of_any_value_is_one_safe_component(value: str) -> None:
    folder = report_folder("FY2026-Q3", segment=value, region=value)
    assert re.fullmatch(r"FY2026-Q3(-[A-Za-z0-9]+)*", folder), folder
    assert len(folder) <= 9 + 2 * (len("-segment-") + 40 + 9)
    assert "/" not in folder and ".." not in folder


def test_report_folder_never_gives_two_filters_one_folder() -> None:
    values = [
        "Mid-Market",
        "Mid Market",
        "mid-market",
        "Mid_Market",
        "Élite",
        "Elite",
        "日本",
        "中国",
    ]
    folders = {report_folder("FY2026-Q3", segment=v) for v in values}
    assert len(folders) == len(values)
    # a segment holding the separator cannot pose as segment + region
    assert report_folder("FY2026-Q3", segment="A-region-B") != report_folder(
        "FY2026-Q3", segment="A", region="B"
    )


def test_report_folder_refuses_a_quarter_that_is_not_a_label() -> None:
    with pytest.raises(ParameterError, match="quarter must be a label like FY2026-Q3"):
        report_folder("../FY2026-Q3")


def test_filter_label() -> None:
    assert filter_label() == ""
    assert filter_label(segment="Enterprise") == "Segment: Enterprise"
    assert filter_label(segment="Enterprise", region="EMEA") == "Segment: Enterprise · Region: EMEA"
    assert filter_label(segment="", region="EMEA") == "Region: EMEA"


def test_an_interrupt_in_the_grace_period_still_removes_the_replaced_build(
    tmp_path, monkeypatch
) -> None:
    """Ctrl-C right after the swap (during the grace period readers of the old build get):
    the new report is in place, the build it replaced is removed all the same, and the
    interrupt still reaches the caller (which says the render is done)."""
    from alignment_lib import render

    old = render._new_build(tmp_path, "FY2026-Q3")
    final = tmp_path / "FY2026-Q3"
    render._swap_in(old, final)
    new = render._new_build(tmp_path, "FY2026-Q3")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(render.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render._swap_in(new, final)
    assert final.resolve() == new.resolve()
    assert not old.exists()
