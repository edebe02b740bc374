"""What every workbook does first: resolve its parameters into loaded data.

A notebook's parameters cell holds plain values (strings and numbers, so
papermill can inject them); :func:`open_workbook` turns them into a validated
:class:`FunnelData` seen as of the report date, the quarter to report, and the
quarters the charts span. It also switches on the house theme and the
offline-safe chart renderer, so analysts in JupyterLab and headless renders
see the same thing.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from alignment_lib._resources import sample_dir
from alignment_lib._text import shorten_words
from alignment_lib.exceptions import ParameterError, SourceError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter, Span
from alignment_lib.load import (
    FILTER_LABELS,
    FunnelData,
    describe_filters,
    load_funnel,
    load_targets,
    parse_as_of,
)
from alignment_lib.metrics.funnel import FUNNEL_STAGES
from alignment_lib.money import use_currency
from alignment_lib.snapshot import is_snapshot
from alignment_lib.sources import Source, open_source
from alignment_lib.tracking import Tracking, no_targets_for

__all__ = [
    "Workbook",
    "describe_filters",
    "describe_workbook",
    "filter_targets_statement",
    "latest_complete_quarter",
    "load_uncut",
    "open_data_source",
    "open_workbook",
    "resolve_data_dir",
    "show_filters",
    "show_findings",
]

SAMPLE = "sample"
#: set to "0" to skip the static PNG picture under every chart (e.g. in tests: the
#: pictures cost vl-convert time and no exported page uses them)
STATIC_PICTURES_ENV = "ALIGNMENT_STATIC_PICTURES"
#: source options (currency, dimensions, formats) as JSON, e.g.
#: '{"currency": "EUR", "dimensions": ["product"]}': a stopgap until mapping files name
#: them (issue 9 item 1); read by every workbook and by `alignment report`


@dataclass(frozen=True)
class Workbook:
    """A workbook's resolved context."""

    data: FunnelData
    quarter: FiscalQuarter
    first: FiscalQuarter
    as_of: dt.datetime
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def calendar(self) -> FiscalCalendar:
        return self.data.calendar

    @property
    def tracking(self) -> Tracking:
        """What the source tracks: pass it as ``tracking=`` to every chart, table and finding,
        which then say what the data cannot show (docs/partial-data.md)."""
        return self.data.tracking

    @property
    def funnel_stages(self) -> tuple[str, ...]:
        """The funnel stages the data tracks, in order (``stages=`` of the funnel metrics):
        the funnel skips the others (MQL → Won when nothing between is tracked). At least
        Inquiry (with one stage there is no step: the pages say so, the need
        ``funnel_steps``)."""
        return self.data.tracking.funnel_stages(FUNNEL_STAGES) or ("inquiry",)

    @property
    def currency(self) -> str:
        """ISO 4217 code of every amount (the data's; money is written in it)."""
        return self.data.currency

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The extra columns the data keeps for splits and dropdowns (may be none)."""
        return self.data.dimensions

    @property
    def span(self) -> Span:
        """Keyword arguments for quarter-ranged metric functions."""
        return Span(calendar=self.calendar, first=self.first, last=self.quarter)


def resolve_data_dir(data_dir: str | Path) -> str | Path:
    """A data location; ``"sample"`` means the sample data bundled with the kit.

    Anything else is returned as given: a folder, a partitioned Parquet
    folder, a ``.duckdb`` file or a ``postgresql://`` URI (``${VAR}``
    references in it are filled in only when it is read).
    """
    if str(data_dir) == SAMPLE:
        candidate = sample_dir()
        if not candidate.is_dir():
            raise SourceError(
                "the bundled sample data is not next to this installation of alignment_lib; "
                "fix: run `alignment sample --out DIR` and pass that folder as data_dir"
            )
        return candidate
    return data_dir


def open_data_source(
    data_dir: str | Path,
    *,
    mapping: str = "",
    env_file: str | Path | None = None,
) -> Source:
    """The data a workbook's ``data_dir`` and ``mapping`` parameters name.

    Without a mapping, the data location ``data_dir`` (``"sample"``: the
    bundled sample; a folder, a ``.duckdb`` file, a ``postgresql://`` URI:
    docs/sources.md). With one (a mapping file or a preset name,
    docs/mapping.md): the export at ``data_dir`` read through it; ``data_dir``
    empty means the mapping's own ``location``, else the folder of the mapping
    file. ``env_file``: where ``${VAR}`` references in the location are filled
    from when the environment lacks them (a mapping names its own).
    """
    if not mapping:
        return open_source(resolve_data_dir(data_dir), env_file=env_file)
    from alignment_lib.mapping import open_mapping

    data = resolve_data_dir(data_dir) if str(data_dir) == SAMPLE else (str(data_dir) or None)
    return open_mapping(mapping, data=data)


def latest_complete_quarter(data: FunnelData) -> FiscalQuarter:
    """The last fiscal quarter that ended on or before the data's extract date.

    The extract date is the latest lead or deal creation, deal close or stage
    change that is not later than now (``FunnelData.extract_date`` when loading
    set it; see ``docs/bad-input.md``): a quarter still in progress is never
    reported as if it were complete, and a mistyped future date (a close in
    2200) cannot move the report into the future.
    """
    now = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))

    def latest(frame: pl.LazyFrame, *columns: str) -> pl.LazyFrame:
        return frame.select(
            pl.max_horizontal(pl.col(c).filter(pl.col(c) <= now).max() for c in columns).alias("at")
        )

    stamps = [
        latest(data.leads, "created_at"),
        latest(data.opportunities, "created_at", "closed_at"),
        latest(data.stage_history, "changed_at"),
    ]
    found = pl.concat(stamps).select(pl.col("at").max()).collect().item()
    if data.extract_date is not None and found is not None:
        found = min(found, data.extract_date)
    if found is None:
        raise SourceError(
            f"data location '{data.source}' holds no leads or opportunities dated before now; "
            "fix: check the data location (and the segment or region filter)"
        )
    cal = data.calendar
    day = cal.local_date(found)
    current = cal.quarter_of(day)
    return current if day == cal.quarter_end(current) else current.shift(-1)


def open_workbook(
    *,
    quarter: str,
    data_dir: str,
    fiscal_year_start_month: int = 1,
    timezone: str = "UTC",
    as_of: str = "",
    history_quarters: int = 8,
    segment: str = "",
    region: str = "",
    targets_file: str = "",
    mapping: str = "",
) -> Workbook:
    """Load, validate and position the data for one workbook run.

    ``data_dir``: a data location (a folder, a partitioned Parquet folder, a
    ``.duckdb`` file, a ``postgresql://`` URI whose password is a ``${VAR}``
    reference; docs/sources.md), ``"sample"`` for the bundled sample, or, in a
    report, the validated snapshot the render wrote (read without validating
    it again). ``quarter``: a label like FY2026-Q3, or ``"latest"`` for the latest complete
    quarter. ``as_of``: empty for the end of that quarter, else a date or
    date-time; events after it are invisible. ``history_quarters``: how many
    quarters the charts show, ending with the report quarter. ``segment`` /
    ``region``: keep only that segment or region (empty: all). ``targets_file``:
    a CSV or Parquet targets table (or a data location with a targets table) to
    use instead of the data's own (e.g. a planning sheet kept apart from the CRM
    export); empty: the data's own.
    ``mapping``: a mapping file or preset name that turns a CRM export at
    ``data_dir`` into the kit's tables (:func:`open_data_source`); empty: the
    data is in the kit's own columns.
    """
    from alignment_lib.export import enable_renderer
    from alignment_lib.theme import enable_theme

    if not isinstance(history_quarters, int) or not 1 <= history_quarters <= 40:
        raise ParameterError(
            f"history_quarters must be a whole number from 1 to 40, got {history_quarters!r}"
        )
    calendar = FiscalCalendar(fiscal_year_start_month, timezone)
    location = resolve_data_dir(data_dir)
    # a report's validated snapshot is read as it was written (not validated again: a
    # source without a leads table wrote an empty one); anything else through its source
    source = (
        location
        if not mapping and is_snapshot(location)
        else open_data_source(data_dir, mapping=mapping)
    )
    data = load_funnel(source, calendar=calendar)
    if targets_file:
        data = data.with_targets(load_targets(targets_file, calendar=calendar))
    filters = {k: v for k, v in (("segment", segment), ("region", region)) if v}
    check_filters(data, filters)
    data = data.where(**filters)
    q = latest_complete_quarter(data) if quarter == "latest" else FiscalQuarter.parse(quarter)
    cutoff = (
        parse_as_of(as_of, calendar) if as_of else parse_as_of(calendar.quarter_end(q), calendar)
    )
    # money on every chart, table and finding of the page is written in the data's
    # currency, which travels like the theme (docs/architecture.md)
    use_currency(data.currency)
    enable_theme()
    enable_renderer(static_image=os.environ.get(STATIC_PICTURES_ENV, "1") != "0")
    return Workbook(
        data.at(cutoff).materialize(), q, q.shift(-(history_quarters - 1)), cutoff, filters
    )


def check_filters(data: FunnelData, filters: Mapping[str, str]) -> None:
    """A :class:`ParameterError` when a filter value matches no lead and no opportunity.

    ``filters``: column -> value (``Workbook.filters``). Checked on the whole
    data (before the as-of cut), so a value that exists but has no row in the
    report's quarter passes: the page then says what is missing. The message
    lists the values that exist.
    """
    for column, value in filters.items():
        if column not in FILTER_LABELS:
            raise ParameterError(
                f"cannot filter on {column!r}; the report filters on: {', '.join(FILTER_LABELS)}"
            )
        seen = (
            pl.concat(
                [
                    frame.select(pl.col(column).drop_nulls().unique())
                    for frame in (data.leads, data.opportunities)
                ]
            )
            .unique()
            .collect()[column]
        )
        if value in seen:
            continue
        known = sorted(seen.to_list())
        listed = ", ".join(repr(v) for v in known) if known else f"none (no row has a {column})"
        raise ParameterError(
            f"no lead or opportunity has {column} {value!r}; the {column}s in the data "
            f"location '{data.source}' are: {listed}; fix: pass one of them "
            f"(spelled exactly, case included), or leave {column} empty for all"
        )


class _Filters:
    """The filter statement at the top of a filtered page (escaped HTML, plain text), and
    which targets the page compares with."""

    def __init__(self, text: str, targets: str) -> None:
        self.text = text
        self.targets = targets

    def _repr_html_(self) -> str:
        return (
            '<div class="alignment-filters tex2jax_ignore mathjax_ignore" '
            'style="padding:0.4em 0.6em;border-left:4px solid #555555;background:#f3f3f3">'
            '<p style="font-size:1.15em;font-weight:bold;margin:0">'
            f"Filtered report · {html.escape(self.text)}</p>"
            f'<p style="margin:0.3em 0 0 0">{html.escape(self.targets)}</p></div>'
        )

    def __repr__(self) -> str:
        return f"Filtered report · {self.text}\n{self.targets}"


def filter_targets_statement(workbook: Workbook) -> str:
    """Which targets a filtered page compares with, in one sentence ('' without a filter).

    The targets set for the filter (:func:`alignment_lib.matching_targets`), or,
    when the targets table has none for it, that there are none: the company's
    targets never apply to a filtered report (docs/filters.md).
    """
    text = describe_filters(workbook.filters)
    if not text:
        return ""
    tracking = workbook.tracking
    if not tracking.has_targets:
        return tracking.missing("targets")[0]
    if tracking.targets_unset_for:
        return no_targets_for(tracking.targets_unset_for)
    return f"Targets: those set for {text} in the targets table."


def show_filters(workbook: Workbook) -> None:
    """State the filter at the top of the page ("Segment: Enterprise · Region: EMEA"), and
    which targets the page compares with (:func:`filter_targets_statement`).

    Every workbook calls it right after :func:`open_workbook`; an unfiltered
    report shows nothing, so the company report is unchanged.
    """
    text = describe_filters(workbook.filters)
    if text:
        from IPython.display import display  # where a page is shown, not with the data

        display(_Filters(text, filter_targets_statement(workbook)))


class _Findings:
    """Sentences shown as escaped HTML in reports and as plain text in tests."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)

    def _repr_html_(self) -> str:
        # issue 8 (text display): a long name in a finding is cut to 60 characters on the
        # page (docs/text-display.md); the text/plain output keeps the sentence whole
        items = "".join(f"<li>{html.escape(shorten_words(line))}</li>" for line in self.lines)
        # the ignore classes keep JupyterLab's MathJax from typesetting "$3.9M ... $3.7M"
        return f'<ul class="alignment-findings tex2jax_ignore mathjax_ignore">{items}</ul>'

    def __repr__(self) -> str:
        return "\n".join(self.lines)


