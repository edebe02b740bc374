"""End to end: the report from each kind of source equals the report from the CSV folder.

The sample is copied into a DuckDB file, a partitioned Parquet folder and a
PostgreSQL schema on a real server (``tests/_sources.py``; ``.ci/run`` starts
the server). Each report's executive pages and index must read exactly as the
CSV folder's, except the index's rendered-at line and the data location the
pages name. A render through a read window (``--read-until-as-of``) must give
the same metric pages too. And no output file, printed line or error message
of a render from PostgreSQL may contain the password.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alignment_lib import RenderError
from alignment_lib.cli import main
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import load_funnel
from alignment_lib.render import NOTEBOOK_DIR, SNAPSHOT, WORKBOOKS, render_report
from alignment_lib.secrets import redact
from tests._sources import (
    drop_postgres_schema,
    load_postgres,
    postgres_uri,
    write_duckdb,
    write_hive,
)

pytestmark = pytest.mark.slow

QUARTER = "FY2026-Q3"
PAGES = [f"{name}.html" for name in WORKBOOKS] + ["index.html"]


class _Text(HTMLParser):
    """The text a reader sees: no script or style content, whitespace folded."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def page_text(path: Path, location: str) -> str:
    """A page's text without the rendered-at time and with the data location as <data>."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    text = "\n".join(parser.parts)
    text = re.sub(r"Rendered at [^\n]*", "Rendered at <time>", text)
    if location:
        # shown whole, or cut to the display limit of 60 characters with "…"
        text = text.replace(location, "<data>")
        text = re.sub(r"Data: [^\n]*?(,|…) seen as of", "Data: <data>, seen as of", text)
    return text


def render(out: Path, location: str | Path, *extra: str) -> Path:
    argv = ["report", "--quarter", QUARTER, "--out", str(out), "--no-images", "--wait", "0"]
    assert main([*argv, "--data", str(location), *extra]) == 0
    return out / QUARTER


@pytest.fixture(scope="module", autouse=True)
def _no_static_pictures() -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ALIGNMENT_STATIC_PICTURES", "0")
    yield
    mp.undo()


@pytest.fixture(scope="module")
def csv_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("csv"), "sample")


@pytest.fixture(scope="module")
def pg_location() -> Iterator[str]:
    uri = postgres_uri()
    schema = f"alignment_reports_{uuid.uuid4().hex[:8]}"
    try:
        yield load_postgres(uri, schema)
    finally:
        drop_postgres_schema(uri, schema)


def assert_same_pages(report: Path, description: str, baseline: Path, pages: list[str]) -> None:
    """Every page of ``pages`` reads as the CSV folder's, the data location aside."""
    for page in pages:
        expected = page_text(baseline / page, "sample")
        got = page_text(report / page, description)
        assert got == expected, f"{page} differs from the CSV folder's"


def test_duckdb_report_equals_csv_report(csv_report: Path, tmp_path: Path) -> None:
    db = write_duckdb(tmp_path / "crm.duckdb")
    report = render(tmp_path / "out", db)
    assert_same_pages(report, "crm.duckdb", csv_report, PAGES)
    assert "Data: crm.duckdb, seen as of" in page_text(report / "scorecard.html", "")


def test_partitioned_parquet_report_equals_csv_report(csv_report: Path, tmp_path: Path) -> None:
    root = write_hive(tmp_path / "crm")
    report = render(tmp_path / "out", root)
    assert_same_pages(report, "crm (partitioned Parquet)", csv_report, PAGES)
    assert "Data: crm (partitioned Parquet), seen as of" in page_text(report / "scorecard.html", "")


def test_postgresql_report_equals_csv_report(
    csv_report: Path, pg_location: str, tmp_path: Path
) -> None:
    report = render(tmp_path / "out", pg_location)
    description = redact(pg_location)
    assert description.startswith("postgresql://alignment:***@")
    assert_same_pages(report, description, csv_report, PAGES)
    shown = page_text(report / "scorecard.html", "")
    assert re.search(r"Data: postgresql://[^:\s]+:\*\*\*@", shown), shown


