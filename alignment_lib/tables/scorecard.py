"""Tables of the 'Shared scorecard' workbook."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.gate import missing, short_reason
from alignment_lib.money import fmt_money, format_money
from alignment_lib.narrative._format import format_count, format_share
from alignment_lib.narrative.scorecard import NO_TARGETS, gate_scorecard, has_targets
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.tracking import Tracking

__all__ = ["table_coverage", "table_pipeline_needed", "table_scorecard"]


def _fmt(kind: str, value: float | None) -> str:
    if value is None:
        return "–"
    if kind == "amount":
        return format_money(value)
    if kind == "rate":
        return format_share(value)
    return format_count(value)


#: what a target row the data cannot measure reads, in its actual and status cells
NOT_TRACKED = "not tracked"


def _notes(table: gt.GT, notes: list[str]) -> gt.GT:
    for note in dict.fromkeys(notes):
        table = table.tab_source_note(note)
    return table


@shows()
def table_scorecard(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "scorecard",
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per shared target: target, actual, attainment, pacing, status, contributions.

    Amounts print as money, counts (MQLs, won deals, opportunities created) as
    plain numbers, rates as percentages. A target the data cannot measure
    (``tracking``) reads "not tracked", with the reason in a note below.
    Without targets (none set for the quarter, no targets table, or a filtered
    report without targets of its own: ``tracking``) the actuals are shown
    alone, target, attainment, pacing and status "–", and a note says why.
    """
    data = collect(frame)
    if data.is_empty():
        return table_no_data("Shared targets", "No targets set for this quarter", table_id=table_id)
    no_targets = missing(tracking, "targets")
    if no_targets or not has_targets(data):
        # the actuals alone: nothing is measured against a target that does not apply
        data = data.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in ("target", "attainment", "pacing")
        ).with_columns(pl.lit(None, pl.String).alias("status"))
        no_targets = no_targets or [NO_TARGETS]
    data = gate_scorecard(data, tracking)
    rows = [
        {
            "target_name": r["label"] + ("" if r["team"] == "shared" else f" ({r['team']})"),
            "target": _fmt(r["kind"], r["target"]),
            "actual": NOT_TRACKED if r["not_tracked"] else _fmt(r["kind"], r["actual"]),
            "attainment": "–" if r["target"] is None else format_share(r["attainment"]),
            "pacing": "–" if r["target"] is None else format_share(r["pacing"]),
            "status": NOT_TRACKED
            if r["not_tracked"]
            else (r["status"] or ("no data" if r["target"] is not None else "–")),
            **{
                s: _fmt(r["kind"], r[s]) if r["kind"] != "rate" and r[s] is not None else "–"
                for s in ("marketing", "sales", "partner")
            },
        }
        for r in data.iter_rows(named=True)
    ]
    counted = data.filter(pl.col("kind") == "count", pl.col("marketing").is_not_null()).height
    table = pl.DataFrame(
        rows,
        schema=dict.fromkeys(
            [
                "target_name",
                "target",
                "actual",
                "attainment",
                "pacing",
                "status",
                "marketing",
                "sales",
                "partner",
            ],
            pl.String,
        ),
    )
    spanner = "Contribution by source" if counted else "Contribution (amounts)"
    return _notes(
        gt.GT(table, id=table_id)
        .tab_header(title="Shared targets", subtitle="Actual to the as-of date, by who sourced it")
        .cols_label(
            target_name="Target",
            target="Target value",
            actual="Actual",
            attainment="Attainment",
            pacing="Pacing",
            status="Status",
            marketing="Marketing",
            sales="Sales",
            partner="Partner",
        )
        .tab_spanner(label=spanner, columns=["marketing", "sales", "partner"])
        .cols_align(
            align="right",
            columns=["target", "actual", "attainment", "pacing", "marketing", "sales", "partner"],
        )
        .tab_style(
            style=gt.style.text(weight="bold", whitespace="nowrap"),
            locations=gt.loc.body(columns="status"),
        ),
        [*no_targets, *(n for n in data["not_tracked"].to_list() if n)],
    )


