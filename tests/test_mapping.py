"""Mapping files (alignment_lib/mapping.py): a CRM export in its own columns read as the kit's.

Each test writes a tiny export (a few rows, the CRM's own column names) and a
mapping, and checks the canonical rows the kit loads, worked out by hand:
renames, value maps, SQL-derived columns, the stage table, unpivoted columns,
time formats, currency and dimensions; then every error a mapping can raise,
asserting that it names the mapping file, the key, the offending values and the fix.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from alignment_lib.cli import main
from alignment_lib.exceptions import DataValidationError, MappingError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import load_funnel
from alignment_lib.mapping import list_presets, load_mapping, open_mapping
from alignment_lib.sources import RawTable, Window

UTC = dt.UTC


def export(folder: Path, name: str, rows: list[dict[str, str]]) -> Path:
    """A CSV export with the columns of the first row, in that order."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def mapping(folder: Path, text: str, name: str = "acme.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def deal(**values: str) -> dict[str, str]:
    row = {
        "Deal Id": "D1",
        "Created": "2026-01-10T09:00:00Z",
        "Stage": "Discovery",
        "Source": "Web",
        "Amount": "1000",
        "Close": "2026-03-31",
    }
    row.update(values)
    return row


DEALS = """
[opportunities]
file = "deals.csv"
[opportunities.columns]
opportunity_id = "Deal Id"
created_at = "Created"
stage = "Stage"
amount = "Amount"
source = { from = "Source", map = { "Web" = "marketing", "Cold Call" = "sales" } }
"""


def load(path: Path, **kwargs):
    return load_funnel(open_mapping(path, **kwargs), calendar=FiscalCalendar(1, "UTC"))


def rows(frame: pl.LazyFrame, *columns: str) -> list[dict]:
    return frame.select(columns).collect().to_dicts()


# == what a mapping does ===========================================================================
def test_renames_and_value_maps(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(), deal(**{"Deal Id": "D2", "Source": "Cold Call"})])
    data = load(mapping(tmp_path, DEALS))
    assert rows(
        data.opportunities, "opportunity_id", "created_at", "stage", "amount", "source"
    ) == [
        {
            "opportunity_id": "D1",
            "created_at": dt.datetime(2026, 1, 10, 9, tzinfo=UTC),
            "stage": "Discovery",
            "amount": 1000.0,
            "source": "marketing",
        },
        {
            "opportunity_id": "D2",
            "created_at": dt.datetime(2026, 1, 10, 9, tzinfo=UTC),
            "stage": "Discovery",
            "amount": 1000.0,
            "source": "sales",
        },
    ]
    # what the export does not have is absent, i.e. not tracked
    assert "opportunities.closed_at" not in data.tracking.tracked
    assert data.tracking.missing("closes")


def test_default_and_empty_of_a_value_map(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [deal(), deal(**{"Deal Id": "D2", "Source": ""}), deal(**{"Deal Id": "D3", "Source": "X"})],
    )
    text = DEALS.replace(
        'map = { "Web" = "marketing", "Cold Call" = "sales" }',
        'map = { "Web" = "marketing" }, default = "partner", empty = "sales"',
    )
    data = load(mapping(tmp_path, text))
    # Web is listed; empty -> empty = "sales"; X is not listed -> default = "partner"
    assert rows(data.opportunities, "source") == [
        {"source": "marketing"},
        {"source": "sales"},
        {"source": "partner"},
    ]


def test_sql_derived_outcome_and_close_only_when_closed(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [
            deal(IsClosed="true", IsWon="true", Close="2026-02-03"),
            deal(**{"Deal Id": "D2"}, IsClosed="true", IsWon="false", Close="2026-02-04"),
            deal(**{"Deal Id": "D3"}, IsClosed="false", IsWon="false", Close="2026-06-30"),
        ],
    )
    text = (
        DEALS
        + 'closed_at = { from = "Close", when = "closed" }\n'
        + 'expected_close_date = { from = "Close", when = "open" }\n'
        + "[opportunities.columns.outcome]\n"
        + "sql = \"CASE WHEN IsWon = 'true' THEN 'won' "
        + "WHEN IsClosed = 'true' THEN 'lost' END\"\n"
    )
    data = load(mapping(tmp_path, text))
    assert rows(data.opportunities, "outcome", "closed_at", "expected_close_date") == [
        {
            "outcome": "won",
            "closed_at": dt.datetime(2026, 2, 3, tzinfo=UTC),
            "expected_close_date": None,
        },
        {
            "outcome": "lost",
            "closed_at": dt.datetime(2026, 2, 4, tzinfo=UTC),
            "expected_close_date": None,
        },
        {"outcome": None, "closed_at": None, "expected_close_date": dt.date(2026, 6, 30)},
    ]


