"""Extra dimensions: the 'By <dimension>' section at the end of each workbook.

A source can keep extra columns of leads and/or opportunities
(:attr:`FunnelData.dimensions`: product, lead type, campaign, SDR, ...; a
mapping file names them). Each workbook calls one function here, which shows,
for every dimension its figures can be split by, a heading, a table of the
report quarter's figures per value (all values first, in bold) and a chart
with a dropdown that shows one value at a time (``All`` first). Without
dimensions it shows nothing, so the page is unchanged.

Which figures each page splits (docs/metrics.md, "Splits by an extra dimension"):

==================== ============= =====================================================
page                 dimension of  figures per value
==================== ============= =====================================================
scorecard            either table  bookings, share of bookings, pipeline created, MQLs
pipeline_vs_closes   opportunities pipeline created, bookings, marketing's share of
                                   them, won deals, win rate; chart: pipeline and
                                   bookings by quarter
handoff              leads         MQLs, accepted, rejected, leaked, median response,
                                   SLA compliance; chart: accepted and within-SLA shares
funnel               leads         stage conversion per step (latest mature cohort);
                                   chart: leads entering each stage in the quarter
business_cycles      opportunities won deals, bookings, month-3 share, median cycle (won,
                                   all closed); chart: median cycles by quarter
==================== ============= =====================================================

A figure whose data the source does not track (:class:`Tracking`) is left
out of the split, as the page leaves it out elsewhere.

**Values shown.** At most :data:`MAX_VALUES` values per dimension: those with
the most rows (leads or deals) in the report's data, ties by name; the rest
are one group, "Other (N values)". Rows without a value are a group of their
own, "(not set)". Every figure is computed per group by the metric functions
(``by=[KEY]``, a copy of the dimension's column where the rest is replaced by
the "Other" name), and once more without ``by`` for the "All" row: medians and
rates are the metric's own, never averages of groups. Charts and tables get
these aggregates only. Names are escaped and cut like every name
(docs/text-display.md).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import altair as alt
import great_tables as gt
import polars as pl
from IPython.display import display

from alignment_lib._text import LABEL_LIMIT, shorten, shorten_words
from alignment_lib.charts.dimensions import chart_by_dimension
from alignment_lib.fiscal import Span
from alignment_lib.load import FunnelData
from alignment_lib.metrics import (
    bookings,
    bookings_linearity,
    funnel_cohort,
    funnel_period,
    marketing_share,
    mql_outcomes,
    pipeline_created,
    response_times,
    sales_cycle,
    win_rates,
)
from alignment_lib.metrics.handoff import SlaClock
from alignment_lib.tables.dimensions import table_by_dimension
from alignment_lib.tables.funnel import table_funnel_by
from alignment_lib.theme import NOT_SET, STAGE_LABELS

if TYPE_CHECKING:
    from alignment_lib.workbook import Workbook

__all__ = [
    "ALL",
    "KEY",
    "MAX_VALUES",
    "Dimension",
    "Section",
    "cycles_sections",
    "dimensions_of",
    "funnel_sections",
    "handoff_sections",
    "pipeline_sections",
    "scorecard_sections",
    "show_cycles_by_dimension",
    "show_funnel_by_dimension",
    "show_handoff_by_dimension",
    "show_pipeline_by_dimension",
    "show_scorecard_by_dimension",
    "show_sections",
]

#: values of a dimension shown one by one; the rest are one "Other" group
MAX_VALUES = 12
#: the first row of a split table and the first entry of its dropdown: every value
ALL = "All"
#: the column the metrics split by: a dimension's value as shown (Dimension.grouped)
KEY = "_dimension"
#: the column of a split frame that numbers the groups (0 = ALL)
CODE = "group_code"
#: the column of a split frame that names the groups
GROUP = "group"

TableName = Literal["leads", "opportunities"]
_QUARTER_KEYS = ["quarter_index", "fiscal_quarter"]


@dataclass(frozen=True)
class Dimension:
    """One extra dimension as the pages show it.

    ``name``: the column; ``label``: its name on the page ("Lead type", cut at
    60 characters); ``tables``: the tables that carry it; ``values``: the
    values shown one by one, most rows first; ``unset``: some rows have no
    value; ``other``: the name of the group holding the rest (None: nothing
    left out) and ``other_values`` how many values it holds.
    """

    name: str
    label: str
    tables: tuple[TableName, ...]
    values: tuple[str, ...]
    unset: bool = False
    other: str | None = None
    other_values: int = 0

    @property
    def phrase(self) -> str:
        """The label inside a sentence: 'lead type', but 'SDR' as written."""
        return self.label if any(c.isupper() for c in self.name) else self.label.lower()

    @property
    def slug(self) -> str:
        """A safe, stable HTML id part for this dimension (its name may hold anything)."""
        digest = hashlib.sha256(self.name.encode("utf-8")).hexdigest()[:8]
        readable = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:30]
        return f"{readable}-{digest}" if readable else digest

    def grouped(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """``frame`` with the column :data:`KEY`: the dimension's value as shown (the
        values kept, the rest as the "Other" group, missing values left missing).

        The metrics split by :data:`KEY`, never by the dimension's own name, so a
        dimension may be called anything (``group``, ``bookings``, markup) without
        meeting a column of a metric's result.
        """
        column = pl.col(self.name).cast(pl.String)
        if self.other is not None:
            column = (
                pl.when(column.is_null() | column.is_in(list(self.values)))
                .then(column)
                .otherwise(pl.lit(self.other))
            )
        return frame.with_columns(column.alias(KEY))

    def groups(self) -> pl.DataFrame:
        """Every group but ALL, in page order: the value as shown (:data:`KEY`; null
        for "(not set)"), its number (``group_code``, 1...) and its name on the page."""
        values: list[str | None] = list(self.values)
        names = list(self.values)
        if self.other is not None:
            values.append(self.other)
            names.append(self.other)
        if self.unset:
            values.append(None)
            names.append(NOT_SET)
        return pl.DataFrame(
            {
                KEY: values,
                CODE: list(range(1, len(values) + 1)),
                GROUP: names,
            },
            schema={KEY: pl.String, CODE: pl.Int64, GROUP: pl.String},
        )


def _label(name: str) -> str:
    text = name.replace("_", " ").strip() or name
    return shorten(text[:1].upper() + text[1:], LABEL_LIMIT)


def dimensions_of(
    data: FunnelData,
    *,
    tables: Sequence[TableName] = ("leads", "opportunities"),
    limit: int = MAX_VALUES,
) -> list[Dimension]:
    """The data's dimensions carried by any of ``tables``, with the values to show.

    Values are ranked by their rows (leads plus deals, in the tables given)
    in ``data`` as it is (the report's as-of cut and filter), ties by name;
    the first ``limit`` are shown, the others become one group
    "Other (N values)" (a name no shown value has).
    """
    frames = {"leads": data.leads, "opportunities": data.opportunities}
    found = []
    for name in data.dimensions:
        carrying = tuple(t for t in tables if name in frames[t].collect_schema().names())
        if not carrying:
            continue
        counts = (
            pl.concat([frames[t].select(pl.col(name).cast(pl.String)) for t in carrying])
            .group_by(name)
            .agg(pl.len().alias("rows"))
            .collect()
        )
        named = counts.filter(pl.col(name).is_not_null()).sort(
            ["rows", name], descending=[True, False]
        )
        ranked = named[name].to_list()
        shown, rest = ranked[:limit], ranked[limit:]
        other = None
        if rest:
            other = f"Other ({len(rest)} values)"
            while other in shown:
                other += "*"
        found.append(
            Dimension(
                name=name,
                label=_label(name),
                tables=carrying,
                values=tuple(shown),
                unset=counts.height > named.height,
                other=other,
                other_values=len(rest),
            )
        )
    return found


# -- frames: per group and for all values --------------------------------------------------
def _split(
    dim: Dimension, per_group: pl.DataFrame, total: pl.DataFrame, *, complete: bool = False
) -> pl.DataFrame:
    """``total`` as the ALL group followed by ``per_group`` (split by the dimension's
    column), each row with the group's number and name, sorted by group.

    ``complete``: every group appears (a left join from the groups: a group
    without a row gets nulls), e.g. for a table of one quarter.
    """
    groups = dim.groups()
    if complete:
        rows = groups.join(per_group, on=KEY, how="left", nulls_equal=True)
    else:
        rows = per_group.join(groups, on=KEY, how="inner", nulls_equal=True)
    everyone = total.with_columns(pl.lit(0, dtype=pl.Int64).alias(CODE), pl.lit(ALL).alias(GROUP))
    rows = rows.drop(KEY)
    return pl.concat([everyone.select(rows.columns), rows], how="vertical_relaxed").sort(
        CODE, maintain_order=True
    )


def _long(frame: pl.DataFrame, measures: Mapping[str, str], *, x: str) -> pl.DataFrame:
    """A split frame as a chart wants it: one row per group, ``x`` and measure."""
    return (
        frame.unpivot(on=list(measures), index=[CODE, GROUP, x], variable_name="measure")
        .with_columns(
            pl.col("measure").replace_strict(dict(measures)),
            pl.col("value").cast(pl.Float64),
        )
        .sort(CODE, maintain_order=True)
    )


def _in_quarter(frame: pl.DataFrame, quarter: str) -> pl.DataFrame:
    return frame.filter(pl.col("fiscal_quarter") == quarter).drop(_QUARTER_KEYS)


# -- what a section shows -------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """One dimension's part of a page: a heading, a sentence, a chart and a table.

    ``table_data`` / ``chart_data`` are the aggregated frames the table and
    the chart are built from (``group_code`` 0 is :data:`ALL`), for tests and
    for analysts. ``chart`` is None when the data tracks none of its figures.
    """

    dimension: Dimension
    heading: str
    text: str
    table: gt.GT
    table_data: pl.DataFrame
    chart: alt.TopLevelMixin | None = None
    chart_data: pl.DataFrame | None = None


class _Heading:
    """The section heading and its one-paragraph introduction (escaped HTML; plain text)."""

    def __init__(self, title: str, text: str) -> None:
        self.title = title
        self.text = text

    def _repr_html_(self) -> str:
        return (
            f'<h2 class="alignment-dimension">{html.escape(shorten_words(self.title))}</h2>'
            '<p class="alignment-dimension tex2jax_ignore mathjax_ignore">'
            f"{html.escape(shorten_words(self.text))}</p>"
        )

    def __repr__(self) -> str:
        return f"{self.title}\n{self.text}"


def show_sections(sections: Sequence[Section]) -> None:
    """Display each section: heading and sentence, chart (if any), table."""
    for section in sections:
        display(_Heading(section.heading, section.text))
        if section.chart is not None:
            display(section.chart)
        display(section.table)


def _introduction(dim: Dimension, *, rows: str) -> str:
    """What the section splits: 'Product is a column of the opportunities: 4 values. ...'"""
    where = " and ".join(dim.tables)
    count = len(dim.values) + dim.other_values
    text = f"{dim.label} is a column of the {where}: {count} value{'s' * (count != 1)}"
    if dim.other is not None:
        text += (
            f"; the {len(dim.values)} with the most {rows} are shown one by one, the other "
            f"{dim.other_values} together as “{dim.other}”"
        )
    text += "."
    if dim.unset:
        text += f" {rows.capitalize()} without a {dim.phrase} are shown as {NOT_SET}."
    return text + f" {ALL}: every {rows[:-1]}, whatever its {dim.phrase}."


def _section(
    dim: Dimension,
    *,
    rows: str,
    table: gt.GT,
    table_data: pl.DataFrame,
    chart_data: pl.DataFrame | None = None,
    chart: Callable[[pl.DataFrame], alt.TopLevelMixin] | None = None,
) -> Section:
    drawn = chart(chart_data) if chart is not None and chart_data is not None else None
    return Section(
        dimension=dim,
        heading=f"By {dim.phrase}",
        text=_introduction(dim, rows=rows),
        table=table,
        table_data=table_data,
        chart=drawn,
        chart_data=chart_data if drawn is not None else None,
    )


def _span(workbook: Workbook) -> Span:
    """The page's quarters as metric keyword arguments (:class:`alignment_lib.fiscal.Span`)."""
    return workbook.span


def _and(names: list[str]) -> str:
    """'Pipeline created and bookings' from the measures' names."""
    return names[0] + "".join(f" and {n[:1].lower()}{n[1:]}" for n in names[1:])


def _joined(frames: Sequence[pl.LazyFrame], keys: list[str]) -> pl.DataFrame:
    """Per-key figures of several metrics side by side (a key missing in one: nulls)."""
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.join(frame, on=keys, how="full", nulls_equal=True, coalesce=True)
    return joined.sort(keys, nulls_last=True).collect()


_Kind = Literal["amount", "count", "share", "days", "hours"]


# -- the five workbooks ----------------------------------------------------------------------
def pipeline_sections(workbook: Workbook) -> list[Section]:
    """'Pipeline vs closes', by each dimension of the opportunities.

    Table (report quarter): pipeline created, bookings, marketing-sourced
    share of bookings, won deals and win rate (by count) per value. Chart:
    pipeline created and bookings per quarter, one value at a time.
    """
    t = workbook.data.tracking
    amount = t.tracks("amount")
    created = amount and t.tracks("opportunity_created")
    won = t.tracks("closes") and t.tracks("won_deals")
    booked = amount and won
    columns: dict[str, tuple[str, _Kind]] = {}
    if created:
        columns["pipeline_created"] = ("Pipeline created", "amount")
    if booked:
        columns["bookings"] = ("Bookings", "amount")
        if t.tracks("source"):
            columns["marketing_share"] = ("Marketing-sourced share", "share")
    if won:
        columns["won"] = ("Won deals", "count")
        if t.tracks("lost_deals"):
            columns["win_rate_count"] = ("Win rate (deals)", "share")
    measures: dict[str, str] = {
        k: columns[k][0] for k in ("pipeline_created", "bookings") if k in columns
    }
    quarter = workbook.quarter.label
    sections = []
    for dim in dimensions_of(workbook.data, tables=("opportunities",)) if columns else []:
        opps = dim.grouped(workbook.data.opportunities)

        def figures(by: list[str], opps: pl.LazyFrame = opps) -> pl.DataFrame:
            keys = [*_QUARTER_KEYS, *by]
            created = marketing_share(pipeline_created(opps, **_span(workbook), by=by), by=by)
            booked = marketing_share(bookings(opps, **_span(workbook), by=by), by=by)
            wins = win_rates(opps, **_span(workbook), by=by)
            return _joined(
                [
                    created.select(*keys, pl.col("total").alias("pipeline_created")),
                    booked.select(
                        *keys,
                        pl.col("total").alias("bookings"),
                        pl.col("share").alias("marketing_share"),
                    ),
                    wins.select(*keys, "won", "win_rate_count"),
                ],
                keys,
            )

        per_group, total = figures([KEY]), figures([])
        rows = _split(
            dim, _in_quarter(per_group, quarter), _in_quarter(total, quarter), complete=True
        ).with_columns(pl.col("pipeline_created", "bookings", "won").fill_null(0))

        def draw(data: pl.DataFrame, dim: Dimension = dim) -> alt.TopLevelMixin:
            return chart_by_dimension(
                data,
                dimension=dim.label,
                kind="amount",
                title=f"{_and(list(measures.values()))} by quarter, one {dim.phrase} at a time",
                subtitle=[
                    "Pipeline by the quarter a deal was created, bookings by the quarter it "
                    f"closed. Pick a {dim.phrase} in the list; {ALL} is every deal."
                ],
                y_title="Amount",
            )

        sections.append(
            _section(
                dim,
                rows="deals",
                table=table_by_dimension(
                    rows,
                    dimension=dim.label,
                    columns=columns,
                    title=f"Pipeline and bookings by {dim.phrase}, {quarter}",
                    subtitle="Pipeline by creation quarter; bookings and win rate by close quarter",
                    table_id=f"pipeline-by-{dim.slug}",
                ),
                table_data=rows,
                chart_data=(
                    _long(_split(dim, per_group, total), measures, x="fiscal_quarter")
                    if measures
                    else None
                ),
                chart=draw,
            )
        )
    return sections


def cycles_sections(workbook: Workbook) -> list[Section]:
    """'Business cycles', by each dimension of the opportunities.

    Table (report quarter): won deals, bookings, month-3 share of bookings,
    median sales cycle of won and of all closed deals, per value. Chart: the
    two median cycles per quarter, one value at a time.
    """
    t = workbook.data.tracking
    won = t.tracks("closes") and t.tracks("won_deals")
    cycles = t.tracks("closes") and t.tracks("opportunity_created")
    columns: dict[str, tuple[str, _Kind]] = {}
    if won:
        columns["won"] = ("Won deals", "count")
        if t.tracks("amount"):
            columns["bookings"] = ("Bookings", "amount")
            columns["month3_share"] = ("Month-3 share", "share")
        if cycles:
            columns["median_days_won"] = ("Median cycle, won (days)", "days")
    if cycles:
        columns["median_days_closed"] = ("Median cycle, all closed (days)", "days")
    labels = {"median_days_won": "Won deals", "median_days_closed": "All closed deals"}
    measures = {k: v for k, v in labels.items() if k in columns}
    quarter = workbook.quarter.label
    sections = []
    for dim in dimensions_of(workbook.data, tables=("opportunities",)) if columns else []:
        opps = dim.grouped(workbook.data.opportunities)

        def figures(by: list[str], opps: pl.LazyFrame = opps) -> pl.DataFrame:
            keys = [*_QUARTER_KEYS, *by]
            return _joined(
                [
                    sales_cycle(opps, **_span(workbook), by=by).select(
                        *keys, "won", "median_days_won", "median_days_closed"
                    ),
                    bookings_linearity(opps, **_span(workbook), by=by).select(
                        *keys, "bookings", "month3_share"
                    ),
                ],
                keys,
            )

        per_group, total = figures([KEY]), figures([])
        rows = _split(
            dim, _in_quarter(per_group, quarter), _in_quarter(total, quarter), complete=True
        ).with_columns(pl.col("won", "bookings").fill_null(0))

        def draw(data: pl.DataFrame, dim: Dimension = dim) -> alt.TopLevelMixin:
            return chart_by_dimension(
                data,
                dimension=dim.label,
                kind="days",
                title=f"Median sales cycle by quarter closed, one {dim.phrase} at a time",
                subtitle=[
                    "Days from a deal's creation to its close, median of the deals closed "
                    f"in each quarter. Pick a {dim.phrase} in the list; {ALL} is every deal."
                ],
                y_title="Days",
            )

        sections.append(
            _section(
                dim,
                rows="deals",
                table=table_by_dimension(
                    rows,
                    dimension=dim.label,
                    columns=columns,
                    title=f"Bookings and sales cycles by {dim.phrase}, {quarter}",
                    subtitle="Deals closed in the quarter",
                    table_id=f"cycles-by-{dim.slug}",
                ),
                table_data=rows,
                chart_data=(
                    _long(_split(dim, per_group, total), measures, x="fiscal_quarter")
                    if measures
                    else None
                ),
                chart=draw,
            )
        )
    return sections


def handoff_sections(
    workbook: Workbook,
    *,
    sla_hours: float = 24.0,
    sla_clock: SlaClock = "calendar",
    stall_days: float | None = None,
) -> list[Section]:
    """'The handoff', by each dimension of the leads.

    Table (the report quarter's MQLs): MQLs, accepted, rejected and leaked
    shares, median response hours, SLA compliance, per value. Chart: the
    accepted share and SLA compliance per quarter, one value at a time.
    ``sla_hours``, ``sla_clock`` and ``stall_days`` as on the page (24 calendar
    hours; stalled after the p99 of the data's decision times, the same for every
    value: it is computed over all the leads).
    """
    t = workbook.data.tracking
    if not (t.tracks("leads") and t.tracks("mql")):
        return []
    unit = "working h" if sla_clock == "business" else "h"
    columns: dict[str, tuple[str, _Kind]] = {"mqls": ("MQLs", "count")}
    if t.tracks("sal"):
        columns["acceptance_rate"] = ("Accepted", "share")
    if t.tracks("rejection"):
        columns["rejection_rate"] = ("Rejected", "share")
    if t.tracks("first_touch"):
        # leaked = never touched past the SLA: only meaningful when touches are recorded
        columns["leaked_rate"] = ("Leaked", "share")
        columns["median_hours"] = (f"Median response ({unit})", "hours")
        columns["sla_compliance"] = (f"Within {sla_hours:g} {unit} SLA", "share")
    labels = {
        "acceptance_rate": "Accepted by sales",
        "sla_compliance": f"Touched within {sla_hours:g} {unit}",
    }
    measures = {k: v for k, v in labels.items() if k in columns}
    quarter = workbook.quarter.label
    span = _span(workbook)
    sections = []
    for dim in dimensions_of(workbook.data, tables=("leads",)):
        leads = dim.grouped(workbook.data.leads)

        def figures(by: list[str], leads: pl.LazyFrame = leads) -> pl.DataFrame:
            keys = [*_QUARTER_KEYS, *by]
            return _joined(
                [
                    mql_outcomes(
                        leads,
                        **span,
                        as_of=workbook.as_of,
                        sla_hours=sla_hours,
                        sla_clock=sla_clock,
                        stall_days=stall_days,
                        by=by,
                    ).select(*keys, "mqls", "acceptance_rate", "rejection_rate", "leaked_rate"),
                    response_times(
                        leads,
                        **span,
                        as_of=workbook.as_of,
                        sla_hours=sla_hours,
                        sla_clock=sla_clock,
                        by=by,
                    ).select(*keys, "median_hours", "sla_compliance"),
                ],
                keys,
            )

        per_group, total = figures([KEY]), figures([])
        rows = _split(
            dim, _in_quarter(per_group, quarter), _in_quarter(total, quarter), complete=True
        ).with_columns(pl.col("mqls").fill_null(0))

        def draw(data: pl.DataFrame, dim: Dimension = dim) -> alt.TopLevelMixin:
            return chart_by_dimension(
                data,
                dimension=dim.label,
                kind="share",
                title=f"The handoff by MQL quarter, one {dim.phrase} at a time",
                subtitle=[
                    "Shares of each quarter's MQLs. "
                    f"Pick a {dim.phrase} in the list; {ALL} is every MQL."
                ],
                y_title="Share of MQLs",
            )

        sections.append(
            _section(
                dim,
                rows="leads",
                table=table_by_dimension(
                    rows,
                    dimension=dim.label,
                    columns=columns,
                    title=f"The handoff by {dim.phrase}, {quarter} MQLs",
                    subtitle="Shares of the quarter's MQLs; response times over touched MQLs",
                    table_id=f"handoff-by-{dim.slug}",
                ),
                table_data=rows,
                chart_data=(
                    _long(_split(dim, per_group, total), measures, x="fiscal_quarter")
                    if measures
                    else None
                ),
                chart=draw,
            )
        )
    return sections


def funnel_sections(workbook: Workbook) -> list[Section]:
    """'The funnel', by each dimension of the leads.

    Table: each step's conversion per value, in the latest mature cohort of
    the step (as the page's channel and segment tables). Chart: leads
    entering each stage in the report quarter, one value at a time. The
    stages are those the data tracks (``Workbook.funnel_stages``): the steps
    skip the others, as on the page.
    """
    if not workbook.data.tracking.tracks("leads"):
        return []
    # the funnel of the stages the data tracks, as on the page (MQL -> Won when nothing
    # between is tracked; without the lead-to-deal link no Opportunity or Won stage)
    stages = workbook.funnel_stages
    quarter = workbook.quarter.label
    opps = workbook.data.opportunities
    sections = []
    for dim in dimensions_of(workbook.data, tables=("leads",)):
        leads = dim.grouped(workbook.data.leads)
        cohorts = funnel_cohort(
            leads, opps, **_span(workbook), as_of=workbook.as_of, by=[KEY], stages=stages
        ).collect()

        def flows(by: list[str], leads: pl.LazyFrame = leads) -> pl.DataFrame:
            return (
                funnel_period(leads, opps, **_span(workbook), by=by, stages=stages)
                .filter(pl.col("fiscal_quarter") == quarter)
                .with_columns(
                    pl.col("stage").replace_strict(STAGE_LABELS).alias("stage_label"),
                    pl.col("entering").cast(pl.Float64).alias("leads"),
                )
                .sort("stage_order", *by, nulls_last=True)
                .select(*_QUARTER_KEYS, "stage_label", *by, "leads")
                .collect()
            )

        def draw(data: pl.DataFrame, dim: Dimension = dim) -> alt.TopLevelMixin:
            return chart_by_dimension(
                data,
                dimension=dim.label,
                kind="count",
                title=f"Leads entering each stage in {quarter}, one {dim.phrase} at a time",
                subtitle=[
                    "Period mode: leads whose stage date falls in the quarter (different "
                    f"leads at each stage). Pick a {dim.phrase} in the list; {ALL} is every "
                    "lead."
                ],
                x="stage_label",
                x_title="Stage",
                y_title="Leads",
            )

        sections.append(
            _section(
                dim,
                rows="leads",
                table=table_funnel_by(
                    cohorts,
                    column=KEY,
                    quarter=quarter,
                    label=dim.label,
                    table_id=f"funnel-by-{dim.slug}",
                ),
                table_data=cohorts,
                chart_data=_long(
                    _split(dim, flows([KEY]), flows([])),
                    {"leads": "Leads entering"},
                    x="stage_label",
                ),
                chart=draw,
            )
        )
    return sections


def scorecard_sections(workbook: Workbook) -> list[Section]:
    """'Shared scorecard', by each dimension: each value's part of the quarter's numbers.

    Table (report quarter): bookings and their share of all bookings and
    pipeline created (dimensions of the opportunities), MQLs (dimensions of
    the leads), per value. No chart: the page of each figure has one.
    """
    t = workbook.data.tracking
    amount = t.tracks("amount")
    booked = amount and t.tracks("closes") and t.tracks("won_deals")
    created = amount and t.tracks("opportunity_created")
    mqls = t.tracks("leads") and t.tracks("mql")
    quarter = workbook.quarter.label
    span: Span = {**_span(workbook), "first": workbook.quarter}
    keys = list(_QUARTER_KEYS)
    sections = []
    for dim in dimensions_of(workbook.data):
        columns: dict[str, tuple[str, _Kind]] = {}
        deals = "opportunities" in dim.tables and (booked or created)
        if deals and booked:
            columns["bookings"] = ("Bookings", "amount")
            columns["bookings_share"] = ("Share of bookings", "share")
        if deals and created:
            columns["pipeline_created"] = ("Pipeline created", "amount")
        if "leads" in dim.tables and mqls:
            columns["mqls"] = ("MQLs", "count")
        if not columns:
            continue
        opps = dim.grouped(workbook.data.opportunities) if deals else None
        leads = dim.grouped(workbook.data.leads) if "mqls" in columns else None

        def figures(
            by: list[str],
            opps: pl.LazyFrame | None = opps,
            leads: pl.LazyFrame | None = leads,
        ) -> pl.DataFrame:
            frames = []
            if opps is not None:
                frames += [
                    marketing_share(pipeline_created(opps, **span, by=by), by=by).select(
                        *keys, *by, pl.col("total").alias("pipeline_created")
                    ),
                    marketing_share(bookings(opps, **span, by=by), by=by).select(
                        *keys, *by, pl.col("total").alias("bookings")
                    ),
                ]
            if leads is not None:
                frames.append(
                    mql_outcomes(leads, **span, as_of=workbook.as_of, by=by).select(
                        *keys, *by, "mqls"
                    )
                )
            return _joined(frames, [*keys, *by])

        rows = _split(
            dim,
            _in_quarter(figures([KEY]), quarter),
            _in_quarter(figures([]), quarter),
            complete=True,
        ).with_columns(
            pl.col(c).fill_null(0) for c in ("bookings", "pipeline_created", "mqls") if c in columns
        )
        if "bookings" in columns:
            everything = rows["bookings"][0]
            share = pl.col("bookings") / everything if everything else pl.lit(None, pl.Float64)
            rows = rows.with_columns(share.alias("bookings_share"))
        sections.append(
            _section(
                dim,
                rows="deals" if deals else "leads",
                table=table_by_dimension(
                    rows,
                    dimension=dim.label,
                    columns=columns,
                    title=f"{quarter} by {dim.phrase}",
                    subtitle="Each value's part of the quarter's numbers",
                    table_id=f"scorecard-by-{dim.slug}",
                ),
                table_data=rows,
            )
        )
    return sections


def show_pipeline_by_dimension(workbook: Workbook) -> None:
    """The 'By <dimension>' section of 'Pipeline vs closes' (:func:`pipeline_sections`)."""
    show_sections(pipeline_sections(workbook))


def show_cycles_by_dimension(workbook: Workbook) -> None:
    """The 'By <dimension>' section of 'Business cycles' (:func:`cycles_sections`)."""
    show_sections(cycles_sections(workbook))


def show_handoff_by_dimension(
    workbook: Workbook, *, sla_clock: SlaClock = "calendar", stall_days: float | None = None
) -> None:
    """The 'By <dimension>' section of 'The handoff' (:func:`handoff_sections`), on the
    page's SLA clock and stall threshold."""
    show_sections(handoff_sections(workbook, sla_clock=sla_clock, stall_days=stall_days))


def show_funnel_by_dimension(workbook: Workbook) -> None:
    """The 'By <dimension>' section of 'The funnel' (:func:`funnel_sections`)."""
    show_sections(funnel_sections(workbook))


def show_scorecard_by_dimension(workbook: Workbook) -> None:
    """The 'By <dimension>' section of 'Shared scorecard' (:func:`scorecard_sections`)."""
    show_sections(scorecard_sections(workbook))
