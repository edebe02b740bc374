"""Loading a data location into validated, typed, lazy canonical tables.

:func:`load_funnel` reads any data location (``alignment_lib.sources``), or a
validated snapshot of one (``alignment_lib.snapshot``: then nothing is
validated again); :func:`write_snapshot` writes that snapshot.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from alignment_lib import snapshot as _snapshot
from alignment_lib.exceptions import DataValidationError, ParameterError, Problem, SourceError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TABLES, TARGETS, Table
from alignment_lib.sources import (
    WINDOW_COLUMNS,
    RawTable,
    Source,
    SourceOptions,
    Window,
    open_source,
    scan_file,
)
from alignment_lib.tracking import Tracking
from alignment_lib.validate import (
    ROW,
    TableCheck,
    check_plausibility,
    parse_column,
    validate_references,
    validate_table,
)

__all__ = [
    "FILTER_LABELS",
    "FunnelData",
    "describe_filters",
    "load_funnel",
    "load_targets",
    "matching_targets",
    "parse_as_of",
    "write_snapshot",
]

#: the columns a report can be filtered on, with their labels on the page, in page order
FILTER_LABELS = {"segment": "Segment", "region": "Region"}


def describe_filters(filters: Mapping[str, str | None]) -> str:
    """'Segment: Enterprise · Region: EMEA'; '' without filters (``Workbook.filters``)."""
    return " · ".join(
        f"{FILTER_LABELS.get(k, k.capitalize())}: {filters[k]}"
        for k in [*FILTER_LABELS, *sorted(set(filters) - set(FILTER_LABELS))]
        if filters.get(k)
    )


def matching_targets(
    targets: pl.LazyFrame, *, filters: Mapping[str, str | None] | None = None
) -> pl.LazyFrame:
    """The targets set for exactly the part of the data a report is filtered to.

    ``filters``: column -> value, as ``FunnelData.where`` takes them (e.g.
    ``{"segment": "Enterprise"}``; None, empty or an empty value: no filter on
    that column). A target row applies when each of its scope columns
    (``segment``, ``region``; :data:`alignment_lib.schema.TARGETS`) equals the
    filter's value for that column, and is empty for a column the report is
    not filtered on. So the company report (no filter) gets the company-wide
    rows (segment and region empty); a report filtered to Enterprise gets the
    rows of segment Enterprise with region empty, never the company's; a filter
    on a column targets do not have (a dimension such as ``product``) matches no
    row. A frame without scope columns (one built by hand) holds company-wide
    rows only.

    Grain: the rows of ``targets`` that apply, columns and order kept (at most one
    row per fiscal quarter, metric and team: validation checks it). Lazy.
    """
    active = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    columns = targets.collect_schema().names()
    if any(k not in TARGETS.scope for k in active):
        return targets.filter(pl.lit(False))
    keep = pl.lit(True)
    for name in TARGETS.scope:
        value = active.get(name)
        if name not in columns:
            keep = keep & pl.lit(value is None)
        elif value is None:
            keep = keep & pl.col(name).is_null()
        else:
            keep = keep & (pl.col(name) == value).fill_null(False)
    return targets.filter(keep)


@dataclass(frozen=True)
class FunnelData:
    """The four canonical tables as lazy frames, plus how to read them.

    ``as_of`` is the instant the data is seen at (UTC): every table already
    hides what happened after it. ``has_stage_history`` is False when the
    source had no stage_history table (the frame is then empty).

    ``warnings`` are rows that passed validation but look implausible (an amount
    far above the median won amount: left out of every amount); ``repairs`` are
    values the kit changed on load (control characters removed). Both are
    counted over the whole source, before any filter or as-of cut, and listed
    on the data-health page. ``extract_date`` is the latest creation, change or
    close in the data at or before the check (see ``docs/bad-input.md``).
    ``currency`` (ISO 4217 code of every amount) and ``dimensions`` (extra
    columns kept in leads and/or opportunities, for splits and filters) come
    from the source's options (a mapping file sets them). ``tracking`` says
    what the whole source holds: which columns have values, whether it has a
    leads table, lost deals, ... (:mod:`alignment_lib.tracking`); pages state
    what the data cannot show from it.

    ``targets`` are the targets that apply to this data: the company-wide rows
    of the targets table, or, once :meth:`where` filtered the data, the rows
    set for exactly that filter (:func:`alignment_lib.matching_targets`; a
    segment's actuals are never compared with the company's targets).
    ``all_targets`` is every row of the targets table, segment and region rows
    included (None: ``targets`` is all there is, e.g. frames built by hand);
    ``filters`` the (column, value) pairs :meth:`where` applied.

    ``source`` is the data location's description, as pages show it (no
    credential, no absolute path). ``window`` is the read window when the
    source was read through one (rows dated after it were not read, so
    nothing can say what they hold); None when every row was read.
    ``origin`` is where the same data can be read again (the location or
    :class:`Source` it was loaded from, or its snapshot folder); not compared.
    """

    leads: pl.LazyFrame
    opportunities: pl.LazyFrame
    stage_history: pl.LazyFrame
    targets: pl.LazyFrame
    calendar: FiscalCalendar
    source: str
    has_stage_history: bool
    as_of: dt.datetime | None = None
    warnings: tuple[Problem, ...] = ()
    repairs: tuple[Problem, ...] = ()
    extract_date: dt.datetime | None = None
    #: ISO 4217 code of every amount (from the mapping file; the sample is USD)
    currency: str = "USD"
    #: extra dimension columns kept in leads and/or opportunities (from the mapping)
    dimensions: tuple[str, ...] = ()
    #: what the whole source tracks (default: everything, e.g. for frames built by hand)
    tracking: Tracking = field(default_factory=Tracking)
    #: the read window, when rows outside it were not read (None: every row was)
    window: Window | None = None
    #: where to read the same data again (load_uncut); not part of equality
    origin: str | Path | Source | None = field(default=None, compare=False, repr=False)
    #: the filter where() applied: (column, value) pairs in order (empty: the whole data)
    filters: tuple[tuple[str, str], ...] = ()
    #: every row of the targets table, segment and region rows included (None: ``targets``)
    all_targets: pl.LazyFrame | None = field(default=None, compare=False, repr=False)

    @property
    def target_rows(self) -> pl.LazyFrame:
        """Every row of the targets table, whatever the filter (``all_targets`` or ``targets``)."""
        return self.targets if self.all_targets is None else self.all_targets

    def _scoped(self, targets: pl.LazyFrame, filters: tuple[tuple[str, str], ...]) -> FunnelData:
        """This data with targets table ``targets`` seen through ``filters``: the matching
        rows as ``targets``; a filter for which it has no row is recorded in tracking."""
        matching = matching_targets(targets, filters=dict(filters))
        unset = ""
        if filters and matching.select(pl.len()).collect().item() == 0:
            unset = describe_filters(dict(filters))
        return replace(
            self,
            targets=matching,
            all_targets=targets,
            filters=filters,
            tracking=replace(self.tracking, targets_unset_for=unset),
        )

    def where(self, **equals: str | None) -> FunnelData:
        """Only the leads and opportunities whose columns equal the given values.

        ``data.where(segment="Enterprise", region="EMEA")``; a value of None
        (or an empty string) means no filter on that column. Filters apply to
        every table that has the column; stage history follows the remaining
        opportunities. An unknown column is a :class:`ParameterError`.

        Targets: only those set for exactly this filter apply
        (:func:`alignment_lib.matching_targets`); when the targets table has
        none, the data has no targets (``tracking.targets_unset_for`` names the
        filter and the pages say so). Reads the targets table once to know.
        """
        active = {k: v for k, v in equals.items() if v not in (None, "")}
        known = set(LEADS.column_names) | set(OPPORTUNITIES.column_names) | set(self.dimensions)
        unknown = sorted(set(active) - known)
        if unknown:
            raise ParameterError(
                f"cannot filter on {', '.join(unknown)}: not a column of leads or opportunities"
                + (f" (dimensions: {', '.join(self.dimensions)})" if self.dimensions else "")
            )
        if not active:
            return self

        def keep(frame: pl.LazyFrame) -> pl.LazyFrame:
            columns = frame.collect_schema().names()
            for name, value in active.items():
                if name in columns:
                    frame = frame.filter(pl.col(name) == value)
            return frame

        opps = keep(self.opportunities)
        filtered = replace(
            self,
            leads=keep(self.leads),
            opportunities=opps,
            stage_history=self.stage_history.join(
                opps.select("opportunity_id"), on="opportunity_id", how="semi"
            ),
        )
        merged = {**dict(self.filters), **active}
        return filtered._scoped(self.target_rows, tuple(merged.items()))

    def with_targets(self, targets: pl.LazyFrame) -> FunnelData:
        """The same data with another (validated) targets table, e.g. from ``load_targets``.

        The data then has a targets table (``tracking.has_targets``): one without rows
        reads "No targets are set for this quarter", as a source's does. Seen through
        the data's filter, as :meth:`where` does.
        """
        with_table = replace(self, tracking=replace(self.tracking, has_targets=True))
        return with_table._scoped(targets, self.filters)

    def materialize(self) -> FunnelData:
        """The same tables read once into memory (still LazyFrames for the metrics).

        Every ``collect()`` of a lazy scan re-reads and re-parses the source; a
        workbook computes a dozen metrics, so it reads its data once here. The
        four tables are collected in one pass (polars shares common subplans).
        """
        frames = pl.collect_all(
            [self.leads, self.opportunities, self.stage_history, self.targets, self.target_rows]
        )
        leads, opps, history, targets, rows = (f.lazy() for f in frames)
        return replace(
            self,
            leads=leads,
            opportunities=opps,
            stage_history=history,
            targets=targets,
            all_targets=None if self.all_targets is None else rows,
        )

    def at(self, as_of: dt.datetime | dt.date | str) -> FunnelData:
        """The same data as it was known at ``as_of`` (later events are invisible).

        A date means the end of that day in the calendar's time zone. Leads and
        opportunities created later disappear; later handoff events and closes
        are blanked, so a deal closed after ``as_of`` is open again. With stage
        history, an open deal's stage, amount and expected close date are the
        ones recorded at ``as_of``; without it, a deal reopened this way shows
        stage ``Open`` (its stage at the time is unknown).
        """
        cutoff = parse_as_of(as_of, self.calendar)
        if self.as_of is not None and cutoff > self.as_of:
            raise ParameterError(
                f"as-of {cutoff.isoformat()} is later than the data's as-of "
                f"{self.as_of.isoformat()}; the kit cannot see events it has hidden"
            )
        c = pl.lit(cutoff, dtype=pl.Datetime("us", "UTC"))
        history = self.stage_history.filter(pl.col("changed_at") <= c)
        # Without a creation date (not tracked) a deal is known from its first recorded
        # event: a close at or before the cutoff, a stage change, or, still open now, it
        # is taken as known (docs/data-model.md, "Partial exports").
        first_seen = pl.coalesce(
            pl.col("created_at"),
            pl.min_horizontal(pl.col("closed_at"), pl.col("_first_change")),
        )
        # One pass over the history gives each deal's first change and, with stage
        # history, its last record at the cutoff (validated data has one record per
        # deal and instant: the key is (opportunity_id, changed_at))
        latest = (
            [
                pl.col(n).get(pl.col("changed_at").arg_max()).alias(alias)
                for n, alias in (
                    ("stage", "_stage"),
                    ("amount", "_amount"),
                    ("expected_close_date", "_ecd"),
                )
            ]
            if self.has_stage_history
            else []
        )
        changes = history.group_by("opportunity_id").agg(
            pl.col("changed_at").min().alias("_first_change"), *latest
        )
        opps = self.opportunities.join(changes, on="opportunity_id", how="left").filter(
            first_seen.is_null() | (first_seen <= c)
        )
        closed_later = pl.col("closed_at") > c
        # Open at the cutoff: closed later, or not closed at all (a null closed_at
        # makes closed_later null, so it must be spelled out).
        open_then = pl.col("closed_at").is_null() | closed_later
        if self.has_stage_history:
            recorded = open_then & pl.col("_stage").is_not_null()
            # A history without amounts or close dates (e.g. HubSpot's stage-entered dates)
            # records stages only: the deal's own amount and close date stand.
            untracked = self.tracking.untracked_columns(
                "stage_history", ("amount", "expected_close_date")
            )
            amount_then = recorded if "amount" not in untracked else pl.lit(False)
            ecd_then = recorded if "expected_close_date" not in untracked else pl.lit(False)
            opps = opps.with_columns(
                pl.when(recorded)
                .then(pl.col("_stage"))
                .when(closed_later)
                .then(pl.lit("Open"))
                .otherwise(pl.col("stage"))
                .alias("stage"),
                pl.when(amount_then)
                .then(pl.col("_amount"))
                .otherwise(pl.col("amount"))
                .alias("amount"),
                pl.when(ecd_then)
                .then(pl.col("_ecd"))
                .otherwise(pl.col("expected_close_date"))
                .alias("expected_close_date"),
            ).drop("_first_change", "_stage", "_amount", "_ecd")
        else:
            opps = opps.drop("_first_change").with_columns(
                pl.when(closed_later).then(pl.lit("Open")).otherwise(pl.col("stage")).alias("stage")
            )
        opps = opps.with_columns(
            pl.when(closed_later).then(None).otherwise(pl.col(n)).alias(n)
            for n in ("closed_at", "outcome", "lost_reason")
        )
        events = ("mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at")
        leads = (
            self.leads.filter(pl.col("created_at") <= c)
            .with_columns(
                pl.when(pl.col(n) > c).then(None).otherwise(pl.col(n)).alias(n) for n in events
            )
            .with_columns(
                pl.when(pl.col("rejected_at").is_null())
                .then(None)
                .otherwise(pl.col("rejection_reason"))
                .alias("rejection_reason"),
            )
            .join(
                opps.select("opportunity_id", _seen=pl.lit(True)), on="opportunity_id", how="left"
            )
            .with_columns(
                pl.when(pl.col("_seen")).then(pl.col("opportunity_id")).alias("opportunity_id")
            )
            .drop("_seen")
        )
        return replace(
            self,
            leads=leads.select(_with_dimensions(LEADS, self.leads)),
            opportunities=opps.select(_with_dimensions(OPPORTUNITIES, self.opportunities)),
            stage_history=history,
            as_of=cutoff,
        )


def parse_as_of(value: dt.datetime | dt.date | str, calendar: FiscalCalendar) -> dt.datetime:
    """An as-of instant in UTC. A bare date means the end of that local day."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
            )
        except ValueError as exc:
            raise ParameterError(
                f"as-of {text!r} is not a date or date-time; use e.g. 2026-09-30 "
                "(end of that day) or 2026-09-30T17:00:00+00:00"
            ) from exc
    tz = zoneinfo.ZoneInfo(calendar.timezone)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.astimezone(dt.UTC)
    end = dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC)