def test_stages_name_outcome_and_order(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [
            deal(Stage="Won"),
            deal(**{"Deal Id": "D2"}, Stage="Lost"),
            deal(**{"Deal Id": "D3"}, Stage="Demo"),
        ],
    )
    text = (
        DEALS
        + """closed_at = { from = "Close", when = "closed" }
[stages]
Demo = "open"
Won = { name = "Closed Won", outcome = "won" }
Lost = { name = "Closed Lost", outcome = "lost" }
"""
    )
    path = mapping(tmp_path, text)
    data = load(path)
    assert rows(data.opportunities, "stage", "outcome", "closed_at") == [
        {
            "stage": "Closed Won",
            "outcome": "won",
            "closed_at": dt.datetime(2026, 3, 31, tzinfo=UTC),
        },
        {
            "stage": "Closed Lost",
            "outcome": "lost",
            "closed_at": dt.datetime(2026, 3, 31, tzinfo=UTC),
        },
        {"stage": "Demo", "outcome": None, "closed_at": None},
    ]
    assert load_mapping(path).stage_order == ("Demo", "Closed Won", "Closed Lost")


def test_unpivot_stage_entered_columns_into_history(tmp_path: Path) -> None:
    # HubSpot-style: one column per stage holds the time the deal entered it (epoch ms)
    export(
        tmp_path,
        "deals.csv",
        [
            deal(Stage="b", entered_a="1767258000000", entered_b="1767344400000"),
            deal(**{"Deal Id": "D2"}, Stage="a", entered_a="1767430800000", entered_b=""),
        ],
    )
    text = (
        DEALS
        + """[stages]
a = { name = "Appointment", outcome = "open" }
b = { name = "Contract", outcome = "open" }
[stage_history]
file = "deals.csv"
unpivot = { prefix = "entered_", name = "stage_id", value = "at" }
[stage_history.columns]
opportunity_id = "Deal Id"
stage = "stage_id"
changed_at = { from = "at", format = "epoch_ms" }
"""
    )
    data = load(mapping(tmp_path, text))
    # 1767258000000 ms = 2026-01-01T09:00:00Z (20454 days * 86400 s + 9 h); +86400 s each step
    assert rows(data.stage_history, "opportunity_id", "stage", "changed_at") == [
        {
            "opportunity_id": "D1",
            "stage": "Appointment",
            "changed_at": dt.datetime(2026, 1, 1, 9, tzinfo=UTC),
        },
        {
            "opportunity_id": "D1",
            "stage": "Contract",
            "changed_at": dt.datetime(2026, 1, 2, 9, tzinfo=UTC),
        },
        {
            "opportunity_id": "D2",
            "stage": "Appointment",
            "changed_at": dt.datetime(2026, 1, 3, 9, tzinfo=UTC),
        },
    ]
    assert data.has_stage_history


def test_column_formats_epoch_iso_and_day_first(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [
            deal(Created="1767258000000", Close="31/03/2026"),
            deal(**{"Deal Id": "D2"}, Created="2026-01-02T10:30:00Z", Close="01/04/2026"),
        ],
    )
    text = (
        DEALS.replace(
            'created_at = "Created"',
            'created_at = { from = "Created", format = ["epoch_ms", "iso"] }',
        )
        + 'expected_close_date = { from = "Close", format = "%d/%m/%Y" }\n'
    )
    data = load(mapping(tmp_path, text))
    assert rows(data.opportunities, "created_at", "expected_close_date") == [
        {
            "created_at": dt.datetime(2026, 1, 1, 9, tzinfo=UTC),
            "expected_close_date": dt.date(2026, 3, 31),
        },
        {
            "created_at": dt.datetime(2026, 1, 2, 10, 30, tzinfo=UTC),
            "expected_close_date": dt.date(2026, 4, 1),
        },
    ]


