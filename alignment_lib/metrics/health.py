"""Data health: how many rows each rule flags or leaves out, so a report can say why.

Loading already **rejects** data that breaks the model (``validate.py``:
duplicate ids, closed before created, a won deal without amount, ...). What
passes can still be thin or odd in ways that change the numbers without an
error: an open deal without an amount adds nothing to pipeline amounts, an MQL
nobody touched counts as an SLA miss, a lead that skipped the MQL stage is in
no MQL count. :func:`data_health` counts those rows, rule by rule, with the
effect each has on the kit's metrics. Definitions are in
``docs/metrics/cycles-health.md``. :func:`load_notices` lists what loading
itself repaired (control characters removed) or warned about (implausible
amounts left out), with the rows (``docs/bad-input.md``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePath

import polars as pl

from alignment_lib.gate import switched_off
from alignment_lib.load import FunnelData
from alignment_lib.tracking import NEEDS, Tracking

__all__ = [
    "HEALTH_RULES",
    "HealthReport",
    "HealthRule",
    "data_health",
    "health_report",
    "load_notices",
    "rows_loaded",
    "rule_tracked",
    "switched_off_measures",
    "tracked_needs",
]


@dataclass(frozen=True)
class HealthRule:
    """One data-health rule: which table's rows it counts, what it means, what it does.

    ``needs``: what the rule reads, as named needs of :mod:`alignment_lib.tracking`
    or ``table.column`` names; a rule whose needs the data does not track is not
    made (a check of an absent column would flag every row). ``excluded``: its
    rows are left out of some numbers (else they are only flagged, or counted
    in a particular way).
    """

    table: str
    rule: str
    description: str
    effect: str
    needs: tuple[str, ...] = ()
    excluded: bool = False


_CATEGORY_EFFECT = "in a blank group when grouped by {col}; left out when filtered by {col}"

#: Every rule :func:`data_health` reports, in the order of its output.
HEALTH_RULES: tuple[HealthRule, ...] = (
    HealthRule(
        "leads",
        "skipped_mql",
        "leads with an accepted, rejected or SQL timestamp but no mql_at (a skipped stage)",
        "not counted as MQLs; the in-order funnel drops them, the any-stage funnel counts "
        "their later stages",
        needs=("mql",),
        excluded=True,
    ),
    HealthRule(
        "leads",
        "mql_never_touched",
        "MQLs with no first sales touch (first_touch_at empty)",
        "an SLA miss once older than the SLA (leaked if also undecided)",
        needs=("mql", "first_touch"),
    ),
    HealthRule(
        "leads",
        "mql_pending",
        "MQLs neither accepted nor rejected",
        "pending, or leaked once untouched past the SLA or touched and undecided past the "
        "stall threshold; never dropped",
        needs=("mql", "sal", "rejection"),
    ),
    *(
        HealthRule(
            "leads",
            f"missing_{col}",
            f"leads without {col}",
            _CATEGORY_EFFECT.format(col=col),
            needs=(f"leads.{col}",),
        )
        for col in ("segment", "region", "channel")
    ),
    HealthRule(
        "leads",
        "opportunity_not_found",
        "leads whose opportunity_id is not in opportunities (checked on `full` when given)",
        "counted as not converted (the as-of cut blanks the reference)",
        needs=("leads.opportunity_id",),
    ),
    HealthRule(
        "leads",
        "created_after_as_of",
        "leads created after the as-of instant (needs `full`)",
        "hidden by the as-of cut",
        needs=("leads",),
        excluded=True,
    ),
    HealthRule(
        "leads",
        "event_after_as_of",
        "visible leads with an MQL, accept, reject, touch or SQL after the as-of instant "
        "(needs `full`)",
        "those events blanked by the as-of cut (the lead is still pending)",
        needs=("leads",),
    ),
    HealthRule(
        "opportunities",
        "open_without_amount",
        "open opportunities without amount",
        "excluded from pipeline amounts; still counted as open deals",
        needs=("amount", "open_deals"),
        excluded=True,
    ),
    HealthRule(
        "opportunities",
        "lost_without_amount",
        "lost opportunities without amount",
        "counted as lost deals; add nothing to lost amounts (win rate by amount)",
        needs=("amount", "lost_deals"),
        excluded=True,
    ),
    HealthRule(
        "opportunities",
        "open_past_expected_close",
        "open opportunities whose expected close day had ended by the as-of instant (overdue)",
        "flagged only: still open, expected on a day already over; coverage shows the "
        "qualified ones of earlier quarters on their own line (overdue), in no quarter's pipeline",
        needs=("expected_close", "open_deals"),
    ),
    HealthRule(
        "opportunities",
        "open_without_expected_close",
        "open opportunities without expected close date",
        "in no quarter's expected pipeline (coverage, slipped deals)",
        needs=("expected_close", "open_deals"),
        excluded=True,
    ),
    HealthRule(
        "opportunities",
        "lost_no_decision",
        "lost opportunities with lost_reason 'No decision'",
        "counted as lost",
        needs=("lost_reason", "lost_deals"),
    ),
    HealthRule(
        "opportunities",
        "lead_not_found",
        "opportunities whose lead_id is not in leads",
        "flagged only: missing from lead-to-opportunity conversion",
        needs=("leads", "opportunities.lead_id"),
    ),
    HealthRule(
        "opportunities",
        "marketing_without_lead",
        "marketing-sourced opportunities without lead_id",
        "flagged only: missing from lead-to-opportunity conversion",
        needs=("lead_opportunity", "source"),
    ),
    HealthRule(
        "opportunities",
        "no_stage_history",
        "opportunities without any stage_history row (all of them without the table)",
        "excluded from slipped deals; stage at a past as-of unknown",
        needs=("stage_history",),
        excluded=True,
    ),
    *(
        HealthRule(
            "opportunities",
            f"missing_{col}",
            f"opportunities without {col}",
            _CATEGORY_EFFECT.format(col=col),
            needs=(f"opportunities.{col}",),
        )
        for col in ("segment", "region", "channel")
    ),
    HealthRule(
        "opportunities",
        "created_after_as_of",
        "opportunities created after the as-of instant (needs `full`)",
        "hidden by the as-of cut",
        needs=("opportunity_created",),
        excluded=True,
    ),
    HealthRule(
        "opportunities",
        "closed_after_as_of",
        "visible opportunities closed after the as-of instant (needs `full`)",
        "shown as open again",
        needs=("closes",),
    ),
    HealthRule(
        "opportunities",
        "open_values_after_as_of",
        "deals open at the as-of instant shown with the amount, stage and expected close "
        "date of the export, which can be recorded after it: no stage_history table to "
        "rebuild them (needs `full`; 0 with stage history or when nothing is dated after "
        "the as-of instant)",
        "pipeline created, coverage, the forecast and pipeline needed use these amounts; "
        "coverage and the forecast these stages and expected close dates (a deal closed "
        "later reads stage Open)",
    ),
    HealthRule(
        "stage_history",
        "changed_after_as_of",
        "stage history rows recorded after the as-of instant (needs `full`)",
        "hidden by the as-of cut",
        needs=("stage_history",),
        excluded=True,
    ),
)

_OUTPUT = pl.Schema(
    {
        "table": pl.String,
        "rule": pl.String,
        "description": pl.String,
        "rows": pl.Int64,
        "share_of_table": pl.Float64,
        "effect": pl.String,
    }
)


def _counts(frame: pl.LazyFrame, table: str, rules: dict[str, pl.Expr]) -> pl.LazyFrame:
    """One aggregate over ``frame``: per rule, how many rows match, beside the table's size."""
    return (
        frame.select(
            pl.len().cast(pl.Int64).alias("_table_rows"),
            *(
                expr.fill_null(False).sum().cast(pl.Int64).alias(name)
                for name, expr in rules.items()
            ),
        )
        .unpivot(index="_table_rows", variable_name="rule", value_name="rows")
        .with_columns(pl.lit(table).alias("table"))
    )