def _with_dimensions(table: Table, frame: pl.LazyFrame) -> list[str]:
    """The canonical columns of ``table`` followed by the extra ones ``frame`` carries."""
    names = frame.collect_schema().names()
    return [*table.column_names, *(n for n in names if n not in table.column_names)]


def _empty(table: Table) -> pl.LazyFrame:
    return pl.LazyFrame(schema=table.polars_schema)


def load_targets(
    location: str | Path | Source, *, calendar: FiscalCalendar | None = None
) -> pl.LazyFrame:
    """Read and validate a targets table kept apart from the rest of the data.

    ``location``: a ``.csv`` or ``.parquet`` file (e.g. a planning sheet), or
    any data location that has a targets table (a folder, a DuckDB file, a
    ``postgresql://`` URI; see :func:`load_funnel`).
    """
    calendar = calendar or FiscalCalendar()
    if isinstance(location, (str, Path)) and "://" not in str(location):
        path = Path(location)
        if path.suffix.lower() in (".csv", ".parquet"):
            if not path.is_file():
                raise SourceError(
                    f"targets file '{path}' does not exist; fix: point targets_file at a CSV or "
                    "Parquet file with columns fiscal_quarter, metric, team, value"
                )
            raw: RawTable | None = scan_file(path, TARGETS)
            source_options = None
        elif path.is_file() and path.suffix.lower() not in (".duckdb", ".ddb"):
            raise SourceError(
                f"targets file '{path}' must be .csv or .parquet (or a data location with a "
                "targets table: a folder, a .duckdb file, a postgresql:// URI)"
            )
        else:
            raw, source_options = _scan_targets(location)
    else:
        raw, source_options = _scan_targets(location)
    assert raw is not None
    check = validate_table(raw, TARGETS, calendar, options=source_options)
    if check.problems:
        raise DataValidationError(check.problems)
    assert check.typed is not None
    return check.typed