def test_global_formats_and_time_zone_of_naive_values(tmp_path: Path) -> None:
    # a US report export: 3/4/2026 is 4 March; naive times are New York wall-clock times
    export(
        tmp_path,
        "deals.csv",
        [deal(Created="3/4/2026 5:45 PM", Close="3/31/2026")],
    )
    text = (
        'date_format = "%m/%d/%Y"\ndatetime_format = "%m/%d/%Y %I:%M %p"\n'
        'timezone = "America/New_York"\n' + DEALS + 'expected_close_date = "Close"\n'
    )
    data = load(mapping(tmp_path, text))
    # 17:45 EST (UTC-5) on 4 March = 22:45 UTC
    assert rows(data.opportunities, "created_at", "expected_close_date") == [
        {
            "created_at": dt.datetime(2026, 3, 4, 22, 45, tzinfo=UTC),
            "expected_close_date": dt.date(2026, 3, 31),
        }
    ]


def test_day_first_reads_day_month_year(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(Created="03/04/2026")])
    data = load(mapping(tmp_path, "day_first = true\n" + DEALS))
    assert rows(data.opportunities, "created_at") == [
        {"created_at": dt.datetime(2026, 4, 3, tzinfo=UTC)}
    ]


def test_currency_code_and_dimensions_reach_the_data(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(Product="Widgets", Currency="EUR")])
    text = (
        'currency = "eur"\ndimensions = ["product"]\n'
        + DEALS.replace('file = "deals.csv"', 'file = "deals.csv"\ncurrency_column = "Currency"')
        + 'product = "Product"\n'
    )
    data = load(mapping(tmp_path, text))
    assert data.currency == "EUR"
    assert data.dimensions == ("product",)
    assert rows(data.opportunities, "product") == [{"product": "Widgets"}]


def test_currency_is_the_exports_one_code_when_the_mapping_sets_none(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(Currency="GBP"), deal(**{"Deal Id": "D2"}, Currency="")])
    text = DEALS.replace('file = "deals.csv"', 'file = "deals.csv"\ncurrency_column = "Currency"')
    assert load(mapping(tmp_path, text)).currency == "GBP"


