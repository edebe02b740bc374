"""Checking raw tables against the canonical data model.

Validation runs one lazy aggregate query per table: each rule becomes a
boolean "bad row" expression, and the query returns, per rule, how many rows
break it plus the first few row numbers and values. Nothing row-sized is
collected, so the same code checks a 100-million-row Parquet lake.

Rows are numbered from 1 at the first data row (the line under a CSV header).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from alignment_lib.exceptions import Problem
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.schema import (
    LEADS,
    OPPORTUNITIES,
    STAGE_HISTORY,
    TARGETS,
    TIMESTAMP,
    Column,
    Table,
)
from alignment_lib.sources import RawTable, SourceOptions
from alignment_lib.text import has_unsafe_text, safe_text

__all__ = [
    "Plausibility",
    "TableCheck",
    "check_plausibility",
    "parse_column",
    "validate_references",
    "validate_table",
]

ROW = "__row"
_SHOW_ROWS = 5
_SHOW_VALUES = 3

_TS_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_TS_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def _clean_text(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def _clean_label(expr: pl.Expr) -> pl.Expr:
    """Text as shown everywhere: made safe (:mod:`alignment_lib.text`), trimmed, empty = null."""
    return _clean_text(safe_text(expr))


@dataclass(frozen=True)
class _Formats:
    """How time values are written in a source: its zone and any non-ISO formats.

    ``timezone``: the zone of values without an offset. ``datetimes`` and
    ``dates``: strftime formats tried after ISO 8601 (from the mapping's
    ``datetime_format``, ``date_format`` and ``day_first``).
    """

    timezone: str
    datetimes: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    @classmethod
    def of(cls, calendar: FiscalCalendar, options: SourceOptions | None) -> _Formats:
        options = options or SourceOptions()
        datetimes = [options.datetime_format] if options.datetime_format else []
        dates = [options.date_format] if options.date_format else []
        if options.day_first:
            for sep in "/.-":
                day = f"%d{sep}%m{sep}%Y"
                dates.append(day)
                datetimes += [f"{day} %H:%M:%S", f"{day} %H:%M"]
        return cls(options.timezone or calendar.timezone, tuple(datetimes), tuple(dates))

    def described(self) -> str:
        """The formats tried, for messages."""
        extra = [*self.datetimes, *self.dates]
        return "ISO 8601" + (f" or {', '.join(repr(f) for f in extra)}" if extra else "")


def _parse_timestamp_text(text: pl.Expr, formats: _Formats) -> pl.Expr:
    # Fast path: the usual export format (2026-03-31T17:45:00Z) is parsed once; the
    # slower formats see only the values it could not read (the rest are null, which
    # the parsers skip). Same result as trying every format on every value, ~7x faster.
    fast = text.str.strptime(TIMESTAMP, "%Y-%m-%dT%H:%M:%SZ", strict=False)
    return pl.coalesce(fast, _parse_any_timestamp(pl.when(fast.is_null()).then(text), formats))


def _parse_any_timestamp(text: pl.Expr, formats: _Formats) -> pl.Expr:
    timezone = formats.timezone
    aware = [text.str.strptime(TIMESTAMP, f, strict=False) for f in _TS_AWARE]
    custom = [f for f in formats.datetimes if "%z" not in f and "%#z" not in f]
    aware += [
        text.str.strptime(TIMESTAMP, f, strict=False) for f in formats.datetimes if f not in custom
    ]
    naive = [text.str.strptime(pl.Datetime("us"), f, strict=False) for f in (*_TS_NAIVE, *custom)]
    # Naive values are wall-clock times in the company's time zone; a time that
    # does not exist (DST gap) becomes null and is reported as unparseable.
    local = (
        pl.coalesce(naive)
        .dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    day = _start_of_local_day(_parse_date_text(text, formats), timezone)
    return pl.coalesce(*aware, local, day)


def _parse_date_text(text: pl.Expr, formats: _Formats) -> pl.Expr:
    """A date-only value (ISO, or one of the source's date formats) as a Date."""
    return pl.coalesce(
        text.str.strptime(pl.Date, f, strict=False) for f in ("%Y-%m-%d", *formats.dates)
    )


def _start_of_local_day(day: pl.Expr, timezone: str) -> pl.Expr:
    """A date as the first instant of that day in ``timezone``.

    Where local midnight does not exist (a daylight-saving start at 00:00, e.g.
    2017-10-15 in America/Sao_Paulo), the day starts when the clocks jump: that
    is midnight read with the previous day's UTC offset (00:00 -03:00 = 01:00 -02:00).
    """
    midnight = day.cast(pl.Datetime("us"))
    exact = midnight.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    eve = (midnight - pl.duration(hours=12)).dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    )
    offset = eve.dt.base_utc_offset() + eve.dt.dst_offset()
    gap = (midnight - offset).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.coalesce(exact.dt.convert_time_zone("UTC"), gap)