def _scan_targets(location: str | Path | Source) -> tuple[RawTable, SourceOptions]:
    source = open_source(location)
    try:
        raw = source.scan(TARGETS)
    finally:
        if source is not location:
            _close(source)
    if raw is None:
        raise SourceError(
            f"the data location '{source.description}' given for the targets has no targets "
            "table; fix: point it at a file or a data location that has one"
        )
    return raw, source.options


def load_funnel(
    location: str | Path | Source,
    *,
    calendar: FiscalCalendar | None = None,
    as_of: dt.datetime | dt.date | str | None = None,
    window: Window | None = None,
) -> FunnelData:
    """Read, validate and type the canonical tables of a data location.

    ``location``: a data location (:func:`alignment_lib.sources.open_source`:
    a folder, a partitioned Parquet folder, a ``.duckdb`` file, a
    ``postgresql://`` URI), a :class:`Source`, or a snapshot folder written by
    :func:`write_snapshot`, which is read as it was written, without
    validating it again (its calendar must be ``calendar``).

    ``window``: read only the rows dated inside it (:class:`Window`; each
    table's date column is ``sources.WINDOW_COLUMNS``): sources that can push
    it down (partitioned Parquet, DuckDB, PostgreSQL) do not even read the
    rest, and every source's rows are then cut to the same window here, so
    all sources give the same data. Rows outside it are neither validated
    nor counted anywhere (``FunnelData.window`` records it). None: every row.

    Raises :class:`SourceError` when a required table is missing or unreadable,
    and :class:`DataValidationError` listing every broken rule otherwise.
    The returned tables are lazy: validation is the only full scan here.
    """
    if _snapshot.is_snapshot(location):
        data = _from_snapshot(Path(str(location)), calendar)
        return data.at(as_of) if as_of is not None else data
    calendar = calendar or FiscalCalendar()
    source = open_source(location)
    try:
        data = _load(source, calendar, window)
    finally:
        if source is not location:
            _close(source)
    data = replace(data, origin=location)
    return data.at(as_of) if as_of is not None else data