def test_tables_the_mapping_does_not_name_come_from_the_folder(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    export(
        tmp_path,
        "targets.csv",
        [{"fiscal_quarter": "FY2026-Q1", "metric": "bookings", "team": "shared", "value": "5"}],
    )
    data = load(mapping(tmp_path, DEALS))
    assert rows(data.targets, "value") == [{"value": 5.0}]
    assert not data.tracking.has_leads
    # false leaves a table out even when the folder has it
    data = load(mapping(tmp_path, DEALS + "\n[targets]\n", name="a.toml"))
    assert data.tracking.has_targets
    text = DEALS.replace("[opportunities]", "targets = false\n\n[opportunities]", 1)
    assert not load(mapping(tmp_path, text, name="b.toml")).tracking.has_targets


def test_optional_table_file_missing_means_no_table(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    text = DEALS + '[leads]\nfile = "Lead.csv"\noptional = true\n'
    assert not load(mapping(tmp_path, text)).tracking.has_leads


def test_extends_a_preset_with_one_line(tmp_path: Path) -> None:
    # the custom MQL field of a Salesforce org: one line on top of the preset
    export(
        tmp_path,
        "Lead.csv",
        [{"Id": "L1", "CreatedDate": "2026-01-05T09:00:00.000Z", "MQL_Date__c": "2026-01-06"}],
    )
    export(
        tmp_path,
        "Opportunity.csv",
        [
            {
                "Id": "O1",
                "CreatedDate": "2026-01-10T09:00:00.000Z",
                "StageName": "Prospecting",
                "IsClosed": "false",
                "IsWon": "false",
                "CloseDate": "2026-03-31",
                "LeadSource": "Webinar",
            }
        ],
    )
    path = mapping(tmp_path, 'extends = "salesforce"\n[leads.columns]\nmql_at = "MQL_Date__c"\n')
    data = load(path)
    assert rows(data.leads, "lead_id", "mql_at") == [
        {"lead_id": "L1", "mql_at": dt.datetime(2026, 1, 6, tzinfo=UTC)}
    ]
    assert rows(data.opportunities, "source", "expected_close_date", "outcome") == [
        {"source": "marketing", "expected_close_date": dt.date(2026, 3, 31), "outcome": None}
    ]
    assert "preset salesforce" in load_mapping(path).label


def test_extends_merges_a_value_map_and_false_removes_a_column(tmp_path: Path) -> None:
    base = mapping(tmp_path, DEALS + 'expected_close_date = "Close"\n', name="base.toml")
    export(tmp_path, "deals.csv", [deal(Source="Partner Day")])
    path = mapping(
        tmp_path,
        f'extends = "{base.name}"\n'
        "[opportunities.columns.source.map]\n"
        '"Partner Day" = "partner"\n'
        "[opportunities.columns]\n"
        "expected_close_date = false\n",
    )
    data = load(path)
    assert rows(data.opportunities, "source") == [{"source": "partner"}]
    m = load_mapping(path)
    spec = m.tables["opportunities"]
    assert spec is not None and spec.columns is not None
    assert spec.columns["source"].map == {  # type: ignore[union-attr]
        "Web": "marketing",
        "Cold Call": "sales",
        "Partner Day": "partner",
    }
    assert spec.columns["expected_close_date"] is None


def test_ignore_column_case_reads_upper_case_headers(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [{k.upper(): v for k, v in deal().items()}])
    data = load(mapping(tmp_path, "ignore_column_case = true\n" + DEALS))
    assert rows(data.opportunities, "opportunity_id", "source") == [
        {"opportunity_id": "D1", "source": "marketing"}
    ]


def test_location_with_a_variable_from_the_env_file(tmp_path: Path) -> None:
    export(tmp_path / "exports", "deals.csv", [deal()])
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / ".env").write_text(f"EXPORTS={tmp_path / 'exports'}\n")
    path = mapping(
        tmp_path / "conf", 'location = "${EXPORTS}"\nenv_file = ".env"\n' + DEALS, name="m.toml"
    )
    data = load(path)
    assert rows(data.opportunities, "opportunity_id") == [{"opportunity_id": "D1"}]
    assert data.source == "exports (mapping m.toml)"  # a folder by its name, never a full path


def test_mapping_without_location_reads_its_own_folder(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    assert load(mapping(tmp_path, DEALS)).opportunities.collect().height == 1


class FakeDatabase:
    """A database-like source (Stream A's DuckDB/PostgreSQL sources offer scan_query)."""

    description = "fake://crm"

    def __init__(self) -> None:
        from alignment_lib.sources import SourceOptions

        self.options = SourceOptions()
        self.queries: list[tuple[str, str, str | None, Window | None]] = []

    def scan(self, table, window=None):
        return None

    def scan_query(self, sql, *, name, window_column=None, window=None):
        self.queries.append((sql, name, window_column, window))
        frame = pl.LazyFrame({"Deal Id": ["D1"], "Created": ["2026-01-10T09:00:00Z"]})
        frame = frame.with_columns(Stage=pl.lit("Discovery"), Source=pl.lit("Web"), Amount=1.0)
        columns = tuple(frame.collect_schema().names())
        return RawTable(name, f"fake://crm [{name}]", "parquet", frame, columns)


def test_database_table_and_query_go_through_scan_query(tmp_path: Path) -> None:
    db = FakeDatabase()
    text = DEALS.replace(
        'file = "deals.csv"', 'table = "crm.Deal Table"\nwindow_column = "Created"'
    )
    m = load_mapping(mapping(tmp_path, text))
    source = open_mapping(m, data=db)
    window = Window(until=dt.datetime(2026, 3, 31, tzinfo=UTC))
    raw = source.scan(__import__("alignment_lib.schema").schema.OPPORTUNITIES, window)
    assert raw is not None
    assert raw.columns == ("opportunity_id", "created_at", "stage", "amount", "source")
    assert db.queries == [('SELECT * FROM crm."Deal Table"', "opportunities", "Created", window)]
    data = load_funnel(source)
    assert rows(data.opportunities, "source") == [{"source": "marketing"}]


# == every error names the mapping, the key, the values and the fix ================================
def error_of(exc_info) -> str:
    return str(exc_info.value)


def test_unknown_column_lists_the_exports_columns_and_close_matches(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    path = mapping(tmp_path, DEALS.replace('amount = "Amount"', 'amount = "Amout"'))
    with pytest.raises(MappingError) as exc:
        load(path)
    text = error_of(exc)
    assert str(path) in text and "[opportunities.columns] amount" in text
    assert "reads column 'Amout'" in text and "did you mean 'Amount'" in text
    assert "Deal Id, Created, Stage, Source, Amount, Close" in text
    assert "fix: write the column's name as the export's header writes it" in text


def test_unknown_column_of_a_semicolon_export_says_so(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text('"Deal Id";"Created"\n"D1";"2026-01-10"\n')
    with pytest.raises(MappingError) as exc:
        load(mapping(tmp_path, DEALS))
    assert "separated by semicolons" in error_of(exc)


def test_unmapped_source_values_are_listed_with_counts(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [
            deal(**{"Deal Id": f"D{i}"}, Source=s)
            for i, s in enumerate(["Web", "Fair", "Fair", "X"])
        ],
    )
    path = mapping(tmp_path, DEALS)
    with pytest.raises(DataValidationError) as exc:
        load(path)
    text = error_of(exc)
    assert "deals.csv" in text and "column 'Source'" in text
    assert "[opportunities.columns] source" in text and str(path) in text
    assert "'Fair' (2 rows), 'X' (1 row)" in text
    assert "(rows 2, 3, 4)" in text
    assert (
        'fix: list each value in your mapping under [opportunities.columns.source.map], e.g. "Fair"'
        ' = "marketing"' in text
    )


def test_unmapped_stages_are_listed_with_counts(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(), deal(**{"Deal Id": "D2"}, Stage="Contract Signed")])
    path = mapping(tmp_path, DEALS + '[stages]\nDiscovery = "open"\n')
    with pytest.raises(DataValidationError) as exc:
        load(path)
    text = error_of(exc)
    assert "column 'Stage'" in text and "has stages that [stages] does not list" in text
    assert "'Contract Signed' (1 row)" in text and "(row 2)" in text
    assert "list each stage under [stages] in your mapping" in text
    assert '"Contract Signed" = "open"' in text


def test_unparseable_date_in_a_column_format_names_the_formats_tried(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(Created="yesterday")])
    text = DEALS.replace(
        'created_at = "Created"', 'created_at = { from = "Created", format = ["epoch_ms", "iso"] }'
    )
    with pytest.raises(DataValidationError) as exc:
        load(mapping(tmp_path, text))
    message = error_of(exc)
    assert "column 'Created'" in message and "[opportunities.columns] created_at" in message
    assert "epoch_ms (milliseconds since 1970-01-01 UTC), ISO 8601" in message
    assert "'yesterday' (1 row)" in message and "fix: correct these values" in message


def test_unparseable_date_in_the_global_format_names_mapping_and_formats(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal(Created="2026-31-12")])
    path = mapping(tmp_path, 'date_format = "%d/%m/%Y"\n' + DEALS)
    with pytest.raises(DataValidationError) as exc:
        load(path)
    text = error_of(exc)
    assert "deals.csv (mapping acme.toml" not in text  # the full path names the file
    assert f"deals.csv ({path}, [opportunities])" in text
    assert "column 'created_at'" in text and "'%d/%m/%Y'" in text and "'2026-31-12'" in text


def test_amounts_in_other_currencies_are_listed(tmp_path: Path) -> None:
    export(
        tmp_path,
        "deals.csv",
        [deal(Currency="EUR"), deal(**{"Deal Id": "D2"}, Currency="usd")],
    )
    text = 'currency = "EUR"\n' + DEALS.replace(
        'file = "deals.csv"', 'file = "deals.csv"\ncurrency_column = "Currency"'
    )
    with pytest.raises(DataValidationError) as exc:
        load(mapping(tmp_path, text))
    message = error_of(exc)
    assert "column 'Currency'" in message and "currencies other than EUR" in message
    assert "'USD' (1 row)" in message and "fix: convert the amounts" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('currency = "EURO"\n', ["currency 'EURO' is not an ISO 4217 currency code", "EUR"]),
        (
            'curency = "EUR"\n',
            ["unknown key 'curency' in the top level", "did you mean 'currency'"],
        ),
        (
            DEALS.replace('file = "deals.csv"', 'flie = "deals.csv"'),
            ["unknown key 'flie' in [opportunities]", "did you mean 'file'"],
        ),
        (
            DEALS.replace("{ from =", "{ frm =", 1),
            ["unknown key 'frm' in [opportunities.columns.source]", "did you mean 'from'"],
        ),
        (
            DEALS.replace('stage = "Stage"', 'stag = "Stage"'),
            ["[opportunities.columns] stag: 'stag' is not a column", "did you mean 'stage'"],
        ),
        (
            DEALS + 'outcome = { sql = "CASE WHEN x = THEN 1" }\n',
            ["[opportunities.columns] outcome sql does not parse", "CASE WHEN x = THEN 1"],
        ),
        (
            DEALS.replace('"marketing"', '"markting"'),
            ["map 'Web' is 'markting', not one of marketing, sales, partner", "'marketing'"],
        ),
        ('timezone = "Europe/Berln"\n', ["'Europe/Berln' is not a time zone", "Europe/Berlin"]),
        ('date_format = "%Q"\n', ["date_format '%Q' is not a date format", "%d/%m/%Y"]),
        (
            'day_first = true\ndate_format = "%m/%d/%Y"\n',
            ["day_first = true, but date_format '%m/%d/%Y' reads the month first"],
        ),
        ("currency = EUR\n", ["is not valid TOML", 'currency = "EUR"']),
        ('extends = "salesfroce"\n', ["no preset 'salesfroce'", "did you mean 'salesforce'"]),
        ("[report]\nfiscal_year_start_month = 13\n", ["fiscal_year_start_month must be 1-12"]),
        ('dimensions = ["Lead Type"]\n', ["'Lead Type' is not a usable column name", "lead_type"]),
        (
            DEALS + 'closed_at = { from = "Close", when = "closed" }\n',
            ["when = 'closed' needs each deal's outcome"],
        ),
        ('[stages]\nWon = "win"\n', ["[stages] 'Won' must be open, won or lost", "'won'"]),
    ],
)
def test_mapping_errors_name_the_file_key_and_fix(tmp_path: Path, text, expected) -> None:
    export(tmp_path, "deals.csv", [deal()])
    path = mapping(tmp_path, text)
    with pytest.raises(MappingError) as exc:
        load(path)
    message = error_of(exc)
    assert str(path) in message
    for part in expected:
        assert part in message
    assert "fix:" in message or "did you mean" in message


