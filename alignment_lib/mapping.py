"""Mapping files: a CRM export in its own columns, read as the kit's canonical tables.

A mapping is a TOML file (``docs/mapping.md`` documents every key) that says
where each canonical table comes from (a CSV or Parquet file, or a table or
query of a database source) and how the export's columns become the kit's:
renames, derived columns (polars SQL expressions: pure, lazy, no Python
callbacks), value maps (lead sources to marketing / sales / partner, stage
names to open / won / lost), time formats (day-first, epoch milliseconds),
the time zone of values without an offset, the currency and the extra
dimension columns to keep. Presets (``alignment_lib/presets/*.toml``) are
mappings for common exports; a mapping can extend one (``extends =
"salesforce"``) and override single keys.

:func:`load_mapping` reads a mapping into a :class:`Mapping`;
:func:`open_mapping` wraps a data location in a :class:`MappedSource`, a
:class:`~alignment_lib.sources.Source` whose tables are already in canonical
columns, so validation, metrics and pages do not know a mapping exists.

Every mistake is caught before a number is computed: an unknown key (a typo
is never silently ignored), a column the export does not have (with its
columns and close matches), a SQL expression that does not parse, an invalid
currency code or time zone (:class:`MappingError`, exit code 2), and values
the mapping cannot convert: a stage or lead source the value map does not
list, a date in none of the formats, an amount in another currency
(:class:`DataValidationError`, exit code 3, with counts and rows).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

if TYPE_CHECKING:
    from polars._typing import EpochTimeUnit

from alignment_lib.exceptions import DataValidationError, MappingError, Problem, SourceError
from alignment_lib.schema import TABLES, Table
from alignment_lib.secrets import expand
from alignment_lib.sources import (
    QuerySource,
    RawTable,
    Source,
    SourceOptions,
    Window,
    open_source,
    scan_file,
)

__all__ = [
    "PRESET_DIR",
    "ColumnSpec",
    "MappedSource",
    "Mapping",
    "QuerySource",
    "Stage",
    "TableSpec",
    "Unpivot",
    "list_presets",
    "load_mapping",
    "open_mapping",
]

#: where the presets live (shipped in the wheel as package data)
PRESET_DIR = Path(__file__).parent / "presets"

Outcome = Literal["open", "won", "lost"]
_OUTCOMES: tuple[Outcome, ...] = ("open", "won", "lost")
#: time format tokens besides strftime patterns
_EPOCHS: dict[str, EpochTimeUnit] = {"epoch_ms": "ms", "epoch_s": "s"}
_FORMAT_WORDS = {
    "iso": "ISO 8601",
    "epoch_ms": "epoch_ms (milliseconds since 1970-01-01 UTC)",
    "epoch_s": "epoch_s (seconds since 1970-01-01 UTC)",
}
_ISO = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_EPOCH = r"^-?\d+(?:\.0*)?$"
_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIMPLE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
#: row number column carried through the mapping (rows count from 1 under the header)
_ROW = "__mapping_row"
#: values shown per unmapped-value problem
_SHOW_VALUES = 10
_SHOW_ROWS = 5

# -- the keys a mapping may hold (anything else is a typo and an error) --------------------------
_TOP_KEYS = {
    "extends": "a preset name or another mapping file this one builds on",
    "location": "the data location (folder, database file or URI); --data overrides it",
    "env_file": "a .env-style file with the secrets ${VAR} in location refers to",
    "currency": "ISO 4217 code of every amount, e.g. EUR",
    "timezone": "time zone of values without an offset, e.g. Europe/Berlin",
    "date_format": "strftime format of date values that are not ISO 8601",
    "datetime_format": "strftime format of date-time values that are not ISO 8601",
    "day_first": "true: 03/04/2026 is 3 April",
    "ignore_column_case": "true: export column names match whatever their case",
    "dimensions": "extra columns to keep, e.g. ['product']",
    "report": "[report] defaults for the command line",
    "stages": "[stages] every stage name: open, won or lost, in funnel order",
    **{name: f"[{name}] where the {name} table comes from" for name in TABLES},
}
_REPORT_KEYS = {
    "fiscal_year_start_month": "month the fiscal year starts, 1-12",
    "timezone": "reporting time zone",
}
_TABLE_KEYS = {
    "file": "CSV or Parquet file, relative to the data folder",
    "table": "schema.name of a database table",
    "query": "SELECT ... in the database's dialect",
    "optional": "true: a missing file means the table is absent",
    "window_column": "column of a table or query that bounds the report's time window",
    "currency_column": "column holding each row's currency code (checked against currency)",
    "unpivot": "turn columns starting with a prefix into rows",
    "columns": "canonical column = export column or { from / sql / value ... }",
}
_UNPIVOT_KEYS = {
    "prefix": "columns whose name starts with it become rows",
    "name": "column receiving the rest of each column's name",
    "value": "column receiving each cell",
}
_COLUMN_KEYS = {
    "from": "export column",
    "sql": "polars SQL expression over the export's columns",
    "value": "a constant",
    "map": "value map: export value = kit value",
    "default": "kit value of every non-empty value the map does not list",
    "empty": "kit value of empty values",
    "format": "time format(s): strftime, iso, epoch_ms, epoch_s",
    "when": "open or closed: keep the value only for open (or closed) deals",
    "optional": "true: the column is left out when the export does not have it",
}
_STAGE_KEYS = {"name": "stage name in the kit", "outcome": "open, won or lost"}


@dataclass(frozen=True)
class Stage:
    """One stage of ``[stages]``: its name in the kit and whether it is open, won or lost."""

    name: str
    outcome: Outcome


@dataclass(frozen=True)
class Unpivot:
    """Columns named ``<prefix><x>`` become rows: ``name`` holds x, ``value`` the cell.

    Rows whose cell is empty are dropped (a stage never entered).
    """

    prefix: str
    name: str
    value: str


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical (or dimension) column is made from the export.

    Exactly one of ``source`` (an export column), ``sql`` (a polars SQL
    expression) and ``value`` (a constant). ``map``: export value -> kit value
    (None: empty); ``default``: the kit value of non-empty values the map does
    not list (None: such values are errors); ``empty``: the kit value of empty
    values (None: stay empty). ``formats``: how time values are written
    (strftime patterns, ``iso``, ``epoch_ms``, ``epoch_s``), tried in order.
    ``when``: keep the value only for open or closed deals. ``optional``: leave
    the column out when the export lacks a column it reads.
    """

    key: str
    name: str
    source: str | None = None
    sql: str | None = None
    value: str | None = None
    map: dict[str, str | None] | None = None
    default: str | None = None
    empty: str | None = None
    formats: tuple[str, ...] = ()
    when: Literal["open", "closed"] | None = None
    optional: bool = False

    @property
    def described(self) -> str:
        """Where the value comes from, for messages."""
        if self.source is not None:
            return f"column {self.source!r}"
        if self.sql is not None:
            return f"sql {self.sql!r}"
        return f"value {self.value!r}"


