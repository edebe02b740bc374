"""Tables of the 'Data health' workbook: rows loaded, and every data-health check."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.metrics.health import HEALTH_RULES, rule_tracked
from alignment_lib.narrative.health import HEALTH_RULE_LABELS, HEALTH_TABLE_LABELS
from alignment_lib.tables._empty import shows
from alignment_lib.tracking import Tracking

__all__ = [
    "table_data_health",
    "table_load_notices",
    "table_rows_loaded",
    "table_switched_off",
    "table_tracking",
]

_MUTED = "#8C8C8C"
_API_NOTE = r"\s*\((?:needs|checked on) `full`[^)]*\)"
_PART_LABELS = {p: f"of which {p}" for p in ("MQLs", "open", "won", "lost")}


@shows()
def table_rows_loaded(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "rows-loaded",
    tracking: Tracking | None = None,
) -> gt.GT:
    """Rows per table: in the source, hidden by the as-of cut, in the report.

    ``frame`` is :func:`alignment_lib.narrative.rows_loaded` output; the parts
    (MQLs; open, won, lost deals) are indented under their table.
    """
    data = collect(frame)
    names = [
        HEALTH_TABLE_LABELS.get(t, t) if p == "all" else f"\u2003{_PART_LABELS.get(p, p)}"
        for t, p in data.select("table", "part").rows()
    ]
    data = data.with_columns(pl.Series("name", names, dtype=pl.String)).select(
        "name", "in_source", "hidden_by_as_of", "in_report", "part"
    )
    return (
        gt.GT(data, id=table_id, rowname_col="name")
        .tab_header(
            title="What this report loaded",
            subtitle="Rows in the data, rows the as-of cut hid (created or recorded later), "
            "rows the numbers are computed on",
        )
        .cols_label(
            in_source="In the data",
            hidden_by_as_of="Hidden by the as-of cut",
            in_report="In this report",
        )
        .cols_hide("part")
        .fmt_integer(columns=["in_source", "hidden_by_as_of", "in_report"])
        .sub_missing(missing_text="")
        .tab_style(
            style=gt.style.text(color=_MUTED),
            locations=gt.loc.body(rows=pl.col("part") != "all"),
        )
        .tab_style(
            style=gt.style.text(color=_MUTED),
            locations=gt.loc.stub(rows=pl.col("part") != "all"),
        )
        .tab_style(
            style=gt.style.text(weight="bold"),
            locations=gt.loc.body(columns="in_report", rows=pl.col("part") == "all"),
        )
    )


@shows()
def table_data_health(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "data-health",
    tracking: Tracking | None = None,
) -> gt.GT:
    """Every data-health check, grouped by table: rows flagged, share and effect.

    ``frame`` is :func:`alignment_lib.metrics.data_health` output. Checks that
    flag nothing are greyed; a check that could not be made (null rows) reads
    "not checked", or "not tracked" when it reads what the data does not track
    (``tracking``).
    """
    data = collect(frame)
    labels = [HEALTH_RULE_LABELS.get((t, r), r) for t, r in data.select("table", "rule").rows()]
    untracked = [
        f"{r.table}.{r.rule}" for r in HEALTH_RULES if tracking and not rule_tracked(r, tracking)
    ]
    not_made = (pl.col("table") + "." + pl.col("rule")).is_in(untracked)
    data = (
        data.with_columns(not_made.alias("_untracked"))
        .with_columns(
            pl.col("table").replace_strict(HEALTH_TABLE_LABELS, default=pl.col("table")),
            pl.Series("check", labels, dtype=pl.String),
            # "(needs `full`)" speaks to the analyst calling data_health, not to the reader
            pl.col("description").str.replace(_API_NOTE, ""),
        )
        .select("table", "check", "description", "rows", "share_of_table", "effect", "_untracked")
    )
    table = (
        gt.GT(data, id=table_id, groupname_col="table")
        .tab_header(
            title="Every data-health check",
            subtitle="Rows that pass validation but change or leave out numbers; checks "
            "overlap, so do not add their rows",
        )
        .cols_label(
            check="Check",
            description="What it counts",
            rows="Rows",
            share_of_table="Share of the table",
            effect="Effect on the numbers",
        )
        .cols_hide("_untracked")
        .fmt_integer(columns="rows")
        .fmt_percent(columns="share_of_table", decimals=1)
        .sub_missing(columns=["rows", "share_of_table"], missing_text="not checked")
        .cols_width(check="18%", description="32%", rows="8%", share_of_table="10%", effect="32%")
        .tab_style(
            style=gt.style.text(color=_MUTED),
            locations=gt.loc.body(rows=pl.col("rows") == 0),
        )
        .tab_style(
            style=gt.style.text(weight="bold"),
            locations=gt.loc.body(columns="rows", rows=pl.col("rows") > 0),
        )
    )
    if not untracked:
        return table
    # a check reading what the data does not track was not made: "not tracked", greyed
    return table.sub_missing(
        columns=["rows", "share_of_table"], rows=pl.col("_untracked"), missing_text="not tracked"
    ).tab_style(style=gt.style.text(color=_MUTED), locations=gt.loc.body(rows=pl.col("_untracked")))


_KIND_LABELS = {"warning": "Warning: left out of amounts", "repair": "Repaired on load"}


@shows()
def table_load_notices(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "load-notices",
    tracking: Tracking | None = None,
) -> gt.GT:
    """What loading repaired or warned about, with the rows (``load_notices`` output).

    Grouped by kind (warnings first); one row per file, column and rule. An
    empty frame gives a one-line table saying loading changed nothing.
    """
    data = collect(frame)
    if data.height == 0:
        data = pl.DataFrame({"what": ["Loading repaired nothing and found no implausible amount."]})
        return (
            gt.GT(data, id=table_id)
            .tab_header(title="Repairs and warnings on load")
            .cols_label(what="")
        )
    data = data.with_columns(
        pl.col("kind").replace_strict(_KIND_LABELS, default=pl.col("kind")),
        (pl.col("file") + ", " + pl.col("column")).alias("where"),
    ).select("kind", "where", "rows", "first_rows", "message", "fix")
    return (
        gt.GT(data, id=table_id, groupname_col="kind")
        .tab_header(
            title="Repairs and warnings on load",
            subtitle="Counted over the whole data location, before filters and the as-of cut; "
            "rows count from 1 at the first data row under the header",
        )
        .cols_label(
            where="File, column",
            rows="Rows",
            first_rows="First rows",
            message="What was found",
            fix="Fix in the source",
        )
        .fmt_integer(columns="rows")
        .cols_width(where="16%", rows="7%", first_rows="12%", message="38%", fix="27%")
    )


@shows()
def table_tracking(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "tracking",
    tracking: Tracking | None = None,
) -> gt.GT:
    """What the data tracks, need by need: what each reads and, when it is not tracked,
    what the pages say instead (:func:`alignment_lib.metrics.tracked_needs` output)."""
    data = collect(frame).with_columns(
        pl.when(pl.col("tracked")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("shown"),
        pl.col("statement").fill_null(""),
    )
    return (
        gt.GT(data.select("need", "reads", "shown", "statement", "tracked"), id=table_id)
        .tab_header(
            title="What this data tracks",
            subtitle="A column is tracked when some row has a value; the tables and deal "
            "outcomes the pages need",
        )
        .cols_label(
            need="Need", reads="Reads", shown="Tracked", statement="Without it, the pages say"
        )
        .cols_hide("tracked")
        .cols_width(need="16%", reads="26%", shown="8%", statement="50%")
        .tab_style(style=gt.style.text(color=_MUTED), locations=gt.loc.body(rows=pl.col("tracked")))
        .tab_style(
            style=gt.style.text(weight="bold"),
            locations=gt.loc.body(columns="shown", rows=~pl.col("tracked")),
        )
    )


@shows()
def table_switched_off(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "switched-off",
    tracking: Tracking | None = None,
) -> gt.GT:
    """The measures the pages do not show, the pages they are on, and why
    (:func:`alignment_lib.metrics.switched_off_measures` output); one line saying
    nothing is switched off when the data tracks everything they need."""
    data = collect(frame)
    if data.height == 0:
        note = pl.DataFrame({"note": ["Nothing is switched off: every measure can be shown."]})
        return (
            gt.GT(note, id=table_id)
            .tab_header(title="Switched off for this data")
            .cols_label(note="")
        )
    return (
        gt.GT(data.select("label", "pages", "reason"), id=table_id)
        .tab_header(
            title="Switched off for this data",
            subtitle="Measures the pages state as not shown, in place of a 0 or a chart",
        )
        .cols_label(label="Measure", pages="Pages", reason="Why")
        .cols_width(label="28%", pages="18%", reason="54%")
    )
