"""Tables of 'The handoff' and 'The funnel' on the hand-built tables of the metric tests.

Handoff, FY2026-Q1: 6 MQLs = 2 accepted (33%), 2 rejected (33%), 1 pending (17%), 1 leaked
(17%); FY2026-Q2: 3 = 0, 0, 2 (67%), 1 (33%). By channel in Q1: Paid Search 3 MQLs, 1
accepted, 1 pending, 1 leaked, median 27.0 h, p90 43.8 h (48 and 6 h), 1/3 within the SLA;
Webinar 2 MQLs, median 13.0 h, 50% each accepted and rejected, 100% within; Events 1 MQL,
rejected, never touched, 0% within.
Funnel: Q1 cohorts (mature) 100%, 67%, 50%, 100%, 50%; Q2 cohorts all still maturing.
Durations: Q2 inquiry -> MQL median 7.0, p90 11.8, 3 leads.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

import tests.metrics.test_funnel as fn
import tests.metrics.test_handoff as ho
from alignment_lib import (
    ParameterError,
    funnel_cohort,
    mql_outcomes,
    response_times,
    stage_durations,
    table_funnel_by,
    table_funnel_cohorts,
    table_handoff_by_channel,
    table_mql_outcomes,
    table_stage_durations,
)
from tests._notebooks import HOSTILE

TIMED = {**ho.KW, "as_of": ho.AS_OF}
FUNNEL_SPAN = {"calendar": fn.UTC, "first": fn.Q1, "last": fn.Q2}
DTYPES = ("Float64", "Int64", "f64", "i64", "str", "bool")


def cells(html: str) -> list[str]:
    """The text of every body cell, in order (header, spanners and notes left out)."""
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, flags=re.S)
    assert body, "no table body"
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body.group(1), flags=re.S)
    ]


def no_dtypes(html: str) -> bool:
    return not any(f">{d}<" in html for d in DTYPES)


def test_mql_outcomes_table_counts_with_shares() -> None:
    frame = mql_outcomes(ho.LEADS_LF, **TIMED, by=["channel"])  # lazy is fine
    html = table_mql_outcomes(frame).as_raw_html()
    # Q1: H5 (touched 03-06, undecided 35 days later) is stalled past the 30-day fallback,
    # H4 never touched; Q2: H8 never touched
    assert cells(html) == [
        "FY2026-Q1",
        "6",
        "2 (33%)",
        "2 (33%)",
        "0 (0%)",
        "2 (33%)",
        "1",
        "1",
        "FY2026-Q2",
        "3",
        "0 (0%)",
        "0 (0%)",
        "2 (67%)",
        "1 (33%)",
        "1",
        "0",
    ]
    assert "stalled: touched but still undecided more than 30 days after the MQL" in html
    assert 'id="mql-outcomes"' in html and no_dtypes(html)
    assert html == table_mql_outcomes(frame).as_raw_html()


def test_handoff_by_channel_worst_compliance_first() -> None:
    outcomes = mql_outcomes(ho.LEADS_LF, **TIMED, by=["channel"]).collect()
    response = response_times(ho.LEADS_LF, **TIMED, by=["channel"]).collect()
    html = table_handoff_by_channel(outcomes, response, quarter="FY2026-Q1").as_raw_html()
    body = cells(html)
    # Events 0%, Paid Search 33%, Webinar 100%; Outbound has no MQL and is left out
    assert body[:10] == ["Events", "1", "0%", "100%", "0%", "0 (0%)", "0", "–", "–", "0%"]
    # Paid Search: H4 never touched and H5 stalled leaked, none pending
    assert body[10:20] == [
        "Paid Search",
        "3",
        "33%",
        "0%",
        "0%",
        "2 (67%)",
        "1",
        "27.0 h",
        "43.8 h",
        "33%",
    ]
    assert "Outbound" not in html
    assert 'id="handoff-by-channel"' in html and no_dtypes(html)


def test_table_values_are_escaped() -> None:
    leads = ho.LEADS_LF.with_columns(
        pl.when(pl.col("channel") == "Webinar")
        .then(pl.lit(HOSTILE))
        .otherwise(pl.col("channel"))
        .alias("channel")
    )
    outcomes = mql_outcomes(leads, **TIMED, by=["channel"]).collect()
    response = response_times(leads, **TIMED, by=["channel"]).collect()
    html = table_handoff_by_channel(outcomes, response, quarter="FY2026-Q1").as_raw_html()
    assert HOSTILE not in html and "&lt;/script&gt;&lt;img" in html


def cohorts(**by) -> pl.DataFrame:
    return funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN, as_of=fn.AS_OF, **by).collect()


def test_funnel_cohorts_table_greys_maturing_cohorts() -> None:
    html = table_funnel_cohorts(cohorts(by=["channel"])).as_raw_html()
    body = cells(html)
    # Q1: 5 inquiries, 3 MQLs; Q2: 2 inquiries (L5, L6), 3 MQLs (L4, L7, L6)
    assert body[:8] == ["FY2026-Q1", "5", "3", "100%", "67%", "50%", "100%", "50%"]
    assert body[8:11] == ["FY2026-Q2", "2", "3"]
    assert 'id="funnel-cohorts"' in html and no_dtypes(html)
    # the five Q2 cells are styled as maturing, no Q1 cell is
    tbody = html[html.index("<tbody") : html.index("</tbody>")]
    assert tbody.count("font-style: italic") == 5
    assert "still maturing" in html


def test_funnel_by_channel_names_the_cohort_and_hides_small_groups() -> None:
    frame = cohorts(by=["channel"])
    html = table_funnel_by(frame, column="channel", quarter="FY2026-Q2", min_entered=1)
    html = html.as_raw_html()
    assert "FY2026-Q1 cohorts" in html and 'id="funnel-by-channel"' in html
    body = cells(html)
    assert body[:6] == ["All leads", "100%", "67%", "50%", "100%", "50%"]
    # Q1 MQL -> SAL: Paid Search 0/1, Webinar 2/2; Events had one inquiry only, in Q2
    assert body[6:12] == ["Paid Search", "100%", "0%", "–", "100%", "0%"]
    assert body[12:18] == ["Webinar", "100%", "100%", "50%", "100%", "100%"]
    assert "Events" not in html
    strict = table_funnel_by(frame, column="channel", quarter="FY2026-Q2").as_raw_html()
    assert cells(strict) == ["All leads", "–", "–", "–", "–", "–"]  # under 20 leads
    with pytest.raises(ParameterError, match="by=\\['segment'\\]"):
        table_funnel_by(frame, column="segment", quarter="FY2026-Q2")


def test_stage_durations_table() -> None:
    frame = stage_durations(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN).collect()
    html = table_stage_durations(frame, quarter="FY2026-Q2").as_raw_html()
    body = cells(html)
    # Inquiry -> MQL: median Q1 2.0, Q2 7.0; p90 11.8; 3 leads. Won in Q2: none.
    assert body[:5] == ["Inquiry → MQL", "2.0", "7.0", "11.8", "3"]
    assert body[-5:] == ["Opportunity → Won", "40.0", "–", "–", "0"]
    assert "p90, FY2026-Q2" in html and 'id="stage-durations"' in html and no_dtypes(html)


def test_funnel_by_without_a_mature_cohort_says_so() -> None:
    young = cohorts(by=["channel"]).filter(pl.col("fiscal_quarter") == "FY2026-Q2")
    html = table_funnel_by(young, column="channel", quarter="FY2026-Q2").as_raw_html()
    assert cells(html) == [
        "No cohort up to FY2026-Q2 is mature yet: show more quarters to compare."
    ]


# -- empty inputs: one cell that says what is missing ----------------------------------------
def no_data_table(table) -> tuple[str, list[str]]:
    html = table.as_raw_html()
    return re.search(r"gt_title gt_font_normal[^>]*>(.*?)</td>", html, re.S).group(1), cells(html)


def test_handoff_tables_without_mqls_say_so() -> None:
    empty = ho.LEADS_LF.clear()
    outcomes = mql_outcomes(empty, **TIMED, by=["channel"]).collect()
    response = response_times(empty, **TIMED, by=["channel"]).collect()
    assert no_data_table(table_mql_outcomes(outcomes)) == (
        "What became of the MQLs handed to sales",
        ["No MQLs in the quarters shown"],
    )
    assert no_data_table(table_handoff_by_channel(outcomes, response, quarter="FY2026-Q1")) == (
        "The handoff by channel, FY2026-Q1",
        ["No MQLs in FY2026-Q1"],
    )


def test_funnel_tables_without_leads_say_so() -> None:
    leads, opps = fn.LEADS_LF.clear(), fn.OPPS_LF.clear()
    split = funnel_cohort(leads, opps, **FUNNEL_SPAN, as_of=fn.AS_OF, by=["channel"]).collect()
    assert no_data_table(table_funnel_cohorts(split)) == (
        "Stage conversion by cohort",
        ["No leads in the quarters shown"],
    )
    assert no_data_table(table_funnel_by(split, column="channel", quarter="FY2026-Q2")) == (
        "Stage conversion by channel",
        ["No leads in the cohorts up to FY2026-Q2"],
    )
    durations = stage_durations(leads, opps, **FUNNEL_SPAN).collect()
    assert no_data_table(table_stage_durations(durations, quarter="FY2026-Q2")) == (
        "Time between stages",
        ["No lead moved between stages in the 4 quarters up to FY2026-Q2"],
    )


def test_no_data_table_escapes_its_message() -> None:
    from alignment_lib import table_no_data

    html = table_no_data(f"Title {HOSTILE}", f"No MQLs for {HOSTILE}", table_id="x").as_raw_html()
    assert HOSTILE not in html and "&lt;" in html