def _trimmed(frame: pl.LazyFrame, table: Table, schema: pl.Schema) -> pl.LazyFrame:
    """``frame`` with its text time columns trimmed, once, before :func:`parse_column` reads them.

    A parser reads each value up to nine times (one per format); trimming inside
    the expression would repeat the trim as often (3x slower on the sample).
    """
    trim = [
        pl.col(c.name).str.strip_chars()
        for c in table.columns
        if c.kind in ("timestamp", "date") and schema.get(c.name) == pl.String
    ]
    return frame.with_columns(trim) if trim else frame


def parse_column(
    column: Column,
    raw_dtype: pl.DataType | None,
    calendar: FiscalCalendar,
    options: SourceOptions | None = None,
) -> pl.Expr:
    """Expression turning the stored column into the canonical dtype.

    Text timestamps and dates are expected trimmed (:func:`typed_frame` and
    :func:`validate_table` trim them first). ``raw_dtype`` None: the source has
    no such column (an all-null column of the canonical dtype). ``options``:
    the source's time zone for values without an offset (default: the
    calendar's) and its non-ISO date formats.

    Values that cannot be parsed become null; :func:`validate_table` reports
    them by comparing with the stored value.
    """
    if raw_dtype is None:
        return pl.lit(None, dtype=column.dtype)
    formats = _Formats.of(calendar, options)
    col = pl.col(column.name)
    kind = column.kind
    if kind in ("id", "string", "category"):
        text = _clean_label(col.cast(pl.String))
        if column.allowed:
            text = text.str.to_lowercase()
        return text
    if kind in ("amount", "number"):
        if raw_dtype == pl.String:
            value = _clean_text(col).cast(pl.Float64, strict=False)
        else:
            value = col.cast(pl.Float64, strict=False)
        return pl.when(value.is_finite()).then(value)
    if kind == "timestamp":
        if isinstance(raw_dtype, pl.Datetime):
            if raw_dtype.time_zone is None:
                return (
                    col.dt.replace_time_zone(
                        formats.timezone, ambiguous="earliest", non_existent="null"
                    )
                    .dt.convert_time_zone("UTC")
                    .cast(TIMESTAMP)
                )
            return col.dt.convert_time_zone("UTC").cast(TIMESTAMP)
        if raw_dtype == pl.Date:
            return _start_of_local_day(col, formats.timezone)
        # text is trimmed once by _trimmed (the parsers read each value several times)
        return _parse_timestamp_text(col.cast(pl.String), formats)
    if kind == "date":
        if raw_dtype == pl.Date:
            return col
        if isinstance(raw_dtype, pl.Datetime):
            return col.dt.date()
        text = col.cast(pl.String)
        # A full timestamp in a date column is accepted: its calendar date in the
        # company's time zone is what a CRM "close date" means.
        return pl.coalesce(
            _parse_date_text(text, formats),
            calendar.local_date_expr(_parse_timestamp_text(text, formats)),
        )
    raise AssertionError(f"unknown column kind {kind!r}")


@dataclass(frozen=True)
class _Rule:
    """One check: ``bad`` marks the rows that break it.

    ``values``: what a message shows of those rows, written as text by ``show``
    (applied to the few rows shown only, not to the whole column: casting
    every timestamp of a large table to text cost more than the check).
    """

    column: str | None
    rule: str
    bad: pl.Expr
    message: str
    fix: str
    values: pl.Expr | None = None
    show: Callable[[pl.Expr], pl.Expr] | None = None


