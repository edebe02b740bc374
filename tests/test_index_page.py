from __future__ import annotations

import datetime as dt

import polars as pl

from alignment_lib.index_page import PageLink, build_index

HOSTILE = "</script><img src=x onerror=alert(1)>"


def test_every_value_is_escaped_and_nothing_runs() -> None:
    scorecard = pl.DataFrame(
        {
            "metric": ["bookings"],
            "team": ["shared"],
            "label": [HOSTILE],
            "kind": ["amount"],
            "target": [100.0],
            "actual": [50.0],
            "attainment": [0.5],
            "status": ["behind"],
        }
    )
    page = build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=scorecard,
        pages=[PageLink(HOSTILE, "a'b.html", "analyst/x.html", (HOSTILE,))],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    )
    assert "<img" not in page and "<script" not in page
    assert page.count("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") == 3
    assert "href='a&#x27;b.html'" in page
    assert "$50" in page and "$100" in page and "50%" in page


def test_quarter_without_targets_says_so() -> None:
    page = build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=pl.DataFrame(),
        pages=[],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    )
    assert "No targets are set for this quarter." in page


def _page(filters: str) -> str:
    return build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=pl.DataFrame(),
        pages=[],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        filters=filters,
    )


def test_filtered_index_names_the_filter_in_title_and_heading() -> None:
    page = _page("Segment: Enterprise · Region: EMEA")
    assert (
        "<title>FY2026-Q3 · Segment: Enterprise · Region: EMEA · Marketing and sales "
        "alignment report</title>"
    ) in page
    assert (
        "<h1>FY2026-Q3 · Segment: Enterprise · Region: EMEA: marketing and sales on one page</h1>"
    ) in page
    assert "Filtered report: Segment: Enterprise · Region: EMEA." in page
    # a filtered report compares with its own targets, never with the company's
    assert "The targets are those set for Segment: Enterprise · Region: EMEA." in page
    assert "whole company" not in page


SEGMENT_ACTUALS = pl.DataFrame(
    {
        "metric": ["bookings", "mqls"],
        "team": ["shared", "shared"],
        "label": ["Bookings", "MQLs"],
        "kind": ["amount", "count"],
        "target": [None, None],
        "actual": [2_000_000.0, 103.0],
        "attainment": [None, None],
        "status": [None, None],
    },
    schema_overrides={"target": pl.Float64, "attainment": pl.Float64, "status": pl.String},
)


def test_filtered_index_without_targets_of_its_own_shows_actuals_and_says_why() -> None:
    why = (
        "No targets are set for Segment: Enterprise; the company's targets do not apply to a "
        "filtered report."
    )
    page = build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=SEGMENT_ACTUALS,
        pages=[],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        filters="Segment: Enterprise",
        targets_note=why,
    )
    escaped = why.replace("'", "&#x27;")
    # in the filter notice and above the actuals
    assert page.count(escaped) == 2
    assert "The targets are those set for" not in page
    # the actuals, with no target, attainment or status against anything
    assert "$2.0M" in page and ">103<" in page
    assert page.count("no target") == 2 and "%" not in page.split("<h2>Shared targets</h2>")[1]


def test_filter_label_is_escaped() -> None:
    page = _page(f"Segment: {HOSTILE}")
    assert "<img" not in page and "<script" not in page
    # title, heading, the notice and its statement of the targets compared with
    assert page.count("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") == 4


def test_company_index_says_nothing_of_a_filter() -> None:
    page = _page("")
    assert "<title>FY2026-Q3 · Marketing and sales alignment report</title>" in page
    assert "Filtered report" not in page and "class='filter'" not in page
