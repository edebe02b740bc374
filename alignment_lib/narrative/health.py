"""Findings of the 'Data health' workbook: what a report loaded, hid and flagged, and why.

Besides the sentences this module holds the two small steps the page needs
before :func:`alignment_lib.metrics.data_health` can say what the as-of cut
hid: :func:`load_uncut` reads the same data location again without the cut
(filtered like the report), and :func:`rows_loaded` counts the rows of each
table before and after the cut. ``HEALTH_RULE_LABELS`` gives every rule a
short name for charts and tables.
"""

from __future__ import annotations

import re

import polars as pl

from alignment_lib.gate import missing
from alignment_lib.metrics.funnel import FUNNEL_STAGES
from alignment_lib.metrics.health import HEALTH_RULES, HealthReport, rule_tracked
from alignment_lib.narrative._format import format_share, join_words, shows
from alignment_lib.theme import STAGE_LABELS
from alignment_lib.tracking import Tracking

__all__ = [
    "HEALTH_RULE_LABELS",
    "HEALTH_TABLE_LABELS",
    "data_health_headline",
    "data_health_summary",
    "health_report_text",
    "health_rule_label",
    "load_notices_summary",
    "tracking_summary",
]

#: Display names of the tables data_health checks, in page order.
HEALTH_TABLE_LABELS: dict[str, str] = {
    "leads": "Leads",
    "opportunities": "Opportunities",
    "stage_history": "Stage history",
    "targets": "Targets",
}

#: Short names of the data-health rules, (table, rule) -> label, for axes and tables.
HEALTH_RULE_LABELS: dict[tuple[str, str], str] = {
    ("leads", "skipped_mql"): "skipped the MQL stage",
    ("leads", "mql_never_touched"): "MQL never touched by sales",
    ("leads", "mql_pending"): "MQL neither accepted nor rejected",
    ("leads", "missing_segment"): "no segment",
    ("leads", "missing_region"): "no region",
    ("leads", "missing_channel"): "no channel",
    ("leads", "opportunity_not_found"): "opportunity not in the data",
    ("leads", "created_after_as_of"): "created after the as-of date",
    ("leads", "event_after_as_of"): "handoff event after the as-of date",
    ("opportunities", "open_without_amount"): "open, no amount",
    ("opportunities", "lost_without_amount"): "lost, no amount",
    ("opportunities", "open_past_expected_close"): "open past its expected close date",
    ("opportunities", "open_without_expected_close"): "open, no expected close date",
    ("opportunities", "lost_no_decision"): "lost to 'No decision'",
    ("opportunities", "lead_not_found"): "lead not in the data",
    ("opportunities", "marketing_without_lead"): "marketing-sourced, no lead",
    ("opportunities", "no_stage_history"): "no stage history",
    ("opportunities", "missing_segment"): "no segment",
    ("opportunities", "missing_region"): "no region",
    ("opportunities", "missing_channel"): "no channel",
    ("opportunities", "created_after_as_of"): "created after the as-of date",
    ("opportunities", "closed_after_as_of"): "closed after the as-of date (open again)",
    ("opportunities", "open_values_after_as_of"): "open at the as-of date, values of the export",
    ("stage_history", "changed_after_as_of"): "recorded after the as-of date",
}

_AS_OF_SUFFIX = "_after_as_of"

