"""Tables of the 'Shared scorecard' workbook."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.money import fmt_money, format_money
from alignment_lib.narrative._format import format_share
from alignment_lib.tables._empty import table_no_data

__all__ = ["table_coverage", "table_pipeline_needed", "table_scorecard"]


def _fmt(kind: str, value: float | None) -> str:
    if value is None:
        return "–"
    if kind == "amount":
        return format_money(value)
    if kind == "rate":
        return format_share(value)
    return f"{value:,.0f}"


def table_scorecard(frame: pl.DataFrame | pl.LazyFrame, *, table_id: str = "scorecard") -> gt.GT:
    """One row per shared target: target, actual, attainment, pacing, status, contributions."""
    data = collect(frame)
    if data.is_empty():
        return table_no_data("Shared targets", "No targets set for this quarter", table_id=table_id)
    rows = [
        {
            "target_name": r["label"] + ("" if r["team"] == "shared" else f" ({r['team']})"),
            "target": _fmt(r["kind"], r["target"]),
            "actual": _fmt(r["kind"], r["actual"]),
            "attainment": format_share(r["attainment"]),
            "pacing": format_share(r["pacing"]),
            "status": r["status"] or "no data",
            **{
                s: _fmt("amount", r[s]) if r["kind"] == "amount" else "–"
                for s in ("marketing", "sales", "partner")
            },
        }
        for r in data.iter_rows(named=True)
    ]
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
    return (
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
        .tab_spanner(label="Contribution (amounts)", columns=["marketing", "sales", "partner"])
        .cols_align(
            align="right",
            columns=["target", "actual", "attainment", "pacing", "marketing", "sales", "partner"],
        )
        .tab_style(
            style=gt.style.text(weight="bold", whitespace="nowrap"),
            locations=gt.loc.body(columns="status"),
        )
    )


def table_coverage(frame: pl.DataFrame | pl.LazyFrame, *, table_id: str = "coverage") -> gt.GT:
    """Pipeline coverage per upcoming quarter against the coverage the win rate requires."""
    data = collect(frame)
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
    )


def table_pipeline_needed(
    frame: pl.DataFrame | pl.LazyFrame, *, table_id: str = "pipeline-needed"
) -> gt.GT:
    """The reverse waterfall as a table: per creation quarter, pipeline and MQLs required."""
    data = collect(frame)
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
    )