def _as_text(expr: pl.Expr) -> pl.Expr:
    """A stored value as shown in messages: text, trimmed."""
    return expr.cast(pl.String).str.strip_chars()


def _as_string(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _as_iso(expr: pl.Expr) -> pl.Expr:
    return expr.dt.to_string("%Y-%m-%dT%H:%M:%SZ")


_EXPECTED = {
    "id": "an id",
    "string": "text",
    "category": "text",
    "amount": "plain numbers like 12500.50 (no currency symbols or thousands separators; "
    "NaN and inf are not amounts)",
    "number": "plain numbers like 0.9 or 250 (NaN and inf are not numbers)",
    "timestamp": "ISO 8601 date-times like 2026-03-31T17:45:00Z (values without an offset "
    "are read in the calendar's time zone)",
    "date": "dates written YYYY-MM-DD like 2026-03-31",
}


def _raw(name: str) -> str:
    return f"__raw_{name}"


def _expected(kind: str, formats: _Formats) -> str:
    if kind == "timestamp" and formats.datetimes + formats.dates:
        return f"date-times in the formats tried ({formats.described()})"
    if kind == "date" and formats.dates:
        return f"dates in the formats tried ({formats.described()})"
    return _EXPECTED[kind]


def _column_rules(
    table: Table, formats: _Formats, absent: Sequence[str], schema: pl.Schema | None = None
) -> list[_Rule]:
    rules: list[_Rule] = []
    for c in table.columns:
        if c.name in absent:
            continue  # not in the export: not tracked (tracking.py), nothing to check
        typed, stored = pl.col(c.name), pl.col(_raw(c.name))
        raw_dtype = schema.get(c.name) if schema is not None else None
        if raw_dtype is not None and (
            raw_dtype.is_numeric() or raw_dtype.is_temporal() or raw_dtype == pl.Boolean
        ):
            # a number, date or time is never blank text: present = not null (the same
            # answer without writing every value as text first)
            present = stored.is_not_null()
        else:
            stored_text = stored.cast(pl.String).str.strip_chars()
            present = stored.is_not_null() & (stored_text.str.len_chars() > 0).fill_null(True)
        if not c.nullable:
            # a column the export may leave out may also be empty in every row (the same:
            # not tracked); once it holds values, every row needs one
            empty = ~present if table.requires_column(c.name) else ~present & present.any()
            rules.append(
                _Rule(
                    c.name,
                    "missing_value",
                    empty,
                    "is empty but every row needs a value",
                    f"fill in {c.name} for these rows, or remove the rows",
                )
            )
        kind_label = "date" if c.kind in ("timestamp", "date") else "type"
        rules.append(
            _Rule(
                c.name,
                f"unparseable_{kind_label}",
                present & typed.is_null(),
                f"has values that are not {_expected(c.kind, formats)}",
                f"correct the values in {c.name} (or leave them empty where the column allows it)",
                values=stored,
                show=_as_text,
            )
        )
        if c.allowed:
            rules.append(
                _Rule(
                    c.name,
                    "unknown_value",
                    typed.is_not_null() & ~typed.is_in(list(c.allowed)),
                    f"has values outside the allowed set ({', '.join(c.allowed)})",
                    f"map each value of {c.name} to one of: {', '.join(c.allowed)}",
                    values=stored,
                    show=_as_text,
                )
            )
    # the key, and the scope columns a row may narrow it with (an empty scope value matches an
    # empty one: two company-wide rows of one target are duplicates)
    unique = [*table.key, *table.scope]
    if len(unique) == 1:
        key = pl.col(unique[0])
        dup = key.is_not_null() & key.is_duplicated()
    else:
        dup = (
            pl.all_horizontal(pl.col(k).is_not_null() for k in table.key)
            & pl.struct(unique).is_duplicated()
        )
    rules.append(
        _Rule(
            ", ".join(unique) if len(unique) > 1 else unique[0],
            "duplicate_id",
            dup,
            f"has duplicate {'keys' if len(unique) > 1 else 'ids'}; each must appear once",
            "remove the repeated rows (an export joined to a child table repeats parents)",
            values=pl.struct(unique),
            show=lambda keys: pl.concat_str(
                [
                    pl.concat_str(
                        [keys.struct.field(k).cast(pl.String) for k in table.key], separator=" / "
                    ),
                    *(
                        (" / " + keys.struct.field(k).cast(pl.String)).fill_null("")
                        for k in table.scope
                    ),
                ]
            ),
        )
    )
    return rules + _before_1990_rules(table) + _table_rules(table)


def _before_1990_rules(table: Table) -> list[_Rule]:
    earliest = pl.lit(dt.datetime.combine(EARLIEST, dt.time(), tzinfo=dt.UTC), dtype=TIMESTAMP)
    return [
        _Rule(
            c.name,
            "before_1990",
            _as_instant(c) < earliest,
            "is before 1990-01-01 (a placeholder or spreadsheet-epoch date such as 1900-01-01?)",
            f"correct {c.name} in these rows, or leave it empty where the column allows",
            values=pl.col(c.name),
            show=_as_string,
        )
        for c in _time_columns(table)
    ]


def _not_before(later: str, earlier: str, fix: str) -> _Rule:
    return _Rule(
        later,
        "before_created" if earlier == "created_at" else "out_of_order",
        pl.col(later) < pl.col(earlier),
        f"is earlier than {earlier}",
        fix,
        values=pl.col(later),
        show=_as_iso,
    )


def _table_rules(table: Table) -> list[_Rule]:
    if table is LEADS:
        rules = [
            _not_before(
                c,
                "created_at",
                f"check the time zone of {c} and created_at; {c} cannot precede creation",
            )
            for c in ("mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at")
        ]
        rules.append(
            _Rule(
                "rejected_at",
                "accepted_and_rejected",
                pl.col("accepted_at").is_not_null() & pl.col("rejected_at").is_not_null(),
                "is set on leads that also have accepted_at",
                "keep only the final handoff outcome: accepted_at or rejected_at, not both",
            )
        )
        return rules
    if table is OPPORTUNITIES:
        closed, outcome = pl.col("closed_at").is_not_null(), pl.col("outcome").is_not_null()
        return [
            _Rule(
                "closed_at",
                "closed_before_created",
                pl.col("closed_at") < pl.col("created_at"),
                "is earlier than created_at",
                "check both dates (a close date entered before the deal existed, or a time-zone "
                "shift); closed_at must not precede created_at",
                values=pl.col("closed_at"),
                show=_as_iso,
            ),
            _Rule(
                "outcome",
                "outcome_without_close",
                outcome & ~closed,
                "is set (won or lost) but closed_at is empty",
                "fill in closed_at for closed deals, or clear outcome for open ones",
            ),
            _Rule(
                "outcome",
                "close_without_outcome",
                closed & ~outcome,
                "is empty but closed_at is set",
                "set outcome to won or lost for closed deals, or clear closed_at for open ones",
            ),
            _Rule(
                "amount",
                "won_without_amount",
                # an export without amounts is "amounts not tracked" (tracking.py), not this
                (pl.col("outcome") == "won")
                & pl.col("amount").is_null()
                & pl.col("amount").is_not_null().any(),
                "is empty on won deals; bookings would be understated",
                "fill in the amount of every won deal",
            ),
            _Rule(
                "amount",
                "negative_amount",
                pl.col("amount") < 0,
                "is negative",
                "amounts must be zero or more; fix the sign or the export",
                values=pl.col("amount"),
                show=_as_string,
            ),
        ]
    if table is STAGE_HISTORY:
        return [
            _Rule(
                "amount",
                "negative_amount",
                pl.col("amount") < 0,
                "is negative",
                "amounts must be zero or more; fix the sign or the export",
                values=pl.col("amount"),
                show=_as_string,
            )
        ]
    if table is TARGETS:
        return [
            _Rule(
                "fiscal_quarter",
                "bad_quarter_label",
                pl.col("fiscal_quarter").is_not_null()
                & ~pl.col("fiscal_quarter").str.contains(r"^FY\d{4}-Q[1-4]$"),
                "has values that are not fiscal quarter labels",
                "write quarters as FY2026-Q3 (fiscal year named for the year it ends, then Q1-Q4)",
                values=pl.col("fiscal_quarter"),
            ),
            _Rule(
                "value",
                "negative_target",
                pl.col("value") < 0,
                "is negative",
                "targets must be zero or more",
                values=pl.col("value"),
                show=_as_string,
            ),
        ]
    return []


def typed_frame(
    raw: RawTable,
    table: Table,
    calendar: FiscalCalendar,
    options: SourceOptions | None = None,
) -> pl.LazyFrame:
    """The raw scan with every canonical column parsed to its dtype.

    A canonical column the source lacks is all null; of the other columns only
    the source's extra dimensions (``options.dimensions``) are kept, as text
    made safe like every label (:func:`dimension_columns`).
    """
    schema = raw.frame.collect_schema()
    return _trimmed(raw.frame, table, schema).select(
        *(
            parse_column(c, schema.get(c.name), calendar, options).alias(c.name)
            for c in table.columns
        ),
        *(
            _clean_label(pl.col(d).cast(pl.String)).alias(d)
            for d in dimension_columns(raw, options)
            # a canonical column named as a dimension is kept once, as the canonical one
            if d not in table.column_names
        ),
    )


def dimension_columns(raw: RawTable, options: SourceOptions | None) -> list[str]:
    """The extra dimensions (``options.dimensions``) that ``raw`` has, in the options' order."""
    wanted = options.dimensions if options else ()
    return [d for d in wanted if d in raw.columns]


@dataclass(frozen=True)
class TableCheck:
    """What validating one table found.

    ``typed`` is the parsed lazy frame (None when columns are missing);
    ``problems`` break the data model (errors); ``repairs`` are values the
    kit changed on load (control characters removed), for the data-health
    page; ``stats`` are the figures the cross-table plausibility checks need
    (row count, latest event at or before the check, largest value of each
    time and amount column, median won amount).
    """

    raw: RawTable
    table: Table
    typed: pl.LazyFrame | None
    checked: pl.LazyFrame | None
    problems: list[Problem]
    repairs: list[Problem]
    stats: dict[str, Any]  # the validation query's figures, by name (values of any type)


#: Before this day no timestamp or date of a CRM export is plausible (placeholder
#: and spreadsheet-epoch dates such as 1900-01-01 or 1899-12-30 are).
EARLIEST = dt.date(1990, 1, 1)
#: The longest expected close: dates later than the extract date plus this are errors.
LONGEST_CLOSE = dt.timedelta(days=730)
#: An amount above this multiple of the median won amount is a warning (left out of amounts).
AMOUNT_OUTLIER_FACTOR = 1000.0

#: the columns whose latest value (at or before the check) dates the extract
_EXTRACT_EVENTS = {
    "leads": ("created_at",),
    "opportunities": ("created_at", "closed_at"),
    "stage_history": ("changed_at",),
}
#: tables that must hold rows: an empty one is a broken export, not a company without
#: leads or deals (a header-only targets table means no targets yet; the pages say so)
_REQUIRES_ROWS = ("leads", "opportunities")


def _time_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if c.kind in ("timestamp", "date")]