# What each rule means for the numbers, as a sentence with {n} rows and {share}: a
# share of the part of the same table the rule is about (a ``rows_loaded`` part:
# MQLs, open or lost deals, or "all"), so "6% of MQLs" rather than "2% of leads".
# [one|many] picks the singular or the plural form for n.
_SENTENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("leads", "skipped_mql"): (
        "all",
        "{n} lead[|s] ({share} of leads) skipped the MQL stage: [it is|they are] in no MQL count.",
    ),
    ("leads", "mql_never_touched"): (
        "MQLs",
        "{n} MQL[|s] ({share} of MQLs) [was|were] never touched by sales: each is an SLA "
        "miss once older than the SLA.",
    ),
    ("leads", "mql_pending"): (
        "MQLs",
        "{n} MQL[|s] ({share} of MQLs) [is|are] neither accepted nor rejected: pending, or "
        "leaked once untouched past the SLA or touched and undecided past the stall "
        "threshold.",
    ),
    ("leads", "opportunity_not_found"): (
        "all",
        "{n} lead[|s] point[s|] to an opportunity that is not in the data: [it counts|they "
        "count] as not converted.",
    ),
    ("opportunities", "open_without_amount"): (
        "open",
        "{n} open deal[|s] ({share} of open deals) [has|have] no amount: pipeline amounts "
        "leave [it|them] out.",
    ),
    ("opportunities", "lost_without_amount"): (
        "lost",
        "{n} lost deal[|s] ({share} of lost deals) [has|have] no amount: [it counts|they "
        "count] as lost but [weighs|weigh] nothing in the win rate by amount, which [it "
        "flatters|they flatter].",
    ),
    ("opportunities", "open_past_expected_close"): (
        "open",
        "{n} open deal[|s] ({share} of open deals) [is|are] past [its|their] expected close "
        "date: stale pipeline, flagged only.",
    ),
    ("opportunities", "open_without_expected_close"): (
        "open",
        "{n} open deal[|s] ({share} of open deals) [has|have] no expected close date: [it "
        "is|they are] in no quarter's expected pipeline.",
    ),
    ("opportunities", "lost_no_decision"): (
        "lost",
        "{n} lost deal[|s] ({share} of lost deals) [was|were] lost to 'No decision': [it "
        "counts|they count] as lost.",
    ),
    ("opportunities", "lead_not_found"): (
        "all",
        "{n} opportunit[y|ies] point[s|] to a lead that is not in the data: "
        "lead-to-opportunity conversion misses [it|them].",
    ),
    ("opportunities", "marketing_without_lead"): (
        "all",
        "{n} marketing-sourced opportunit[y|ies] [has|have] no lead: lead-to-opportunity "
        "conversion misses [it|them].",
    ),
    ("opportunities", "no_stage_history"): (
        "all",
        "{n} opportunit[y|ies] ({share} of opportunities) [has|have] no stage history: "
        "slipped deals leave [it|them] out.",
    ),
}
for _tname, _noun in (("leads", "lead[|s]"), ("opportunities", "opportunit[y|ies]")):
    for _col in ("segment", "region", "channel"):
        _SENTENCES[(_tname, f"missing_{_col}")] = (
            "all",
            f"{{n}} {_noun} ({{share}} of {_tname}) [has|have] no {_col}: [it falls|they "
            f"fall] in a blank group when grouped by {_col} and [is|are] left out when "
            "filtered by it.",
        )

_NUMBER_FORMS = re.compile(r"\[([^|\]]*)\|([^\]]*)\]")


def _sentence(template: str, n: int, share: float | None = None) -> str:
    """Fill a template: {n}, {share}, and [singular|plural] forms chosen for n."""
    text = _NUMBER_FORMS.sub(lambda m: m.group(1) if n == 1 else m.group(2), template)
    return text.format(n=f"{n:,}", share=format_share(share))


def health_rule_label(table: str, rule: str) -> str:
    """The short name of a rule (its code when it has none)."""
    return HEALTH_RULE_LABELS.get((table, rule), rule)


# -- findings --------------------------------------------------------------------------------
def _base(loaded: pl.DataFrame, table: str, part: str) -> int | None:
    rows = loaded.filter((pl.col("table") == table) & (pl.col("part") == part))
    return int(rows["in_report"][0]) if rows.height else None


def _is_as_of(rule: pl.Expr) -> pl.Expr:
    return rule.str.ends_with(_AS_OF_SUFFIX)


def _loaded_line(loaded: pl.DataFrame, tracking: Tracking) -> str:
    def n(template: str, table: str, part: str = "all") -> str:
        value = _base(loaded, table, part)
        return "?" if value is None else _sentence(template, value)

    leads = (
        f"{n('{n} lead[|s]', 'leads')} ({n('{n} MQL[|s]', 'leads', 'MQLs')})"
        if tracking.has_leads
        else "no leads (the data has no leads table)"
    )
    history = (
        n("{n} stage-history row[|s]", "stage_history")
        if tracking.has_stage_history
        else "no stage history (the data has no stage_history table)"
    )
    return (
        f"This report computes on {leads}, "
        f"{n('{n} opportunit[y|ies]', 'opportunities')} "
        f"({n('{n} open', 'opportunities', 'open')}, {n('{n} won', 'opportunities', 'won')}, "
        f"{n('{n} lost', 'opportunities', 'lost')}) and {history}."
    )