def _close(source: Source) -> None:
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _load(source: Source, calendar: FiscalCalendar, window: Window | None) -> FunnelData:
    problems: list[Problem] = []
    checks = {}
    missing = []
    for table in TABLES.values():
        raw = source.scan(table, window)
        if raw is None:
            if table.required:
                missing.append(table)
            continue
        if window is not None:
            raw = _cut(raw, table, window, calendar, source.options)
        checks[table.name] = check = validate_table(raw, table, calendar, options=source.options)
        problems += check.problems
    if missing:
        explain = getattr(source, "missing_table", None)
        raise SourceError(
            "; ".join(explain(t) for t in missing)
            if callable(explain)
            else f"the data location '{source.description}' has no "
            + " and no ".join(f"{t.name} table" for t in missing)
            + "; fix: add it to the data (docs/data-model.md lists its columns)"
        )
    typed = {name: c.typed for name, c in checks.items() if c.typed is not None}
    if "stage_history" in typed and "opportunities" in typed and not problems:
        problems += validate_references(
            checks["stage_history"].raw, typed["stage_history"], typed["opportunities"]
        )
    plausible = check_plausibility(list(checks.values()))
    problems += plausible.errors
    if problems:
        raise DataValidationError(problems)
    if plausible.warnings and plausible.amount_cap is not None:
        # Outlying amounts are left out of every amount (docs/bad-input.md).
        cap = plausible.amount_cap
        for name in ("opportunities", "stage_history"):
            if name in typed:
                typed[name] = typed[name].with_columns(
                    pl.when(pl.col("amount") > cap)
                    .then(None)
                    .otherwise(pl.col("amount"))
                    .alias("amount")
                )
    kept = {n for t in ("leads", "opportunities") if t in typed for n in typed[t].collect_schema()}
    dimensions = tuple(d for d in source.options.dimensions if d in kept)
    targets = typed.get("targets", _empty(TARGETS))
    return FunnelData(
        leads=typed.get("leads", _empty(LEADS)),
        opportunities=typed["opportunities"],
        stage_history=typed.get("stage_history", _empty(STAGE_HISTORY)),
        # the company report compares with the company-wide targets; where() picks a filter's
        targets=matching_targets(targets),
        all_targets=targets,
        calendar=calendar,
        source=source.description,
        has_stage_history="stage_history" in typed,
        warnings=tuple(plausible.warnings),
        repairs=tuple(r for c in checks.values() for r in c.repairs),
        extract_date=plausible.extract_date,
        currency=source.options.currency,
        dimensions=dimensions,
        tracking=_tracking(checks),
        window=window,
    )


