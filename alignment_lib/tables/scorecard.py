"""Tables of the 'Shared scorecard' workbook."""

from __future__ import annotations

from typing import Any

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.gate import missing, short_reason
from alignment_lib.money import fmt_money, format_money
from alignment_lib.narrative._format import format_count, format_share
from alignment_lib.narrative.scorecard import NO_TARGETS, RUNNING, gate_scorecard, has_targets
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.tracking import Tracking

__all__ = [
    "table_benchmarks",
    "table_coverage",
    "table_pipeline_needed",
    "table_pipeline_to_create",
    "table_scorecard",
]


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
    """One row per shared target: target, actual, attainment, pacing, projected finish,
    status, contributions.

    Amounts print as money, counts (MQLs, won deals, opportunities created) as
    plain numbers, rates as percentages. Pacing (a quarter still running) is
    against the historical curve, with what it is compared with below it;
    the projected finish is where the quarter ends at the usual pace, with the
    range at the fastest and slowest past pace. A target the data cannot
    measure (``tracking``) reads "not tracked", with the reason in a note below.
    Without targets (none set for the quarter, no targets table, or a filtered
    report without targets of its own: ``tracking``) the actuals are shown
    alone, target, attainment, pacing, projected finish and status "–", and a
    note says why.
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
            "pacing": "–" if r["target"] is None else _pacing(r),
            "finish": "–" if r["target"] is None else _finish(r),
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
                "finish",
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
            finish="Projected finish",
            status="Status",
            marketing="Marketing",
            sales="Sales",
            partner="Partner",
        )
        .tab_spanner(label=spanner, columns=["marketing", "sales", "partner"])
        .cols_align(
            align="right",
            columns=[
                "target",
                "actual",
                "attainment",
                "pacing",
                "finish",
                "marketing",
                "sales",
                "partner",
            ],
        )
        .tab_style(
            style=gt.style.text(weight="bold", whitespace="nowrap"),
            locations=gt.loc.body(columns="status"),
        ),
        [*no_targets, *_basis_notes(data), *(n for n in data["not_tracked"].to_list() if n)],
    )


def _running(r: dict[str, Any]) -> bool:
    return r["kind"] != "rate" and r["status"] in RUNNING and not r["not_tracked"]


def _pacing(r: dict[str, Any]) -> str:
    """Pacing of a running target, with what it is compared with; "–" once it is over."""
    if r["not_tracked"] or r["pacing"] is None or r["status"] in ("hit", "missed"):
        return "–"
    if r["kind"] == "rate":
        return format_share(r["pacing"])
    return f"{format_share(r['pacing'])} ({_BASIS.get(r.get('curve_basis') or 'linear', 'linear')})"


def _finish(r: dict[str, Any]) -> str:
    if not _running(r) or r.get("projected_finish") is None:
        return "–"
    text = _fmt(r["kind"], r["projected_finish"])
    low, high = r.get("projected_low"), r.get("projected_high")
    if low is not None and high is not None and low != high:
        text += f" ({_fmt(r['kind'], low)} to {_fmt(r['kind'], high)})"
    return text


#: what pacing compares with, in a cell (docs/metrics/pacing.md)
_BASIS = {"same quarter": "same quarter", "all quarters": "recent quarters", "linear": "linear"}


def _basis_notes(data: pl.DataFrame) -> list[str]:
    """One note per way a running target was paced."""
    notes = []
    running = [r for r in data.iter_rows(named=True) if _running(r)]
    for basis in dict.fromkeys(r.get("curve_basis") for r in running):
        rows = [r for r in running if r.get("curve_basis") == basis]
        n = max(r.get("curve_quarters") or 0 for r in rows)
        if basis == "same quarter":
            notes.append(
                f"Pacing (same quarter): actual / (target x the share of its total the same "
                f"fiscal quarter of up to {n} earlier years had reached by this day). Projected "
                "finish: actual / that share (in brackets: at the fastest and slowest of them)."
            )
        elif basis == "all quarters":
            notes.append(
                f"Pacing (recent quarters): against the share of their total {n} recent quarters "
                "had reached by this day (fewer than two of the same fiscal quarter); they mix "
                "seasons."
            )
        else:
            notes.append(
                "Pacing (linear): no earlier quarter to compare with, so against the elapsed "
                "share of the quarter; back-loaded quarters read low early on."
            )
    return notes


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
    rates: list[float] = (
        data["conversion"].drop_nulls().unique(maintain_order=True).to_list() if data.height else []
    )
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


@shows("pipeline_needed")
def table_pipeline_to_create(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "pipeline-to-create",
    tracking: Tracking | None = None,
) -> gt.GT:
    """The pipeline the current quarter must create: one row per target quarter it feeds (the
    slices), their total, what has been created so far and what is still to create.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_to_create` output. A
    target quarter without a target reads "no target yet" and is not in the
    total. The MQLs needed (and marketing's part) read what they need when the
    data cannot support them (no leads, no deal sources; ``tracking``).
    """
    data = collect(frame).sort("quarter_index")
    creation = data["creation_fiscal_quarter"][0] if data.height else "this quarter"
    title = f"Pipeline to create in {creation}"
    if data.is_empty() or data["pipeline_required"].is_null().all():
        return table_no_data(
            title,
            f"No bookings target set for {creation} or the quarters it feeds",
            table_id=table_id,
        )
    mqls = short_reason(tracking, "mqls_needed")
    shares = short_reason(tracking, "team_shares")
    r = data.row(0, named=True)
    slices = [
        {
            "row": f"For {s['fiscal_quarter']}'s target"
            if s["target"] is not None
            else f"For {s['fiscal_quarter']} (no target yet)",
            "target": s["target"],
            "lag_share": s["lag_share"],
            "pipeline": s["pipeline_required"],
            "marketing": s["marketing_pipeline_required"],
            "mqls": s["mqls_required"],
        }
        for s in data.iter_rows(named=True)
    ]
    summary = [
        {
            "row": "Total to create",
            "pipeline": r["total_pipeline_required"],
            "marketing": r["total_marketing_pipeline_required"],
            "mqls": r["total_mqls_required"],
        },
        {
            "row": f"Created so far in {creation}",
            "pipeline": r["pipeline_created_so_far"],
            "marketing": r["marketing_pipeline_created_so_far"],
            "mqls": r["mqls_so_far"],
        },
        {
            "row": "Still to create",
            "pipeline": r["gap"],
            "marketing": r["marketing_gap"],
            "mqls": r["mqls_gap"],
        },
    ]
    schema = {
        "row": pl.String,
        "target": pl.Float64,
        "lag_share": pl.Float64,
        "pipeline": pl.Float64,
        "marketing": pl.Float64,
        "mqls": pl.Float64,
    }
    table = pl.DataFrame([{**dict.fromkeys(schema), **x} for x in slices + summary], schema=schema)
    blanked = [c for c, off in (("mqls", mqls), ("marketing", shares)) if off]
    table = table.with_columns(pl.lit(None, pl.Float64).alias(c) for c in blanked)
    n = len(slices)
    return (
        gt.GT(table, id=table_id)
        .tab_header(
            title=title,
            subtitle="Pipeline created in a quarter closes over the next ones: each target's "
            "share created this far ahead / the trailing win rate",
        )
        .cols_label(
            row="",
            target="Bookings target",
            lag_share="Share of its bookings",
            pipeline="Pipeline",
            marketing="Marketing's part",
            mqls="MQLs",
        )
        .fmt_percent(columns="lag_share", decimals=0)
        .pipe(fmt_money, ["target", "pipeline", "marketing"])
        .fmt_integer(columns="mqls")
        .sub_missing(missing_text="–")
        .pipe(_sub, ["marketing"], shares)
        .pipe(_sub, ["mqls"], mqls)
        .tab_style(
            style=gt.style.text(weight="bold"),
            locations=gt.loc.body(rows=list(range(n, n + 3))),
        )
        .tab_source_note(
            f"Share of its bookings: of the bookings of the last quarters, the share created "
            f"0, 1, 2 and 3 or more quarters before the close (3+ set against the third "
            f"quarter ahead). Win rate by amount, {format_share(r['win_rate'])}."
        )
        .pipe(_notes, missing(tracking, "mqls_needed", "team_shares"))
    )


@shows("benchmarks")
def table_benchmarks(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "benchmarks",
    tracking: Tracking | None = None,
) -> gt.GT:
    """This data's numbers beside the ranges practitioners quote, as context.

    ``frame`` is :func:`alignment_lib.compare_with_norms` output (its rows
    already say what the data cannot support). No colour and no status: a
    published range is context for a number, never its target
    (docs/benchmarks.md lists each source).
    """
    data = collect(frame)
    if data.is_empty():
        return table_no_data(
            "How the numbers compare with typical B2B ranges",
            "No number to compare",
            table_id=table_id,
        )
    return (
        gt.GT(data.select("measure", "shown", "typical", "compared", "source"), id=table_id)
        .tab_header(
            title="How the numbers compare with typical B2B ranges",
            subtitle="Published ranges as context, not targets: companies define stages, "
            "segments and win rates differently",
        )
        .cols_label(
            measure="This data",
            shown="Value",
            typical="Typical B2B",
            compared="Compared",
            source="Source (as quoted)",
        )
        .tab_source_note(
            "Sources and what each range is compared with: docs/benchmarks.md of the kit."
        )
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