def _as_instant(column: Column) -> pl.Expr:
    """A time column as a UTC instant (a date as the start of that day in UTC)."""
    col = pl.col(column.name)
    if column.kind == "date":
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return col


def _stats_aggs(table: Table, now: dt.datetime) -> list[pl.Expr]:
    cutoff = pl.lit(now, dtype=TIMESTAMP)
    aggs = [pl.len().alias("rows")]
    # which columns hold a value anywhere (tracking.py): one list, from the same query
    aggs.append(
        pl.concat_list(
            pl.when(pl.col(c.name).is_not_null().any()).then(pl.lit(c.name)) for c in table.columns
        )
        .list.drop_nulls()
        .alias("tracked")
    )
    if table.name == "opportunities":
        outcome = pl.col("outcome")
        aggs += [
            (outcome == "won").any().alias("has_won"),
            (outcome == "lost").any().alias("has_lost"),
            outcome.is_null().any().alias("has_open"),
        ]
    events = [
        pl.col(c).filter(pl.col(c) <= cutoff).max() for c in _EXTRACT_EVENTS.get(table.name, ())
    ]
    if events:
        aggs.append(pl.max_horizontal(events).alias("extract"))
    aggs += [_as_instant(c).max().alias(f"max:{c.name}") for c in _time_columns(table)]
    if "amount" in table.column_names:
        amount = pl.col("amount")
        aggs.append(amount.max().alias("max:amount"))
    if table.name == "opportunities":
        amount = pl.col("amount")
        won = amount.filter((pl.col("outcome") == "won") & (amount > 0)).median()
        aggs.append(pl.coalesce(won, amount.filter(amount > 0).median()).alias("median_won"))
    return aggs