#: the measures that read an open deal's amount (and those that read its stage and expected
#: close date too), in the words of the as-of sentence
_USE_AMOUNTS = {
    "pipeline_created": "pipeline created",
    "coverage": "pipeline coverage",
    "forecast": "the bookings forecast",
    "pipeline_needed": "pipeline needed",
}
_USE_STAGES = {"coverage": "coverage", "forecast": "the forecast"}


def _values_line(health: pl.DataFrame, tracking: Tracking) -> str:
    """Item 9: without stage history, which figures of a past as-of report use values
    (amounts, stages, expected close dates) recorded later, with the count of deals."""
    rows = health.filter(
        (pl.col("table") == "opportunities") & (pl.col("rule") == "open_values_after_as_of")
    )
    n = int(rows["rows"][0] or 0) if rows.height else 0
    if n == 0:
        return ""
    closed = health.filter(
        (pl.col("table") == "opportunities") & (pl.col("rule") == "closed_after_as_of")
    )
    later = int(closed["rows"][0] or 0) if closed.height else 0
    amounts = [w for m, w in _USE_AMOUNTS.items() if not missing(tracking, m)]
    stages = [w for m, w in _USE_STAGES.items() if not missing(tracking, m)]
    text = _sentence(
        "Without stage history, {n} deal[|s] open at the as-of date [is|are] shown with the "
        "amount, stage and expected close date of the export, which can be recorded after "
        "that date",
        n,
    )
    if later:
        text += _sentence(
            " ({n} of them closed after it: [its|their] stage reads Open, [its|their] amount "
            "is the one [it|they] closed with)",
            later,
        )
    uses = []
    if amounts:
        uses.append(f"{join_words(amounts)} use{'s' if len(amounts) == 1 else ''} these amounts")
    if stages:
        uses.append(f"{join_words(stages)} these stages and expected close dates")
    return text + (": " + "; ".join(uses) if uses else "") + "."


def _made(health: pl.DataFrame, tracking: Tracking) -> pl.DataFrame:
    """The rules the data lets the kit make (not those reading what it does not track)."""
    made = [f"{r.table}.{r.rule}" for r in HEALTH_RULES if rule_tracked(r, tracking)]
    return health.filter((pl.col("table") + "." + pl.col("rule")).is_in(made))


def _as_of_line(health: pl.DataFrame) -> str:
    cut = health.filter(_is_as_of(pl.col("rule")))
    if cut.height == 0:
        return ""
    if cut["rows"].null_count() > 0:
        return (
            # a report read through a window (--read-until-as-of, docs/sources.md) never
            # read those rows; a caller of data_health may not have passed full=
            "What the as-of cut hid is unknown: the rows dated after it were not read."
        )
    counts = {
        (t, r): n
        for t, r, n in cut.select("table", "rule", "rows").iter_rows()
        if r != "open_values_after_as_of"  # its own sentence (_values_line)
    }
    if sum(counts.values()) == 0:
        return "The as-of cut hid nothing: no row of the data is dated after it."

    def n(table: str, rule: str) -> int:
        return counts.get((table, rule)) or 0

    hidden = [
        _sentence(template, n(table, rule))
        for template, table, rule in (
            ("{n} lead[|s]", "leads", "created_after_as_of"),
            ("{n} opportunit[y|ies]", "opportunities", "created_after_as_of"),
            ("{n} stage-history row[|s]", "stage_history", "changed_after_as_of"),
        )
        if (table, rule) in counts
    ]
    text = f"The as-of cut hid what came later: {join_words(hidden)}"
    extra = []
    if reopened := n("opportunities", "closed_after_as_of"):
        extra.append(_sentence("{n} deal[|s] closed after it count[s|] as open", reopened))
    if blanked := n("leads", "event_after_as_of"):
        extra.append(_sentence("{n} lead[|s] had later handoff events blanked", blanked))
    return text + ("; " + " and ".join(extra) if extra else "") + "."