def _anti_count(
    frame: pl.LazyFrame, table: str, rule: str, key: str, other: pl.LazyFrame, other_key: str
) -> pl.LazyFrame:
    """Rows of ``frame`` whose non-empty ``key`` has no match in ``other``."""
    missing = (
        frame.filter(pl.col(key).is_not_null())
        .join(other.select(pl.col(other_key).alias(key)), on=key, how="anti")
        .select(pl.len().cast(pl.Int64).alias("rows"))
    )
    return (
        frame.select(pl.len().cast(pl.Int64).alias("_table_rows"))
        .join(missing, how="cross")
        .with_columns(pl.lit(table).alias("table"), pl.lit(rule).alias("rule"))
    )


def _unknown(table: str, rule: str, rows: int | None) -> pl.LazyFrame:
    """A rule that cannot be computed here: rows and share are null."""
    return pl.LazyFrame(
        {"_table_rows": [None], "rule": [rule], "rows": [rows], "table": [table]},
        schema={"_table_rows": pl.Int64, "rule": pl.String, "rows": pl.Int64, "table": pl.String},
    )


def _as_of_rules(data: FunnelData, full: FunnelData | None) -> list[pl.LazyFrame]:
    names = [
        ("leads", "created_after_as_of"),
        ("leads", "event_after_as_of"),
        ("opportunities", "created_after_as_of"),
        ("opportunities", "closed_after_as_of"),
        ("opportunities", "open_values_after_as_of"),
        ("stage_history", "changed_after_as_of"),
    ]
    if data.as_of is None:  # not cut: nothing is hidden
        tables = {"leads": data.leads, "opportunities": data.opportunities}
        tables["stage_history"] = data.stage_history
        nothing = pl.first().is_null() & pl.lit(False)
        return [_counts(tables[t], t, {r: nothing}) for t, r in names]
    if full is None:  # cut, but the un-cut data is not at hand: unknown
        return [_unknown(t, r, None) for t, r in names]
    c = pl.lit(data.as_of, dtype=pl.Datetime("us", "UTC"))
    events = ("mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at")
    leads = _counts(
        full.leads,
        "leads",
        {
            "created_after_as_of": pl.col("created_at") > c,
            "event_after_as_of": (pl.col("created_at") <= c)
            & pl.any_horizontal(pl.col(e) > c for e in events),
        },
    )
    opps = _counts(
        full.opportunities, "opportunities", {"created_after_as_of": pl.col("created_at") > c}
    )
    # visible at the cut (in `data`, whatever decided it: a creation date, or without one a
    # first close or stage change) and closed after it in the un-cut data
    table_rows = full.opportunities.select(pl.len().cast(pl.Int64).alias("_table_rows"))
    reopened = (
        data.opportunities.select("opportunity_id")
        .join(full.opportunities.filter(pl.col("closed_at") > c), on="opportunity_id", how="semi")
        .select(pl.len().cast(pl.Int64).alias("rows"))
    )
    closed_later = table_rows.join(reopened, how="cross").with_columns(
        pl.lit("opportunities").alias("table"), pl.lit("closed_after_as_of").alias("rule")
    )
    history = _counts(
        full.stage_history, "stage_history", {"changed_after_as_of": pl.col("changed_at") > c}
    )
    # Without stage history, a deal open at the cut keeps the export's values; they can be
    # recorded after the cut only when the data reaches past it (docs/data-model.md, "As of").
    later = (
        not data.has_stage_history
        and full.extract_date is not None
        and full.extract_date > data.as_of
    )
    open_now = data.opportunities.filter(pl.col("closed_at").is_null() & pl.lit(later))
    values = table_rows.join(
        open_now.select(pl.len().cast(pl.Int64).alias("rows")), how="cross"
    ).with_columns(
        pl.lit("opportunities").alias("table"), pl.lit("open_values_after_as_of").alias("rule")
    )
    return [leads, opps, closed_later, values, history]


