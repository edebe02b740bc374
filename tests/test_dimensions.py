"""The 'By <dimension>' sections (alignment_lib/dimensions.py) on a tiny data folder.

Calendar: fiscal year = calendar year, UTC. Report quarter FY2026-Q1 (Jan-Mar 2026),
seen as of its end; the charts show FY2025-Q4 and FY2026-Q1. Currency EUR.

Opportunities (dimension ``product``):

| deal | product | created    | source    | amount | outcome | closed     |
|------|---------|------------|-----------|--------|---------|------------|
| O1   | A       | 2026-01-10 | marketing | 100    | won     | 2026-02-01 |
| O2   | A       | 2026-01-15 | sales     | 50     | lost    | 2026-03-01 |
| O3   | B       | 2026-02-01 | sales     | 300    | won     | 2026-03-10 |
| O4   | (none)  | 2026-02-05 | marketing | 40     | open    |            |
| O5   | B       | 2025-12-01 | marketing | 200    | won     | 2026-01-20 |

Values ranked by deals: A 2, B 2 (a tie: by name), then "(not set)".
Pipeline section, FY2026-Q1 (pipeline by creation, bookings and wins by close):

| group     | pipeline created   | bookings          | marketing share | won | win rate |
|-----------|--------------------|-------------------|-----------------|-----|----------|
| All       | 100+50+300+40 = 490| 100+300+200 = 600 | (100+200)/600=.5| 3   | 3/4=.75  |
| A         | 150                | 100               | 100/100 = 1     | 1   | 1/2=.5   |
| B         | 300                | 300+200 = 500     | 200/500 = .4    | 2   | 2/2=1    |
| (not set) | 40                 | 0                 | null            | 0   | null     |

The groups add up to All (490, 600, 3). Chart: FY2025-Q4 pipeline created is O5's 200
(All and B), 0 elsewhere; no bookings in FY2025-Q4.

Leads (dimension ``lead_type``), each created an hour before its MQL; SLA 24 h:

| lead | lead type | MQL (2026)   | first touch   | response | decision           |
|------|-----------|--------------|---------------|----------|--------------------|
| L1   | Inbound   | 01-05 10:00  | 01-05 12:00   | 2 h      | accepted 01-06     |
| L2   | Inbound   | 01-10 10:00  | 01-11 20:00   | 34 h     | rejected 01-12     |
| L3   | Event     | 02-01 10:00  | never         |          | none: leaked       |
| L4   | Event     | 02-02 10:00  | 02-02 16:00   | 6 h      | accepted 02-03     |
| L5   | (none)    | no MQL (created 02-10)                                    |

Ranked by leads: Event 2, Inbound 2 (by name), "(not set)" 1. Handoff section, FY2026-Q1:
All: 4 MQLs, accepted 2/4, rejected 1/4, leaked 1/4, median response of 2, 6, 34 = 6 h,
SLA: within L1 L4 = 2 of 4 due = .5. Event: 2 MQLs, accepted 1/2, rejected 0, leaked 1/2,
median 6 h, within 1 of 2 due = .5. Inbound: 2, accepted 1/2, rejected 1/2, leaked 0,
median (2 + 34) / 2 = 18 h, within 1 of 2 = .5. (not set): 0 MQLs, every rate null.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest

from alignment_lib import dimensions as dims
from alignment_lib.charts.dimensions import DROPDOWN
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.load import load_funnel
from alignment_lib.money import use_currency
from alignment_lib.renderer import _renderer, _table_html
from alignment_lib.sources import DirectorySource, SourceOptions
from alignment_lib.workbook import Workbook
from tests._charts import layer

Q1 = FiscalQuarter(2026, 1)
CAL = FiscalCalendar(1, "UTC")
HOSTILE = "</script><img src=x onerror=alert(1)>"
LONG = "L" * 10_000

OPP_COLUMNS = [
    "opportunity_id",
    "created_at",
    "source",
    "amount",
    "stage",
    "expected_close_date",
    "closed_at",
    "outcome",
    "product",
]
LEAD_COLUMNS = [
    "lead_id",
    "created_at",
    "lead_type",
    "mql_at",
    "first_touch_at",
    "accepted_at",
    "rejected_at",
    "rejection_reason",
]


def _deal(oid, product, created, source, amount, outcome=None, closed=None) -> dict:
    stage = {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome or "", "Proposal")
    return {
        "opportunity_id": oid,
        "created_at": f"{created}T09:00:00Z",
        "source": source,
        "amount": amount,
        "stage": stage,
        "expected_close_date": "" if outcome else "2026-06-30",
        "closed_at": f"{closed}T09:00:00Z" if closed else "",
        "outcome": outcome or "",
        "product": product,
    }


def _lead(lid, lead_type, mql=None, touch=None, accepted=None, rejected=None, created=None):
    def at(text: str | None) -> str:
        return f"2026-{text}:00Z".replace(" ", "T") if text else ""

    hour = int(mql[6:8]) - 1 if mql else 9
    return {
        "lead_id": lid,
        "created_at": at(created or f"{mql[:5]} {hour:02d}:00"),
        "lead_type": lead_type,
        "mql_at": at(mql),
        "first_touch_at": at(touch),
        "accepted_at": at(accepted),
        "rejected_at": at(rejected),
        "rejection_reason": "Not a fit" if rejected else "",
    }


DEALS = [
    _deal("O1", "A", "2026-01-10", "marketing", "100", "won", "2026-02-01"),
    _deal("O2", "A", "2026-01-15", "sales", "50", "lost", "2026-03-01"),
    _deal("O3", "B", "2026-02-01", "sales", "300", "won", "2026-03-10"),
    _deal("O4", "", "2026-02-05", "marketing", "40"),
    _deal("O5", "B", "2025-12-01", "marketing", "200", "won", "2026-01-20"),
]
LEADS = [
    _lead("L1", "Inbound", "01-05 10:00", "01-05 12:00", accepted="01-06 10:00"),
    _lead("L2", "Inbound", "01-10 10:00", "01-11 20:00", rejected="01-12 10:00"),
    _lead("L3", "Event", "02-01 10:00"),
    _lead("L4", "Event", "02-02 10:00", "02-02 16:00", accepted="02-03 10:00"),
    _lead("L5", "", created="02-10 09:00"),
]


def _write(folder: Path, name: str, columns: list[str], rows: list[dict]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _folder(tmp_path: Path, deals=DEALS, leads=LEADS) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder, "opportunities", OPP_COLUMNS, deals)
    _write(folder, "leads", LEAD_COLUMNS, leads)
    return folder


def _workbook(folder: Path, *, dimensions=("product", "lead_type"), currency="EUR") -> Workbook:
    options = SourceOptions(currency=currency, dimensions=tuple(dimensions))
    data = load_funnel(DirectorySource(folder, options=options), calendar=CAL)
    seen = data.at(CAL.quarter_end(Q1)).materialize()
    assert seen.as_of is not None
    use_currency(seen.currency)  # as open_workbook does
    return Workbook(seen, Q1, Q1.shift(-1), seen.as_of)


@pytest.fixture
def workbook(tmp_path: Path) -> Workbook:
    return _workbook(_folder(tmp_path))


@pytest.fixture(autouse=True)
def _usd_after_each_test() -> object:
    yield
    use_currency("USD")


def _rows(frame: pl.DataFrame, *columns: str) -> list[tuple]:
    return frame.select("group", *columns).rows()


def test_values_are_ranked_by_rows_and_missing_ones_are_a_group(workbook: Workbook) -> None:
    product, lead_type = dims.dimensions_of(workbook.data)
    assert (product.name, product.tables, product.values, product.unset) == (
        "product",
        ("opportunities",),
        ("A", "B"),
        True,
    )
    assert (lead_type.label, lead_type.tables, lead_type.values) == (
        "Lead type",
        ("leads",),
        ("Event", "Inbound"),
    )
    assert product.groups().rows() == [("A", 1, "A"), ("B", 2, "B"), (None, 3, "(not set)")]
    assert product.groups().columns == [dims.KEY, "group_code", "group"]


def test_values_beyond_the_limit_become_one_other_group(workbook: Workbook) -> None:
    (product,) = dims.dimensions_of(workbook.data, tables=("opportunities",), limit=1)
    assert product.values == ("A",)
    assert (product.other, product.other_values) == ("Other (1 values)", 1)
    regrouped = product.grouped(workbook.data.opportunities).collect()
    assert regrouped.sort("opportunity_id")[dims.KEY].to_list() == [
        "A",
        "A",
        "Other (1 values)",
        None,
        "Other (1 values)",
    ]


def test_pipeline_split_by_product(workbook: Workbook) -> None:
    (section,) = dims.pipeline_sections(workbook)
    assert section.heading == "By product"
    assert "4 values" not in section.text and "2 values" in section.text
    got = section.table_data
    assert _rows(got, "pipeline_created", "bookings", "marketing_share", "won") == [
        ("All", 490.0, 600.0, 0.5, 3),
        ("A", 150.0, 100.0, 1.0, 1),
        ("B", 300.0, 500.0, 0.4, 2),
        ("(not set)", 40.0, 0.0, None, 0),
    ]
    assert got["win_rate_count"].to_list() == [0.75, 0.5, 1.0, None]
    html = section.table.as_raw_html()
    assert "€490" in html and "€600" in html and "$" not in html


def test_pipeline_chart_has_a_dropdown_and_only_aggregates(workbook: Workbook) -> None:
    (section,) = dims.pipeline_sections(workbook)
    spec = section.chart.to_dict()
    (param,) = [p for p in spec["params"] if p["name"] == DROPDOWN]
    assert param["value"] == 0
    assert param["bind"] == {
        "input": "select",
        "options": [0, 1, 2, 3],
        "labels": ["All", "A", "B", "(not set)"],
        "name": "Product ",
    }
    bars = layer(spec, name="bars")
    assert f"datum.group_code === {DROPDOWN}" in json.dumps(bars["transform"])
    (rows,) = spec["datasets"].values()
    assert len(rows) == 4 * 2 * 2  # groups x quarters x measures, never a deal
    cell = {(r["group"], r["fiscal_quarter"], r["measure"]): r["value"] for r in rows}
    assert cell[("All", "FY2025-Q4", "Pipeline created")] == 200.0
    assert cell[("B", "FY2025-Q4", "Pipeline created")] == 200.0
    assert cell[("A", "FY2025-Q4", "Pipeline created")] == 0.0
    assert cell[("All", "FY2025-Q4", "Bookings")] == 0.0
    assert cell[("B", "FY2026-Q1", "Bookings")] == 500.0
    assert cell[("(not set)", "FY2026-Q1", "Pipeline created")] == 40.0
    assert {r["group_code"] for r in rows if r["group"] == "All"} == {0}


def test_handoff_split_by_lead_type(workbook: Workbook) -> None:
    (section,) = dims.handoff_sections(workbook)
    got = section.table_data
    assert _rows(got, "mqls", "acceptance_rate", "rejection_rate", "leaked_rate") == [
        ("All", 4, 0.5, 0.25, 0.25),
        ("Event", 2, 0.5, 0.0, 0.5),
        ("Inbound", 2, 0.5, 0.5, 0.0),
        ("(not set)", 0, None, None, None),
    ]
    assert _rows(got, "median_hours", "sla_compliance") == [
        ("All", 6.0, 0.5),
        ("Event", 6.0, 0.5),
        ("Inbound", 18.0, 0.5),
        ("(not set)", None, None),
    ]
    spec = section.chart.to_dict()
    (param,) = [p for p in spec["params"] if p["name"] == DROPDOWN]
    assert param["bind"]["labels"] == ["All", "Event", "Inbound", "(not set)"]


def test_each_page_splits_by_the_dimensions_of_its_table(workbook: Workbook) -> None:
    assert [s.dimension.name for s in dims.pipeline_sections(workbook)] == ["product"]
    assert [s.dimension.name for s in dims.cycles_sections(workbook)] == ["product"]
    assert [s.dimension.name for s in dims.handoff_sections(workbook)] == ["lead_type"]
    assert [s.dimension.name for s in dims.funnel_sections(workbook)] == ["lead_type"]
    scorecard = dims.scorecard_sections(workbook)
    assert [s.dimension.name for s in scorecard] == ["product", "lead_type"]
    product, lead_type = (s.table_data for s in scorecard)
    assert _rows(product, "bookings", "pipeline_created") == [
        ("All", 600.0, 490.0),
        ("A", 100.0, 150.0),
        ("B", 500.0, 300.0),
        ("(not set)", 0.0, 40.0),
    ]
    assert product["bookings_share"].to_list() == pytest.approx([1.0, 1 / 6, 5 / 6, 0.0])
    assert _rows(lead_type, "mqls") == [("All", 4), ("Event", 2), ("Inbound", 2), ("(not set)", 0)]


def test_cycles_split_by_product(workbook: Workbook) -> None:
    # won deals closed in Q1: O1 (22 days: 01-10 to 02-01), O3 (37 days), O5 (50 days);
    # lost O2 (45 days). Medians: won 37, all closed (22, 37, 45, 50) -> (37 + 45) / 2 = 41.
    # A: won O1 22, closed O1 O2 -> (22 + 45) / 2 = 33.5; B: won O3 O5 -> 43.5 both.
    (section,) = dims.cycles_sections(workbook)
    assert _rows(
        section.table_data, "won", "bookings", "median_days_won", "median_days_closed"
    ) == [
        ("All", 3, 600.0, 37.0, 41.0),
        ("A", 1, 100.0, 22.0, 33.5),
        ("B", 2, 500.0, 43.5, 43.5),
        ("(not set)", 0, 0.0, None, None),
    ]


def test_funnel_chart_counts_leads_entering_each_stage(workbook: Workbook) -> None:
    # FY2026-Q1 entries: inquiries L1-L5 (All 5; Event 2, Inbound 2, not set 1); MQLs L1-L4;
    # SALs L1 L4 (one per type). No lead links to a deal: no opportunity or won entries.
    (section,) = dims.funnel_sections(workbook)
    data = section.chart_data
    entering = {(r["group"], r["stage_label"]): r["value"] for r in data.iter_rows(named=True)}
    assert entering[("All", "Inquiry")] == 5.0
    assert entering[("(not set)", "Inquiry")] == 1.0
    assert entering[("Event", "MQL")] == 2.0
    assert entering[("Inbound", "SAL")] == 1.0


def test_without_dimensions_no_page_changes(tmp_path: Path) -> None:
    workbook = _workbook(_folder(tmp_path), dimensions=())
    for sections in (
        dims.pipeline_sections,
        dims.cycles_sections,
        dims.handoff_sections,
        dims.funnel_sections,
        dims.scorecard_sections,
    ):
        assert sections(workbook) == []


def test_a_dimension_whose_figures_are_not_tracked_is_left_out(tmp_path: Path) -> None:
    # leads without MQL dates: the handoff has nothing to split, the funnel still does (no
    # lead links to a deal: its opportunity and won stages are not shown either)
    leads = [{**row, "mql_at": "", "first_touch_at": ""} for row in LEADS]
    leads = [{**row, "accepted_at": "", "rejected_at": "", "rejection_reason": ""} for row in leads]
    workbook = _workbook(_folder(tmp_path, leads=leads))
    assert dims.handoff_sections(workbook) == []
    (funnel,) = dims.funnel_sections(workbook)
    assert set(funnel.chart_data["stage_label"]) == {"Inquiry"}


# -- hostile names ---------------------------------------------------------------------------
HOSTILE_DEALS = [
    {**DEALS[0], "product": HOSTILE},
    {**DEALS[1], "product": HOSTILE},
    {**DEALS[2], "product": LONG},
    {**DEALS[3], "product": "\u202eRTL"},
    {**DEALS[4], "product": LONG},
]


def test_hostile_dimension_values_are_escaped_and_cut(tmp_path: Path) -> None:
    workbook = _workbook(_folder(tmp_path, deals=HOSTILE_DEALS))
    (section,) = dims.pipeline_sections(workbook)
    bundle, _ = _renderer(section.chart.to_dict(), static_image=False)
    page = bundle["text/html"]
    assert "<img" not in page and "</script><" not in page
    assert "\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e" in page
    assert "\u202e" not in page and "RTL" in page  # the override is removed on load
    labels = bundle["application/vnd.vegalite.v6+json"]["params"][0]["bind"]["labels"]
    assert max(len(label) for label in labels) == 60 and labels[2] == "L" * 59 + "…"
    assert "L" * 501 not in page  # data values (tooltips) at most 500 characters
    table = _table_html(section.table)
    assert "<img" not in table and "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in table
    assert "L" * 61 not in re.sub(r'title="[^"]*"', "", table)


def test_a_hostile_dimension_name_is_escaped_and_makes_no_html_id(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "opportunities.csv").write_text(
        (folder / "opportunities.csv").read_text().replace(",product\n", f",{HOSTILE}\n", 1)
    )
    workbook = _workbook(folder, dimensions=(HOSTILE,))
    (section,) = dims.pipeline_sections(workbook)
    assert section.heading == f"By {HOSTILE.lower()}"
    heading = dims._Heading(section.heading, section.text)._repr_html_()
    assert "<img" not in heading and "&lt;img" in heading
    table = _table_html(section.table)
    assert "<img" not in table and re.search(r'id="pipeline-by-[a-z0-9-]+"', table)


def test_a_dimension_may_be_named_like_any_column(tmp_path: Path) -> None:
    # named like a column of the results ("bookings", "group") or a canonical lead column
    # no lead metric splits by ("rejection_reason"): the metrics split by dims.KEY
    folder = _folder(tmp_path)
    for table in ("opportunities", "leads"):
        text = (folder / f"{table}.csv").read_text()
        text = text.replace(",product\n", ",bookings\n").replace(",lead_type,", ",group,")
        (folder / f"{table}.csv").write_text(text)
    workbook = _workbook(folder, dimensions=("bookings", "group", "rejection_reason"))
    (pipeline,) = dims.pipeline_sections(workbook)
    assert pipeline.table_data["bookings"].to_list() == [600.0, 100.0, 500.0, 0.0]
    handoff = dims.handoff_sections(workbook)
    assert [s.heading for s in handoff] == ["By group", "By rejection reason"]
    assert handoff[1].table_data["group"].to_list() == ["All", "Not a fit", "(not set)"]
    assert len(dims.scorecard_sections(workbook)) == 3


def test_source_options_from_a_mapping_file(tmp_path: Path) -> None:
    from alignment_lib.workbook import open_data_source

    folder = _folder(tmp_path)
    mapping = tmp_path / "options.toml"
    mapping.write_text('currency = "GBP"\ndimensions = ["product"]\n')
    source = open_data_source(str(folder), mapping=str(mapping))
    assert source.options.currency == "GBP"
    assert source.options.dimensions == ("product",)
    assert open_data_source(str(folder)).options.currency == "USD"  # no mapping: the default


def test_docs_state_the_code_limit() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    assert f"at most {dims.MAX_VALUES} per dimension" in doc


# -- the builders on their own -----------------------------------------------------------------
def _long_frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "group_code": [i % 3 for i in range(rows)],
            "group": [["All", "A", "B"][i % 3] for i in range(rows)],
            "fiscal_quarter": [f"FY2026-Q{1 + i % 4}" for i in range(rows)],
            "measure": ["Bookings"] * rows,
            "value": [float(i) for i in range(rows)],
        }
    )


def test_chart_by_dimension_without_values_says_so() -> None:
    from alignment_lib.charts import chart_by_dimension

    empty = _long_frame(3).with_columns(pl.lit(None, dtype=pl.Float64).alias("value"))
    chart = chart_by_dimension(empty, dimension="Product", kind="amount", title="t")
    assert chart.to_dict()["description"] == "No data by product in the quarters shown"


def test_chart_by_dimension_refuses_raw_rows_and_wrong_frames() -> None:
    from alignment_lib.charts import chart_by_dimension
    from alignment_lib.exceptions import ParameterError

    with pytest.raises(ParameterError, match="5,000"):
        chart_by_dimension(_long_frame(5_001), dimension="Product", kind="amount", title="t")
    with pytest.raises(ParameterError, match="group_code"):
        chart_by_dimension(
            _long_frame(3).drop("group_code"), dimension="Product", kind="amount", title="t"
        )


def test_share_charts_run_from_0_to_100_percent() -> None:
    from alignment_lib.charts import chart_by_dimension

    spec = chart_by_dimension(_long_frame(6), dimension="P", kind="share", title="t").to_dict()
    bars = layer(spec, name="bars")
    assert bars["encoding"]["y"]["scale"] == {"domain": [0, 1]}
    assert bars["encoding"]["y"]["axis"]["format"] == ".0%"
    assert "legend" in bars["encoding"]["color"] and bars["encoding"]["color"]["legend"] is None


def test_table_by_dimension_without_rows_says_so() -> None:
    from alignment_lib.tables import table_by_dimension

    empty = pl.DataFrame(schema={"group": pl.String, "mqls": pl.Int64})
    html = table_by_dimension(
        empty, dimension="Lead type", columns={"mqls": ("MQLs", "count")}, title="T", table_id="x"
    ).as_raw_html()
    assert "No data by lead type" in html
