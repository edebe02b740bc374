"""Large data sets for the benchmarks: the sample tiled with fresh ids and shifted times.

The bundled sample (29,038 leads, 3,725 opportunities, 14,796 stage changes
over three years, validated by the kit) is copied ``copies`` times, all in
one vectorised polars query streamed to Parquet (no Python loop over rows or
copies, so 100M leads take minutes, not hours, and little memory):

- **ids**: every copy's ids get the copy number as a suffix (``L000123-7``),
  in leads, opportunities, stage history and the links between them, so ids
  stay unique and every lead still points at its own copy's deal;
- **times**: every timestamp of copy ``k`` moves ``shift_minutes(k)`` minutes
  earlier (0 to 23 h 59 min; copy 0 is the sample itself), the whole copy
  alike, so every order between a record's own times holds and only records
  within a day of a quarter boundary change quarter; dates (expected close
  dates) are kept;
- **owners**: each block of ten copies has its own reps (``rep-022-3``): a
  company 100 times larger has more reps, not busier ones;
- **amounts**, channels, segments, regions, stages, reasons: as in the sample,
  so every distribution (deal sizes, cycle lengths, conversion, the
  quarter-end hockey stick, seasonality) is the sample's;
- **targets**: amount and count targets multiplied by ``copies``; rates kept.

So the story is kept: quarterly bookings have the sample's shape, times
``copies`` (``tests/test_bench.py`` checks it). Rows are in the sample's
order with the copies of each row side by side, i.e. roughly by creation
time, as a CRM export is.

Each data set is cached under ``benchmarks/.data/<name>/`` (git-ignored):

- ``data/``: ``leads.parquet``, ``opportunities.parquet``,
  ``stage_history.parquet``, ``targets.parquet`` in the kit's canonical
  columns and types: a data location (``alignment validate --data ...``);
- ``snapshot/``: the same files (hard links) plus ``snapshot.json``: the
  validated snapshot a report's workbooks read (``alignment_lib.snapshot``).
  Its manifest is the sample's (tracking, currency, extract date): tiling
  keeps every rule the sample passed, which ``tests/test_bench.py`` checks by
  validating a small tiled set with the kit.

A data set is generated again only when ``GENERATOR_VERSION`` or its copy
count changes (``dataset.json`` records both).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import FunnelData, load_funnel
from alignment_lib.snapshot import SNAPSHOT_TABLES, encode_manifest, write_manifest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
CACHE = REPO / "benchmarks" / ".data"
#: bump when the generated rows change: cached data sets are then made again
GENERATOR_VERSION = 1
#: named sizes (leads, roughly) -> copies of the sample (29,038 leads each)
SIZES = {
    "30k": 1,
    "300k": 10,
    "1M": 34,
    "3M": 103,
    "10M": 344,
    "30M": 1033,
    "100M": 3444,
}
#: copies that share one team of reps
COPIES_PER_TEAM = 10
#: time shifts are multiples of this many minutes (a prime: the shifts spread over the day)
_SHIFT_STEP = 389
_MINUTES_PER_DAY = 24 * 60
#: targets multiplied by the number of copies (the rest are rates)
SCALED_TARGETS = (
    "bookings",
    "pipeline_created",
    "marketing_pipeline_created",
    "mqls",
    "won_deals",
    "opportunities_created",
)
_TIMES = {
    "leads": ("created_at", "mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at"),
    "opportunities": ("created_at", "closed_at"),
    "stage_history": ("changed_at",),
}
_IDS = {
    "leads": ("lead_id", "opportunity_id"),
    "opportunities": ("opportunity_id", "lead_id"),
    "stage_history": ("opportunity_id",),
}
_TILE = "_copy"


def shift_minutes(copy: int) -> int:
    """How many minutes earlier copy ``copy``'s times are (0 for copy 0, below one day)."""
    return copy * _SHIFT_STEP % _MINUTES_PER_DAY


def sample_data() -> FunnelData:
    """The bundled sample, loaded and validated by the kit, in memory (UTC calendar)."""
    return load_funnel(SAMPLE, calendar=FiscalCalendar(1, "UTC")).materialize()


def _copies(copies: int) -> pl.LazyFrame:
    return pl.LazyFrame({_TILE: range(copies)}, schema={_TILE: pl.Int32})


