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


#: the first cell of the coverage table's overdue line
OVERDUE = "Overdue (expected in a quarter already over)"


@shows("coverage")
def table_coverage(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "coverage",
    tracking: Tracking | None = None,
) -> gt.GT:
    """Qualified, in-period pipeline per upcoming quarter against the coverage it requires.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_coverage` output. One line
    per quarter, then the overdue deals on a line of their own (open, qualified,
    expected in a quarter already over: in no quarter's pipeline). Notes say what
    the pipeline counts, the conversion the required coverage comes from, the
    overdue deals and the deals without an amount. Without targets (none set, or
    a filtered report without targets of its own: ``tracking``) the target, left
    to book, coverage and status read "–" and a note says why; without the
    history the conversion needs (``tracking``) the required coverage and the
    status read what is missing ("needs close-date history"), never 1.0x.
    """
    data = collect(frame)
    required = short_reason(tracking, "required_coverage")
    untargeted = missing(tracking, "targets")
    if required:
        data = data.with_columns(
            pl.lit(None, pl.Float64).alias("required_coverage"),
            pl.lit(None, pl.String).alias("status"),
        )
    if untargeted:
        data = data.with_columns(
            pl.lit(None, pl.Float64).alias(c) for c in ("target", "remaining", "coverage")
        ).with_columns(pl.lit(None, pl.String).alias("status"))
    columns = [
        "fiscal_quarter",
        "open_deals",
        "open_pipeline",
        "bookings_to_date",
        "target",
        "remaining",
        "coverage",
        "required_coverage",
        "status",
    ]
    quarters = data.select(columns)
    overdue_deals = int(data["overdue_deals"][0]) if data.height else 0
    overdue_amount = float(data["overdue_pipeline"][0]) if data.height else 0.0
    overdue = pl.DataFrame(
        {
            "fiscal_quarter": [OVERDUE],
            "open_deals": [overdue_deals],
            "open_pipeline": [overdue_amount],
            "status": ["not counted"],
        }
    )
    table = pl.concat([quarters, overdue], how="diagonal_relaxed").select(columns)
    return (
        gt.GT(table, id=table_id)
        .tab_header(
            title="Pipeline coverage",
            subtitle="Qualified open pipeline expected to close in the quarter / what is "
            "left to book",
        )
        .cols_label(
            fiscal_quarter="Quarter",
            open_deals="Deals",
            open_pipeline="Open pipeline",
            bookings_to_date="Booked so far",
            target="Target",
            remaining="Left to book",
            coverage="Coverage",
            required_coverage="Required",
            status="Status",
        )
        .fmt_integer(columns="open_deals")
        .pipe(fmt_money, ["open_pipeline", "bookings_to_date", "target", "remaining"])
        .fmt_number(columns=["coverage", "required_coverage"], decimals=1, pattern="{x}x")
        .sub_missing(missing_text="–")
        .pipe(_sub, ["required_coverage", "status"], required)
        .pipe(
            _notes,
            [
                *untargeted,
                *_coverage_notes(data, overdue_deals, overdue_amount, with_rate=not required),
                *missing(tracking, "required_coverage"),
            ],
        )
    )


def _coverage_notes(
    data: pl.DataFrame, overdue_deals: int, overdue_amount: float, *, with_rate: bool
) -> list[str]:
    """What the coverage table counts, in sentences computed from it."""
    notes = [
        "Open pipeline: open deals in a qualified stage (not an excluded early stage such as "
        "Discovery) whose expected close date falls in the quarter."
    ]
    rates = data["conversion"].drop_nulls().unique(maintain_order=True) if data.height else []
    if with_rate and len(rates):
        shown = " / ".join(format_share(r) for r in rates)
        notes.append(
            "Required coverage = 1 / the in-quarter conversion of the same pipeline: of the "
            "qualified pipeline expected in each of the past quarters at its start, the share "
            f"of the amount won within that quarter ({shown})."
        )
    if overdue_deals:
        notes.append(
            f"Overdue: {format_count(overdue_deals)} qualified "
            f"{'deal is' if overdue_deals == 1 else 'deals are'} still open with an expected "
            f"close date in a quarter already over ({format_money(overdue_amount)}), in no "
            "quarter's pipeline above: move their close dates or close them."
        )
    no_amount = int(data["open_deals_without_amount"].sum()) if data.height else 0
    if no_amount:
        notes.append(
            f"{format_count(no_amount)} of the qualified open "
            f"{'deal has' if no_amount == 1 else 'deals have'} no amount: counted as deals, "
            "adding nothing to the open pipeline (the conversion weighs such deals 0 too)."
        )
    return notes


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
        .pipe(_notes, [*missing(tracking, "mqls_needed", "team_shares"), *_win_rate_note(data)])
    )


def _win_rate_note(data: pl.DataFrame) -> list[str]:
    """The win rate pipeline needed divides by, and the closed deals it leaves out."""
    if not data.height or "closed_without_amount" not in data.columns:
        return []
    rate, left_out = data["win_rate"][0], data["closed_without_amount"][0]
    if rate is None:
        return []
    note = (
        f"Pipeline required = target x share of bookings x 1 / the trailing win rate by amount "
        f"({format_share(rate)}) of the deals closed with an amount"
    )
    if left_out:
        note += (
            f"; {format_count(left_out)} {'deal' if left_out == 1 else 'deals'} closed "
            f"without one {'is' if left_out == 1 else 'are'} left out of it, as they are of "
            "pipeline created, which it converts"
        )
    return [note + "."]