def rule_tracked(rule: HealthRule, tracking: Tracking) -> bool:
    """Whether the data tracks what ``rule`` reads (its ``needs``)."""
    tables = {
        "leads": tracking.has_leads,
        "stage_history": tracking.has_stage_history,
        "targets": tracking.has_targets,
    }
    for need in rule.needs:
        if "." not in need:
            if not tracking.tracks(need):
                return False
            continue
        table = need.split(".", 1)[0]
        if not tables.get(table, True):
            return False
        if tracking.tracked is not None and need not in tracking.tracked:
            return False
    return True


def data_health(
    data: FunnelData,
    *,
    full: FunnelData | None = None,
) -> pl.LazyFrame:
    """Counts of rows flagged or left out by each data-health rule.

    ``data`` is what the report computes on (usually ``load_funnel(...).at(as_of)``,
    maybe ``.where(...)``-filtered). ``full`` is optional: the same data before the
    as-of cut (``load_funnel(...)``, filtered the same way). With it, the as-of
    rules count what the cut hides (rows created after the as-of instant, closes
    and handoff events blanked) and ``opportunity_not_found`` is checked on the
    un-cut leads, because the cut blanks a lead's reference to an opportunity it
    cannot see. Without it those as-of rules are null when ``data`` was cut (0
    when it was not: nothing is hidden).

    ``open_past_expected_close`` counts the open deals whose expected close day
    (a local calendar date) had ended by ``data.as_of`` (now when the data was
    not cut): expected close date < the local date of the first instant after
    it. At a quarter's end (a report's default as-of) these are exactly the
    deals expected in a quarter already over, the ones pipeline coverage shows
    as overdue (its qualified ones); a strict ``<`` on the as-of day itself
    missed every deal expected on it, e.g. all 70 of the sample's at
    2026-09-30, whose close dates sit on the quarter's last day.

    A rule reading what the source does not track (``data.tracking``: an absent
    column, no leads table; :func:`rule_tracked`) is not made: its rows are null,
    like an as-of rule without ``full``.

    Grain: one row per rule of :data:`HEALTH_RULES` (table, rule). Columns:
    ``table``, ``rule``, ``description``, ``rows`` (Int64: rows of ``table`` the
    rule matches; null when not made), ``share_of_table`` (Float64 0-1: rows /
    all rows of that table, the un-cut table for the as-of rules; null when the
    table is empty or the rule unknown), ``effect`` (what the kit's metrics do with those rows).
    Sorted by table, then in the order of :data:`HEALTH_RULES`.
    """
    cal = data.calendar
    # the first local day not yet over at as_of: a deal expected before it is overdue
    today = cal.local_date((data.as_of or dt.datetime.now(dt.UTC)) + dt.timedelta(microseconds=1))
    leads, opps = data.leads, data.opportunities
    is_open = pl.col("closed_at").is_null()
    mql = pl.col("mql_at").is_not_null()
    lead_rules = {
        "skipped_mql": ~mql
        & pl.any_horizontal(
            pl.col(c).is_not_null() for c in ("accepted_at", "rejected_at", "sql_at")
        ),
        "mql_never_touched": mql & pl.col("first_touch_at").is_null(),
        "mql_pending": mql & pl.col("accepted_at").is_null() & pl.col("rejected_at").is_null(),
        **{f"missing_{c}": pl.col(c).is_null() for c in ("segment", "region", "channel")},
    }
    opp_rules = {
        "open_without_amount": is_open & pl.col("amount").is_null(),
        "lost_without_amount": (pl.col("outcome") == "lost") & pl.col("amount").is_null(),
        "open_past_expected_close": is_open & (pl.col("expected_close_date") < today),
        "open_without_expected_close": is_open & pl.col("expected_close_date").is_null(),
        "lost_no_decision": (pl.col("outcome") == "lost")
        & (pl.col("lost_reason").str.strip_chars().str.to_lowercase() == "no decision"),
        "marketing_without_lead": (pl.col("source") == "marketing") & pl.col("lead_id").is_null(),
        **{f"missing_{c}": pl.col(c).is_null() for c in ("segment", "region", "channel")},
    }
    reference = full if full is not None else data
    parts = [
        _counts(leads, "leads", lead_rules),
        _counts(opps, "opportunities", opp_rules),
        _anti_count(
            reference.leads,
            "leads",
            "opportunity_not_found",
            "opportunity_id",
            reference.opportunities,
            "opportunity_id",
        ),
        _anti_count(opps, "opportunities", "lead_not_found", "lead_id", leads, "lead_id"),
        _anti_count(
            opps,
            "opportunities",
            "no_stage_history",
            "opportunity_id",
            data.stage_history,
            "opportunity_id",
        ),
        *_as_of_rules(data, full),
    ]
    order = pl.LazyFrame(
        {
            "table": [r.table for r in HEALTH_RULES],
            "rule": [r.rule for r in HEALTH_RULES],
            "description": [r.description for r in HEALTH_RULES],
            "effect": [r.effect for r in HEALTH_RULES],
            "_order": list(range(len(HEALTH_RULES))),
        },
        schema={
            **{k: pl.String for k in ("table", "rule", "description", "effect")},
            "_order": pl.Int64,
        },
    )
    counted = pl.concat(
        [p.select("table", "rule", "rows", "_table_rows") for p in parts], how="vertical"
    )
    untracked = [f"{r.table}.{r.rule}" for r in HEALTH_RULES if not rule_tracked(r, data.tracking)]
    not_made = (pl.col("table") + "." + pl.col("rule")).is_in(untracked)
    return (
        order.join(counted, on=["table", "rule"], how="left")
        .with_columns(pl.when(not_made).then(None).otherwise(pl.col("rows")).alias("rows"))
        .with_columns(
            pl.when(pl.col("_table_rows") > 0)
            .then(pl.col("rows") / pl.col("_table_rows"))
            .cast(pl.Float64)
            .alias("share_of_table")
        )
        .sort("table", "_order")
        .select(list(_OUTPUT))
        .cast(_OUTPUT)
    )