_MAYBE_DUPLICATES = "_maybe_duplicates"


def _maybe_duplicates(table: Table) -> pl.Expr:
    """True when the table's key (with its scope) may repeat: fewer distinct hashes than keys.

    False proves there is no duplicate key; True (a duplicate, or, about once in
    10^4 tables of 10^8 rows, two keys with the same 64-bit hash) calls for the
    exact ``duplicate_id`` rule.
    """
    complete = pl.all_horizontal(pl.col(k).is_not_null() for k in table.key)
    unique = [*table.key, *table.scope]  # as the duplicate_id rule: the key and its scope
    key = pl.col(unique[0]) if len(unique) == 1 else pl.struct(unique)
    return (key.filter(complete).hash().n_unique() < complete.sum()).alias(_MAYBE_DUPLICATES)


def _repair_rules(table: Table, absent: Sequence[str] = ()) -> list[_Rule]:
    return [
        _Rule(
            c.name,
            "control_characters_removed",
            has_unsafe_text(pl.col(_raw(c.name)).cast(pl.String)),
            "had control characters (such as NUL, BEL, ESC, tab or line breaks) or "
            "right-to-left override characters; removed on load (tabs and line breaks became "
            "spaces)",
            f"clean {c.name} in the source system; the report shows the cleaned values",
        )
        for c in table.columns
        if c.kind in ("id", "string", "category") and c.name not in absent
    ]


