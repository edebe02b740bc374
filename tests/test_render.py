"""End to end: the sample report renders, is safe to re-run, and a failure changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from alignment_lib import RenderError
from alignment_lib.cli import main
from alignment_lib.render import MARKER, NOTEBOOK_DIR, WORKBOOKS, render_report

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def rendered(sample_report: Path) -> Path:
    return sample_report


def test_sample_report_bundle(rendered: Path) -> None:
    folder = rendered / "FY2026-Q3"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    pages = [f for f in files if not f.startswith("charts/")]
    expected = ["index.html", MARKER]
    for name in WORKBOOKS:
        expected += [f"{name}.html", f"analyst/{name}.html", f"notebooks/{name}.ipynb"]
    assert pages == sorted(expected)
    images = [f for f in files if f.startswith("charts/pipeline_vs_closes-01-")]
    assert sorted(Path(f).suffix for f in images) == [".png", ".svg"]
    for f in images:
        head = (folder / f).read_bytes()[:200]
        assert head.startswith(b"\x89PNG") or b"<svg" in head
    assert not (rendered / ".failed").exists()
    # <out>/FY2026-Q3 links to the one build; its lock file beside it
    build = os.readlink(rendered / "FY2026-Q3")
    assert sorted(p.name for p in rendered.iterdir()) == sorted(
        ["FY2026-Q3", build, ".FY2026-Q3.lock"]
    )
    assert re.fullmatch(r"\.FY2026-Q3\.\d{8}T\d{6}-\d+-[0-9a-f]{6}", build)


def test_executive_page_is_offline_and_codeless(rendered: Path) -> None:
    page = (rendered / "FY2026-Q3" / "pipeline_vs_closes.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?://", page)
    assert "open_workbook" not in page and "import alignment_lib" not in page
    assert "injected-parameters" not in page and "An Exception was encountered" not in page
    assert "Bookings in FY2026-Q3 were" in page
    analyst = (rendered / "FY2026-Q3" / "analyst" / "pipeline_vs_closes.html").read_text()
    assert "open_workbook" in analyst


def test_executed_notebook_got_the_resolved_parameters(rendered: Path) -> None:
    nb = json.loads((rendered / "FY2026-Q3" / "notebooks" / "pipeline_vs_closes.ipynb").read_text())
    params = nb["metadata"]["papermill"]["parameters"]
    assert params["quarter"] == "FY2026-Q3"
    # the data location as pages show it, not the snapshot the workbook read (docs/sources.md)
    assert params["data_dir"] == "sample"
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert 'data_dir = "sample"' in "".join(injected[0]["source"])


def test_failed_render_leaves_previous_report_untouched(rendered: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in (rendered / "FY2026-Q3").rglob("*") if p.is_file()}
    broken = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, broken)
    nb = json.loads((broken / "pipeline_vs_closes.ipynb").read_text())
    nb["cells"][4]["source"] = "raise RuntimeError('boom in the middle')"
    (broken / "pipeline_vs_closes.ipynb").write_text(json.dumps(nb))
    with pytest.raises(RenderError) as info:
        render_report(
            quarter="FY2026-Q3",
            parameters={"quarter": "FY2026-Q3"},
            out_dir=rendered,
            notebook_dir=broken,
        )
    message = str(info.value)
    assert "workbook 'pipeline_vs_closes' failed in cell" in message
    assert "RuntimeError: boom in the middle" in message
    after = {p: p.read_bytes() for p in (rendered / "FY2026-Q3").rglob("*") if p.is_file()}
    assert after == before
    kept = rendered / ".failed" / "FY2026-Q3"
    assert f"the failed notebook is kept in {kept / 'notebooks'}" in message
    # only the failed notebook is kept, not a copy of the whole render
    files = sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*") if p.is_file())
    assert files == [MARKER, "notebooks/pipeline_vs_closes.ipynb"]
    assert "boom in the middle" in (kept / "notebooks" / "pipeline_vs_closes.ipynb").read_text()
    # and no partial build is left beside the report
    assert sorted(p.name for p in rendered.iterdir()) == sorted(
        ["FY2026-Q3", os.readlink(rendered / "FY2026-Q3"), ".FY2026-Q3.lock", ".failed"]
    )
    shutil.rmtree(rendered / ".failed")


def test_rerender_gives_identical_pages(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as `make report` runs it: a relative output folder (papermill changes the working
    # directory while a notebook runs; a relative path once broke the render there)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--out", "reports"]) == 0
    assert Path.cwd() == tmp_path  # the render put the working directory back
    for name in WORKBOOKS:
        first = (rendered / "FY2026-Q3" / f"{name}.html").read_bytes()
        again = tmp_path / "reports" / "FY2026-Q3" / f"{name}.html"
        assert again.read_bytes() == first, name

    def without_timestamp(p: Path) -> str:
        return re.sub(r"Rendered at [^<]*", "", p.read_text())

    index = without_timestamp(tmp_path / "reports" / "FY2026-Q3" / "index.html")
    assert index == without_timestamp(rendered / "FY2026-Q3" / "index.html")


def test_index_page_has_headline_numbers_and_links(rendered: Path, capsys) -> None:
    page = (rendered / "FY2026-Q3" / "index.html").read_text()
    assert "<script" not in page and "Content-Security-Policy" in page
    assert "href='pipeline_vs_closes.html'" in page
    assert "href='analyst/pipeline_vs_closes.html'" in page
    # the scorecard's bookings row and the workbook's own findings
    assert re.search(r"<td>Bookings</td><td class='num'>\$[\d.]+M</td>", page)
    assert "Bookings in FY2026-Q3 were" in page


# ---------------------------------------------------------------- filtered renders


def test_filtered_render_lives_apart_and_says_so(rendered: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "reports"
    shutil.copytree(rendered, out, symlinks=True)
    company = {p: p.read_bytes() for p in (out / "FY2026-Q3").rglob("*") if p.is_file()}
    argv = ["report", "--out", str(out), "--workbook", "data_health", "--no-images"]
    assert main([*argv, "--segment", "Enterprise", "--region", "EMEA"]) == 0
    folder = out / "FY2026-Q3-segment-Enterprise-region-EMEA"
    assert capsys.readouterr().out.strip() == str(folder / "index.html")
    index = (folder / "index.html").read_text()
    assert "<title>FY2026-Q3 · Segment: Enterprise · Region: EMEA · " in index
    assert "<h1>FY2026-Q3 · Segment: Enterprise · Region: EMEA: marketing" in index
    assert "Filtered report: Segment: Enterprise · Region: EMEA." in index
    page = (folder / "data_health.html").read_text()
    assert "<title>Data health · FY2026-Q3 · Segment: Enterprise · Region: EMEA</title>" in page
    # the company report is untouched
    after = {p: p.read_bytes() for p in (out / "FY2026-Q3").rglob("*") if p.is_file()}
    assert after == company
    # a hostile filter value stays inside the output folder (a filter must match some
    # row, so a copy of the sample gives a few leads that segment)
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    lines = (data / "leads.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    column = lines[0].rstrip("\n").split(",").index("segment")
    for i in range(1, 6):
        fields = lines[i].rstrip("\n").split(",")
        fields[column] = "../../escape me"
        lines[i] = ",".join(fields) + "\n"
    (data / "leads.csv").write_text("".join(lines), encoding="utf-8")
    assert main([*argv, "--data", str(data), "--segment", "../../escape me"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.parent.parent == out and printed.parent.name.startswith("FY2026-Q3-segment-")
    assert not (tmp_path / "escape me").exists()
    assert "Segment: ../../escape me" in printed.read_text()
