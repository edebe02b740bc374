"""Shared fixtures: tiny canonical data folders written from Python literals."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alignment_lib.schema import LEADS, OPPORTUNITIES, TARGETS
from tests._browser import browser  # noqa: F401 - the shared headless Chromium fixture

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


#: markers that keep a test out of the fast tier (``make check``: ``-m "not slow and
#: not browser and not notebook"``); registered in pyproject.toml
SLOW_TIERS = ("slow", "browser", "notebook")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark nbval's cells (the recorded notebooks in tests/notebooks/) ``notebook``:
    each runs in a kernel that executes a whole workbook."""
    from nbval.plugin import IPyNbCell

    for item in items:
        if isinstance(item, IPyNbCell):
            item.add_marker(pytest.mark.notebook)


class KernelInFastTestError(RuntimeError):
    """A test of the fast tier tried to start a Jupyter kernel."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """In a test without a slow-tier marker, starting a Jupyter kernel fails at once.

    The fast tier's promise (minutes, not tens of minutes) breaks silently when a
    new test executes a notebook or renders a report unmarked; this makes it fail
    loudly instead, fixtures included (a session fixture that renders the sample
    report is set up inside its first test's protocol).
    """
    if any(item.get_closest_marker(m) for m in SLOW_TIERS):
        return (yield)
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    original = LocalProvisioner.launch_kernel

    async def refuse(self: LocalProvisioner, cmd: list[str], **kwargs: object) -> object:
        raise KernelInFastTestError(
            f"{item.nodeid} starts a Jupyter kernel but is not marked slow; expected a fast "
            "test (make check runs -m 'not slow and not browser and not notebook'). Fix: "
            "mark it @pytest.mark.slow."
        )

    LocalProvisioner.launch_kernel = refuse  # type: ignore[method-assign]
    try:
        return (yield)
    finally:
        LocalProvisioner.launch_kernel = original  # type: ignore[method-assign]


def write_table(folder: Path, name: str, columns: list[str], rows: list[dict[str, str]]) -> Path:
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def lead(**values: str) -> dict[str, str]:
    return {"lead_id": "L1", "created_at": "2026-01-05T09:00:00Z", "channel": "Webinar", **values}


def opp(**values: str) -> dict[str, str]:
    return {
        "opportunity_id": "O1",
        "created_at": "2026-01-10T09:00:00Z",
        "source": "marketing",
        "stage": "Discovery",
        **values,
    }


@pytest.fixture(autouse=True)
def _reporting_currency_restored() -> Iterator[None]:
    """``open_workbook`` makes the data's currency the process's (alignment_lib.money): a
    test that opens a EUR workbook must not turn the next test's dollars into euros."""
    from alignment_lib.money import reporting_currency, use_currency

    before = reporting_currency()
    yield
    use_currency(before)


@pytest.fixture
def make_data(tmp_path: Path) -> Callable[..., Path]:
    """Write a data folder; each table defaults to one valid row."""

    def make(
        leads: list[dict[str, str]] | None = None,
        opportunities: list[dict[str, str]] | None = None,
        targets: list[dict[str, str]] | None = None,
        skip: tuple[str, ...] = (),
    ) -> Path:
        folder = tmp_path / "data"
        folder.mkdir(exist_ok=True)
        tables = {
            LEADS: leads if leads is not None else [lead()],
            OPPORTUNITIES: opportunities if opportunities is not None else [opp()],
            TARGETS: targets
            if targets is not None
            else [
                {
                    "fiscal_quarter": "FY2026-Q1",
                    "metric": "bookings",
                    "team": "shared",
                    "value": "1000",
                }
            ],
        }
        for table, rows in tables.items():
            if table.name not in skip:
                write_table(folder, table.name, table.column_names, rows)
        return folder

    return make


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample's report rendered once per test run (the out folder), in full:
    with the notebooks' static pictures, whichever test first asks for it (a module that
    switches the pictures off for its own renders must not switch them off here: the lab
    and hostile-text tests compare with this report's pictures)."""
    from alignment_lib.cli import main

    out = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("ALIGNMENT_STATIC_PICTURES", raising=False)
        assert main(["report", "--out", str(out)]) == 0
    return out