@dataclass(frozen=True)
class TableSpec:
    """Where one canonical table comes from, and how its columns are made.

    At most one of ``file``, ``table`` and ``query``; with none, the base
    source's own table of that name (in the kit's columns). ``columns`` None:
    the export already uses the kit's column names.
    """

    name: str
    file: str | None = None
    table: str | None = None
    query: str | None = None
    optional: bool = False
    window_column: str | None = None
    currency_column: str | None = None
    unpivot: Unpivot | None = None
    columns: dict[str, ColumnSpec | None] | None = None


@dataclass(frozen=True)
class Mapping:
    """A mapping file read and checked (presets and ``extends`` merged in).

    ``label`` names it in messages (the file, or ``preset salesforce``);
    ``folder`` is the folder of the file (relative paths start there).
    ``tables``: the tables the mapping names (None: left out with ``false``);
    a table it does not name comes from the data location as it is.
    ``stages``: ``[stages]`` in file order (funnel order).
    """

    label: str
    folder: Path | None
    path: Path | None = None
    location: str | None = None
    env_file: Path | None = None
    currency: str | None = None
    timezone: str | None = None
    date_format: str | None = None
    datetime_format: str | None = None
    day_first: bool = False
    ignore_column_case: bool = False
    dimensions: tuple[str, ...] = ()
    fiscal_year_start_month: int | None = None
    reporting_timezone: str | None = None
    stages: dict[str, Stage] = field(default_factory=dict)
    tables: dict[str, TableSpec | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short name for pages: ``mapping acme.toml`` or ``preset salesforce``."""
        return f"mapping {self.path.name}" if self.path is not None else self.label

    @property
    def stage_order(self) -> tuple[str, ...]:
        """Stage names in the kit, in the order ``[stages]`` lists them."""
        return tuple(dict.fromkeys(s.name for s in self.stages.values()))

    @property
    def report_defaults(self) -> dict[str, Any]:
        """``[report]`` as report parameters (the command line overrides them)."""
        values: dict[str, Any] = {}
        if self.fiscal_year_start_month is not None:
            values["fiscal_year_start_month"] = self.fiscal_year_start_month
        if self.reporting_timezone is not None:
            values["timezone"] = self.reporting_timezone
        return values

    def options(self, *, currency: str | None = None) -> SourceOptions:
        """What validation needs to know: zone and formats of time values, currency, dimensions."""
        return SourceOptions(
            timezone=self.timezone,
            currency=currency or self.currency or "USD",
            dimensions=self.dimensions,
            date_format=self.date_format,
            datetime_format=self.datetime_format,
            day_first=self.day_first,
        )


# == reading a mapping =============================================================================
def list_presets() -> list[str]:
    """The names of the presets shipped with the kit (``--preset NAME``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_mapping(ref: str | Path) -> Mapping:
    """Read a mapping file (or a preset, by name) with everything it extends.

    ``ref``: a path to a ``.toml`` file, or the name of a preset
    (:func:`list_presets`). Raises :class:`MappingError` naming the file and
    the key when the mapping cannot be used as written.
    """
    layers = _layers(str(ref), base_dir=None, chain=())
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge_top(merged, layer.values)
    top = layers[-1]
    label = top.label
    if len(layers) > 1:
        label += " (extends " + ", ".join(layer.label for layer in layers[:-1]) + ")"
    return _build(merged, label=label, folder=top.folder, path=top.path)


@dataclass(frozen=True)
class _Layer:
    label: str
    folder: Path | None
    path: Path | None
    values: dict[str, Any]


def _is_preset_name(ref: str) -> bool:
    return "/" not in ref and "\\" not in ref and not ref.endswith(".toml")


def _layers(ref: str, *, base_dir: Path | None, chain: tuple[str, ...]) -> list[_Layer]:
    """The mapping ``ref`` and what it extends, base first."""
    if _is_preset_name(ref) and not (base_dir is None and Path(ref).is_file()):
        path = PRESET_DIR / f"{ref}.toml"
        if not path.is_file():
            near = difflib.get_close_matches(ref, list_presets(), n=2)
            raise MappingError(
                f"there is no preset {ref!r}"
                + (f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else "")
                + f"; the presets are: {', '.join(list_presets())}; fix: name one of them, or "
                "give the path of a mapping file (ending in .toml)"
            )
        label, folder = f"preset {ref}", None
    else:
        path = Path(ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            hint = ""
            stem = Path(ref).stem
            if stem in list_presets():
                hint = f" (a preset of that name exists: use --preset {stem} or extends = {stem!r})"
            raise MappingError(
                f"mapping file '{path}' does not exist{hint}; fix: check the path (a relative "
                "path starts in the current folder, or in the folder of the mapping that "
                "extends it)"
            )
        label, folder = str(path), path.resolve().parent
    key = str(path.resolve())
    if key in chain:
        raise MappingError(
            f"{label}: extends itself through {' -> '.join(chain)}; fix: remove the loop of extends"
        )
    values = _read_toml(path, label)
    _check_layer(values, label)
    for name in ("location", "env_file"):
        # relative to the file that names them, whatever extends it
        text = values.get(name)
        if isinstance(text, str) and folder is not None and _is_relative_path(text):
            values[name] = str(folder / text)
    layer = _Layer(label, folder, path if folder is not None else None, values)
    parent = values.get("extends")
    if parent is None:
        return [layer]
    parent_dir = folder if folder is not None else PRESET_DIR
    try:
        parents = _layers(parent, base_dir=parent_dir, chain=(*chain, key))
    except MappingError as exc:
        if str(exc).startswith(("there is no preset", "mapping file")):
            raise MappingError(f"{label}: extends = {parent!r}: {exc}") from exc
        raise
    return [*parents, layer]


def _is_relative_path(text: str) -> bool:
    return "://" not in text and not text.startswith("${") and not Path(text).is_absolute()


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(f"{label}: is not UTF-8 text; fix: save it as UTF-8") from exc
    except OSError as exc:
        raise MappingError(f"cannot read {label}: {exc.strerror or exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            f"{label}: is not valid TOML: {exc}; fix: correct the syntax there (text values "
            'need quotes, e.g. currency = "EUR"; see docs/mapping.md)'
        ) from exc


# -- structure of one file ------------------------------------------------------------------------
def _unknown_key(label: str, where: str, key: str, known: dict[str, str] | Iterable[str]) -> str:
    names = list(known)
    near = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    place = f"[{where}]" if where else "the top level"
    return (
        f"{label}: unknown key {key!r} in {place}"
        + (f" (did you mean {near[0]!r}?)" if near else "")
        + f"; the keys there are: {', '.join(names)}; fix: correct or remove it (a misspelled key "
        "would otherwise be silently ignored)"
    )


def _check_keys(values: dict[str, Any], known: dict[str, str], label: str, where: str) -> None:
    for key in values:
        if key not in known:
            raise MappingError(_unknown_key(label, where, key, known))


def _type_error(label: str, key: str, expected: str, value: object) -> MappingError:
    return MappingError(
        f"{label}: {key} must be {expected}, found {value!r}; fix: write {expected}"
    )


def _expect(value: object, kind: type | tuple[type, ...], label: str, key: str, what: str) -> None:
    if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
        raise _type_error(label, key, what, value)
    if not isinstance(value, kind):
        raise _type_error(label, key, what, value)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _check_layer(values: dict[str, Any], label: str) -> None:
    """Keys and value types of one file (before it is merged with what it extends)."""
    _check_keys(values, _TOP_KEYS, label, "")
    for key in ("extends", "location", "env_file", "currency", "timezone"):
        if key in values:
            _expect(values[key], str, label, key, "a text in quotes")
    for key in ("date_format", "datetime_format"):
        if key in values:
            _expect(values[key], str, label, key, 'a strftime pattern in quotes, e.g. "%d/%m/%Y"')
    for key in ("day_first", "ignore_column_case"):
        if key in values:
            _expect(values[key], bool, label, key, "true or false")
    if "dimensions" in values:
        dims = values["dimensions"]
        if not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
            raise _type_error(label, "dimensions", 'a list of column names, e.g. ["product"]', dims)
    if "report" in values:
        _expect(values["report"], dict, label, "report", "a table: [report]")
        _check_keys(values["report"], _REPORT_KEYS, label, "report")
    if "stages" in values:
        _expect(values["stages"], dict, label, "stages", "a table: [stages]")
        for stage, spec in values["stages"].items():
            key = f"[stages] {stage!r}"
            if isinstance(spec, dict):
                _check_keys(spec, _STAGE_KEYS, label, f"stages.{_quoted(stage)}")
            elif not isinstance(spec, str):
                raise _type_error(label, key, '"open", "won", "lost" or { name, outcome }', spec)
    for name in TABLES:
        if name not in values:
            continue
        spec = values[name]
        if spec is False:
            continue
        _expect(spec, dict, label, name, f"a table: [{name}] (or false to leave it out)")
        _check_keys(spec, _TABLE_KEYS, label, name)
        if "unpivot" in spec:
            _expect(spec["unpivot"], dict, label, f"[{name}] unpivot", "a table")
            _check_keys(spec["unpivot"], _UNPIVOT_KEYS, label, f"{name}.unpivot")
        if "columns" in spec:
            _expect(spec["columns"], dict, label, f"[{name}] columns", "a table")
            for column, cspec in spec["columns"].items():
                if isinstance(cspec, dict):
                    _check_keys(cspec, _COLUMN_KEYS, label, f"{name}.columns.{_quoted(column)}")


def _quoted(key: str) -> str:
    return key if _SIMPLE_IDENTIFIER.match(key) else f'"{key}"'


# -- merging what a mapping extends ---------------------------------------------------------------
_SOURCE_KEYS = ("from", "sql", "value")
_TABLE_SOURCE_KEYS = ("file", "table", "query")


def _merge_top(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key == "extends":
            continue
        if key in TABLES and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_table(out[key], value)
        elif key in ("report", "stages") and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def _merge_table(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    if any(k in over for k in _TABLE_SOURCE_KEYS):
        # file, table and query are alternatives: naming one replaces the other
        for k in _TABLE_SOURCE_KEYS:
            out.pop(k, None)
    for key, value in over.items():
        if key == "columns" and isinstance(value, dict) and isinstance(out.get(key), dict):
            columns = dict(out[key])
            for name, spec in value.items():
                columns[name] = _merge_column(columns.get(name), spec)
            out[key] = columns
        elif key == "unpivot" and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _merge_column(base: object, over: object) -> object:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    if any(k in over for k in _SOURCE_KEYS):
        for k in _SOURCE_KEYS:
            out.pop(k, None)
    for key, value in over.items():
        if key == "map" and isinstance(value, dict) and isinstance(out.get("map"), dict):
            out["map"] = {**out["map"], **value}
        else:
            out[key] = value
    return out


# -- the merged mapping into the model ------------------------------------------------------------
def _build(
    values: dict[str, Any], *, label: str, folder: Path | None, path: Path | None
) -> Mapping:
    report = values.get("report", {})
    month = report.get("fiscal_year_start_month")
    if month is not None and (isinstance(month, bool) or not isinstance(month, int)):
        raise _type_error(label, "[report] fiscal_year_start_month", "a whole number 1-12", month)
    if month is not None and not 1 <= month <= 12:
        raise MappingError(
            f"{label}: [report] fiscal_year_start_month must be 1-12 (the month the fiscal "
            f"year starts), found {month}; fix: e.g. 2 for February"
        )
    if "timezone" in report:
        _expect(report["timezone"], str, label, "[report] timezone", "a time zone name in quotes")
    dimensions = tuple(values.get("dimensions", ()))
    _check_dimensions(dimensions, label)
    env_file = values.get("env_file")
    if env_file is not None and not Path(env_file).is_file():
        raise MappingError(
            f"{label}: env_file '{env_file}' does not exist; fix: create it (lines NAME=value) "
            "or remove env_file to read ${VAR} from the environment only"
        )
    for key in ("date_format", "datetime_format"):
        if values.get(key) is not None:
            _check_strftime(values[key], label, key)
            text = values[key]
            if values.get("day_first") and 0 <= text.find("%m") < text.find("%d"):
                raise MappingError(
                    f"{label}: day_first = true, but {key} {text!r} reads the month first (and "
                    "is tried first); fix: set "
                    + ('date_format = "%d/%m/%Y"' if key == "date_format" else key + " = ...")
                    + " with the day first, or leave day_first out"
                )
    mapping = Mapping(
        label=label,
        folder=folder,
        path=path,
        location=values.get("location"),
        env_file=Path(env_file) if env_file else None,
        currency=_currency(values["currency"], label, "currency") if "currency" in values else None,
        timezone=_zone(values["timezone"], label, "timezone") if "timezone" in values else None,
        date_format=values.get("date_format"),
        datetime_format=values.get("datetime_format"),
        day_first=bool(values.get("day_first", False)),
        ignore_column_case=bool(values.get("ignore_column_case", False)),
        dimensions=dimensions,
        fiscal_year_start_month=month,
        reporting_timezone=(
            _zone(report["timezone"], label, "[report] timezone") if "timezone" in report else None
        ),
        stages=_stages(values.get("stages", {}), label),
        tables={
            name: _table(TABLES[name], values[name], label, dimensions)
            for name in TABLES
            if name in values
        },
    )
    for spec in mapping.tables.values():
        if not spec:
            continue
        for column in (spec.columns or {}).values():
            if column is not None and column.when and not _has_outcome(mapping, spec):
                raise MappingError(
                    f"{label}: {column.key}: when = {column.when!r} needs each deal's outcome; "
                    "fix: map [opportunities.columns] outcome, or list every stage in [stages] "
                    "with open, won or lost"
                )
    return mapping


def _has_outcome(mapping: Mapping, spec: TableSpec) -> bool:
    columns = spec.columns or {}
    if columns.get("outcome") is not None:
        return True
    return bool(mapping.stages) and columns.get("stage") is not None


def _check_dimensions(dimensions: tuple[str, ...], label: str) -> None:
    canonical = {c for t in TABLES.values() for c in t.column_names}
    for d in dimensions:
        if not _DIMENSION.match(d):
            raise MappingError(
                f"{label}: dimensions: {d!r} is not a usable column name (letters, digits and _, "
                "not starting with a digit); fix: name it e.g. "
                f"{re.sub(r'[^A-Za-z0-9_]+', '_', d).strip('_').lower() or 'dimension'!r} and map "
                "it from the export's column in [<table>.columns]"
            )
        if d in canonical:
            raise MappingError(
                f"{label}: dimensions: {d!r} is a column of the kit's own tables, not an extra "
                "dimension; fix: remove it from dimensions (map it in [<table>.columns])"
            )
    dups = sorted({d for d in dimensions if dimensions.count(d) > 1})
    if dups:
        raise MappingError(f"{label}: dimensions lists {', '.join(dups)} more than once")


def _currency(code: object, label: str, key: str) -> str:
    from babel.numbers import list_currencies

    known = list_currencies()
    text = str(code).strip().upper()
    if isinstance(code, str) and text in known and len(text) == 3:
        return text
    near = difflib.get_close_matches(text, sorted(known), n=3, cutoff=0.5)
    raise MappingError(
        f"{label}: {key} {code!r} is not an ISO 4217 currency code"
        + (f" (did you mean {', '.join(near)}?)" if near else "")
        + '; fix: write the three-letter code, e.g. currency = "EUR" (USD, GBP, JPY, ...)'
    )


def _zone(name: object, label: str, key: str) -> str:
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        near = difflib.get_close_matches(str(name), sorted(zoneinfo.available_timezones()), n=3)
        raise MappingError(
            f"{label}: {key} {name!r} is not a time zone"
            + (f" (did you mean {', '.join(near)}?)" if near else "")
            + '; fix: use an IANA name such as "Europe/Berlin" or "America/New_York"'
        ) from exc
    return str(name)


def _check_strftime(fmt: str, label: str, key: str) -> None:
    """A strftime pattern polars can read back (an unknown directive would match nothing)."""
    when = dt.datetime(2026, 3, 31, 17, 45, 30)
    has_time = _has_time(fmt)
    dtype = pl.Datetime("us", "UTC" if "%z" in fmt else None) if has_time else pl.Date
    try:
        probe = pl.select(
            pl.lit(when, dtype=pl.Datetime("us", "UTC" if "%z" in fmt else None))
            .dt.strftime(fmt)
            .str.strptime(dtype, fmt, strict=False)
        ).item()
    except (pl.exceptions.PolarsError, ValueError):
        probe = None
    if "%" not in fmt or probe is None:
        raise MappingError(
            f"{label}: {key} {fmt!r} is not a date format the kit can read; fix: write a "
            'strftime pattern such as "%d/%m/%Y", "%m/%d/%Y %I:%M %p" or "%d.%m.%Y %H:%M" '
            "(%d day, %m month, %Y year, %H hour, %I hour 1-12, %M minute, %S second, %p AM/PM)"
        )


def _has_time(fmt: str) -> bool:
    return any(d in fmt for d in ("%H", "%I", "%M", "%S", "%T", "%R", "%z", "%s"))


def _stages(values: dict[str, Any], label: str) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for raw_name, spec in values.items():
        key = f"[stages] {raw_name!r}"
        name, outcome = str(raw_name).strip(), spec
        if isinstance(spec, dict):
            outcome = spec.get("outcome")
            if "name" in spec:
                _expect(spec["name"], str, label, f"{key} name", "a stage name in quotes")
                name = spec["name"].strip()
            if outcome is None:
                raise MappingError(
                    f'{label}: {key} has no outcome; fix: add outcome = "open" (or "won", "lost")'
                )
        if outcome not in _OUTCOMES:
            near = difflib.get_close_matches(str(outcome), _OUTCOMES, n=1)
            raise MappingError(
                f"{label}: {key} must be open, won or lost, found {outcome!r}"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f'; fix: e.g. {_quoted(str(raw_name))} = "open"'
            )
        stages[str(raw_name).strip()] = Stage(name, outcome)
    return stages


def _table(table: Table, values: object, label: str, dims: tuple[str, ...]) -> TableSpec | None:
    if values is False:
        return None
    assert isinstance(values, dict)
    where = f"[{table.name}]"
    named = [k for k in _TABLE_SOURCE_KEYS if k in values]
    if len(named) > 1:
        raise MappingError(
            f"{label}: {where} names {' and '.join(named)}; fix: keep one (file for a CSV or "
            "Parquet file, table or query for a database)"
        )
    for key in (*_TABLE_SOURCE_KEYS, "window_column", "currency_column"):
        if key in values:
            _expect(values[key], str, label, f"{where} {key}", "a text in quotes")
            if not values[key].strip():
                raise MappingError(f"{label}: {where} {key} is empty; fix: name it or remove it")
    if "optional" in values:
        _expect(values["optional"], bool, label, f"{where} optional", "true or false")
    if "table" in values:
        _table_identifier(values["table"], label, where)
    unpivot = None
    if "unpivot" in values:
        u = values["unpivot"]
        missing = [k for k in _UNPIVOT_KEYS if k not in u]
        if missing:
            raise MappingError(
                f"{label}: [{table.name}.unpivot] needs {', '.join(missing)}; fix: e.g. unpivot = "
                '{ prefix = "hs_date_entered_", name = "stage_id", value = "entered_at" }'
            )
        for k in _UNPIVOT_KEYS:
            _expect(u[k], str, label, f"[{table.name}.unpivot] {k}", "a text in quotes")
        unpivot = Unpivot(u["prefix"], u["name"], u["value"])
    columns = None
    if "columns" in values:
        columns = {
            name: _column(table, name, spec, label, dims)
            for name, spec in values["columns"].items()
        }
    return TableSpec(
        name=table.name,
        file=values.get("file"),
        table=values.get("table"),
        query=values.get("query"),
        optional=bool(values.get("optional", False)),
        window_column=values.get("window_column"),
        currency_column=values.get("currency_column"),
        unpivot=unpivot,
        columns=columns,
    )


def _table_identifier(name: str, label: str, where: str) -> None:
    parts = name.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.strip() for p in parts):
        raise MappingError(
            f"{label}: {where} table {name!r} is not a table name; fix: write schema.name "
            '(e.g. "crm.opportunities"), or use query = "SELECT ..." for anything else'
        )


def _column(
    table: Table, name: str, spec: object, label: str, dims: tuple[str, ...]
) -> ColumnSpec | None:
    key = f"[{table.name}.columns] {_quoted(name)}"
    if name not in table.column_names and name not in dims:
        near = difflib.get_close_matches(name, [*table.column_names, *dims], n=1, cutoff=0.6)
        raise MappingError(
            f"{label}: {key}: {name!r} is not a column of the {table.name} table"
            + (f" (did you mean {near[0]!r}?)" if near else "")
            + f"; its columns are: {', '.join(table.column_names)}"
            + (f"; the dimensions: {', '.join(dims)}" if dims else "")
            + "; fix: correct the name, or add it to dimensions = [...] to keep an extra column"
        )
    if spec is False:
        return None
    if isinstance(spec, str):
        if not spec.strip():
            raise MappingError(
                f"{label}: {key} is empty; fix: write the export's column name, or false to "
                "leave the column out"
            )
        return ColumnSpec(key, name, source=spec)
    if not isinstance(spec, dict):
        raise _type_error(
            label, key, 'an export column name in quotes, { from = "..." , ... }, or false', spec
        )
    given = [k for k in _SOURCE_KEYS if k in spec]
    if len(given) != 1:
        raise MappingError(
            f"{label}: {key} needs exactly one of from, sql and value"
            + (f", found {' and '.join(given)}" if given else "")
            + '; fix: e.g. { from = "LeadSource", map = { ... } } or { sql = "CASE ... END" }'
        )
    canonical = table.column(name) if name in table.column_names else None
    allowed = _allowed(canonical)
    for k in ("from", "sql"):
        if k in spec:
            _expect(spec[k], str, label, f"{key} {k}", "a text in quotes")
    value = spec.get("value")
    if value is not None:
        _expect(value, (str, int, float), label, f"{key} value", "a text or number")
        value = str(value)
        _check_allowed(value, allowed, label, f"{key} value")
    sql = spec.get("sql")
    if sql is not None:
        _parse_sql(sql, label, key)
    mapped = None
    if "map" in spec:
        _expect(spec["map"], dict, label, f"{key} map", 'a table: { "export value" = "kit value" }')
        mapped = {}
        for k, v in spec["map"].items():
            _expect(v, str, label, f"{key} map {k!r}", "a text in quotes")
            mapped[k.strip()] = _check_allowed(v, allowed, label, f"{key} map {k!r}")
    default = empty = None
    if "default" in spec:
        _expect(spec["default"], str, label, f"{key} default", "a text in quotes")
        if mapped is None:
            raise MappingError(f"{label}: {key} default needs a map; fix: add map = {{ ... }}")
        default = _check_allowed(spec["default"], allowed, label, f"{key} default") or ""
    if "empty" in spec:
        _expect(spec["empty"], str, label, f"{key} empty", "a text in quotes")
        empty = _check_allowed(spec["empty"], allowed, label, f"{key} empty") or ""
    formats: tuple[str, ...] = ()
    if "format" in spec:
        raw = spec["format"]
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(f, str) for f in items):
            raise _type_error(
                label, f"{key} format", 'a format or a list, e.g. ["epoch_ms", "iso"]', raw
            )
        if canonical is None or canonical.kind not in ("timestamp", "date"):
            raise MappingError(
                f"{label}: {key} format: {name!r} is not a date or time column; fix: remove format"
            )
        if mapped is not None:
            raise MappingError(f"{label}: {key} has both map and format; fix: keep one")
        for f in items:
            if f not in _FORMAT_WORDS:
                _check_strftime(f, label, f"{key} format")
        formats = tuple(items)
    when = spec.get("when")
    if when is not None:
        if when not in ("open", "closed"):
            raise MappingError(
                f'{label}: {key} when must be "open" or "closed", found {when!r}; fix: '
                'when = "closed" keeps the value only for closed deals'
            )
        if table.name != "opportunities" or name in ("outcome", "stage"):
            raise MappingError(
                f"{label}: {key} when applies to opportunities' columns other than stage and "
                "outcome; fix: remove when"
            )
    optional = spec.get("optional", False)
    _expect(optional, bool, label, f"{key} optional", "true or false")
    return ColumnSpec(
        key,
        name,
        source=spec.get("from"),
        sql=sql,
        value=value,
        map=mapped,
        default=default,
        empty=empty,
        formats=formats,
        when=when,
        optional=optional,
    )


def _allowed(column: Any) -> tuple[str, ...]:
    if column is None or not column.allowed:
        return ()
    return (*column.allowed, "open") if column.name == "outcome" else column.allowed


def _check_allowed(value: str, allowed: tuple[str, ...], label: str, key: str) -> str | None:
    """``value`` as the kit stores it (None: empty); an error when it is not an allowed value."""
    text = value.strip()
    if not text:
        return None
    if not allowed:
        return text
    lower = text.lower()
    if lower not in allowed:
        near = difflib.get_close_matches(lower, allowed, n=1, cutoff=0.5)
        raise MappingError(
            f"{label}: {key} is {value!r}, not one of {', '.join(allowed)}"
            + (f" (did you mean {near[0]!r}?)" if near else "")
            + "; fix: use one of them"
            + (' ("open" leaves the outcome empty: the deal is open)' if "open" in allowed else "")
        )
    return None if lower == "open" else lower


def _parse_sql(sql: str, label: str, key: str) -> pl.Expr:
    try:
        return pl.sql_expr(sql)
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise MappingError(
            f"{label}: {key} sql does not parse: {_first_line(exc)}; the expression: {sql!r}; "
            "fix: write a polars SQL expression over the export's columns, with column names "
            "that hold spaces in double quotes and text in single quotes, e.g. "
            "CASE WHEN \"Stage\" = 'Closed Won' THEN 'won' END"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# == the mapped source =============================================================================
def open_mapping(
    mapping: str | Path | Mapping, *, data: str | Path | Source | None = None
) -> MappedSource:
    """A :class:`MappedSource` over a data location.

    ``mapping``: a mapping file, a preset name or a loaded :class:`Mapping`.
    ``data``: the data location (a folder, or what ``open_source`` accepts);
    None or "": the mapping's ``location``, else the folder of the mapping file.
    """
    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    if data is not None and not isinstance(data, (str, Path)):
        return MappedSource(m, data, folder=None)
    location: str | None = str(data) if data not in (None, "") else None
    if location is None and m.location:
        # a URI keeps its ${VAR} references: the database source fills them in when it
        # connects and shows the location redacted (secrets.py)
        location = (
            m.location
            if "://" in m.location
            else _expand(m.location, env_file=m.env_file, label=m.label, key="location")
        )
    if location is None and m.folder is not None:
        location = str(m.folder)
    if location is None:
        raise MappingError(
            f"{m.label} names no data location; fix: pass the folder of the export with --data "
            "(or data_dir in a notebook)"
        )
    folder = Path(location) if Path(location).is_dir() else None
    base = open_source(location, env_file=m.env_file, check_names=False)
    return MappedSource(m, base, folder=folder)


def _expand(text: str, *, env_file: Path | None, label: str, key: str) -> str:
    """``${VAR}`` in ``text`` filled from the environment or the mapping's env_file.

    The one place a mapping reads secrets (:func:`alignment_lib.secrets.expand`);
    a variable that is not set is a :class:`MappingError` naming the key.
    """
    if "${" not in text:
        return text
    try:
        return expand(text, env_file=env_file)
    except SourceError as exc:
        raise MappingError(f"{label}: {key}: {exc}") from None


@dataclass
class _Check:
    """A per-row check of mapped values: which rows fail, with what value, and what to say."""

    rule: str
    column: str
    bad: pl.Expr
    shown: pl.Expr
    message: str
    fix: str


class MappedSource:
    """A source whose tables a mapping turns into the kit's canonical columns.

    ``base``: the data location's own source (a folder, a database); files the
    mapping names are read relative to ``folder`` (the data folder; None: the
    mapping file's folder). Tables the mapping does not name come from
    ``base`` unchanged. Each :meth:`scan` reads its export once more to check
    the values the mapping converts (value maps, formats, currency); the
    returned table is lazy.
    """

    def __init__(self, mapping: Mapping, base: Source, *, folder: Path | None) -> None:
        self.mapping = mapping
        self.base = base
        self.folder = folder
        self.description = f"{base.description} ({mapping.name})"
        self._options: SourceOptions | None = None

    @property
    def options(self) -> SourceOptions:
        """The mapping's options; without ``currency``, the export's one currency code."""
        if self._options is None:
            self._options = self.mapping.options(currency=self._export_currency())
        return self._options

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None:
        if table.name not in self.mapping.tables:
            return self.base.scan(table, window)
        spec = self.mapping.tables[table.name]
        if spec is None:
            return None
        raw = self._read(spec, table, window)
        if raw is None:
            return None
        return self._map(spec, table, raw)

    # -- reading the export ------------------------------------------------------------------
    def _read(self, spec: TableSpec, table: Table, window: Window | None) -> RawTable | None:
        m = self.mapping
        if spec.file is not None:
            return self._read_file(spec, table)
        if spec.table is not None or spec.query is not None:
            if not isinstance(self.base, QuerySource):
                what = "table" if spec.table is not None else "query"
                raise MappingError(
                    f"{m.label}: [{table.name}] {what}: the data location "
                    f"'{self.base.description}' is not a database; fix: point --data at the "
                    f'database, or read a file with file = "{table.name}.csv"'
                )
            sql = spec.query if spec.query is not None else f"SELECT * FROM {_quote(spec.table)}"
            assert sql is not None
            return self.base.scan_query(
                sql,
                name=table.name,
                window_column=spec.window_column,
                window=window if spec.window_column else None,
            )
        return self.base.scan(table, window)

    def _read_file(self, spec: TableSpec, table: Table) -> RawTable | None:
        m = self.mapping
        assert spec.file is not None
        text = _expand(spec.file, env_file=m.env_file, label=m.label, key=f"[{table.name}] file")
        path = Path(text).expanduser()
        if not path.is_absolute():
            root = self.folder or m.folder
            if root is None:
                raise MappingError(
                    f"{m.label}: [{table.name}] file {spec.file!r} is relative, but the data "
                    "location is not a folder; fix: give the file's full path"
                )
            path = root / path
        if path.is_file():
            return scan_file(path, table)
        if spec.optional:
            return None
        here = sorted(
            p.name
            for p in path.parent.glob("*")
            if p.suffix.lower() in (".csv", ".parquet") and p.is_file()
        )
        near = difflib.get_close_matches(path.name, here, n=2, cutoff=0.5)
        raise MappingError(
            f"{m.label}: [{table.name}] file: '{path}' does not exist"
            + (f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else "")
            + (
                f"; the folder holds: {', '.join(here)}"
                if here
                else "; the folder holds no CSV or Parquet file"
                if path.parent.is_dir()
                else f"; the folder '{path.parent}' does not exist"
            )
            + f"; fix: export the {table.name} table there, or correct file = ..."
            + ("" if table.required else f" (or write {table.name} = false if you have none)")
        )

    # -- the export's columns into the kit's --------------------------------------------------
    def _map(self, spec: TableSpec, table: Table, raw: RawTable) -> RawTable | None:
        m = self.mapping
        where = f"{m.label}, [{table.name}]"
        frame = raw.frame.with_row_index(_ROW, offset=1)
        names = list(raw.columns)
        specs = self._specs(spec, table, names)
        resolve = _Resolver(names, ignore_case=m.ignore_column_case)
        problems: list[str] = []
        aliases: dict[str, str] = {}
        used: dict[str, ColumnSpec] = {}
        unpivot = spec.unpivot
        produced = {unpivot.name, unpivot.value} if unpivot else set()
        for name, cs in specs.items():
            refs = _references(cs)
            missing = []
            for ref in refs:
                if ref in produced:
                    continue
                actual = resolve(ref)
                if actual is None:
                    missing.append(ref)
                else:
                    aliases[ref] = actual
            if missing and cs.optional:
                continue
            if missing:
                problems += [resolve.unknown(ref, cs, raw.location) for ref in missing]
                continue
            used[name] = cs
        if spec.currency_column is not None:
            currency_column = resolve(spec.currency_column)
            if currency_column is not None:
                aliases[spec.currency_column] = currency_column
        else:
            currency_column = None
        if problems:
            raise MappingError(
                f"{where}: the export does not have {len(problems)} column"
                f"{'s' if len(problems) > 1 else ''} the mapping reads:\n"
                + "\n".join(f"  - {p}" for p in problems)
            )
        frame = frame.with_columns(
            pl.col(actual).alias(ref) for ref, actual in aliases.items() if ref != actual
        )
        location = f"{raw.location} ({m.label}, [{table.name}])"
        if unpivot is not None:
            if spec.optional and not any(n.startswith(unpivot.prefix) for n in names):
                return None  # an optional table whose columns the export does not have
            keep = {r for cs in used.values() for r in _references(cs)}
            if currency_column is not None and spec.currency_column is not None:
                keep.add(spec.currency_column)
            frame, location = self._unpivot(frame, names, unpivot, keep, table, raw, location)
        columns, checks = self._columns(used, table, location)
        if spec.currency_column is not None and currency_column is not None:
            checks.append(self._currency_check(spec, table))
        self._check(frame, columns, checks, used, location, table)
        out = frame.select(expr.alias(name) for name, expr in columns.items())
        return RawTable(table.name, location, raw.format, out, tuple(columns))

    def _specs(self, spec: TableSpec, table: Table, names: list[str]) -> dict[str, ColumnSpec]:
        """The column specs of a table (without ``columns``: the export's canonical names)."""
        dims = self.mapping.dimensions
        if spec.columns is None:
            found = [c for c in [*table.column_names, *dims] if c in names]
            return {c: ColumnSpec(f"[{table.name}] {c}", c, source=c) for c in found}
        specs = {n: c for n, c in spec.columns.items() if c is not None}
        for d in dims:  # a dimension the mapping does not map keeps its export name
            if d not in spec.columns and d in names:
                specs[d] = ColumnSpec(f"[{table.name}.columns] {d}", d, source=d)
        return specs

    def _unpivot(
        self,
        frame: pl.LazyFrame,
        names: list[str],
        unpivot: Unpivot,
        keep: set[str],
        table: Table,
        raw: RawTable,
        location: str,
    ) -> tuple[pl.LazyFrame, str]:
        m = self.mapping
        on = [n for n in names if n.startswith(unpivot.prefix)]
        if not on:
            near = [n for n in names if unpivot.prefix.lower().rstrip("_") in n.lower()][:5]
            raise MappingError(
                f"{m.label}: [{table.name}.unpivot] prefix {unpivot.prefix!r}: no column of "
                f"'{raw.location}' starts with it"
                + (f" (similar: {', '.join(near)})" if near else "")
                + f"; the export's columns are: {_list(names)}; fix: correct the prefix, or "
                "export those columns"
            )
        index = [_ROW, *sorted(keep - {unpivot.name, unpivot.value})]
        value = pl.col(unpivot.value).cast(pl.String).str.strip_chars()
        frame = (
            frame.select(*index, *on)
            .with_columns(pl.col(on).cast(pl.String))
            .unpivot(on=on, index=index, variable_name=unpivot.name, value_name=unpivot.value)
            .with_columns(pl.col(unpivot.name).str.strip_prefix(unpivot.prefix))
            .filter(value.is_not_null() & (value.str.len_chars() > 0))
            .sort(_ROW, maintain_order=True)
        )
        return frame, f"{location[:-1]}, one row per {unpivot.prefix}* column with a value)"

    def _columns(
        self, used: dict[str, ColumnSpec], table: Table, location: str
    ) -> tuple[dict[str, pl.Expr], list[_Check]]:
        m = self.mapping
        columns: dict[str, pl.Expr] = {}
        checks: list[_Check] = []
        texts: dict[str, pl.Expr] = {}
        for name, cs in used.items():
            base = _base_expr(cs)
            text = _text(base)
            if cs.formats:
                kind = table.column(name).kind
                out, bad = _times(text, cs.formats, kind)
                tried = ", ".join(_FORMAT_WORDS.get(f, repr(f)) for f in cs.formats)
                checks.append(
                    _Check(
                        "unparseable_time",
                        _column_label(cs),
                        bad,
                        text,
                        f"has values in none of the formats {cs.key} gives ({tried}; mapping "
                        f"{m.label})",
                        f"correct these values in the export, or add their format to {cs.key} "
                        "format = [...] (docs/mapping.md, formats)",
                    )
                )
            elif cs.map is not None:
                out, bad = _mapped(text, cs)
                if cs.default is None:
                    example = next(iter(cs.map.values()), None) or "..."
                    checks.append(
                        _Check(
                            "unmapped_value",
                            _column_label(cs),
                            bad,
                            text,
                            f"has values that the map of {cs.key} does not list (mapping "
                            f"{m.label})",
                            "list each value in your mapping under "
                            f"[{table.name}.columns.{_quoted(name)}.map], e.g. "
                            f'"{{value}}" = "{example}" (a mapping that extends this one needs '
                            'only the new values), or give default = "..." for every value not '
                            "listed",
                        )
                    )
            elif cs.empty is not None:
                out = pl.when(text.is_null()).then(pl.lit(cs.empty or None, pl.String))
                out = out.otherwise(text)
            else:
                out = base
            if cs.empty is not None and (cs.map is not None or cs.formats):
                out = (
                    pl.when(text.is_null()).then(pl.lit(cs.empty or None, pl.String)).otherwise(out)
                )
            if name == "stage" and m.stages:
                stage_text = _text(out)
                keys = list(m.stages)
                out = stage_text.replace_strict(
                    keys,
                    [s.name for s in m.stages.values()],
                    default=pl.lit(None, pl.String),
                    return_dtype=pl.String,
                )
                checks.append(
                    _Check(
                        "unmapped_stage",
                        _column_label(cs),
                        stage_text.is_not_null() & ~stage_text.is_in(keys),
                        stage_text,
                        f"has stages that [stages] does not list (mapping {m.label})",
                        "list each stage under [stages] in your mapping with whether it is "
                        'open, won or lost, e.g. "{value}" = "open" (a mapping that extends this '
                        "one needs only the new stages)",
                    )
                )
                texts["stage"] = stage_text
            columns[name] = out
        if table.name == "opportunities" and "outcome" not in columns and "stage" in texts:
            # the outcome of each deal from its stage: won, lost, or empty while open
            columns["outcome"] = texts["stage"].replace_strict(
                list(m.stages),
                [None if s.outcome == "open" else s.outcome for s in m.stages.values()],
                default=pl.lit(None, pl.String),
                return_dtype=pl.String,
            )
        outcome = columns.get("outcome")
        for name, cs in used.items():
            if cs.when is not None and outcome is None:
                raise MappingError(
                    f"{m.label}: {cs.key} when = {cs.when!r} needs each deal's outcome, but "
                    f"'{location}' has none (the columns outcome or stage read are missing); "
                    "fix: export the columns that say whether a deal is closed and won"
                )
            if cs.when is not None and outcome is not None:
                closed = _text(outcome).is_in(["won", "lost"]).fill_null(False)
                keep = closed if cs.when == "closed" else ~closed
                columns[name] = pl.when(keep).then(columns[name])
        return columns, checks

    def _currency_check(self, spec: TableSpec, table: Table) -> _Check:
        assert spec.currency_column is not None
        code = self.options.currency
        text = _text(pl.col(spec.currency_column)).str.to_uppercase()
        return _Check(
            "other_currency",
            spec.currency_column,
            text.is_not_null() & (text != code),
            text,
            f"holds currencies other than {code}, the currency of every amount in this report "
            f"(mapping {self.mapping.label}"
            + ("" if self.mapping.currency else ", currency not set: the export's own code")
            + ")",
            f"convert the amounts into one currency before export (Salesforce: export the "
            "converted amount, e.g. a report's 'Amount (converted)' column), or set "
            f'currency = "..." in the mapping if every amount of {table.name} is in one currency',
        )

    def _check(
        self,
        frame: pl.LazyFrame,
        columns: dict[str, pl.Expr],
        checks: list[_Check],
        used: dict[str, ColumnSpec],
        location: str,
        table: Table,
    ) -> None:
        """Run every check in one query; raise with the values and rows of those that fail."""
        m = self.mapping
        for name, cs in used.items():
            if cs.sql is not None:
                try:
                    frame.select(columns[name]).collect_schema()
                except pl.exceptions.PolarsError as exc:
                    raise MappingError(
                        f"{m.label}: {cs.key} sql cannot be computed on '{location}': "
                        f"{_first_line(exc)}; the expression: {cs.sql!r}; fix: check the column "
                        "names and types it uses (CSV values are text: compare with 'true', "
                        "not true)"
                    ) from exc
        computed = [columns[n].null_count().alias(f"__n{n}") for n, cs in used.items() if cs.sql]
        aggs = [c.bad.fill_null(False).sum().alias(f"__bad{i}") for i, c in enumerate(checks)]
        if not aggs and not computed:
            return
        try:
            counts = frame.select(*aggs, *computed).collect().row(0, named=True)
        except pl.exceptions.PolarsError as exc:
            for name, cs in used.items():  # the slow path: which expression fails
                if cs.sql is None:
                    continue
                try:
                    frame.select(columns[name]).collect()
                except pl.exceptions.PolarsError as inner:
                    raise MappingError(
                        f"{m.label}: {cs.key} sql cannot be computed on '{location}': "
                        f"{_first_line(inner)}; the expression: {cs.sql!r}; fix: check the "
                        "column names and types it uses (CSV values are text: compare with "
                        "'true', not true; CAST(x AS DOUBLE) for numbers)"
                    ) from inner
            raise MappingError(
                f"{m.label}: [{table.name}]: the mapped columns cannot be computed on "
                f"'{location}': {_first_line(exc)}; fix: check the sql expressions and the "
                "columns they read"
            ) from exc
        problems = []
        for i, c in enumerate(checks):
            n = counts[f"__bad{i}"]
            if n:
                problems.append(self._problem(frame, c, int(n), location))
        if problems:
            raise DataValidationError(problems)

    def _problem(self, frame: pl.LazyFrame, check: _Check, n: int, location: str) -> Problem:
        bad = frame.filter(check.bad.fill_null(False))
        values = (
            bad.group_by(check.shown.alias("value"))
            .agg(pl.len().alias("n"), pl.col(_ROW).min().alias("first"))
            .sort(["n", "first"], descending=[True, False])
            .collect()
        )
        rows = tuple(bad.select(_ROW).head(_SHOW_ROWS).collect()[_ROW].to_list())
        shown = ", ".join(
            f"{v!r} ({k} row{'s' if k != 1 else ''})"
            for v, k in zip(
                values["value"].head(_SHOW_VALUES).to_list(),
                values["n"].head(_SHOW_VALUES).to_list(),
                strict=True,
            )
        )
        more = values.height - _SHOW_VALUES
        message = f"{check.message}: {shown}" + (f" and {more} more values" if more > 0 else "")
        first = str(values["value"][0]) if values.height else "..."
        fix = check.fix.replace("{value}", first.replace('"', '\\"'))
        return Problem(location, check.column, check.rule, message, fix, rows, n)

    def _export_currency(self) -> str | None:
        """The one currency code of the opportunities' currency column (None: not known)."""
        m = self.mapping
        spec = m.tables.get("opportunities")
        if m.currency or spec is None or spec.currency_column is None:
            return None
        raw = self._read(spec, TABLES["opportunities"], None)
        if raw is None:
            return None
        actual = _Resolver(list(raw.columns), ignore_case=m.ignore_column_case)(
            spec.currency_column
        )
        if actual is None:
            return None
        codes = (
            raw.frame.select(_text(pl.col(actual)).str.to_uppercase().drop_nulls().unique())
            .collect()
            .to_series()
            .to_list()
        )
        if len(codes) != 1:
            return None  # none, or several: the currency check then names them with counts
        return _currency(codes[0], f"{m.label}, [opportunities] {spec.currency_column}", "value")


class _Resolver:
    """Export column names as the mapping writes them -> as the export writes them."""

    def __init__(self, names: list[str], *, ignore_case: bool) -> None:
        self.names = names
        self.ignore_case = ignore_case
        self.lower: dict[str, list[str]] = {}
        for n in names:
            self.lower.setdefault(n.lower(), []).append(n)

    def __call__(self, ref: str) -> str | None:
        if ref in self.names:
            return ref
        if self.ignore_case and len(self.lower.get(ref.lower(), [])) == 1:
            return self.lower[ref.lower()][0]
        return None

    def unknown(self, ref: str, cs: ColumnSpec, location: str) -> str:
        hint = ""
        same = self.lower.get(ref.lower(), [])
        near = same or difflib.get_close_matches(ref, self.names, n=3, cutoff=0.6)
        if near:
            hint = f" (did you mean {' or '.join(repr(n) for n in near)}?"
            hint += " Names must match exactly, case included)" if same else ")"
        separated = ""
        if len(self.names) == 1:
            for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
                if sep in self.names[0]:
                    separated = (
                        f"; the file is separated by {what}, not commas: re-export it as "
                        "comma-separated UTF-8 CSV"
                    )
        fix = "write the column's name as the export's header writes it" + (
            ", or add optional = true to leave the column out" if not cs.optional else ""
        )
        return (
            f"{cs.key} reads column {ref!r}, which '{location}' does not have{hint}; its columns "
            f"are: {_list(self.names)}{separated}\n    fix: {fix}"
        )


def _list(names: list[str], limit: int = 40) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _references(cs: ColumnSpec) -> list[str]:
    if cs.source is not None:
        return [cs.source]
    if cs.sql is not None:
        return list(dict.fromkeys(pl.sql_expr(cs.sql).meta.root_names()))
    return []


def _base_expr(cs: ColumnSpec) -> pl.Expr:
    if cs.source is not None:
        return pl.col(cs.source)
    if cs.sql is not None:
        return pl.sql_expr(cs.sql)
    return pl.lit(cs.value, pl.String)


def _column_label(cs: ColumnSpec) -> str:
    return cs.source if cs.source is not None else cs.name


def _text(expr: pl.Expr) -> pl.Expr:
    """A value as trimmed text, empty text as null."""
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def _mapped(text: pl.Expr, cs: ColumnSpec) -> tuple[pl.Expr, pl.Expr]:
    assert cs.map is not None
    keys = list(cs.map)
    fallback = pl.lit(cs.default or None, pl.String) if cs.default is not None else None
    out = text.replace_strict(
        keys,
        list(cs.map.values()),
        default=fallback if fallback is not None else pl.lit(None, pl.String),
        return_dtype=pl.String,
    )
    out = pl.when(text.is_not_null()).then(out)
    bad = text.is_not_null() & ~text.is_in(keys)
    return out, bad


def _times(text: pl.Expr, formats: tuple[str, ...], kind: str) -> tuple[pl.Expr, pl.Expr]:
    """Time values in the given formats as ISO 8601 text (validation reads the zone and checks).

    Epoch values become UTC instants (``...Z``); strftime patterns without an
    offset stay wall-clock times, read later in the source's time zone.
    """
    candidates: list[pl.Expr] = []
    for f in formats:
        if f == "iso":
            candidates.append(pl.when(text.str.contains(_ISO)).then(text))
        elif f in _EPOCHS:
            number = pl.when(text.str.contains(_EPOCH)).then(text).cast(pl.Float64, strict=False)
            instant = pl.from_epoch(number.cast(pl.Int64, strict=False), time_unit=_EPOCHS[f])
            pattern = "%Y-%m-%d" if kind == "date" else "%Y-%m-%dT%H:%M:%S%.3fZ"
            candidates.append(instant.dt.strftime(pattern))
        elif not _has_time(f):
            candidates.append(text.str.strptime(pl.Date, f, strict=False).dt.strftime("%Y-%m-%d"))
        elif "%z" in f:
            parsed = text.str.strptime(pl.Datetime("us", "UTC"), f, strict=False)
            candidates.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        else:
            parsed = text.str.strptime(pl.Datetime("us"), f, strict=False)
            candidates.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
    out = pl.coalesce(candidates)
    return out, text.is_not_null() & out.is_null()


def _quote(name: str | None) -> str:
    """``schema.name`` as SQL: simple parts as written, others double-quoted."""
    assert name is not None
    return ".".join(
        p.strip() if _SIMPLE_IDENTIFIER.match(p.strip()) else '"' + p.replace('"', '""') + '"'
        for p in name.split(".")
    )
