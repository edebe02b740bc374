"""Targets and attainment, and which targets apply to a (filtered) report."""

from __future__ import annotations

import polars as pl

from alignment_lib.fiscal import FiscalQuarter

# the rule lives with FunnelData.where, which applies it; shown here with the other target helpers
from alignment_lib.load import matching_targets

__all__ = ["attainment", "matching_targets", "target_for", "target_value"]


def target_for(
    targets: pl.LazyFrame, *, quarter: FiscalQuarter, metric: str, team: str
) -> pl.LazyFrame:
    """The target row(s) for one quarter, metric and team (zero or one row).

    ``targets`` holds the targets of one scope (``FunnelData.targets``: those
    that apply to the data's filter, :func:`matching_targets`).
    """
    return targets.filter(
        (pl.col("fiscal_quarter") == quarter.label)
        & (pl.col("metric") == metric)
        & (pl.col("team") == team)
    ).select("fiscal_quarter", "metric", "team", "value")


def attainment(actual: float, target: float | None) -> float | None:
    """Actual / target as a share (1.0 = 100%); None without a positive target."""
    if target is None or target <= 0:
        return None
    return actual / target


def target_value(
    targets: pl.LazyFrame, *, quarter: FiscalQuarter, metric: str, team: str
) -> float | None:
    """The one target value for a quarter, metric and team, or None when there is none."""
    rows = target_for(targets, quarter=quarter, metric=metric, team=team).collect()
    return None if rows.height == 0 else float(rows["value"][0])