def test_sql_that_cannot_be_computed_names_the_key(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    path = mapping(tmp_path, DEALS + 'amount = { sql = "Amount * 2 + Stage" }\n')
    with pytest.raises(MappingError) as exc:
        load(path)
    # amount is given twice in the TOML: that is the TOML error, caught first
    assert "is not valid TOML" in error_of(exc)
    text = DEALS.replace('amount = "Amount"', "amount = { sql = \"Stage - 'x'\" }")
    with pytest.raises(MappingError) as exc:
        load(mapping(tmp_path, text, name="b.toml"))
    message = error_of(exc)
    assert "[opportunities.columns] amount sql cannot be computed" in message
    assert "fix: check the column names and types" in message


def test_missing_file_lists_the_folder(tmp_path: Path) -> None:
    export(tmp_path, "Deals.csv", [deal()])
    path = mapping(tmp_path, DEALS)
    with pytest.raises(MappingError) as exc:
        load(path)
    message = error_of(exc)
    assert "[opportunities] file" in message and "deals.csv' does not exist" in message
    assert "did you mean 'Deals.csv'" in message and "the folder holds: Deals.csv" in message


def test_missing_mapping_file_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"mapping file '.*nope.toml' does not exist"):
        load_mapping(tmp_path / "nope.toml")
    with pytest.raises(MappingError, match="the presets are: hubspot, salesforce"):
        load_mapping("hubspotx")