def test_read_window_changes_no_metric_page(csv_report: Path, tmp_path: Path) -> None:
    """Rows after the as-of instant are not read; only the data-health page can tell."""
    db = write_duckdb(tmp_path / "crm.duckdb")
    report = render(tmp_path / "out", db, "--read-until-as-of")
    metric_pages = [p for p in PAGES if p not in ("data_health.html", "index.html")]
    assert_same_pages(report, "crm.duckdb", csv_report, metric_pages)
    # the index's scorecard and the metric pages' findings are the same; the data-health
    # page says the rows after the as-of instant were not read (unknown), not "0 hidden"
    health = page_text(report / "data_health.html", "crm.duckdb")
    full = page_text(csv_report / "data_health.html", "sample")
    computed = (
        "This report computes on 27,306 leads (8,957 MQLs), 3,524 opportunities (364 open, "
        "802 won, 2,358 lost) and 14,072 stage-history rows."
    )
    assert computed in full and computed in health
    assert (
        "The as-of cut hid what came later: 1,732 leads, 201 opportunities and 724 "
        "stage-history rows" in full
    )
    assert "What the as-of cut hid is unknown: the rows dated after it were not read." in health
    assert "The as-of cut hid what came later" not in health


# ---------------------------------------------------------------- secrets


def _files(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path


def _assert_nowhere(password: str, folder: Path, *texts: str) -> None:
    assert len(password) >= 4
    found = [p for p in _files(folder) if password.encode() in p.read_bytes()]
    assert not found, f"the password is written in {found}"
    for text in texts:
        assert password not in text


def test_no_password_in_any_output_or_message(
    pg_location: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = os.environ["PGPASSWORD"]
    assert "${PGPASSWORD}" in pg_location
    out = tmp_path / "out"
    # with chart images: every file a render writes
    argv = ["report", "--quarter", QUARTER, "--out", str(out), "--data", pg_location]
    assert main(argv) == 0
    printed = capsys.readouterr()
    report = out / QUARTER
    assert (report / "charts").is_dir()
    assert not (report / SNAPSHOT).exists()  # the CRM rows are not published
    _assert_nowhere(password, out, printed.out, printed.err)
    # the analyst page and the executed notebook show the redacted location, not a path
    nb = json.loads((report / "notebooks" / "scorecard.ipynb").read_text())
    shown = nb["metadata"]["papermill"]["parameters"]["data_dir"]
    assert shown.startswith("postgresql://alignment:***@"), shown
    analyst = (report / "analyst" / "scorecard.html").read_text()
    assert "postgresql://alignment:***@" in analyst
    assert str(tmp_path) not in analyst

    # a failed render keeps the failed notebook: no password in it either
    broken = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, broken)
    nb = json.loads((broken / "funnel.ipynb").read_text())
    nb["cells"][4]["source"] = "raise RuntimeError('boom: ' + repr(wb.data.source))"
    (broken / "funnel.ipynb").write_text(json.dumps(nb))
    data = load_funnel(pg_location, calendar=FiscalCalendar())
    with pytest.raises(RenderError) as info:
        render_report(
            quarter=QUARTER,
            parameters={"quarter": QUARTER, "data_dir": pg_location},
            out_dir=out,
            notebook_dir=broken,
            workbooks={"funnel": "Funnel"},
            images=False,
            data=data,
        )
    assert (out / ".failed" / QUARTER / "notebooks" / "funnel.ipynb").is_file()
    assert "boom: 'postgresql://alignment:***@" in str(info.value)
    _assert_nowhere(password, out, str(info.value))

    # induced errors: a wrong password and an unreachable server
    for location, expected in [
        (
            pg_location.replace("${PGPASSWORD}", "${ALIGNMENT_WRONG_PASSWORD}"),
            "refused the user name or password",
        ),
        (re.sub(r"@[^/]+/", "@127.0.0.1:9/", pg_location), "cannot be reached"),
        (re.sub(r"@[^/]+/", "@no-such-host.invalid:5432/", pg_location), "cannot be reached"),
    ]:
        env = {"ALIGNMENT_WRONG_PASSWORD": password + "-wrong"}
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            code = main(["validate", "--data", location])
        printed = capsys.readouterr()
        assert code == 2, printed.err
        assert expected in printed.err, printed.err
        _assert_nowhere(password, out, printed.out, printed.err)
        assert password + "-wrong" not in printed.err
    # a password written into the URI itself is redacted as well
    literal = pg_location.replace("${PGPASSWORD}", password)
    assert main(["validate", "--data", re.sub(r"@[^/]+/", "@127.0.0.1:9/", literal)]) == 2
    printed = capsys.readouterr()
    _assert_nowhere(password, out, printed.out, printed.err)
    assert "postgresql://alignment:***@127.0.0.1:9/" in printed.err