def _cut(
    raw: RawTable, table: Table, window: Window, calendar: FiscalCalendar, options: SourceOptions
) -> RawTable:
    """``raw`` without the rows dated outside ``window`` (exactly: every source alike).

    Rows are numbered before the cut, so a message names the row of the file
    (or of the ordered query result) whatever the window left out. A row whose
    date is missing or cannot be parsed stays, for validation to report.
    """
    column = WINDOW_COLUMNS.get(table.name)
    frame = raw.frame.with_row_index(ROW, offset=1)
    schema = frame.collect_schema()
    if column is None or column not in schema:
        return replace(raw, frame=frame)
    if schema[column] == pl.String:
        frame = frame.with_columns(pl.col(column).str.strip_chars())
    when = parse_column(table.column(column), schema[column], calendar, options)
    keep = pl.lit(True)
    if window.last is not None:
        keep = keep & (when <= pl.lit(window.last, dtype=pl.Datetime("us", "UTC")))
    if window.first is not None:
        keep = keep & (when >= pl.lit(window.first, dtype=pl.Datetime("us", "UTC")))
    return replace(raw, frame=frame.filter(when.is_null() | keep))


def write_snapshot(data: FunnelData, folder: str | Path) -> Path:
    """Write ``data`` as a validated snapshot into ``folder`` (which must not exist).

    The tables are collected in one pass and written as Parquet, the other
    fields as ``snapshot.json`` (:mod:`alignment_lib.snapshot`); the folder is
    readable by its owner only. ``load_funnel(folder)`` gives back equal
    data without validating it again. Returns ``folder``. Every row of the
    targets table is written (segment and region rows included); ``data`` must
    not be filtered (:meth:`FunnelData.where`: a workbook filters the snapshot).
    """
    if data.filters:
        raise ParameterError(
            f"write_snapshot takes the whole data, not data filtered to "
            f"{describe_filters(dict(data.filters))}; fix: write the data before .where(...)"
        )
    frames = pl.collect_all([data.leads, data.opportunities, data.stage_history, data.target_rows])
    manifest = _snapshot.encode_manifest(
        calendar=data.calendar,
        source=data.source,
        has_stage_history=data.has_stage_history,
        as_of=data.as_of,
        warnings=data.warnings,
        repairs=data.repairs,
        extract_date=data.extract_date,
        currency=data.currency,
        dimensions=data.dimensions,
        tracking=data.tracking,
        window=data.window,
    )
    return _snapshot.write_snapshot_files(
        folder, dict(zip(_snapshot.SNAPSHOT_TABLES, frames, strict=True)), manifest
    )


