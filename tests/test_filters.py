"""Every segment x region filter of the sample renders, and every page says it is filtered.

The sample has three segments (Enterprise, Mid-Market, SMB) and four regions
(NA, EMEA, APAC, LATAM). With "all" on either side that is 4 x 5 = 20 renders
of the latest quarter (FY2026-Q3): the company report, each segment alone,
each region alone and the 12 pairs, through ``render_report`` as
``alignment report`` calls it, without slide images and without the static
pictures in the notebooks (``ALIGNMENT_STATIC_PICTURES=0``: no page uses them).
Before this test, 32 of the 60 filtered renders over three quarters failed in
the handoff workbook (a channel without rejections gave 0/0, then an integer
cast of NaN).
"""

from __future__ import annotations

import html
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_lib.render import WORKBOOKS, ReportResult, render_report
from alignment_lib.workbook import STATIC_PICTURES_ENV, describe_filters

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
QUARTER = "FY2026-Q3"
SEGMENTS = ["", "Enterprise", "Mid-Market", "SMB"]
REGIONS = ["", "NA", "EMEA", "APAC", "LATAM"]
COMBOS = list(itertools.product(SEGMENTS, REGIONS))
#: the workbooks that call show_filters right after open_workbook (data_health is
#: another helper's; its page names the filter in its "Data:" lines at the end)
BANNER = [name for name in WORKBOOKS if name != "data_health"]


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Renders made on demand, once per combination, kept for the module."""
    done: dict[tuple[str, str], tuple[ReportResult, float]] = {}
    out = tmp_path_factory.mktemp("filtered")

    def render(segment: str, region: str) -> tuple[ReportResult, float]:
        if (segment, region) not in done:
            params = {"quarter": QUARTER, "data_dir": str(SAMPLE)}
            params.update({k: v for k, v in (("segment", segment), ("region", region)) if v})
            started = time.perf_counter()
            result = render_report(
                quarter=QUARTER,
                parameters=params,
                out_dir=out / f"{segment or 'all'}-{region or 'all'}",
                images=False,
            )
            done[segment, region] = (result, time.perf_counter() - started)
        return done[segment, region]

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STATIC_PICTURES_ENV, "0")  # the kernels inherit it
        yield {"render": render, "done": done}
    times = [seconds for _, seconds in done.values()]
    if times:
        print(f"\n{len(times)} renders: {sum(times):.0f} s, slowest {max(times):.0f} s")


@pytest.mark.parametrize(
    ("segment", "region"), COMBOS, ids=[f"{s or 'all'}-{r or 'all'}" for s, r in COMBOS]
)
def test_filtered_report_renders_and_says_so(renders: dict, segment: str, region: str) -> None:
    result, _ = renders["render"](segment, region)
    statement = describe_filters({"segment": segment, "region": region})
    assert statement == " · ".join(
        part for part in (segment and f"Segment: {segment}", region and f"Region: {region}") if part
    )
    assert sorted(result.executive) == sorted(WORKBOOKS)
    for name in WORKBOOKS:
        for variant, page in (
            ("executive", result.executive[name]),
            ("analyst", result.analyst[name]),
        ):
            text = page.read_text(encoding="utf-8")
            assert "An Exception was encountered" not in text, (name, variant)
            if not statement:
                assert "alignment-filters" not in text and "Filtered to" not in text
                continue
            # the describe_workbook line at the end of every page
            assert f"Filtered to {html.escape(statement)}." in text, (name, variant)
            if name in BANNER:
                banner = f"Filtered report · {html.escape(statement)}</p>"
                assert banner in text, (name, variant)
                # near the top: before the page's first findings
                assert text.index(banner) < text.index("alignment-findings"), (name, variant)