#: the tables rows_loaded counts, in this order
_LOADED_TABLES = ("leads", "opportunities", "stage_history", "targets")
_LOADED_SCHEMA = {
    "table": pl.String,
    "part": pl.String,
    "in_source": pl.Int64,
    "hidden_by_as_of": pl.Int64,
    "in_report": pl.Int64,
}


def rows_loaded(data: FunnelData, *, full: FunnelData | None = None) -> pl.DataFrame:
    """How many rows each table has in the source, hidden by the as-of cut, and in the report.

    One row per table (``part`` = ``"all"``: leads, opportunities,
    stage_history, targets) followed by the parts findings use as bases
    (leads: ``"MQLs"``; opportunities: ``"open"``, ``"won"``, ``"lost"``, as seen
    at the as-of instant). ``in_source`` is the un-cut count (``full``), null
    when ``data`` was cut and ``full`` is not given; ``hidden_by_as_of`` =
    in_source - in_report; both are null for the parts. Targets are never cut.
    """
    outcome = pl.col("outcome")
    counts = pl.collect_all(
        [
            data.leads.select(
                pl.len().alias("all"), pl.col("mql_at").is_not_null().sum().alias("MQLs")
            ),
            data.opportunities.select(
                pl.len().alias("all"),
                outcome.is_null().sum().alias("open"),
                (outcome == "won").sum().alias("won"),
                (outcome == "lost").sum().alias("lost"),
            ),
            data.stage_history.select(pl.len().alias("all")),
            data.targets.select(pl.len().alias("all")),
        ]
    )
    uncut: dict[str, int] = {}
    if full is not None:
        tables = {"leads": full.leads, "opportunities": full.opportunities}
        tables["stage_history"] = full.stage_history
        found = pl.collect_all([f.select(pl.len()) for f in tables.values()])
        uncut = {t: f.item() for t, f in zip(tables, found, strict=True)}
    rows: list[tuple[str, str, int | None, int | None, int]] = []
    for table, frame in zip(_LOADED_TABLES, counts, strict=True):
        report = int(frame["all"][0])
        # Not cut (or never cut, like targets): everything in the source is in the report.
        uncut_data = data.as_of is None or table == "targets"
        source = report if uncut_data else uncut.get(table)
        rows.append((table, "all", source, None if source is None else source - report, report))
        rows += [(table, part, None, None, int(frame[part][0])) for part in frame.columns[1:]]
    return pl.DataFrame(rows, schema=_LOADED_SCHEMA, orient="row")