def _rule_lines(health: pl.DataFrame, loaded: pl.DataFrame, limit: int) -> list[str]:
    flagged = []
    for table, rule, rows in (
        health.filter(~_is_as_of(pl.col("rule")) & (pl.col("rows") > 0))
        .select("table", "rule", "rows")
        .iter_rows()
    ):
        part, template = _SENTENCES.get(
            (table, rule), ("all", f"{{n}} {table} row[|s] ({{share}}) match[es|] rule {rule}.")
        )
        base = _base(loaded, table, part)
        share = rows / base if base else None
        flagged.append((share or 0.0, _sentence(template, rows, share)))
    # Largest share of its own population first; ties keep the rule order.
    flagged.sort(key=lambda f: -f[0])
    return [text for _, text in flagged[:limit]]


@shows()
def data_health_summary(
    health: pl.DataFrame,
    loaded: pl.DataFrame,
    *,
    max_rules: int = 5,
    tracking: Tracking | None = None,
) -> list[str]:
    """Sentences for the 'Data health' page.

    ``health`` is :func:`alignment_lib.metrics.data_health` output (collected),
    ``loaded`` is :func:`rows_loaded` output. The rules with rows are stated
    largest share first (a share of the population the rule is about: MQLs,
    open or lost deals, or the whole table), at most ``max_rules`` of them.
    ``tracking``: a table the data does not have is named as such, the rules
    reading what it does not track are counted apart, and without stage
    history a past as-of report says which figures use values of open deals
    recorded later (docs/partial-data.md).
    """
    tracking = tracking or Tracking()
    made = _made(health, tracking)
    lines = [_loaded_line(loaded, tracking)]
    for line in (_as_of_line(made), _values_line(made, tracking)):
        if line:
            lines.append(line)
    lines += _rule_lines(made, loaded, max_rules)
    checks = made.filter(~_is_as_of(pl.col("rule")))
    clean = checks.filter(pl.col("rows") == 0).height
    skipped = health.filter(~_is_as_of(pl.col("rule"))).height - checks.height
    not_made = (
        _sentence(
            " ({n} more [was|were] not made: [it reads|they read] what this data does not track)",
            skipped,
        )
        if skipped
        else ""
    )
    lines.append(
        f"{clean} of the {checks.height} checks found no rows{not_made}; the table below "
        "lists every check with its effect on the numbers."
    )
    return lines


@shows()
def data_health_headline(health: pl.DataFrame, *, tracking: Tracking | None = None) -> str:
    """Chart title: the rule that flags the largest share of its table (as-of rules aside)."""
    flagged = health.filter(
        ~_is_as_of(pl.col("rule")) & (pl.col("rows") > 0) & pl.col("share_of_table").is_not_null()
    ).sort("share_of_table", descending=True, maintain_order=True)
    if flagged.height == 0:
        return "No check flagged any row"
    top = flagged.row(0, named=True)
    table = HEALTH_TABLE_LABELS.get(top["table"], top["table"]).lower()
    return (
        f"Largest flag: {health_rule_label(top['table'], top['rule'])}, "
        f"{top['rows']:,} {table} ({format_share(top['share_of_table'])})"
    )


@shows()
def load_notices_summary(notices: pl.DataFrame, *, tracking: Tracking | None = None) -> list[str]:
    """Sentences on what loading repaired or warned about (``load_notices`` output).

    One sentence for the warnings (rows left out of amounts), one for the
    repairs (values cleaned), or one saying loading changed nothing.
    """
    warnings = notices.filter(pl.col("kind") == "warning")
    repairs = notices.filter(pl.col("kind") == "repair")
    lines = []
    if warnings.height:
        outliers = warnings.filter(pl.col("rule") == "amount_outlier")
        n = int(outliers["rows"].sum())
        if n:
            files = ", ".join(sorted(set(outliers["file"])))
            lines.append(
                _sentence(
                    "{n} amount[|s] ("
                    + files
                    + ") [is|are] more than 1,000 times the median won amount: left out of "
                    "every amount on these pages (the deal[|s] still count[s|]); the table "
                    "below lists the rows.",
                    n,
                )
            )
    if repairs.height:
        n = int(repairs["rows"].sum())
        columns = ", ".join(f"{t}.{c}" for t, c in repairs.select("table", "column").rows())
        lines.append(
            _sentence(
                "{n} value[|s] had control or right-to-left override characters, removed on "
                f"load ({columns}).",
                n,
            )
        )
    if not lines:
        lines.append(
            "Loading repaired nothing and found no implausible amount: every value is shown as "
            "stored."
        )
    return lines