def validate_table(
    raw: RawTable,
    table: Table,
    calendar: FiscalCalendar,
    *,
    now: dt.datetime | None = None,
    options: SourceOptions | None = None,
) -> TableCheck:
    """Check one raw table: its typed lazy frame, problems, repairs and plausibility figures.

    ``now`` (aware UTC, default: the time of the call) bounds the extract date:
    no event in the data can be later than the moment it is checked.
    ``options``: how the source writes times (zone, formats) and which extra
    dimension columns to keep. Only the columns the table requires
    (``Table.requires_column``) must be present; an absent column is all null
    and not tracked (``stats['tracked']``, :mod:`alignment_lib.tracking`).
    """
    # a header name that differs only by spaces or case: say so, not just "missing"
    near = {n.strip().lower(): n for n in raw.columns}
    absent = [c.name for c in table.columns if c.name not in raw.columns]
    problems = [
        Problem(
            raw.location,
            name,
            "misnamed_column",
            f"is written {near[name]!r} in the header",
            f"rename the column to exactly {name!r} (lower case, no spaces around it)",
        )
        if name in near
        else Problem(
            raw.location,
            name,
            "missing_column",
            f"is missing; the {table.name} table needs "
            f"{', '.join(c for c in table.column_names if table.requires_column(c))} (every "
            "other column may be left out)",
            f"add a {name} column ({table.column(name).meaning.rstrip('.')}), or rename the "
            "column that holds it; see docs/data-model.md",
        )
        for name in absent
        if name in near or table.requires_column(name)
    ]
    if problems:
        return TableCheck(raw, table, None, None, problems, [], {})
    now = now or dt.datetime.now(dt.UTC)
    schema = raw.frame.collect_schema()
    formats = _Formats.of(calendar, options)
    frame = _trimmed(raw.frame, table, schema)
    # rows numbered by the reader already keep their numbers (load_funnel's read window)
    checked = (frame if ROW in schema else frame.with_row_index(ROW, offset=1)).select(
        pl.col(ROW),
        *(
            parse_column(c, schema.get(c.name), calendar, options).alias(c.name)
            for c in table.columns
        ),
        *(
            (pl.col(c.name) if c.name in schema else pl.lit(None, pl.String)).alias(_raw(c.name))
            for c in table.columns
        ),
    )
    rules = _column_rules(table, formats, absent, schema)
    repairs = _repair_rules(table, absent)
    # The exact duplicate check (a hash table of every key, with row numbers) is the
    # dearest rule; a hash count proves most tables free of duplicates at a fraction of
    # its cost (equal keys have equal hashes, so fewer distinct hashes than keys is the
    # only way a duplicate can show). Only then is the query run again with the rule.
    quick = [r for r in rules if r.rule != "duplicate_id"]
    extra = [*_stats_aggs(table, now), _maybe_duplicates(table)]
    found, stats = _run_rules(raw.location, checked, [*quick, *repairs], extra)
    if stats.pop(_MAYBE_DUPLICATES):
        found, stats = _run_rules(
            raw.location, checked, [*rules, *repairs], _stats_aggs(table, now)
        )
    problems = [p for p in found if p.rule != "control_characters_removed"]
    if stats["rows"] == 0 and table.name in _REQUIRES_ROWS:
        problems.insert(
            0,
            Problem(
                raw.location,
                None,
                "no_rows",
                "has a header but no data rows; the kit cannot report on an empty "
                f"{table.name} table",
                f"export the {table.name} rows again (an export filtered to nothing, or cut "
                "off after the header?)",
            ),
        )
    return TableCheck(
        raw,
        table,
        typed_frame(raw, table, calendar, options),
        checked,
        problems,
        [p for p in found if p.rule == "control_characters_removed"],
        stats,
    )


