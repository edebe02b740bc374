"""Data health on a hand-built funnel; expected counts worked out by hand.

Calendar year, UTC; the report is as of 2026-03-31 (end of day). Dates are 2026.

Leads (L6 is created after the as-of date: 5 leads seen, 6 in the un-cut data):

| lead | created | mql   | touch | accepted | sql   | opp | segment | region | channel |
|------|---------|-------|-------|----------|-------|-----|---------|--------|---------|
| L1   | 01-05   | 01-06 | 01-06 | 01-07    | 01-10 | O1  | SMB     | NA     | Webinar |
| L2   | 01-10   | 01-11 |       |          |       |     |         | NA     | Webinar |
| L3   | 01-12   |       |       | 01-15    |       |     | SMB     |        | Webinar |
| L4   | 01-20   |       |       |          | 02-01 | O9  | SMB     | NA     |         |
| L5   | 02-01   | 02-02 | 04-05 |          |       |     | SMB     | NA     | Webinar |
| L6   | 04-10   |       |       |          |       |     | SMB     | NA     | Webinar |

- skipped_mql: L3 (accepted), L4 (SQL) without mql_at = 2 of 5 -> 0.4
- mql_never_touched: L2, and L5 whose touch (5 April) is after the as-of date = 2
- mql_pending: L2, L5 (neither accepted nor rejected) = 2
- missing_segment L2, missing_region L3, missing_channel L4: 1 each (0.2)
- opportunity_not_found: L4 points at O9, which does not exist. Checked on the
  un-cut leads: 1 of 6; without `full`, the as-of cut has blanked it: 0.
- created_after_as_of: L6 = 1 of 6; event_after_as_of: L5's touch = 1 of 6.

Opportunities (O6 created after the as-of date: 5 seen, 6 un-cut):

| opp | created | source    | lead | amount | closed     | expected close | history |
|-----|---------|-----------|------|--------|------------|----------------|---------|
| O1  | 01-10   | marketing | L1   | 100    | won 02-15  |                | 2 rows  |
| O2  | 01-15   | sales     |      |        | open       | 03-15          | none    |
| O3  | 01-20   | marketing |      | 50     | open       |                | none    |
| O4  | 02-01   | partner   | L99  |        | lost 03-01 |                | none    |
| O5  | 02-10   | sales     |      | 70     | won 04-15  | 03-20 at as-of | 2 rows  |
| O6  | 04-20   | sales     |      | 10     | open       | 06-30          | 1 row   |

O4 was lost for "No decision". O3 has no segment, O4 no region, O5 no channel.
As of 31 March O5 is open again, with amount 70 and expected close 20 March from
its history row of 10 February.

- open_without_amount: O2 = 1 of 5; lost_without_amount: O4 = 1
- open_past_expected_close: O2 (15 March) and O5 (20 March) before 31 March = 2 (0.4)
- open_without_expected_close: O3 = 1; lost_no_decision: O4 = 1
- lead_not_found: O4 (L99) = 1; marketing_without_lead: O3 = 1
- no_stage_history: O2, O3, O4 = 3 of 5 (0.6); missing segment/region/channel: 1 each
- created_after_as_of: O6 = 1 of 6; closed_after_as_of: O5 = 1 of 6
- stage_history changed_after_as_of: O5's close (15 April) and O6's row = 2 of 5 rows
- open_values_after_as_of: 0 (the data has stage history: O5's values are rebuilt from it).
  Without the stage_history table, the deals open at 31 March (O2, O3, O5) show the
  export's values, and the data reaches past the cut (O5 won 15 April, O6 created 20
  April): 3 of the 6 un-cut opportunities. Not cut, or cut after the last event: 0.

Not cut (the un-cut data passed as `data`): every as-of rule is 0. Without the
stage_history table every opportunity is in no_stage_history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FunnelData
from alignment_lib.metrics.health import HEALTH_RULES, data_health
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS

UTC = FiscalCalendar(1, "UTC")


def t(day: str | None) -> dt.datetime | None:
    return (
        None
        if day is None
        else dt.datetime.fromisoformat(f"2026-{day}T12:00").replace(tzinfo=dt.UTC)
    )


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    return pl.DataFrame(
        [{c: r.get(c) for c in table.column_names} for r in rows], schema=table.polars_schema
    ).lazy()


def lead(lid, created, mql=None, touch=None, accepted=None, sql=None, opp=None, **cats) -> dict:
    return {
        "lead_id": lid,
        "created_at": t(created),
        "mql_at": t(mql),
        "first_touch_at": t(touch),
        "accepted_at": t(accepted),
        "sql_at": t(sql),
        "opportunity_id": opp,
        **{"segment": "smb", "region": "na", "channel": "webinar", **cats},
    }


LEAD_ROWS = [
    lead("L1", "01-05", "01-06", "01-06", "01-07", "01-10", "O1"),
    lead("L2", "01-10", "01-11", segment=None),
    lead("L3", "01-12", accepted="01-15", region=None),
    lead("L4", "01-20", sql="02-01", opp="O9", channel=None),
    lead("L5", "02-01", "02-02", touch="04-05"),
    lead("L6", "04-10"),
]


def opp(oid, created, source, lead_id=None, amount=None, closed=None, outcome=None, **rest):
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "source": source,
        "lead_id": lead_id,
        "amount": amount,
        "closed_at": t(closed),
        "outcome": outcome,
        "stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome, "Discovery"),
        **{"segment": "smb", "region": "na", "channel": "webinar", **rest},
    }


def ecd(day: str) -> dt.date:
    return dt.date.fromisoformat(f"2026-{day}")


OPP_ROWS = [
    opp("O1", "01-10", "marketing", "L1", 100.0, "02-15", "won"),
    opp("O2", "01-15", "sales", expected_close_date=ecd("03-15")),
    opp("O3", "01-20", "marketing", amount=50.0, segment=None),
    opp(
        "O4",
        "02-01",
        "partner",
        "L99",
        None,
        "03-01",
        "lost",
        lost_reason="No decision",
        region=None,
    ),
    opp(
        "O5",
        "02-10",
        "sales",
        None,
        70.0,
        "04-15",
        "won",
        channel=None,
        expected_close_date=ecd("04-15"),
    ),
    opp("O6", "04-20", "sales", amount=10.0, expected_close_date=ecd("06-30")),
]


def change(oid, day, stage, amount, close) -> dict:
    return {
        "opportunity_id": oid,
        "changed_at": t(day),
        "stage": stage,
        "amount": amount,
        "expected_close_date": ecd(close),
    }


HISTORY_ROWS = [
    change("O1", "01-10", "Discovery", 100.0, "03-31"),
    change("O1", "02-15", "Closed Won", 100.0, "02-15"),
    change("O5", "02-10", "Proposal", 70.0, "03-20"),
    change("O5", "04-15", "Closed Won", 70.0, "04-15"),
    change("O6", "04-20", "Discovery", 10.0, "06-30"),
]

FULL = FunnelData(
    leads=frame(LEADS, LEAD_ROWS),
    opportunities=frame(OPPORTUNITIES, OPP_ROWS),
    stage_history=frame(STAGE_HISTORY, HISTORY_ROWS),
    targets=frame(TARGETS, []),
    calendar=UTC,
    source="hand-built",
    has_stage_history=True,
)
AS_OF = FULL.at("2026-03-31")

EXPECTED = {
    ("leads", "skipped_mql"): (2, 2 / 5),
    ("leads", "mql_never_touched"): (2, 2 / 5),
    ("leads", "mql_pending"): (2, 2 / 5),
    ("leads", "missing_segment"): (1, 1 / 5),
    ("leads", "missing_region"): (1, 1 / 5),
    ("leads", "missing_channel"): (1, 1 / 5),
    ("leads", "opportunity_not_found"): (1, 1 / 6),
    ("leads", "created_after_as_of"): (1, 1 / 6),
    ("leads", "event_after_as_of"): (1, 1 / 6),
    ("opportunities", "open_without_amount"): (1, 1 / 5),
    ("opportunities", "lost_without_amount"): (1, 1 / 5),
    ("opportunities", "open_past_expected_close"): (2, 2 / 5),
    ("opportunities", "open_without_expected_close"): (1, 1 / 5),
    ("opportunities", "lost_no_decision"): (1, 1 / 5),
    ("opportunities", "lead_not_found"): (1, 1 / 5),
    ("opportunities", "marketing_without_lead"): (1, 1 / 5),
    ("opportunities", "no_stage_history"): (3, 3 / 5),
    ("opportunities", "missing_segment"): (1, 1 / 5),
    ("opportunities", "missing_region"): (1, 1 / 5),
    ("opportunities", "missing_channel"): (1, 1 / 5),
    ("opportunities", "created_after_as_of"): (1, 1 / 6),
    ("opportunities", "closed_after_as_of"): (1, 1 / 6),
    ("opportunities", "open_values_after_as_of"): (0, 0.0),
    ("stage_history", "changed_after_as_of"): (2, 2 / 5),
}


def counts(result: pl.DataFrame) -> dict[tuple[str, str], tuple[int | None, float | None]]:
    return {
        (r["table"], r["rule"]): (r["rows"], r["share_of_table"])
        for r in result.iter_rows(named=True)
    }


def test_every_rule_counted_by_hand() -> None:
    got = data_health(AS_OF, full=FULL).collect()
    assert got.schema == pl.Schema(
        {
            "table": pl.String,
            "rule": pl.String,
            "description": pl.String,
            "rows": pl.Int64,
            "share_of_table": pl.Float64,
            "effect": pl.String,
        }
    )
    assert list(zip(got["table"], got["rule"], strict=True)) == [
        (r.table, r.rule) for r in HEALTH_RULES
    ]
    assert got.select(pl.col("description", "effect").str.len_chars().min()).row(0) > (10, 10)
    found = counts(got)
    assert found.keys() == EXPECTED.keys()
    for key, (rows, share) in EXPECTED.items():
        assert found[key][0] == rows, key
        assert found[key][1] == pytest.approx(share), key


def test_without_full_the_as_of_rules_are_unknown_and_the_blanked_reference_is_gone() -> None:
    found = counts(data_health(AS_OF).collect())
    for table, rule in [
        ("leads", "created_after_as_of"),
        ("leads", "event_after_as_of"),
        ("opportunities", "created_after_as_of"),
        ("opportunities", "closed_after_as_of"),
        ("stage_history", "changed_after_as_of"),
    ]:
        assert found[(table, rule)] == (None, None)
    # the as-of cut blanked L4's reference to the unknown O9
    assert found[("leads", "opportunity_not_found")] == (0, 0.0)
    assert found[("leads", "skipped_mql")] == (2, 0.4)


def test_uncut_data_hides_nothing() -> None:
    found = counts(data_health(FULL).collect())
    assert found[("opportunities", "created_after_as_of")] == (0, 0.0)
    assert found[("stage_history", "changed_after_as_of")] == (0, 0.0)
    assert found[("leads", "opportunity_not_found")] == (1, pytest.approx(1 / 6))
    # seen today, O5 is closed and O6 is open with a future date (30 June 2026 is not past
    # until that date; the check uses today's date when the data was not cut)
    assert found[("opportunities", "closed_after_as_of")] == (0, 0.0)


def test_a_deal_expected_on_the_as_of_day_is_overdue_once_that_day_is_over() -> None:
    """O2 expected on 31 March instead of 15 March, O5 as before (20 March at 31 March).

    As of the end of 31 March, O2's expected day is over: 2 overdue, as coverage counts
    deals expected in a quarter already over (a strict < on the as-of date said 1: on the
    sample, every overdue deal sits on the quarter's last day, and it said 0 of 70). As of
    noon on 31 March, O2 can still close on its day: 1 overdue (O5).
    """
    moved = replace(
        FULL,
        opportunities=FULL.opportunities.with_columns(
            pl.when(pl.col("opportunity_id") == "O2")
            .then(pl.lit(ecd("03-31")))
            .otherwise(pl.col("expected_close_date"))
            .alias("expected_close_date")
        ),
    )
    rule = ("opportunities", "open_past_expected_close")
    assert counts(data_health(moved.at("2026-03-31")).collect())[rule] == (2, 2 / 5)
    noon = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert counts(data_health(moved.at(noon)).collect())[rule][0] == 1


def test_without_the_stage_history_table_every_deal_lacks_history() -> None:
    bare = replace(AS_OF, stage_history=AS_OF.stage_history.clear(), has_stage_history=False)
    found = counts(data_health(bare).collect())
    assert found[("opportunities", "no_stage_history")] == (5, 1.0)


def test_empty_tables_give_zero_rows_and_null_shares() -> None:
    empty = replace(
        AS_OF,
        leads=AS_OF.leads.clear(),
        opportunities=AS_OF.opportunities.clear(),
        stage_history=AS_OF.stage_history.clear(),
    )
    got = data_health(empty).collect()
    measured = got.filter(~pl.col("rule").str.contains("after_as_of"))
    assert measured["rows"].to_list() == [0] * measured.height
    assert measured["share_of_table"].to_list() == [None] * measured.height


def test_filtered_data_counts_only_the_filtered_rows() -> None:
    found = counts(data_health(AS_OF.where(source="sales")).collect())
    # sales deals seen: O2 (open, no amount, no history) and O5 (no channel)
    assert found[("opportunities", "open_without_amount")] == (1, 0.5)
    assert found[("opportunities", "missing_channel")] == (1, 0.5)
    assert found[("opportunities", "no_stage_history")] == (1, 0.5)


def test_load_notices_lists_warnings_then_repairs_with_their_rows() -> None:
    """Two notices built by hand: a warning on opportunities, a repair on leads."""
    from dataclasses import replace

    from alignment_lib.exceptions import Problem
    from alignment_lib.metrics.health import load_notices

    noted = replace(
        FULL,
        repairs=(
            Problem("/x/leads.csv", "campaign", "control_characters_removed", "m", "f", (3, 9), 2),
        ),
        warnings=(
            Problem(
                "/x/opportunities.csv",
                "amount",
                "amount_outlier",
                "m2",
                "f2",
                (1, 2, 3, 4, 5),
                7,
            ),
        ),
    )
    got = load_notices(noted)
    assert got.select("kind", "table", "file", "column", "rule", "rows", "first_rows").rows() == [
        (
            "warning",
            "opportunities",
            "opportunities.csv",
            "amount",
            "amount_outlier",
            7,
            "1, 2, 3, 4, 5 ...",
        ),
        ("repair", "leads", "leads.csv", "campaign", "control_characters_removed", 2, "3, 9"),
    ]
    # the notices survive the filters and the as-of cut (counted on the whole source)
    assert load_notices(noted.where(segment="SMB").at("2026-02-01")).height == 2


def test_load_notices_empty_when_loading_changed_nothing() -> None:
    from alignment_lib.metrics.health import load_notices
    from alignment_lib.narrative.health import load_notices_summary
    from alignment_lib.tables.health import table_load_notices

    got = load_notices(AS_OF)
    assert got.height == 0 and got.columns[:3] == ["kind", "table", "file"]
    assert load_notices_summary(got)[0].startswith("Loading repaired nothing")
    assert "Loading repaired nothing" in table_load_notices(got).as_raw_html()


# -- partial exports (docs/partial-data.md) --------------------------------------------------
def _without_history(extract: str) -> FunnelData:
    return replace(
        FULL,
        stage_history=FULL.stage_history.clear(),
        has_stage_history=False,
        extract_date=t(extract),
    )


def test_without_history_a_past_as_of_counts_the_deals_shown_with_later_values() -> None:
    # open at 31 March: O2, O3 and O5 (won 15 April: open again, with the export's amount
    # 70 and expected close 15 April, both recorded after the cut); O6 is created later
    full = _without_history("04-20")
    found = counts(data_health(full.at("2026-03-31"), full=full).collect())
    assert found[("opportunities", "open_values_after_as_of")] == (3, pytest.approx(3 / 6))


def test_without_history_nothing_is_recorded_later_when_the_data_ends_before_the_cut() -> None:
    # the export's last event is on or before the as-of instant: its values are those of then
    full = _without_history("03-31")
    found = counts(data_health(full.at("2026-04-30"), full=full).collect())
    assert found[("opportunities", "open_values_after_as_of")] == (0, 0.0)
    # not cut: nothing is hidden, nothing later
    assert counts(data_health(full).collect())[("opportunities", "open_values_after_as_of")] == (
        0,
        0.0,
    )


def test_a_rule_reading_what_the_data_does_not_track_is_not_made() -> None:
    from alignment_lib.tracking import Tracking

    tracked = frozenset(
        f"{t}.{c}"
        for t, table in (("leads", LEADS), ("opportunities", OPPORTUNITIES))
        for c in table.column_names
        if c not in ("first_touch_at", "segment", "lost_reason")
    )
    data = replace(AS_OF, tracking=Tracking(tracked=tracked))
    found = counts(data_health(data, full=FULL).collect())
    # no first-touch times: every MQL would read "never touched"; no segments anywhere
    assert found[("leads", "mql_never_touched")] == (None, None)
    assert found[("leads", "missing_segment")] == (None, None)
    assert found[("opportunities", "missing_segment")] == (None, None)
    assert found[("opportunities", "lost_no_decision")] == (None, None)
    # the others are counted as before
    assert found[("leads", "mql_pending")] == (2, 2 / 5)
    assert found[("opportunities", "missing_region")] == (1, 1 / 5)
    no_leads = replace(AS_OF, tracking=Tracking(has_leads=False))
    found = counts(data_health(no_leads, full=FULL).collect())
    assert {k: v for k, v in found.items() if k[0] == "leads"} == {
        (r.table, r.rule): (None, None) for r in HEALTH_RULES if r.table == "leads"
    }
    assert found[("opportunities", "lead_not_found")] == (None, None)


def test_a_deal_without_creation_date_closed_after_the_cut_counts_as_reopened() -> None:
    # O5 loses its creation date: known from its first stage change (10 February), it is
    # visible at 31 March and closed on 15 April, so it still counts as reopened (1 of 6)
    opps = FULL.opportunities.with_columns(
        pl.when(pl.col("opportunity_id") == "O5")
        .then(None)
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    full = replace(FULL, opportunities=opps)
    found = counts(data_health(full.at("2026-03-31"), full=full).collect())
    assert found[("opportunities", "closed_after_as_of")] == (1, pytest.approx(1 / 6))
