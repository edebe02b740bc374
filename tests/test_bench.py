"""The benchmarks' own correctness: tiled data sets keep the sample's story and pass
the kit's validation, and the engines the metrics benchmark times agree.

Small sets only (two or three copies of the sample), so these run in the fast suite.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import load_funnel
from benchmarks import datasets
from benchmarks.metrics import compare, run_duckdb, run_kit_core


@pytest.fixture(scope="module")
def sample():
    return datasets.sample_data()


@pytest.fixture(scope="module")
def tiled(tmp_path_factory, sample):
    """Three copies of the sample, generated into a temporary cache."""
    return datasets.dataset("x3", cache=tmp_path_factory.mktemp("bench"), base=sample)


def _read(ds, table: str) -> pl.DataFrame:
    return pl.read_parquet(ds.data / f"{table}.parquet")


def test_shifts_stay_within_a_day_and_copy_zero_is_unshifted() -> None:
    assert datasets.shift_minutes(0) == 0
    # 389 minutes a copy, modulo a day: copy 4 is 1,556 - 1,440 = 116 minutes earlier
    assert datasets.shift_minutes(1) == 389
    assert datasets.shift_minutes(4) == 116
    assert all(0 <= datasets.shift_minutes(k) < 24 * 60 for k in range(5000))


def test_tiled_rows_ids_and_amounts(tiled, sample) -> None:
    base = {t: getattr(sample, t).collect() for t in ("leads", "opportunities", "stage_history")}
    for table, frame in base.items():
        got = _read(tiled, table)
        assert got.height == 3 * frame.height, table
        assert got.schema == frame.schema, table
    leads, opps = _read(tiled, "leads"), _read(tiled, "opportunities")
    assert leads["lead_id"].n_unique() == leads.height
    assert opps["opportunity_id"].n_unique() == opps.height
    # every lead still points at a deal of its own copy (the same suffix)
    linked = leads.filter(pl.col("opportunity_id").is_not_null())
    assert (
        linked["lead_id"].str.extract(r"-(\d+)$")
        == linked["opportunity_id"].str.extract(r"-(\d+)$")
    ).all()
    # amounts are kept: three times the sample's won amount, to the cent
    won = pl.col("outcome") == "won"
    assert opps.filter(won)["amount"].sum() == pytest.approx(
        3 * base["opportunities"].filter(won)["amount"].sum(), rel=1e-12
    )
    # copy 0 is the sample itself (ids and reps (team 0) with the suffix -0, times unshifted)
    copy0 = leads.filter(pl.col("lead_id").str.ends_with("-0")).with_columns(
        pl.col(c).str.replace(r"-0$", "") for c in ("lead_id", "opportunity_id", "owner_id")
    )
    assert copy0.equals(base["leads"])


def test_copy_one_times_are_shifted_by_its_minutes(tiled, sample) -> None:
    leads = _read(tiled, "leads")
    copy1 = leads.filter(pl.col("lead_id").str.ends_with("-1"))["created_at"]
    original = sample.leads.collect()["created_at"]
    assert ((original - copy1) == dt.timedelta(minutes=389)).all()


def test_tiled_targets_scale_counts_and_amounts_keep_rates(tiled, sample) -> None:
    got = _read(tiled, "targets").with_row_index()
    want = sample.targets.collect().with_row_index()
    scaled = pl.col("metric").is_in(datasets.SCALED_TARGETS)
    assert got.filter(scaled)["value"].to_list() == [
        3 * v for v in want.filter(scaled)["value"].to_list()
    ]
    assert got.filter(~scaled)["value"].to_list() == want.filter(~scaled)["value"].to_list()


def test_tiled_data_passes_the_kits_validation(tiled) -> None:
    data = load_funnel(tiled.data, calendar=FiscalCalendar(1, "UTC"))
    assert data.leads.select(pl.len()).collect().item() == 3 * 29_038


def test_duckdb_and_pandas_agree_with_the_kit(tiled) -> None:
    pytest.importorskip("duckdb")
    kit = run_kit_core(tiled.folder)
    assert compare(run_duckdb(tiled.folder), kit) == []
    pytest.importorskip("pandas")
    from benchmarks.metrics import run_pandas

    assert compare(run_pandas(tiled.folder), kit) == []


def test_compare_finds_a_changed_count_and_a_missing_metric(tiled) -> None:
    kit = run_kit_core(tiled.folder)
    name = next(iter(kit))
    changed = dict(kit)
    count = next(c for c in ("deals", "mqls", "entered") if c in kit[name].columns)
    changed[name] = kit[name].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col(count) + 1).otherwise(pl.col(count))
    )
    assert [p.split(":")[0] for p in compare(changed, kit)] == [name]
    del changed[name]
    assert compare(changed, kit)[0] == f"{name}: missing"