@dataclass(frozen=True)
class Plausibility:
    """The result of :func:`check_plausibility`.

    ``extract_date``: the latest creation, change or close in the data at or
    before the check (None when there is none). ``amount_cap``: amounts above it
    are warnings and left out of every amount (None when no amount is positive).
    """

    extract_date: dt.datetime | None
    amount_cap: float | None
    errors: list[Problem]
    warnings: list[Problem]


def check_plausibility(checks: Sequence[TableCheck]) -> Plausibility:
    """Timestamps and amounts outside a window around the data itself.

    Rules (thresholds in ``docs/bad-input.md``):

    - ``before_1990`` (error): a timestamp or date before 1990-01-01.
    - ``after_extract_window`` (error): a timestamp or date later than the
      extract date plus :data:`LONGEST_CLOSE` (730 days). The extract date is
      the latest lead or deal creation, deal close or stage change that is not
      later than the check itself.
    - ``amount_outlier`` (warning): an amount more than 1,000 times the median
      won amount (the median of all positive amounts when nothing is won); the
      value is left out of every amount.

    The happy path reads nothing: the figures come from the validation query.
    Only a table whose extremes cross a threshold is scanned again for the rows.
    """
    usable = [c for c in checks if c.checked is not None]
    extracts = [c.stats.get("extract") for c in usable]
    extract = max((e for e in extracts if e is not None), default=None)
    medians = [c.stats.get("median_won") for c in usable if c.table.name == "opportunities"]
    median = next((m for m in medians if m is not None), None)
    cap = median * AMOUNT_OUTLIER_FACTOR if median else None
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for check in usable:
        latest_allowed = None if extract is None else extract + LONGEST_CLOSE
        rules: list[_Rule] = []
        for c in _time_columns(check.table):
            top = check.stats.get(f"max:{c.name}")
            if latest_allowed is not None and top is not None and top > latest_allowed:
                rules.append(
                    _Rule(
                        c.name,
                        "after_extract_window",
                        _as_instant(c) > pl.lit(latest_allowed, dtype=TIMESTAMP),
                        f"is later than {latest_allowed:%Y-%m-%d}, the extract date "
                        f"({extract:%Y-%m-%d}, the latest creation, change or close in the "
                        f"data) plus {LONGEST_CLOSE.days} days (the longest expected close)",
                        f"correct {c.name} in these rows (a mistyped year?)",
                        values=pl.col(c.name),
                        show=_as_string,
                    )
                )
        top_amount = check.stats.get("max:amount")
        if cap is not None and top_amount is not None and top_amount > cap:
            rules.append(
                _Rule(
                    "amount",
                    "amount_outlier",
                    pl.col("amount") > cap,
                    f"is more than {AMOUNT_OUTLIER_FACTOR:,.0f} times the median won amount "
                    f"({median:,.2f}); left out of every amount (bookings, pipeline, deal size, "
                    "win rate by amount), the deal still counts",
                    "check the amount (an extra zero, cents written as units, or a currency "
                    "not converted?) and correct it in the source",
                    values=pl.col("amount"),
                    show=_as_string,
                )
            )
        if not rules:
            continue  # the happy path: no table crosses a threshold, nothing is read again
        assert check.checked is not None  # usable checks only
        found, _ = _run_rules(check.raw.location, check.checked, rules, [])
        errors += [p for p in found if p.rule != "amount_outlier"]
        warnings += [p for p in found if p.rule == "amount_outlier"]
    return Plausibility(extract, cap, errors, warnings)