def tile(frame: pl.LazyFrame, table: str, copies: int) -> pl.LazyFrame:
    """``copies`` copies of the canonical table ``table`` (module docstring), lazily.

    Copy ``k`` of a row follows copy ``k - 1`` of it; the columns and types
    are ``frame``'s.
    """
    if table == "targets":
        scaled = pl.col("metric").is_in(SCALED_TARGETS)
        return frame.with_columns(
            pl.when(scaled).then(pl.col("value") * copies).otherwise(pl.col("value"))
        )
    names = frame.collect_schema().names()
    tiled = frame.join(_copies(copies), how="cross", maintain_order="left_right")
    suffix = pl.col(_TILE).cast(pl.String)
    shift = pl.duration(minutes=(pl.col(_TILE).cast(pl.Int64) * _SHIFT_STEP) % _MINUTES_PER_DAY)
    changes = [pl.concat_str(pl.col(c), pl.lit("-"), suffix).alias(c) for c in _IDS[table]]
    changes += [(pl.col(c) - shift).alias(c) for c in _TIMES[table]]
    if "owner_id" in names:
        team = (pl.col(_TILE) // COPIES_PER_TEAM).cast(pl.String)
        changes.append(pl.concat_str(pl.col("owner_id"), pl.lit("-"), team).alias("owner_id"))
    return tiled.with_columns(changes).select(names)


@dataclass(frozen=True)
class Dataset:
    """A generated data set: its name, copies of the sample and folders."""

    name: str
    copies: int
    folder: Path

    @property
    def data(self) -> Path:
        """The data location (canonical Parquet files)."""
        return self.folder / "data"

    @property
    def snapshot(self) -> Path:
        """The same data as a validated snapshot (what a report's workbooks read)."""
        return self.folder / "snapshot"

    def counts(self) -> dict[str, int]:
        """Rows per table, from the Parquet metadata."""
        return {
            t: pl.scan_parquet(self.data / f"{t}.parquet").select(pl.len()).collect().item()
            for t in SNAPSHOT_TABLES
        }


def parse_sizes(text: str) -> list[str]:
    """``"1M,10M"`` -> ``["1M", "10M"]``; a name that is not in :data:`SIZES` is an error."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SIZES and not n.startswith("x")]
    if unknown or not names:
        raise SystemExit(
            f"unknown size {', '.join(unknown) or repr(text)}; sizes: {', '.join(SIZES)} "
            "(or xN: N copies of the sample)"
        )
    return names


def copies_of(name: str) -> int:
    """Copies of the sample a size name stands for (``"xN"``: N copies)."""
    return int(name[1:]) if name.startswith("x") else SIZES[name]


def dataset(name: str, *, cache: Path = CACHE, base: FunnelData | None = None) -> Dataset:
    """The data set ``name`` (:data:`SIZES`, or ``"xN"``), generated unless cached."""
    copies = copies_of(name)
    found = Dataset(name, copies, cache / name)
    stamp = found.folder / "dataset.json"
    wanted = {"generator_version": GENERATOR_VERSION, "copies": copies}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return found
    generate(found, base=base)
    stamp.write_text(json.dumps(wanted))
    return found


def generate(target: Dataset, *, base: FunnelData | None = None) -> None:
    """Write ``target``'s data folder and snapshot from the sample (replacing any)."""
    base = base or sample_data()
    if target.folder.exists():
        shutil.rmtree(target.folder)
    target.data.mkdir(parents=True)
    for table in SNAPSHOT_TABLES:
        frame = tile(getattr(base, table), table, target.copies)
        path = target.data / f"{table}.parquet"
        if table == "targets":
            frame.collect().write_parquet(path)
        else:
            frame.sink_parquet(path, row_group_size=1 << 20)
    target.snapshot.mkdir(mode=0o700)
    for table in SNAPSHOT_TABLES:
        name = f"{table}.parquet"
        os.link(target.data / name, target.snapshot / name)
    manifest = encode_manifest(
        calendar=base.calendar,
        source=f"generated {target.name} ({target.copies} x sample)",
        has_stage_history=base.has_stage_history,
        as_of=None,
        warnings=base.warnings,
        repairs=base.repairs,
        extract_date=base.extract_date,
        currency=base.currency,
        dimensions=base.dimensions,
        tracking=base.tracking,
        window=None,
    )
    write_manifest(target.snapshot, manifest)