def test_query_against_a_folder_is_an_error(tmp_path: Path) -> None:
    export(tmp_path, "deals.csv", [deal()])
    path = mapping(tmp_path, DEALS.replace('file = "deals.csv"', 'query = "SELECT * FROM deals"'))
    with pytest.raises(MappingError, match=r"\[opportunities\] query: the data location .* is not"):
        load(path)


def test_missing_env_variable_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ALIGNMENT_TEST_NOPE", raising=False)
    path = mapping(tmp_path, 'location = "${ALIGNMENT_TEST_NOPE}/x"\n' + DEALS)
    with pytest.raises(MappingError, match=r"ALIGNMENT_TEST_NOPE"):
        load(path)


def test_mapping_loops_are_refused(tmp_path: Path) -> None:
    mapping(tmp_path, 'extends = "b.toml"\n', name="a.toml")
    mapping(tmp_path, 'extends = "a.toml"\n', name="b.toml")
    with pytest.raises(MappingError, match="extends itself"):
        load_mapping(tmp_path / "a.toml")


# == the command line ==============================================================================
def test_cli_mapping_errors_exit_2_and_value_errors_exit_3(tmp_path: Path, capsys) -> None:
    export(tmp_path, "deals.csv", [deal(Source="Fair")])
    bad_key = mapping(tmp_path, "curency = 'EUR'\n", name="bad.toml")
    assert main(["validate", "--mapping", str(bad_key)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'curency'" in err and "Traceback" not in err
    assert main(["validate", "--mapping", str(mapping(tmp_path, DEALS))]) == 3
    err = capsys.readouterr().err
    assert "'Fair' (1 row)" in err and "Traceback" not in err


def test_cli_unknown_preset_lists_the_presets(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--preset", "salesfroce", "--data", str(tmp_path)]) == 4
    assert f"the presets are: {', '.join(list_presets())}" in capsys.readouterr().err


def test_cli_mapping_and_preset_are_exclusive(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--preset", "salesforce", "--mapping", "x.toml"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_preset_needs_the_data_folder(capsys) -> None:
    assert main(["validate", "--preset", "hubspot"]) == 2
    assert "preset hubspot names no data location; fix: pass" in capsys.readouterr().err


def test_cli_validate_with_a_mapping_and_its_report_defaults(tmp_path: Path, capsys) -> None:
    export(tmp_path, "deals.csv", [deal()])
    path = mapping(tmp_path, DEALS + "[report]\nfiscal_year_start_month = 4\n")
    assert main(["validate", "--mapping", str(path)]) == 0
    assert f"{tmp_path.name} (mapping acme.toml): valid (0 leads, 1 opportunities" in (
        capsys.readouterr().out
    )
    from alignment_lib.cli import _merge, _parser, _with_mapping

    args = _parser().parse_args(["validate", "--mapping", str(path)])
    assert _merge(args, _with_mapping(args, {}))["fiscal_year_start_month"] == 4
    args = _parser().parse_args(["validate", "--mapping", str(path), "--fiscal-year-start", "2"])
    assert _merge(args, _with_mapping(args, {}))["fiscal_year_start_month"] == 2


def test_the_complete_mapping_in_the_docs_works(tmp_path: Path, monkeypatch) -> None:
    """docs/mapping.md's worked example, on a small export written for it."""
    from tests.conftest import REPO

    doc = (REPO / "docs" / "mapping.md").read_text(encoding="utf-8")
    section = doc[doc.index("## A complete mapping") :]
    start = section.index("```toml\n") + 8
    text = section[start : section.index("\n```", start)]
    crm = tmp_path / "exports" / "crm"
    export(
        crm,
        "kontakte.csv",
        [
            {
                "Kontakt-ID": "K1",
                "Erstellt am": "16.10.2023 14:05",
                "MQL seit": "17.10.2023",
                "Besitzer": "Anna",
                "Lead-Typ": "Inbound",
                "Quelle": "Messe",
            },
            {
                "Kontakt-ID": "K2",
                "Erstellt am": "03.04.2024 09:00",
                "MQL seit": "",
                "Besitzer": "",
                "Lead-Typ": "Outbound",
                "Quelle": "",
            },
        ],
    )
    export(
        crm,
        "deals.csv",
        [
            {
                "Deal-ID": "D1",
                "Erstellt am": "20.10.2023 10:00",
                "Phase": "Gewonnen",
                "Betrag": "1.234,50",
                "Abschluss": "15.12.2023",
                "Verlustgrund": "",
                "Produkt": "Widgets",
                "Quelle": "Messe",
                "Währung": "EUR",
                "Phase seit: Lead": "20.10.2023 10:00",
                "Phase seit: Angebot": "1700000000000",
                "Phase seit: Gewonnen": "15.12.2023 16:30",
            },
            {
                "Deal-ID": "D2",
                "Erstellt am": "05.01.2024 08:00",
                "Phase": "Demo",
                "Betrag": "500",
                "Abschluss": "31.03.2024",
                "Verlustgrund": "",
                "Produkt": "Gadgets",
                "Quelle": "",
                "Währung": "EUR",
                "Phase seit: Lead": "05.01.2024 08:00",
                "Phase seit: Angebot": "",
                "Phase seit: Gewonnen": "",
            },
        ],
    )
    export(  # a targets file the mapping leaves out (targets = false)
        crm,
        "targets.csv",
        [{"fiscal_quarter": "FY2024-Q1", "metric": "bookings", "team": "shared", "value": "1"}],
    )
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / ".env").write_text(f"EXPORT_DIR={tmp_path / 'exports'}\n")
    monkeypatch.delenv("EXPORT_DIR", raising=False)
    path = mapping(conf, text)
    m = load_mapping(path)
    assert m.report_defaults == {"fiscal_year_start_month": 2, "timezone": "Europe/Berlin"}
    assert m.stage_order == ("Lead", "Demo", "Proposal", "Won", "Lost")
    data = load_funnel(open_mapping(path), calendar=FiscalCalendar(2, "Europe/Berlin"))
    assert data.currency == "EUR" and data.dimensions == ("product", "lead_type")
    assert not data.tracking.has_targets
    # 16.10.2023 14:05 in Berlin (CEST, UTC+2) = 12:05 UTC; "Messe" -> Events; empty -> Unknown
    assert rows(data.leads, "lead_id", "created_at", "mql_at", "channel", "lead_type") == [
        {
            "lead_id": "K1",
            "created_at": dt.datetime(2023, 10, 16, 12, 5, tzinfo=UTC),
            "mql_at": dt.datetime(2023, 10, 16, 22, tzinfo=UTC),  # 17.10. 00:00 CEST
            "channel": "Events",
            "lead_type": "Inbound",
        },
        {
            "lead_id": "K2",
            "created_at": dt.datetime(2024, 4, 3, 7, tzinfo=UTC),
            "mql_at": None,
            "channel": "Unknown",
            "lead_type": "Outbound",
        },
    ]
    assert rows(
        data.opportunities,
        "stage",
        "outcome",
        "amount",
        "closed_at",
        "expected_close_date",
        "source",
        "product",
    ) == [
        {
            "stage": "Won",
            "outcome": "won",
            "amount": 1234.5,
            "closed_at": dt.datetime(2023, 12, 14, 23, tzinfo=UTC),  # 15.12. 00:00 CET
            "expected_close_date": None,
            "source": "marketing",
            "product": "Widgets",
        },
        {
            "stage": "Demo",
            "outcome": None,
            "amount": 500.0,
            "closed_at": None,
            "expected_close_date": dt.date(2024, 3, 31),
            "source": "sales",
            "product": "Gadgets",
        },
    ]
    # one row per "Phase seit: ..." cell with a value; 1700000000000 ms = 2023-11-14 22:13:20 UTC
    assert rows(data.stage_history, "opportunity_id", "stage", "changed_at") == [
        {
            "opportunity_id": "D1",
            "stage": "Lead",
            "changed_at": dt.datetime(2023, 10, 20, 8, tzinfo=UTC),
        },
        {
            "opportunity_id": "D1",
            "stage": "Proposal",
            "changed_at": dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        },
        {
            "opportunity_id": "D1",
            "stage": "Won",
            "changed_at": dt.datetime(2023, 12, 15, 15, 30, tzinfo=UTC),
        },
        {
            "opportunity_id": "D2",
            "stage": "Lead",
            "changed_at": dt.datetime(2024, 1, 5, 7, tzinfo=UTC),
        },
    ]


def test_docs_name_every_key_a_mapping_may_hold() -> None:
    from alignment_lib import mapping as module
    from tests.conftest import REPO

    doc = (REPO / "docs" / "mapping.md").read_text(encoding="utf-8")
    keys = [
        *module._TOP_KEYS,
        *module._REPORT_KEYS,
        *module._TABLE_KEYS,
        *module._UNPIVOT_KEYS,
        *module._COLUMN_KEYS,
        *module._STAGE_KEYS,
    ]
    missing = sorted({k for k in keys if f"`{k}`" not in doc and f"`[{k}]`" not in doc})
    assert missing == [], f"document in docs/mapping.md: {missing}"
