"""Loading a data location into validated, typed, lazy canonical tables."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from alignment_lib.exceptions import DataValidationError, ParameterError, Problem, SourceError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TABLES, TARGETS, Table
from alignment_lib.sources import Source, open_source, scan_file
from alignment_lib.tracking import Tracking
from alignment_lib.validate import (
    TableCheck,
    check_plausibility,
    validate_references,
    validate_table,
)

__all__ = ["FunnelData", "load_funnel", "load_targets", "parse_as_of"]


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

    def where(self, **equals: str | None) -> FunnelData:
        """Only the leads and opportunities whose columns equal the given values.

        ``data.where(segment="Enterprise", region="EMEA")``; a value of None
        (or an empty string) means no filter on that column. Filters apply to
        every table that has the column; stage history follows the remaining
        opportunities. An unknown column is a :class:`ParameterError`.
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
        return replace(
            self,
            leads=keep(self.leads),
            opportunities=opps,
            stage_history=self.stage_history.join(
                opps.select("opportunity_id"), on="opportunity_id", how="semi"
            ),
        )

    def materialize(self) -> FunnelData:
        """The same tables read once into memory (still LazyFrames for the metrics).

        Every ``collect()`` of a lazy scan re-reads and re-parses the source; a
        workbook computes a dozen metrics, so it reads its data once here. The
        four tables are collected in one pass (polars shares common subplans).
        """
        frames = pl.collect_all([self.leads, self.opportunities, self.stage_history, self.targets])
        leads, opps, history, targets = (f.lazy() for f in frames)
        return replace(
            self, leads=leads, opportunities=opps, stage_history=history, targets=targets
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
        changes = history.group_by("opportunity_id").agg(
            pl.col("changed_at").min().alias("_first_change")
        )
        opps = (
            self.opportunities.join(changes, on="opportunity_id", how="left")
            .filter(first_seen.is_null() | (first_seen <= c))
            .drop("_first_change")
        )
        closed_later = pl.col("closed_at") > c
        # Open at the cutoff: closed later, or not closed at all (a null closed_at
        # makes closed_later null, so it must be spelled out).
        open_then = pl.col("closed_at").is_null() | closed_later
        if self.has_stage_history:
            last = (
                history.sort("changed_at")
                .group_by("opportunity_id")
                .agg(
                    pl.col("stage").last().alias("_stage"),
                    pl.col("amount").last().alias("_amount"),
                    pl.col("expected_close_date").last().alias("_ecd"),
                )
            )
            recorded = open_then & pl.col("_stage").is_not_null()
            # A history without amounts or close dates (e.g. HubSpot's stage-entered dates)
            # records stages only: the deal's own amount and close date stand.
            untracked = self.tracking.untracked_columns(
                "stage_history", ("amount", "expected_close_date")
            )
            amount_then = recorded if "amount" not in untracked else pl.lit(False)
            ecd_then = recorded if "expected_close_date" not in untracked else pl.lit(False)
            opps = (
                opps.join(last, on="opportunity_id", how="left")
                .with_columns(
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
                )
                .drop("_stage", "_amount", "_ecd")
            )
        else:
            opps = opps.with_columns(
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


def load_targets(path: str | Path, *, calendar: FiscalCalendar | None = None) -> pl.LazyFrame:
    """Read and validate a targets table from its own CSV or Parquet file."""
    calendar = calendar or FiscalCalendar()
    path = Path(path)
    if not path.is_file():
        raise SourceError(
            f"targets file '{path}' does not exist; fix: point targets_file at a CSV or "
            "Parquet file with columns fiscal_quarter, metric, team, value"
        )
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise SourceError(f"targets file '{path}' must be .csv or .parquet")
    check = validate_table(scan_file(path, TARGETS), TARGETS, calendar)
    if check.problems:
        raise DataValidationError(check.problems)
    assert check.typed is not None
    return check.typed


def load_funnel(
    location: str | Path | Source,
    *,
    calendar: FiscalCalendar | None = None,
    as_of: dt.datetime | dt.date | str | None = None,
) -> FunnelData:
    """Read, validate and type the canonical tables of a data location.

    Raises :class:`SourceError` when a required table is missing or unreadable,
    and :class:`DataValidationError` listing every broken rule otherwise.
    The returned tables are lazy: validation is the only full scan here.
    """
    calendar = calendar or FiscalCalendar()
    source = open_source(location)
    problems: list[Problem] = []
    checks = {}
    missing = []
    for table in TABLES.values():
        raw = source.scan(table)
        if raw is None:
            if table.required:
                missing.append(table.name)
            continue
        checks[table.name] = check = validate_table(raw, table, calendar, options=source.options)
        problems += check.problems
    if missing:
        raise SourceError(
            f"data location '{source.description}' has no "
            + " and no ".join(f"{m} table ({m}.csv or {m}.parquet)" for m in missing)
            + "; fix: export the missing table into that folder (docs/data-model.md lists "
            "its columns) or point the kit at the folder that has it"
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
    data = FunnelData(
        leads=typed.get("leads", _empty(LEADS)),
        opportunities=typed["opportunities"],
        stage_history=typed.get("stage_history", _empty(STAGE_HISTORY)),
        targets=typed.get("targets", _empty(TARGETS)),
        calendar=calendar,
        source=source.description,
        has_stage_history="stage_history" in typed,
        warnings=tuple(plausible.warnings),
        repairs=tuple(r for c in checks.values() for r in c.repairs),
        extract_date=plausible.extract_date,
        currency=source.options.currency,
        dimensions=dimensions,
        tracking=_tracking(checks),
    )
    return data.at(as_of) if as_of is not None else data


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