# -- what the data tracks (docs/partial-data.md) ----------------------------------------------
def _stages_line(tracking: Tracking) -> str:
    tracked = set(tracking.funnel_stages(FUNNEL_STAGES))
    return ", ".join(f"{STAGE_LABELS[s]} {'yes' if s in tracked else 'no'}" for s in FUNNEL_STAGES)


@shows()
def tracking_summary(report: HealthReport, *, tracking: Tracking | None = None) -> list[str]:
    """Sentences on what the data tracks: the funnel stages it has, and each measure the
    pages do not show for want of what it needs (``report``: :func:`health_report`).

    ``tracking``: the data's (``wb.tracking``), for the funnel stages.
    """
    tracking = tracking or Tracking()
    stages = [STAGE_LABELS[s] for s in tracking.funnel_stages(FUNNEL_STAGES)]
    if len(stages) == len(FUNNEL_STAGES):
        lines = ["Every stage of the funnel is tracked in this data."]
    elif stages:
        lines = [
            f"Funnel stages tracked in this data: {join_words(stages)}; the funnel skips "
            "the others."
        ]
    else:
        lines = ["No stage of the lead funnel is tracked in this data."]
    off = report.switched_off
    if off.height == 0:
        lines.append("Every measure of the pages can be shown: nothing is switched off.")
        return lines
    lines.append(
        f"{off.height} measure{'' if off.height == 1 else 's'} of the pages "
        f"{'is' if off.height == 1 else 'are'} switched off because this data does not "
        f"track what {'it needs' if off.height == 1 else 'they need'}: "
        f"{join_words(off['label'].to_list())}; the table below says why."
    )
    return lines


def _rows(width: list[int], rows: list[tuple[str, ...]]) -> list[str]:
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)).rstrip() for r in rows
    ]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return _rows(width, rows)


def health_report_text(
    report: HealthReport, *, tracking: Tracking | None = None, as_of_rules: bool = False
) -> str:
    """The data-health report as plain text, for ``alignment validate``: rows read per
    table, every check with its rows and what it does (excluded or flagged, or not
    made), the funnel stages and needs the data tracks, the measures switched off and
    why. ``as_of_rules``: include the checks of the as-of cut (a report's, not a
    source's). The same :func:`health_report` the data-health page shows; what loading
    repaired or warned about (``report.notices``) is printed by the caller, each with
    its rows and fix.
    """
    tracking = tracking or Tracking()
    tables = {
        "leads": tracking.has_leads,
        "stage_history": tracking.has_stage_history,
        "targets": True,
    }
    out = ["Rows read"]
    rows: list[tuple[str, ...]] = []
    for table, part, n in report.loaded.select("table", "part", "in_report").iter_rows():
        name = HEALTH_TABLE_LABELS.get(table, table) if part == "all" else f"  {part}"
        if part == "all" and not tables.get(table, True):
            rows.append((name, f"no {table} table"))
        elif tables.get(table, True):
            rows.append((name, f"{n:,}"))
    out += _table(rows)
    checks = report.checks
    if not as_of_rules:
        checks = checks.filter(~_is_as_of(pl.col("rule")))
    out.append("")
    out.append(
        "Checks (rows that pass validation but are left out of some numbers, or flagged; "
        "checks overlap)"
    )
    rows = [("table", "check", "rows", "share", "outcome", "effect")]
    for r in checks.iter_rows(named=True):
        made = r["rows"] is not None
        rows.append(
            (
                r["table"],
                health_rule_label(r["table"], r["rule"]),
                f"{r['rows']:,}" if made else "-",
                f"{r['share_of_table']:.1%}" if r["share_of_table"] is not None else "-",
                r["outcome"],
                r["effect"] if made else "",
            )
        )
    out += _table(rows)
    out.append("")
    out.append("Tracked")
    out.append(f"  funnel stages: {_stages_line(tracking)}")
    rows = [
        (r["need"], "yes" if r["tracked"] else "no", r["reads"])
        for r in report.tracked.iter_rows(named=True)
    ]
    out += _table([("need", "tracked", "reads"), *rows])
    out.append("")
    if report.switched_off.height == 0:
        out.append("Switched off: nothing (every measure of the pages can be shown)")
    else:
        out.append("Switched off (the data does not track what they need)")
        for r in report.switched_off.iter_rows(named=True):
            out.append(f"  {r['label']} ({r['pages']}): {r['reason']}")
    return "\n".join(out)