_NOTICE_SCHEMA = {
    "kind": pl.String,
    "table": pl.String,
    "file": pl.String,
    "column": pl.String,
    "rule": pl.String,
    "rows": pl.Int64,
    "first_rows": pl.String,
    "message": pl.String,
    "fix": pl.String,
}


def load_notices(data: FunnelData) -> pl.DataFrame:
    """What loading repaired or warned about, one row per (table, column, rule).

    ``kind`` is ``"warning"`` (a plausibility warning, e.g. ``amount_outlier``:
    the amount is left out of every amount) or ``"repair"`` (a value the kit
    changed on load, e.g. ``control_characters_removed``). ``rows`` is how many
    rows of the file, ``first_rows`` the first few of them (1 = the first data
    row under a CSV header). Counted over the whole source before filters and
    the as-of cut (``FunnelData.warnings``, ``FunnelData.repairs``). ``file``
    is the file name only (no folder). Sorted warnings first, then table,
    column and rule. Empty (with these columns) when loading found nothing.
    """
    rows = [
        (
            kind,
            _table_of(p.file),
            PurePath(p.file).name,
            p.column,
            p.rule,
            p.n_rows,
            ", ".join(str(r) for r in p.rows) + (" ..." if p.n_rows > len(p.rows) else ""),
            p.message,
            p.fix,
        )
        for kind, problems in (("warning", data.warnings), ("repair", data.repairs))
        for p in problems
    ]
    frame = pl.DataFrame(rows, schema=_NOTICE_SCHEMA, orient="row")
    return frame.sort(pl.col("kind") != "warning", "table", "column", "rule", maintain_order=True)


