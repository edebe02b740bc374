"""Generated tables through loading and the whole metric set (as the workbooks call it).

Each example writes small canonical CSV tables with random nulls, empty
groups, extreme amounts and odd strings (markup, emoji, control and
right-to-left characters, very long names), then loads them. Loading either
refuses with a documented :class:`AlignmentError` or returns data on which
every metric the notebooks use runs without an exception and satisfies the
metric invariants: shares and rates in [0, 1] or null, counts >= 0, no NaN,
no control character left in any text column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import alignment_lib as al
from alignment_lib.exceptions import AlignmentError
from alignment_lib.fiscal import FiscalQuarter
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
QUARTER = FiscalQuarter(2025, 4)

ODD = st.sampled_from(
    [
        "",
        " ",
        "Webinar",
        "Paid Search",
        "SMB",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "$x$",
        "caf\u00e9 \U0001f600",
        "\u202eevil\u202c",
        "bell\x07esc\x1b",
        "zero\u200bwidth",
        "x" * 300,
    ]
)
MAYBE_ODD = st.one_of(st.none(), ODD)
AMOUNT = st.one_of(
    st.none(),
    st.sampled_from(["0", "0.01", "1", "25000", "99999.99", "1e9", "1e15", "250", "1200"]),
    st.sampled_from(["-1", "NaN", "abc"]),
)
OFFSET = st.one_of(st.none(), st.integers(min_value=0, max_value=400))


def _when(days: int | None, base: int = 0) -> str | None:
    if days is None:
        return None
    return (START + dt.timedelta(days=base + days, hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def lead_rows(draw: st.DrawFn) -> list[dict]:
    rows = []
    # mostly non-empty: an empty leads table is refused (no_rows), checked once in a while
    for i in range(draw(st.integers(min_value=0, max_value=12) | st.integers(1, 12))):
        created = draw(st.integers(min_value=0, max_value=360))
        mql = draw(OFFSET)
        decided = draw(st.sampled_from(["accepted", "rejected", None]))
        rows.append(
            {
                "lead_id": f"L{i}",
                "created_at": _when(created),
                "channel": draw(MAYBE_ODD),
                "campaign": draw(MAYBE_ODD),
                "segment": draw(st.sampled_from([None, "SMB", "Enterprise"])),
                "region": draw(st.sampled_from([None, "NA", "EMEA"])),
                "owner_id": draw(st.sampled_from([None, "rep-1", "rep-2"])),
                "mql_at": _when(mql, created),
                "accepted_at": _when(draw(OFFSET), created) if decided == "accepted" else None,
                "rejected_at": _when(draw(OFFSET), created) if decided == "rejected" else None,
                "rejection_reason": draw(MAYBE_ODD) if decided == "rejected" else None,
                "first_touch_at": _when(draw(OFFSET), created),
                "sql_at": _when(draw(OFFSET), created),
                "opportunity_id": draw(st.sampled_from([None, "O0", "O1", "O9"])),
            }
        )
    return rows


@st.composite
def opportunity_rows(draw: st.DrawFn) -> list[dict]:
    rows = []
    for i in range(draw(st.integers(min_value=0, max_value=10) | st.integers(1, 10))):
        created = draw(st.integers(min_value=0, max_value=360))
        outcome = draw(st.sampled_from([None, "won", "lost"]))
        closed = draw(st.integers(min_value=0, max_value=300)) if outcome else None
        rows.append(
            {
                "opportunity_id": f"O{i}",
                "created_at": _when(created),
                "source": draw(st.sampled_from(["marketing", "sales", "partner"])),
                "channel": draw(MAYBE_ODD),
                "amount": draw(AMOUNT),
                "stage": "Closed Won"
                if outcome == "won"
                else "Closed Lost"
                if outcome
                else draw(st.sampled_from(["Discovery", "Proposal", "Open"])),
                "expected_close_date": (START + dt.timedelta(days=created + 30)).date().isoformat()
                if draw(st.booleans())
                else None,
                "closed_at": _when(closed, created),
                "outcome": outcome,
                "lost_reason": draw(MAYBE_ODD) if outcome == "lost" else None,
                "owner_id": draw(st.sampled_from([None, "rep-1"])),
                "segment": draw(st.sampled_from([None, "SMB", "Enterprise"])),
                "region": draw(st.sampled_from([None, "NA", "EMEA"])),
                "lead_id": draw(st.sampled_from([None, "L0", "L1"])),
            }
        )
    return rows


@st.composite
def target_rows(draw: st.DrawFn) -> list[dict]:
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["FY2025-Q3", "FY2025-Q4", "FY2026-Q1", "FY2026-Q2"]),
                st.sampled_from(["bookings", "pipeline_created", "mqls", "sla_compliance"]),
                st.sampled_from(["shared", "sales"]),
            ),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    values = st.sampled_from(["0", "0.9", "1000", "1000000"])
    return [
        {"fiscal_quarter": q, "metric": m, "team": t, "value": draw(values)} for q, m, t in keys
    ]


def _write(folder: Path, name: str, columns: list[str], rows: list[dict]) -> None:
    frame = pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns}
    )
    frame.write_csv(folder / f"{name}.csv")


def _metrics(data: al.FunnelData) -> dict[str, pl.DataFrame]:
    """Every metric the workbooks call, called the way the notebooks call it."""
    cal = data.calendar
    first = QUARTER.shift(-3)
    span = {"calendar": cal, "first": first, "last": QUARTER}
    as_of = data.as_of
    assert as_of is not None
    timing = {"as_of": as_of, **span}
    leads, opps, history, targets = data.leads, data.opportunities, data.stage_history, data.targets
    sized = opps.with_columns(al.deal_size_band(pl.col("amount")))
    lazy = {
        "bookings_linearity": al.bookings_linearity(opps, **span),
        "bookings_by_week": al.bookings_by_week(opps, **span),
        "seasonality": al.seasonality(opps, leads, **span),
        "sales_cycle_source": al.sales_cycle(opps, **span, by=("source",)),
        "sales_cycle_band": al.sales_cycle(sized, **span, by=("deal_size_band",)),
        "slipped_deals": al.slipped_deals(opps, history, **span),
        "funnel_cohort": al.funnel_cohort(leads, opps, **timing, by=["channel", "segment"]),
        "funnel_period": al.funnel_period(leads, opps, **span, by=["channel", "segment"]),
        "stage_durations": al.stage_durations(leads, opps, **span, by=["channel"]),
        "mql_outcomes": al.mql_outcomes(leads, **timing, by=["channel"]),
        "rejection_reasons": al.rejection_reasons(leads, **span, by=["channel"]),
        "response_times": al.response_times(leads, **timing, by=["owner_id"]),
        "response_weekly": al.response_times(
            leads, **{**timing, "first": QUARTER.shift(-1)}, period="week"
        ),
        "pipeline_vs_bookings": al.pipeline_vs_bookings(opps, **span),
        "creation_to_close_lag": al.creation_to_close_lag(opps, **span),
        "cohort_curve": al.cohort_conversion_curve(opps, **timing, max_months=12),
        "forecast": al.bookings_forecast(
            opps,
            history,
            targets,
            calendar=cal,
            quarter=QUARTER.shift(1),
            as_of=as_of,
            calibration="in_quarter" if data.has_stage_history else "ever",
        ),
        "scorecard": al.shared_scorecard(
            leads, opps, targets, calendar=cal, quarter=QUARTER, as_of=as_of
        ),
        "coverage": al.pipeline_coverage(
            opps,
            targets,
            stage_history=history,
            calendar=cal,
            quarter=QUARTER.shift(1),
            quarters=2,
            as_of=as_of,
        ),
        "needed": al.pipeline_needed(
            opps, leads, targets, calendar=cal, quarter=QUARTER.shift(2), as_of=as_of
        ),
        "to_create": al.pipeline_to_create(opps, leads, targets, calendar=cal, as_of=as_of),
        "data_health": al.data_health(data),
    }
    out = dict(zip(lazy, pl.collect_all(list(lazy.values())), strict=True))
    out["rows_loaded"] = al.rows_loaded(data)
    out["load_notices"] = al.load_notices(data)
    al.target_value(targets, quarter=QUARTER, metric="bookings", team="shared")
    return out


#: the 0-1 columns of the metric outputs (docs/metrics*.md); creation_rate is an amount
_SHARES = {
    "month3_share",
    "last_two_weeks_share",
    "cumulative_share",
    "slipped_share_deals",
    "slipped_share_amount",
    "conversion",
    "acceptance_rate",
    "rejection_rate",
    "pending_rate",
    "leaked_rate",
    "share",
    "sla_compliance",
    "elapsed_share",
    "win_rate",
    "lag_share",
    "marketing_share",
    "mql_to_opportunity",
    "share_of_table",
}
#: amounts and counts that cannot be negative (by name: suffixes and prefixes)
_NON_NEGATIVE_ENDS = ("amount", "bookings", "deals", "leads", "mqls", "rows", "open_pipeline")


#: not a 0-1 share: the seasonal forecast's multiplier of the creation rate, a sum over the
#: creation quarters of share x season index x conversion x growth (docs/metrics/forecast.md),
#: which a growing or seasonal quarter takes above 1
_NON_NEGATIVE_NAMES = {"not_yet_created_share"}


def _non_negative(column: str) -> bool:
    return (
        column.endswith(_NON_NEGATIVE_ENDS)
        or column.startswith("n_")
        or column in _NON_NEGATIVE_NAMES
    )


_UNSAFE = r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


def _check_invariants(name: str, frame: pl.DataFrame) -> None:
    for column, dtype in frame.schema.items():
        values = frame[column]
        if dtype.is_float():
            assert not values.is_nan().any(), (name, column, "NaN")
            if column in _SHARES:
                inside = values.drop_nulls().is_between(-1e-9, 1 + 1e-9)
                assert inside.all(), (name, column, values.to_list())
        if dtype.is_numeric() and _non_negative(column):
            assert (values.drop_nulls() >= -1e-9).all(), (name, column, values.to_list())
        if dtype == pl.String and name != "load_notices":
            assert not values.drop_nulls().str.contains(_UNSAFE).any(), (name, column)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    # no shrinking: it can take minutes on a metric failure; the failing example is printed
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(leads=lead_rows(), opps=opportunity_rows(), targets=target_rows(), history=st.booleans())
def test_generated_tables_load_or_refuse_and_metrics_hold(
    tmp_path_factory, leads, opps, targets, history
) -> None:
    folder = tmp_path_factory.mktemp("generated")
    _write(folder, "leads", LEADS.column_names, leads)
    _write(folder, "opportunities", OPPORTUNITIES.column_names, opps)
    _write(folder, "targets", TARGETS.column_names, targets)
    if history:
        changes = [
            {
                "opportunity_id": o["opportunity_id"],
                "changed_at": o["created_at"],
                "stage": "Discovery",
                "amount": o["amount"],
            }
            for o in opps
        ]
        _write(folder, "stage_history", STAGE_HISTORY.column_names, changes)
    refused: AlignmentError | None = None
    try:
        data = al.load_funnel(folder)
    except AlignmentError as exc:
        refused = exc
    if refused is not None:
        # a documented refusal: bad data (3) or an unreadable file (2), with a fix
        assert refused.exit_code in (2, 3) and "fix:" in str(refused), refused
        rules = sorted({p.rule for p in getattr(refused, "problems", [])})
        event(f"refused: {type(refused).__name__} {', '.join(rules)}")
        return
    event("loaded")
    seen = data.at(al.FiscalCalendar().quarter_end(QUARTER))
    for name, frame in _metrics(seen).items():
        _check_invariants(name, frame)