def show_findings(lines: list[str]) -> None:
    """Display computed findings (every value escaped), each sentence once: two findings
    that the data cannot support say the same "not tracked" sentence only once."""
    from IPython.display import display

    display(_Findings(list(dict.fromkeys(lines))))


def describe_workbook(workbook: Workbook) -> list[str]:
    """Where the numbers come from, in words (the data location's description: no absolute
    path, no credential)."""
    cal = workbook.calendar
    start = dt.date(2000, cal.start_month, 1).strftime("%B")
    lines = [
        f"Data: {workbook.data.source}, seen as of {workbook.as_of:%Y-%m-%d %H:%M} UTC.",
        f"Fiscal year starts in {start}; quarters are cut at midnight {cal.timezone}.",
        f"Quarters shown: {workbook.first.label} to {workbook.quarter.label}.",
    ]
    if workbook.filters:
        lines.append(f"Filtered to {describe_filters(workbook.filters)}.")
    return lines


def load_uncut(
    data: FunnelData,
    *,
    filters: Mapping[str, str] | None = None,
    location: str | None = None,
) -> FunnelData | None:
    """The report's data again, without the as-of cut, for ``data_health(full=...)``.

    Reads ``location`` (default: where ``data`` was read from,
    ``data.origin``: in a report, its validated snapshot) with ``data``'s
    calendar and applies the same ``filters`` (``Workbook.filters``: segment,
    region). Returns None when ``data`` was not cut (nothing is hidden), or
    was read through a window (``data.window``: the rows past it were never
    read, so what the cut hides is unknown). The tables are read into memory
    once.
    """
    if data.as_of is None or data.window is not None:
        return None
    origin = location or data.origin
    if origin is None:
        return None
    try:
        full = load_funnel(origin, calendar=data.calendar)
        return full.where(**dict(filters or {})).materialize()
    finally:
        # a database source reconnects when it is read again: do not leave it open
        close = getattr(origin, "close", None)
        if callable(close):
            close()
