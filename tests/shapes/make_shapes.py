"""Write the five supported export shapes under tests/shapes/, derived from the sample.

Each shape is a small, realistic data folder (a few hundred rows per file)
cut deterministically out of ``data/sample`` (no randomness: every 25th
opportunity by id, the leads behind them and every 80th other lead), then
trimmed the way a real export is (docs/partial-data.md):

- ``full_funnel``: every table and column (the targets add count targets:
  won deals and opportunities created);
- ``leads_without_handoff``: leads carry MQL dates but no acceptance,
  rejection, first-touch or SQL columns (those columns are absent);
- ``opportunities_only``: no leads table and no stage history (a sales team's
  CRM export of deals); the targets still hold MQL rows;
- ``won_deals_only``: only won deals (no lost or open deals, no stage history);
  the targets hold a count target of won deals;
- ``no_creation_date``: opportunities without a ``created_at`` column.

Run from the repository root: ``.venv/bin/python tests/shapes/make_shapes.py``.
The files are committed; ``tests/test_shapes.py`` checks they are what this
script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
HERE = Path(__file__).resolve().parent

#: every OPP_STEP-th opportunity (by id) and every LEAD_STEP-th other lead is kept
OPP_STEP = 20
#: the won-deals-only export keeps every WON_STEP-th deal if won (won deals are a quarter of
#: all), with the leads of every WON_STEP-th deal whatever its outcome
WON_STEP = 10
LEAD_STEP = 80
#: the handoff columns a company without a handoff process does not export
HANDOFF_COLUMNS = ("accepted_at", "rejected_at", "rejection_reason", "first_touch_at", "sql_at")

SHAPES = (
    "full_funnel",
    "leads_without_handoff",
    "opportunities_only",
    "won_deals_only",
    "no_creation_date",
)


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(SAMPLE / f"{name}.csv", infer_schema=False)


def _nth(ids: pl.Expr, step: int) -> pl.Expr:
    """Ids whose number (the digits after the letter) is a multiple of ``step``."""
    return ids.str.slice(1).cast(pl.Int64) % step == 0


def _scaled(value: str, factor: float, *, metric: str) -> str:
    if metric == "sla_compliance":
        return value
    scaled = float(value) * factor
    if metric == "mqls":
        return str(max(round(scaled), 1))
    return str(round(scaled, -3) or 1000.0)


def cut_sample(
    keep: pl.Expr | None = None, leads_of: pl.Expr | None = None
) -> dict[str, pl.DataFrame]:
    """A small, consistent slice of the sample (every table): the opportunities ``keep``
    selects (default: every OPP_STEP-th), the leads behind the opportunities ``leads_of``
    selects (default: the kept ones; a lead of a deal left out keeps its opportunity_id,
    as in a real export of some deals) and every LEAD_STEP-th other lead, their stage
    history, the targets scaled down to match."""
    every = _read("opportunities")
    keep = _nth(pl.col("opportunity_id"), OPP_STEP) if keep is None else keep
    opps = every.filter(keep)
    kept = set(opps["opportunity_id"].to_list())
    behind = every.filter(keep if leads_of is None else leads_of)["opportunity_id"]
    leads = _read("leads")
    linked = pl.col("opportunity_id").is_in(behind.to_list())
    leads = leads.filter(
        linked | (pl.col("opportunity_id").is_null() & _nth(pl.col("lead_id"), LEAD_STEP))
    )
    # an opportunity keeps its lead only when that lead is in the slice
    opps = opps.with_columns(
        pl.when(pl.col("lead_id").is_in(leads["lead_id"].to_list()))
        .then(pl.col("lead_id"))
        .alias("lead_id")
    )
    history = _read("stage_history").filter(pl.col("opportunity_id").is_in(list(kept)))
    sample_leads, sample_opps = _read("leads"), _read("opportunities")

    def share(frame: pl.DataFrame, whole: pl.DataFrame, expr: pl.Expr) -> float:
        return frame.select(expr).item() / whole.select(expr).item()

    won_amount = pl.col("amount").cast(pl.Float64).filter(pl.col("outcome") == "won").sum()
    factors = {
        "mqls": share(leads, sample_leads, pl.col("mql_at").is_not_null().sum()),
        "bookings": share(opps, sample_opps, won_amount),
    }
    amount_factor = share(opps, sample_opps, pl.col("amount").cast(pl.Float64).sum())
    targets = _read("targets").with_columns(
        pl.struct("value", "metric")
        .map_elements(
            lambda r: _scaled(
                r["value"], factors.get(r["metric"], amount_factor), metric=r["metric"]
            ),
            return_dtype=pl.String,
        )
        .alias("value")
    )
    return {"leads": leads, "opportunities": opps, "stage_history": history, "targets": targets}


def _count_targets(opps: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Count targets per quarter that has a bookings target: won deals and opportunities
    created, a tenth above the slice's quarterly average of the year before."""
    quarters = targets.filter(pl.col("metric") == "bookings")["fiscal_quarter"].to_list()
    rows = []
    for label in quarters:
        year = int(label[2:6])
        won = opps.filter(
            (pl.col("outcome") == "won") & pl.col("closed_at").str.starts_with(str(year - 1))
        )
        created = opps.filter(pl.col("created_at").str.starts_with(str(year - 1)))
        per_quarter = {
            "won_deals": max(round(won.height / 4 * 1.1), 1),
            "opportunities_created": max(round(created.height / 4 * 1.1), 1),
        }
        rows += [
            {"fiscal_quarter": label, "metric": m, "team": "shared", "value": f"{v}.0"}
            for m, v in per_quarter.items()
        ]
    return pl.concat(
        [targets, pl.DataFrame(rows, schema=dict.fromkeys(targets.columns, pl.String))]
    )


def shapes() -> dict[str, dict[str, pl.DataFrame]]:
    """Every shape: table name -> frame (a table left out is absent from the folder)."""
    full = cut_sample()
    leads, opps, targets = full["leads"], full["opportunities"], full["targets"]
    with_counts = _count_targets(opps, targets)
    tenth = _nth(pl.col("opportunity_id"), WON_STEP)
    won_cut = cut_sample((pl.col("outcome") == "won") & tenth, leads_of=tenth)
    won_counts = _count_targets(won_cut["opportunities"], won_cut["targets"])
    won_targets = won_counts.filter(pl.col("metric").is_in(["bookings", "won_deals"]))
    return {
        "full_funnel": {**full, "targets": with_counts},
        "leads_without_handoff": {
            **full,
            "leads": leads.drop(HANDOFF_COLUMNS),
        },
        "opportunities_only": {
            "opportunities": opps.drop("lead_id"),
            "targets": targets,
        },
        "won_deals_only": {
            "leads": won_cut["leads"],
            "opportunities": won_cut["opportunities"],
            "targets": won_targets,
        },
        "no_creation_date": {
            **full,
            "opportunities": opps.drop("created_at"),
            "targets": with_counts,
        },
    }


def write(root: Path = HERE) -> list[Path]:
    """Write every shape's CSV files under ``root/<shape>/``; returns the files written."""
    written = []
    for shape, tables in shapes().items():
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.csv"):
            old.unlink()
        for name, frame in tables.items():
            path = folder / f"{name}.csv"
            frame.write_csv(path)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