def _table_of(file: str) -> str:
    return PurePath(file).stem


# -- what the source tracks, what is switched off (docs/partial-data.md) -----------------------
#: how each flag of Tracking reads in the "what it reads" column
_FLAG_SOURCES = {
    "has_leads": "a leads table",
    "has_stage_history": "a stage_history table",
    "has_targets": "a targets table",
    "has_won_deals": "won deals (outcome won)",
    "has_lost_deals": "lost deals (outcome lost)",
    "has_open_deals": "open deals (no close)",
}
_TRACKED_SCHEMA = {
    "need": pl.String,
    "reads": pl.String,
    "tracked": pl.Boolean,
    "statement": pl.String,
}


def tracked_needs(tracking: Tracking) -> pl.DataFrame:
    """What the source tracks, need by need (:data:`alignment_lib.NEEDS`, in its order).

    Columns: ``need`` (its name), ``reads`` (the columns, any one of which
    must hold a value, or the table or outcome it needs), ``tracked``
    (Boolean), ``statement`` (what a page says without it; null when tracked).
    The funnel stages are the needs ``leads`` (Inquiry), ``mql``, ``sal``,
    ``sql``, ``lead_opportunity`` and ``opportunity_created`` (Opportunity),
    ``won_deals`` (Won).
    """
    rows = []
    for name, need in NEEDS.items():
        reads = " or ".join(need.any_of) if need.any_of else _FLAG_SOURCES.get(need.flag, "")
        said = tracking.missing(name)
        rows.append((name, reads, not said, said[0] if said else None))
    return pl.DataFrame(rows, schema=_TRACKED_SCHEMA, orient="row")


_OFF_SCHEMA = {
    "measure": pl.String,
    "label": pl.String,
    "pages": pl.String,
    "reason": pl.String,
}


def switched_off_measures(tracking: Tracking) -> pl.DataFrame:
    """The measures the pages do not show because the source does not track what they
    need (:func:`alignment_lib.gate.switched_off`), in page order.

    Columns: ``measure`` (its name in :data:`alignment_lib.gate.MEASURES`),
    ``label`` (how a reader knows it), ``pages`` (the workbooks that would
    show it, comma-separated), ``reason`` (the sentences the pages state).
    Empty (with these columns) when everything is tracked.
    """
    rows = [
        (m.name, m.label, ", ".join(m.pages), " ".join(said)) for m, said in switched_off(tracking)
    ]
    return pl.DataFrame(rows, schema=_OFF_SCHEMA, orient="row")


@dataclass(frozen=True)
class HealthReport:
    """Everything the data-health page and ``alignment validate`` show, computed once.

    ``loaded``: :func:`rows_loaded`; ``checks``: :func:`data_health` (collected)
    with ``outcome``: "excluded" (the rows are left out of some numbers),
    "flagged" (counted, but in a particular way), "not tracked" (the rule reads
    what the source does not track) or "not checked" (an as-of rule without the
    un-cut data); ``notices``: :func:`load_notices`; ``tracked``:
    :func:`tracked_needs`; ``switched_off``: :func:`switched_off_measures`.
    """

    loaded: pl.DataFrame
    checks: pl.DataFrame
    notices: pl.DataFrame
    tracked: pl.DataFrame
    switched_off: pl.DataFrame


def health_report(data: FunnelData, *, full: FunnelData | None = None) -> HealthReport:
    """The data-health report of ``data`` (and of ``full``, its un-cut copy, as in
    :func:`data_health`): one function for the page and for ``alignment validate``."""
    checks = data_health(data, full=full).collect()
    excluded = {(r.table, r.rule) for r in HEALTH_RULES if r.excluded}
    untracked = {(r.table, r.rule) for r in HEALTH_RULES if not rule_tracked(r, data.tracking)}
    outcome = [
        "not tracked"
        if (t, r) in untracked
        else "not checked"
        if n is None
        else "excluded"
        if (t, r) in excluded
        else "flagged"
        for t, r, n in checks.select("table", "rule", "rows").iter_rows()
    ]
    return HealthReport(
        loaded=rows_loaded(data, full=full),
        checks=checks.with_columns(pl.Series("outcome", outcome, dtype=pl.String)),
        notices=load_notices(data),
        tracked=tracked_needs(data.tracking),
        switched_off=switched_off_measures(data.tracking),
    )