@shows("coverage")
def table_coverage(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "coverage",
    tracking: Tracking | None = None,
) -> gt.GT:
    """Pipeline coverage per upcoming quarter against the coverage the win rate requires.

    Without lost deals (``tracking``) the win rate reads 100%: the required
    coverage and the status then read "needs lost deals", with the reason in a
    note below, never 1.0x.
    """
    data = collect(frame)
    required = short_reason(tracking, "required_coverage")
    if required:
        data = data.with_columns(
            pl.lit(None, pl.Float64).alias("required_coverage"),
            pl.lit(None, pl.String).alias("status"),
        )
    table = data.select(
        "fiscal_quarter",
        "open_pipeline",
        "bookings_to_date",
        "target",
        "remaining",
        "coverage",
        "required_coverage",
        "status",
    )
    return (
        gt.GT(table, id=table_id)
        .tab_header(
            title="Pipeline coverage",
            subtitle="Qualified open pipeline expected to close in the quarter / what is "
            "left to book",
        )
        .cols_label(
            fiscal_quarter="Quarter",
            open_pipeline="Open pipeline",
            bookings_to_date="Booked so far",
            target="Target",
            remaining="Left to book",
            coverage="Coverage",
            required_coverage="Required",
            status="Status",
        )
        .pipe(fmt_money, ["open_pipeline", "bookings_to_date", "target", "remaining"])
        .fmt_number(columns=["coverage", "required_coverage"], decimals=1, pattern="{x}x")
        .sub_missing(missing_text="–")
        .pipe(_sub, ["required_coverage", "status"], required)
        .pipe(_notes, missing(tracking, "required_coverage"))
    )


def _sub(table: gt.GT, columns: list[str], text: str | None) -> gt.GT:
    """Empty cells of ``columns`` read ``text`` (the reason a value is not shown), if any."""
    return table if text is None else table.sub_missing(columns=columns, missing_text=text)


@shows("pipeline_needed")
def table_pipeline_needed(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "pipeline-needed",
    tracking: Tracking | None = None,
) -> gt.GT:
    """The reverse waterfall as a table: per creation quarter, pipeline and MQLs required.

    The MQLs needed (and marketing's part) read what they need when the data
    cannot support them (no leads, no deal sources; ``tracking``).
    """
    data = collect(frame)
    mqls = short_reason(tracking, "mqls_needed")
    shares = short_reason(tracking, "team_shares")
    blanked = [
        c for c, off in (("mqls_required", mqls), ("marketing_pipeline_required", shares)) if off
    ]
    data = data.with_columns(pl.lit(None, pl.Float64).alias(c) for c in blanked)
    if data.is_empty() or data["pipeline_required"].is_null().all():
        target = data["target_fiscal_quarter"][0] if data.height else "the target quarter"
        return table_no_data(
            f"Pipeline needed for {target}",
            f"No bookings target set for {target}",
            table_id=table_id,
        )
    table = data.sort("quarter_index").select(
        "fiscal_quarter",
        "lag_share",
        "pipeline_required",
        "pipeline_created_so_far",
        "gap",
        "marketing_pipeline_required",
        "mqls_required",
    )
    return (
        gt.GT(table, id=table_id)
        .tab_header(
            title=f"Pipeline needed for {data['target_fiscal_quarter'][0]}"
            if data.height
            else "Pipeline needed",
            subtitle="From the target, the trailing win rate and the creation-to-close lag",
        )
        .cols_label(
            fiscal_quarter="Created in",
            lag_share="Share of bookings",
            pipeline_required="Pipeline required",
            pipeline_created_so_far="Created so far",
            gap="Still to create",
            marketing_pipeline_required="Marketing's part",
            mqls_required="MQLs needed",
        )
        .fmt_percent(columns="lag_share", decimals=0)
        .pipe(
            fmt_money,
            ["pipeline_required", "pipeline_created_so_far", "gap", "marketing_pipeline_required"],
        )
        .fmt_integer(columns="mqls_required")
        .sub_missing(missing_text="–")
        .pipe(_sub, ["marketing_pipeline_required"], shares)
        .pipe(_sub, ["mqls_required"], mqls)
        .pipe(_notes, missing(tracking, "mqls_needed", "team_shares"))
    )
