"""The data-health report (issue 9 items 8 and 9): one computation for the page and for
``alignment validate``, on the hand-built funnel of tests/metrics/test_health.py.

Without the stage_history table and with the export reaching 20 April, the report as of
31 March sees 5 leads (MQLs L1, L2, L5) and 5 deals: O2, O3 open, O5 open again (won 15
April), O1 won, O4 lost. The cut hides L6 and O6, blanks L5's touch (5 April) and reopens
O5. The three deals open at the cut (O2, O3, O5) are shown with the export's values,
which can be recorded later: O5's certainly (its close). The rule "no stage history"
cannot be made (it reads a table the data does not have); every other non-as-of rule
finds rows (worked in test_health.py; without history O5's expected close is the
export's 15 April, not past at 31 March, so only O2 is past its date).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from alignment_lib import Tracking, data_health_summary, health_report, tracking_summary
from alignment_lib.metrics.health import rows_loaded, switched_off_measures, tracked_needs
from alignment_lib.narrative.health import health_report_text
from alignment_lib.tables.health import table_data_health, table_switched_off, table_tracking
from tests.metrics.test_health import _without_history
from tests.test_gate import NO_LEADS
from tests.test_partial_pages import NO_HISTORY, text

NO_HISTORY_TRACKING = Tracking(has_stage_history=False)


def report_data():
    full = replace(_without_history("04-20"), tracking=NO_HISTORY_TRACKING)
    return full.at("2026-03-31"), full


def test_tracked_needs_says_what_each_reads_and_what_pages_say_without_it() -> None:
    got = tracked_needs(Tracking(has_leads=False))
    rows = {r["need"]: r for r in got.iter_rows(named=True)}
    assert got.columns == ["need", "reads", "tracked", "statement"]
    assert rows["leads"]["reads"] == "a leads table"
    assert (rows["mql"]["reads"], rows["mql"]["tracked"]) == ("leads.mql_at", False)
    assert rows["mql"]["statement"] == NO_LEADS  # without a leads table, said once that way
    assert rows["lead_opportunity"]["reads"] == "leads.opportunity_id or opportunities.lead_id"
    assert (rows["amount"]["tracked"], rows["amount"]["statement"]) == (True, None)
    assert rows["lost_deals"]["reads"] == "lost deals (outcome lost)"


def test_switched_off_measures() -> None:
    got = switched_off_measures(NO_HISTORY_TRACKING)
    assert got.rows() == [("slipped_deals", "Slipped deals", "business_cycles", NO_HISTORY)]
    assert switched_off_measures(Tracking()).height == 0


def test_the_report_marks_each_check_excluded_flagged_or_not_made() -> None:
    data, full = report_data()
    report = health_report(data, full=full)
    outcome = {(t, r): o for t, r, o in report.checks.select("table", "rule", "outcome").rows()}
    assert outcome[("leads", "skipped_mql")] == "excluded"
    assert outcome[("leads", "mql_pending")] == "flagged"
    assert outcome[("opportunities", "no_stage_history")] == "not tracked"
    assert outcome[("stage_history", "changed_after_as_of")] == "not tracked"
    assert outcome[("opportunities", "open_values_after_as_of")] == "flagged"
    assert report.loaded.equals(rows_loaded(data, full=full))
    assert report.switched_off["measure"].to_list() == ["slipped_deals"]
    without_full = health_report(data)
    assert without_full.checks.filter(pl.col("rule") == "created_after_as_of")[
        "outcome"
    ].to_list() == ["not checked", "not checked"]


def test_data_health_page_names_the_figures_that_use_values_recorded_later() -> None:
    data, full = report_data()
    report = health_report(data, full=full)
    lines = data_health_summary(report.checks, report.loaded, tracking=NO_HISTORY_TRACKING)
    assert lines[:3] == [
        "This report computes on 5 leads (3 MQLs), 5 opportunities (3 open, 1 won, 1 lost) "
        "and no stage history (the data has no stage_history table).",
        "The as-of cut hid what came later: 1 lead and 1 opportunity; 1 deal closed after it "
        "counts as open and 1 lead had later handoff events blanked.",
        "Without stage history, 3 deals open at the as-of date are shown with the amount, "
        "stage and expected close date of the export, which can be recorded after that date "
        "(1 of them closed after it: its stage reads Open, its amount is the one it closed "
        "with): pipeline created, pipeline coverage, the bookings forecast and pipeline "
        "needed use these amounts; coverage and the forecast these stages and expected close "
        "dates.",
    ]
    assert lines[-1] == (
        "0 of the 17 checks found no rows (1 more was not made: it reads what this data does "
        "not track); the table below lists every check with its effect on the numbers."
    )
    # the figures a source cannot show are not named (no creation dates: no pipeline created)
    from tests.test_gate import tracking_without

    blind = tracking_without("opportunities.created_at", has_stage_history=False)
    said = data_health_summary(report.checks, report.loaded, tracking=blind)[2]
    assert said.endswith(
        ": pipeline coverage use these amounts; coverage and the forecast these stages and "
        "expected close dates."
    ) or said.endswith(
        ": pipeline coverage uses these amounts; coverage these stages and expected close dates."
    )


def test_with_history_nothing_is_said_about_later_values() -> None:
    from tests.metrics.test_health import AS_OF, FULL

    report = health_report(AS_OF, full=FULL)
    lines = data_health_summary(report.checks, report.loaded)
    assert not any("recorded after" in line for line in lines)


def test_tracking_summary_and_tables() -> None:
    data, full = report_data()
    report = health_report(data, full=full)
    assert tracking_summary(report, tracking=NO_HISTORY_TRACKING) == [
        "Every stage of the funnel is tracked in this data.",
        "1 measure of the pages is switched off because this data does not track what it "
        "needs: Slipped deals; the table below says why.",
    ]
    off = text(table_switched_off(report.switched_off).as_raw_html())
    assert off.endswith("Slipped deals business_cycles " + NO_HISTORY)
    tracked = text(table_tracking(report.tracked).as_raw_html())
    assert "stage_history a stage_history table no " + NO_HISTORY in tracked
    checks = text(table_data_health(report.checks, tracking=NO_HISTORY_TRACKING).as_raw_html())
    assert "no stage history opportunities without any stage_history row" in checks
    assert "not tracked not tracked" in checks
    none_off = text(table_switched_off(switched_off_measures(Tracking())).as_raw_html())
    assert none_off.endswith("Nothing is switched off: every measure can be shown.")


def test_report_as_text_for_validate() -> None:
    # the un-cut data: O2, O3 and O6 open; O1 and O5 won; O4 lost
    _, full = report_data()
    out = health_report_text(health_report(full), tracking=NO_HISTORY_TRACKING)
    lines = out.split("\n")
    assert lines[:9] == [
        "Rows read",
        "  Leads          6",
        "    MQLs         3",
        "  Opportunities  6",
        "    open         3",
        "    won          2",
        "    lost         1",
        "  Stage history  no stage_history table",
        "  Targets        0",
    ]
    assert "  opportunities  no stage history" in out and "not tracked" in out
    assert "after_as_of" not in out and "as-of date" not in out  # a source, not a report
    assert "  funnel stages: Inquiry yes, MQL yes, SAL yes, SQL yes, Opportunity yes, Won yes" in (
        lines
    )
    assert lines[-2:] == [
        "Switched off (the data does not track what they need)",
        f"  Slipped deals (business_cycles): {NO_HISTORY}",
    ]