def _from_snapshot(folder: Path, calendar: FiscalCalendar | None) -> FunnelData:
    frames, manifest = _snapshot.read_snapshot(folder)
    fields = _snapshot.decode_manifest(manifest)
    if calendar is not None and calendar != fields["calendar"]:
        saved = fields["calendar"]
        raise ParameterError(
            f"the snapshot '{folder}' was validated for fiscal year start month "
            f"{saved.start_month} and time zone {saved.timezone}, not {calendar.start_month} and "
            f"{calendar.timezone}; fix: pass the snapshot's calendar, or read the data location "
            "itself"
        )
    targets = frames.pop("targets")
    tables: dict[str, Any] = dict(frames)  # leads, opportunities, stage_history
    return FunnelData(
        **tables,
        targets=matching_targets(targets),
        all_targets=targets,
        **fields,
        origin=folder,
    )


def _tracking(checks: dict[str, TableCheck]) -> Tracking:
    """What the source holds, from the figures validation collected (no extra read)."""
    tracked = frozenset(
        f"{name}.{column}" for name, check in checks.items() for column in check.stats["tracked"]
    )
    opps = checks["opportunities"].stats
    return Tracking(
        tracked=tracked,
        has_leads="leads" in checks,
        has_stage_history="stage_history" in checks,
        # a targets table without rows is "no targets set for this quarter", as a table
        # without this quarter's rows is: the scorecard says so in those words
        has_targets="targets" in checks,
        has_won_deals=bool(opps["has_won"]),
        has_lost_deals=bool(opps["has_lost"]),
        has_open_deals=bool(opps["has_open"]),
    )
