"""A validated snapshot: the report's data, read and checked once, for every workbook.

``alignment report`` reads and validates its source once, then writes the
typed tables as Parquet files plus ``snapshot.json``, a manifest of every
other field of :class:`~alignment_lib.load.FunnelData` (calendar, the data
location's description with credentials removed, currency, dimensions,
tracking, warnings, repairs, extract date, read window, stage history or
not), into the render's staging area. Each workbook is then given that folder
as its ``data_dir``: :func:`alignment_lib.load.load_funnel` recognises it and
reads the tables lazily without validating them again. Six workbooks thus
cost one read of a database instead of eight.

The snapshot is written with owner-only permissions and removed before the
report is published: it holds every row of the CRM data, and the report
folder is meant to be shared (its pages carry aggregates only).

This module holds the file format; :func:`alignment_lib.load.write_snapshot`
and ``load_funnel`` turn it into a ``FunnelData`` and back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from alignment_lib.exceptions import Problem, SourceError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.sources import Window
from alignment_lib.tracking import Tracking

__all__ = [
    "MANIFEST",
    "SNAPSHOT_TABLES",
    "decode_manifest",
    "encode_manifest",
    "is_snapshot",
    "read_snapshot",
    "write_manifest",
    "write_snapshot_files",
]

#: the manifest's file name; a folder holding it is a snapshot
MANIFEST = "snapshot.json"
#: what the manifest says it is, and the version of its format
_KIND = "alignment-kit validated snapshot"
_VERSION = 1
#: the tables a snapshot holds, each as <name>.parquet
SNAPSHOT_TABLES = ("leads", "opportunities", "stage_history", "targets")


def is_snapshot(location: object) -> bool:
    """Whether ``location`` is a folder holding a snapshot manifest."""
    if not isinstance(location, (str, Path)) or "://" in str(location):
        return False
    return (Path(location) / MANIFEST).is_file()


def write_snapshot_files(
    folder: str | Path, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any]
) -> Path:
    """Write ``frames`` as ``<name>.parquet`` and ``manifest`` as ``snapshot.json`` in ``folder``.

    ``folder`` must not exist; it is created readable by its owner only. The
    manifest is written last, so a folder left half-written (a full disk, a
    kill) is not taken for a snapshot.
    """
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True)
    for name in SNAPSHOT_TABLES:
        path = folder / f"{name}.parquet"
        try:
            frames[name].write_parquet(path)
        except pl.exceptions.PolarsError as exc:
            # polars reports a full disk as a ComputeError ("... (os error 28)"); the
            # render turns an OSError into its full-disk message (docs/rendering.md)
            code = re.search(r"\(os error (\d+)\)", str(exc))
            if code is None:
                raise
            number = int(code.group(1))
            raise OSError(number, os.strerror(number), str(path)) from exc
    return write_manifest(folder, manifest)


def write_manifest(folder: str | Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest`` (:func:`encode_manifest`) as ``folder``'s ``snapshot.json``.

    The last step of writing a snapshot: the folder's Parquet files must be
    complete (:func:`write_snapshot_files` writes both; a writer that streams
    large tables to ``<name>.parquet`` itself calls this after them). Returns
    ``folder``.
    """
    folder = Path(folder)
    text = json.dumps({"kind": _KIND, "version": _VERSION, **manifest}, indent=1, sort_keys=True)
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return folder


def read_snapshot(folder: str | Path) -> tuple[dict[str, pl.LazyFrame], dict[str, Any]]:
    """The lazy tables and the manifest of a snapshot folder."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"cannot read the snapshot manifest '{folder / MANIFEST}': {exc}; fix: render "
            "the report again (the snapshot is written by alignment report)"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != _KIND:
        raise SourceError(
            f"'{folder / MANIFEST}' is not a snapshot manifest of the kit; fix: point the "
            "data location at the data itself"
        )
    if manifest.get("version") != _VERSION:
        raise SourceError(
            f"the snapshot '{folder}' has format version {manifest.get('version')!r}; this "
            f"kit reads version {_VERSION}; fix: render the report again with this kit"
        )
    frames = {}
    for name in SNAPSHOT_TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise SourceError(
                f"the snapshot '{folder}' has no {path.name}; fix: render the report again"
            )
        frames[name] = pl.scan_parquet(path)
    return frames, manifest


# -- the manifest's fields -------------------------------------------------------------------
def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _parse_instant(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _problem(p: Problem) -> dict[str, Any]:
    return {
        "file": p.file,
        "column": p.column,
        "rule": p.rule,
        "message": p.message,
        "fix": p.fix,
        "rows": list(p.rows),
        "n_rows": p.n_rows,
    }


def _parse_problem(d: Mapping[str, Any]) -> Problem:
    return Problem(
        d["file"], d["column"], d["rule"], d["message"], d["fix"], tuple(d["rows"]), d["n_rows"]
    )


def encode_manifest(
    *,
    calendar: FiscalCalendar,
    source: str,
    has_stage_history: bool,
    as_of: dt.datetime | None,
    warnings: tuple[Problem, ...],
    repairs: tuple[Problem, ...],
    extract_date: dt.datetime | None,
    currency: str,
    dimensions: tuple[str, ...],
    tracking: Tracking,
    window: Window | None,
) -> dict[str, Any]:
    """Every field of FunnelData except the frames, as JSON-able values."""
    return {
        "calendar": {"start_month": calendar.start_month, "timezone": calendar.timezone},
        "source": source,
        "has_stage_history": has_stage_history,
        "as_of": _instant(as_of),
        "warnings": [_problem(p) for p in warnings],
        "repairs": [_problem(p) for p in repairs],
        "extract_date": _instant(extract_date),
        "currency": currency,
        "dimensions": list(dimensions),
        "tracking": {
            "tracked": None if tracking.tracked is None else sorted(tracking.tracked),
            "has_leads": tracking.has_leads,
            "has_stage_history": tracking.has_stage_history,
            "has_targets": tracking.has_targets,
            "has_won_deals": tracking.has_won_deals,
            "has_lost_deals": tracking.has_lost_deals,
            "has_open_deals": tracking.has_open_deals,
        },
        "window": None
        if window is None
        else {"until": _instant(window.until), "since": _instant(window.since)},
    }


def decode_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of FunnelData (without the frames) from a manifest."""
    tracking = dict(manifest["tracking"])
    tracked = tracking.pop("tracked")
    window = manifest["window"]
    return {
        "calendar": FiscalCalendar(**manifest["calendar"]),
        "source": manifest["source"],
        "has_stage_history": manifest["has_stage_history"],
        "as_of": _parse_instant(manifest["as_of"]),
        "warnings": tuple(_parse_problem(p) for p in manifest["warnings"]),
        "repairs": tuple(_parse_problem(p) for p in manifest["repairs"]),
        "extract_date": _parse_instant(manifest["extract_date"]),
        "currency": manifest["currency"],
        "dimensions": tuple(manifest["dimensions"]),
        "tracking": Tracking(tracked=None if tracked is None else frozenset(tracked), **tracking),
        "window": None
        if window is None
        else Window(_parse_instant(window["until"]), _parse_instant(window["since"])),
    }
