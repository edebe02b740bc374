"""The validated snapshot: what load_funnel reads from it equals what was validated."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from alignment_lib import ParameterError, SourceError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import FunnelData, load_funnel, load_targets, write_snapshot
from alignment_lib.snapshot import MANIFEST, is_snapshot
from alignment_lib.sources import DirectorySource, SourceOptions, Window
from alignment_lib.workbook import load_uncut
from tests._sources import SAMPLE

FRAMES = ("leads", "opportunities", "stage_history", "targets")


def assert_equal(got: FunnelData, expected: FunnelData, *, ordered: bool = True) -> None:
    """Every field equal: frames row for row (same order and types), the rest by value.

    ``ordered=False``: rows in any order (the as-of cut joins, and joins keep no order).
    """
    for f in dataclasses.fields(FunnelData):
        if f.name in FRAMES:
            a = getattr(expected, f.name).collect()
            b = getattr(got, f.name).collect()
            assert b.schema == a.schema, f.name
            if not ordered:
                a, b = a.sort(a.columns), b.sort(b.columns)
            assert b.equals(a), f.name
        elif f.compare:
            assert getattr(got, f.name) == getattr(expected, f.name), f.name


@pytest.fixture
def rich(tmp_path: Path) -> DirectorySource:
    """The sample with a repair, a warning, an extra dimension, another currency and zone."""
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE, folder)
    opps = pl.read_csv(folder / "opportunities.csv", infer_schema=False)
    opps = opps.with_columns(
        product=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("Core")).otherwise(None),
        # 1,000x the median won amount: a warning, left out of every amount
        amount=pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("9000000000")).otherwise("amount"),
    )
    opps.write_csv(folder / "opportunities.csv")
    leads = pl.read_csv(folder / "leads.csv", infer_schema=False)
    leads = leads.with_columns(
        campaign=pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("Spring\x07 launch"))  # a control character: repaired on load
        .otherwise("campaign")
    )
    leads.write_csv(folder / "leads.csv")
    options = SourceOptions(timezone="Europe/Berlin", currency="EUR", dimensions=("product",))
    return DirectorySource(folder, options=options)


@pytest.mark.slow
def test_round_trip_equals_the_validated_data(rich: DirectorySource, tmp_path: Path) -> None:
    calendar = FiscalCalendar(2, "America/New_York")
    window = Window(until=dt.datetime(2026, 9, 30, 23, 59, tzinfo=dt.UTC))
    validated = load_funnel(rich, calendar=calendar, window=window)
    # the case is rich: each non-frame field holds something
    assert validated.warnings and validated.repairs
    assert validated.dimensions == ("product",) and validated.currency == "EUR"
    assert validated.tracking.tracked and validated.extract_date is not None
    folder = write_snapshot(validated, tmp_path / "snap")
    assert is_snapshot(folder) and not is_snapshot(rich.path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "leads.parquet",
        "opportunities.parquet",
        "snapshot.json",
        "stage_history.parquet",
        "targets.parquet",
    ]
    # readable by the owner only: it holds every CRM row
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again = load_funnel(folder, calendar=calendar)
    assert_equal(again, validated)
    assert again.origin == folder
    # read without a calendar, it takes the snapshot's; the as-of cut works as on the data
    assert_equal(load_funnel(folder), validated)
    as_of = "2026-06-30"
    assert_equal(load_funnel(folder, as_of=as_of), validated.at(as_of), ordered=False)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["source"] == "export" and manifest["window"]["until"].startswith("2026-09-30")


@pytest.mark.slow
def test_a_snapshot_is_not_validated_again(rich: DirectorySource, tmp_path: Path) -> None:
    folder = write_snapshot(load_funnel(rich), tmp_path / "snap")
    # were it validated, this row (created after now) would be an error
    leads = pl.read_parquet(folder / "leads.parquet")
    leads = leads.with_columns(
        created_at=pl.lit(dt.datetime(2200, 1, 1, tzinfo=dt.UTC), dtype=pl.Datetime("us", "UTC"))
    )
    leads.write_parquet(folder / "leads.parquet")
    assert (
        load_funnel(folder).leads.select(pl.col("created_at").max()).collect().item().year == 2200
    )


@pytest.mark.slow
def test_snapshot_errors(rich: DirectorySource, tmp_path: Path) -> None:
    data = load_funnel(rich, calendar=FiscalCalendar(2, "UTC"))
    folder = write_snapshot(data, tmp_path / "snap")
    with pytest.raises(ParameterError) as info:
        load_funnel(folder, calendar=FiscalCalendar(1, "UTC"))
    assert "validated for fiscal year start month 2 and time zone UTC, not 1 and UTC" in str(
        info.value
    )
    with pytest.raises(FileExistsError):
        write_snapshot(data, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(SourceError, match="format version 99; this kit reads version 1"):
        load_funnel(folder)
    (folder / MANIFEST).write_text(json.dumps({**manifest, "kind": "something"}))
    with pytest.raises(SourceError, match="is not a snapshot manifest of the kit"):
        load_funnel(folder)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    (folder / "targets.parquet").unlink()
    with pytest.raises(SourceError, match=r"has no targets\.parquet"):
        load_funnel(folder)


@pytest.mark.slow
def test_load_uncut_reads_the_snapshot_again(tmp_path: Path) -> None:
    data = load_funnel(SAMPLE)
    folder = write_snapshot(data, tmp_path / "snap")
    cut = load_funnel(folder, as_of="2025-12-31")
    full = load_uncut(cut, filters={"segment": "SMB"})
    assert full is not None
    assert_equal(full, data.where(segment="SMB"), ordered=False)
    # not cut: nothing hidden; read through a window: what lies past it is unknown
    assert load_uncut(load_funnel(folder)) is None
    windowed = load_funnel(SAMPLE, window=Window(until=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    assert load_uncut(windowed.at("2025-12-31")) is None


def test_with_targets_follows_the_new_table(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE, folder)
    (folder / "targets.csv").rename(tmp_path / "plan.csv")
    data = load_funnel(folder)
    assert not data.tracking.has_targets
    with_plan = data.with_targets(load_targets(tmp_path / "plan.csv"))
    assert with_plan.tracking.has_targets
    assert with_plan.targets.collect().height == 70
    # a targets table can come from any data location that has one
    assert load_targets(SAMPLE).collect().equals(with_plan.targets.collect())
    with pytest.raises(SourceError, match="given for the targets has no targets table"):
        load_targets(folder)


@pytest.mark.slow
def test_a_full_disk_is_an_os_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """polars says ComputeError '... (os error 28)'; the render needs ENOSPC to say "full"."""
    data = load_funnel(SAMPLE)

    def full(self: pl.DataFrame, path: object) -> None:
        raise pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: No space left on "
            "device (os error 28)"
        )

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    with pytest.raises(OSError, match="No space left on device") as info:
        write_snapshot(data, tmp_path / "snap")
    assert info.value.errno == 28 and info.value.filename.endswith("leads.parquet")