def _run_rules(
    location: str, frame: pl.LazyFrame, rules: Sequence[_Rule], extra: Sequence[pl.Expr]
) -> tuple[list[Problem], dict[str, object]]:
    """Problems of ``rules`` and the values of the ``extra`` aggregates, in one query."""
    if not rules and not extra:
        return [], {}
    aggs: list[pl.Expr] = list(extra)
    for i, r in enumerate(rules):
        bad = r.bad.fill_null(False)
        aggs.append(bad.sum().alias(f"n{i}"))
        aggs.append(pl.col(ROW).filter(bad).head(_SHOW_ROWS).implode().alias(f"r{i}"))
        if r.values is not None:
            shown = r.values.filter(bad).head(_SHOW_VALUES)
            aggs.append((r.show(shown) if r.show else shown).implode().alias(f"v{i}"))
    result = _collect_checked(frame.select(aggs), location).row(0, named=True)
    problems = []
    for i, r in enumerate(rules):
        n = int(result[f"n{i}"])
        if n == 0:
            continue
        message = r.message
        if r.values is not None:
            texts = [_show(v) for v in result[f"v{i}"] if v is not None]
            if texts:
                message += f"; found {', '.join(texts)}"
        problems.append(
            Problem(location, r.column, r.rule, message, r.fix, tuple(result[f"r{i}"]), n)
        )
    names = [e.meta.output_name() for e in extra]
    return problems, {k: result[k] for k in names}


def validate_references(
    history: RawTable, history_typed: pl.LazyFrame, opportunities: pl.LazyFrame
) -> list[Problem]:
    """stage_history rows must point at an opportunity that exists."""
    orphans = history_typed.with_row_index(ROW, offset=1).join(
        opportunities.select("opportunity_id"), on="opportunity_id", how="anti"
    )
    rule = _Rule(
        "opportunity_id",
        "unknown_reference",
        pl.col(ROW).is_not_null(),
        "names opportunities that are not in the opportunities table",
        "export stage history and opportunities at the same time, or drop the orphan rows",
        values=pl.col("opportunity_id"),
    )
    return _run_rules(history.location, orphans, [rule], [])[0]


def _collect_checked(frame: pl.LazyFrame, location: str) -> pl.DataFrame:
    try:
        return frame.collect()
    except pl.exceptions.PolarsError as exc:
        from alignment_lib.exceptions import SourceError

        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(
            f"cannot read '{location}': {text}; fix: check that the file is well-formed "
            "(same number of fields on every row, UTF-8, quoted text containing commas)"
        ) from exc


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
