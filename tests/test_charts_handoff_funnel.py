"""Chart specs of 'The handoff' and 'The funnel': asserted on to_dict(), never on pixels.

Inputs are the metric outputs of the hand-built tables in ``tests/metrics/test_handoff.py``
(FY2026-Q1: Webinar, Paid Search and Events MQLs, Outbound with none) and
``tests/metrics/test_funnel.py`` (FY2026-Q1 cohorts mature, FY2026-Q2 still maturing).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

import tests.metrics.test_funnel as fn
import tests.metrics.test_handoff as ho
from alignment_lib import (
    ParameterError,
    chart_funnel_cohorts,
    chart_funnel_period,
    chart_leaked_mqls,
    chart_mql_outcomes,
    chart_rejection_reasons,
    chart_response_times,
    chart_stage_durations,
    chart_weekly_sla,
    funnel_cohort,
    funnel_period,
    mql_outcomes,
    rejection_reasons,
    response_times,
    stage_durations,
)
from alignment_lib.charts.handoff import OUTCOME_COLORS
from alignment_lib.theme import SOURCE_COLORS
from tests._charts import ANY, layer
from tests._notebooks import HOSTILE

TIMED = {**ho.KW, "as_of": ho.AS_OF}
FUNNEL_SPAN = {"calendar": fn.UTC, "first": fn.Q1, "last": fn.Q2}


def rows(spec: dict) -> list[dict]:
    return [r for v in spec["datasets"].values() for r in v]


def params(spec: dict) -> dict[str, dict]:
    return {p["name"]: p for p in spec.get("params", [])}


def expressions(spec: object) -> list[str]:
    """Every Vega expression string in a spec (filters, calculates, tests)."""
    found: list[str] = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("filter", "expr", "calculate", "test") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(expressions(value))
    elif isinstance(spec, list):
        for item in spec:
            found.extend(expressions(item))
    return found


def outcomes(leads: pl.LazyFrame = ho.LEADS_LF) -> pl.DataFrame:
    return mql_outcomes(leads, **TIMED, by=["channel"]).collect()


# -- the handoff ---------------------------------------------------------------------------
def test_outcomes_are_parts_of_100_percent_in_outcome_colours() -> None:
    d = chart_mql_outcomes(outcomes(), title="Sales accepted 33%", report_quarter="FY2026-Q1")
    d = d.to_dict()
    assert d["title"]["text"] == "Sales accepted 33%"
    enc = layer(d, "bar", y="share")["encoding"]
    assert enc["y"]["field"] == "share" and enc["y"]["stack"] == "zero"
    assert enc["y"]["scale"]["domain"] == [0, 1] and enc["y"]["axis"]["format"] == ".0%"
    scale = enc["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == OUTCOME_COLORS
    # outcomes are not sources: none of them borrows a team colour
    assert not set(OUTCOME_COLORS.values()) & set(SOURCE_COLORS.values())
    formats = {t["title"]: t.get("format") for t in enc["tooltip"]}
    assert formats == {
        "MQL quarter": None,
        "Channel": None,
        "Outcome": None,
        "MQLs": ",d",
        "Share of MQLs": ".1%",
    }


def test_outcomes_channel_dropdown_and_legend_highlight() -> None:
    d = chart_mql_outcomes(outcomes()).to_dict()
    p = params(d)
    # Outbound has no MQL: not offered
    assert p["channel"]["bind"] == {
        "input": "select",
        "options": ["All channels", "Events", "Paid Search", "Webinar"],
        "name": "Channel ",
    }
    assert p["channel"]["value"] == "All channels"
    assert p["outcome_highlight"]["bind"] == "legend"
    assert p["outcome_highlight"]["select"] == {"type": "point", "fields": ["outcome"]}
    assert (
        layer(d, "bar", y="share")["encoding"]["opacity"]["condition"]["param"]
        == "outcome_highlight"
    )
    assert "(datum.group === channel)" in expressions(d)


def test_outcomes_chart_carries_aggregates_summed_over_channels() -> None:
    data = rows(chart_mql_outcomes(outcomes()).to_dict())
    # 2 quarters x (All + 3 channels) x 5 outcomes (leaked in its two kinds); no lead rows
    assert len(data) == 40
    assert all("lead_id" not in r for r in data)
    q1_all = {
        r["outcome"]: r["count"]
        for r in data
        if r["group"] == "All channels" and r["fiscal_quarter"] == "FY2026-Q1"
    }
    # H4 never touched; H5 touched, undecided 35 days later (fallback threshold 30 days)
    assert q1_all == {
        "Accepted": 2,
        "Rejected": 2,
        "Pending": 0,
        "Leaked: never touched": 1,
        "Leaked: stalled (touched, no decision)": 1,
    }


def test_report_quarter_outlined_without_data_in_expressions() -> None:
    d = chart_mql_outcomes(outcomes(), report_quarter="FY2026-Q2").to_dict()
    outline = layer(d, "bar", y2=ANY)
    assert outline["mark"]["stroke"] == "#222222"
    assert {"field": "fiscal_quarter", "equal": "FY2026-Q2"} in [
        t["filter"] for t in outline["transform"]
    ]


def test_hostile_channel_names_stay_data_not_expressions() -> None:
    leads = ho.LEADS_LF.with_columns(
        pl.when(pl.col("channel") == "Webinar")
        .then(pl.lit(HOSTILE))
        .otherwise(pl.col("channel"))
        .alias("channel")
    )
    charts = [
        chart_mql_outcomes(outcomes(leads)),
        chart_leaked_mqls(outcomes(leads), quarter="FY2026-Q1"),
        chart_rejection_reasons(
            rejection_reasons(leads, **ho.KW, by=["channel"]).collect(), quarter="FY2026-Q1"
        ),
        chart_response_times(
            response_times(leads, **TIMED, by=["channel"]).collect(),
            by="channel",
            quarter="FY2026-Q1",
        ),
    ]
    for chart in charts:
        d = chart.to_dict()
        assert HOSTILE in json.dumps(d)  # shown as data (the exporter escapes the JSON)
        assert all(HOSTILE not in e for e in expressions(d))


def test_rejection_reasons_sorted_largest_first_per_channel() -> None:
    frame = rejection_reasons(ho.LEADS_LF, **ho.KW, by=["channel"]).collect()
    d = chart_rejection_reasons(frame, quarter="FY2026-Q1", title="t").to_dict()
    y = layer(d, "bar")["encoding"]["y"]
    # layers union their domains: only count/min/max sorts survive it
    assert y["sort"] == {"field": "rejected", "op": "max", "order": "descending"}
    assert layer(d, "text")["encoding"]["y"]["sort"] == y["sort"]
    assert params(d)["channel"]["bind"]["options"] == ["All channels", "Events", "Webinar"]
    labels = {(r["group"], r["rejection_reason"]): r["label"] for r in rows(d)}
    # Q1: one "Not a fit" (Webinar) and one without a reason (Events): 50% each
    assert labels[("All channels", "Not a fit")] == "1 · 50%"
    assert labels[("Events", "(no reason given)")] == "1 · 100%"
    colors = layer(d, "bar")["encoding"]["color"]["scale"]
    assert colors["domain"] == ["Reason given", "No reason given"]


def test_response_times_worst_first_with_sla_and_target() -> None:
    frame = response_times(ho.LEADS_LF, **TIMED, by=["owner_id"]).collect()
    d = chart_response_times(
        frame, by="owner_id", quarter="FY2026-Q1", sla_target=0.55, title="Reps"
    ).to_dict()
    left, right = d["hconcat"]
    bars = layer(left, "bar")["encoding"]
    # r1 2/3 within the SLA, r2 1/3: worst first; the owner without MQLs is left out
    assert bars["y"]["sort"] == ["r2", "r1"]
    assert bars["x"]["field"] == "median_hours"
    assert layer(left, "tick", x="p90_hours")["encoding"]["x"]["field"] == "p90_hours"
    sla = [r for r in rows(d) if "hours" in r and "label" in r and r["label"] == "24 h SLA"]
    assert sla == [{"hours": 24.0, "label": "24 h SLA"}]
    assert layer(right, "bar")["encoding"]["x"]["axis"]["format"] == ".0%"
    assert any(r.get("target") == 0.55 for r in rows(d))
    formats = {t["title"]: t.get("format") for t in bars["tooltip"]}
    assert formats["Median hours to first touch"] == ",.1f"
    assert formats["SLA compliance"] == ".1%"
    assert formats["MQLs"] == ",d"
    colors = bars["color"]["scale"]
    assert colors["domain"] == ["Median over the 24 h SLA", "Median within the 24 h SLA"]
    assert params(d)["speed_highlight"]["bind"] == "legend"
    assert d["title"]["text"] == "Reps"


def test_response_times_limit_and_min_due() -> None:
    frame = response_times(ho.LEADS_LF, **TIMED, by=["owner_id"]).collect()
    d = chart_response_times(frame, by="owner_id", quarter="FY2026-Q1", limit=1).to_dict()
    assert layer(d["hconcat"][0], "bar")["encoding"]["y"]["sort"] == ["r2"]
    d = chart_response_times(frame, by="owner_id", quarter="FY2026-Q1", min_due=4).to_dict()
    # no rep has 4 MQLs due: the chart says so instead of drawing empty panels
    assert "hconcat" not in d
    assert d["description"] == "No MQLs in FY2026-Q1 for any rep with at least 4 MQLs due"
    with pytest.raises(ParameterError, match="by=\\['channel'\\]"):
        chart_response_times(frame, by="channel", quarter="FY2026-Q1")


def test_weekly_sla_points_target_and_quarter_start() -> None:
    weekly = response_times(
        ho.LEADS_LF, calendar=ho.UTC, first=ho.Q1, last=ho.Q1, as_of=ho.AS_OF, period="week"
    ).collect()
    d = chart_weekly_sla(
        weekly, sla_target=0.55, quarter="FY2026-Q1", quarter_start=dt.date(2026, 1, 1)
    ).to_dict()
    points = layer(d, "point")
    assert points["encoding"]["x"]["type"] == "temporal"
    assert points["encoding"]["x"]["axis"]["format"] == "%d %b"
    assert points["encoding"]["y"]["axis"]["format"] == ".0%"
    weeks = [r for r in rows(d) if "week_start" in r]
    # 14 weeks touch Q1, two have MQLs due: 2 March (60%) and 9 March (0%)
    assert [(r["week_start"][:10], r["sla_compliance"]) for r in weeks] == [
        ("2026-03-02", 0.6),
        ("2026-03-09", 0.0),
    ]
    assert {"target": 0.55, "label": "Target 55%"} in rows(d)
    assert any(r.get("label") == "FY2026-Q1 →" for r in rows(d))
    tips = {t["title"]: t.get("format") for t in points["encoding"]["tooltip"]}
    assert tips["Week of"] == "%d %b %Y" and tips["SLA compliance"] == ".1%"


def test_leaked_mqls_by_channel_most_first() -> None:
    d = chart_leaked_mqls(outcomes(), quarter="FY2026-Q2", title="1 leaked").to_dict()
    bars, labels = layer(d, "bar"), layer(d, "text")
    label_rows = d["datasets"][labels["data"]["name"]]
    # Q2: Webinar 2 MQLs, 1 leaked (H8, never touched); Paid Search 1 MQL, none; no other
    # channel had MQLs
    assert [(r["label"], r["leaked"], r["text"]) for r in label_rows] == [
        ("Webinar", 1, "1 · 50% of its MQLs"),
        ("Paid Search", 0, "0 · 0% of its MQLs"),
    ]
    assert bars["encoding"]["y"]["sort"] == ["Webinar", "Paid Search"]
    kinds = [(r["label"], r["kind"], r["count"]) for r in d["datasets"][bars["data"]["name"]]]
    assert kinds == [
        ("Paid Search", "Leaked: never touched", 0),
        ("Paid Search", "Leaked: stalled (touched, no decision)", 0),
        ("Webinar", "Leaked: never touched", 1),
        ("Webinar", "Leaked: stalled (touched, no decision)", 0),
    ]
    scale = bars["encoding"]["color"]["scale"]
    assert scale["range"] == [
        OUTCOME_COLORS["Leaked: never touched"],
        OUTCOME_COLORS["Leaked: stalled (touched, no decision)"],
    ]
    # Q1: Paid Search leaked 2, one of each kind (H4 never touched, H5 stalled)
    q1 = chart_leaked_mqls(outcomes(), quarter="FY2026-Q1").to_dict()
    q1_bars = q1["datasets"][layer(q1, "bar")["data"]["name"]]
    assert [r["count"] for r in q1_bars if r["label"] == "Paid Search"] == [1, 1]
    with pytest.raises(ParameterError):
        chart_leaked_mqls(mql_outcomes(ho.LEADS_LF, **TIMED).collect(), quarter="FY2026-Q2")


def test_response_chart_in_working_hours() -> None:
    frame = response_times(ho.LEADS_LF, **TIMED, by=["channel"]).collect()
    d = chart_response_times(
        frame, by="channel", quarter="FY2026-Q1", sla_hours=8, sla_clock="business"
    ).to_dict()
    assert d["title"]["subtitle"] == [
        "FY2026-Q1 MQLs. Bars: median working hours to a first touch; ticks: p90 (1 in 10 "
        "waited longer); dashed lines: the 8 working-hour SLA."
    ]
    left = layer(d["hconcat"][0], "bar")
    assert left["encoding"]["x"]["title"] == "Working hours from MQL to first touch"
    assert left["encoding"]["color"]["scale"]["domain"] == [
        "Median over the 8 working-hour SLA",
        "Median within the 8 working-hour SLA",
    ]


# -- the funnel ----------------------------------------------------------------------------
def cohorts(**by) -> pl.DataFrame:
    return funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN, as_of=fn.AS_OF, **by).collect()


def test_cohort_waterfall_marks_maturing_cohorts() -> None:
    d = chart_funnel_cohorts(cohorts(by=["channel"]), quarter="FY2026-Q2", title="t").to_dict()
    bars = layer(d, "bar")["encoding"]
    assert bars["x"]["sort"] == [
        "Inquiry → MQL",
        "MQL → SAL",
        "SAL → SQL",
        "SQL → Opportunity",
        "Opportunity → Won",
    ]
    assert bars["xOffset"]["field"] == "fiscal_quarter"
    assert bars["color"]["scale"]["scheme"] == {"name": "purples", "extent": [0.35, 1.0]}
    assert bars["stroke"]["scale"] == bars["color"]["scale"]
    assert bars["strokeDash"]["scale"] == {
        "domain": ["Mature", "Still maturing"],
        "range": [[1, 0], [4, 2]],
    }
    assert bars["fillOpacity"]["scale"]["range"] == [1.0, 0.3]
    assert bars["y"]["axis"]["format"] == ".0%"
    data = rows(d)
    maturity = {(r["fiscal_quarter"], r["maturity"]) for r in data}
    assert maturity == {("FY2026-Q1", "Mature"), ("FY2026-Q2", "Still maturing")}
    # 2 quarters x 5 steps x (All leads + 3 channels)
    assert len(data) == 40 and all("lead_id" not in r for r in data)
    q1_all = {
        r["step_label"]: (r["entered"], r["reached"])
        for r in data
        if r["fiscal_quarter"] == "FY2026-Q1" and r["group"] == "All leads"
    }
    assert q1_all == {
        "Inquiry → MQL": (5, 5),
        "MQL → SAL": (3, 2),
        "SAL → SQL": (2, 1),
        "SQL → Opportunity": (2, 2),
        "Opportunity → Won": (2, 1),
    }
    p = params(d)
    assert p["leads_from"]["bind"]["options"] == [
        "All leads",
        "Channel: Events",
        "Channel: Paid Search",
        "Channel: Webinar",
    ]
    assert p["cohort_highlight"]["bind"] == "legend"


def test_cohort_waterfall_keeps_the_last_cohorts_only() -> None:
    d = chart_funnel_cohorts(cohorts(), quarter="FY2026-Q2", cohorts=1).to_dict()
    assert {r["fiscal_quarter"] for r in rows(d)} == {"FY2026-Q2"}
    with pytest.raises(ParameterError, match="FY2027-Q1 is not in the frame"):
        chart_funnel_cohorts(cohorts(), quarter="FY2027-Q1")


def test_period_chart_is_labelled_a_ratio_of_flows() -> None:
    flows = funnel_period(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN, by=["channel"]).collect()
    d = chart_funnel_period(flows, quarter="FY2026-Q2", title="t").to_dict()
    assert (
        "Period mode: ratio of flows in the period, not a cohort conversion rate."
        in (d["title"]["subtitle"])
    )
    labels = {r["stage_label"]: r["label"] for r in rows(d) if r["group"] == "All leads"}
    # Q2: 2 inquiries, 3 MQLs (1.5 x the inquiries: flows, not a conversion rate)
    assert labels["Inquiry"] == "2"
    assert labels["MQL"] == "3 · ratio of flows 1.50"
    assert labels["Won"] == "0 · ratio of flows 0.00"
    tips = {t["title"]: t.get("format") for t in layer(d, "bar")["encoding"]["tooltip"]}
    assert tips["Ratio of flows (not a conversion rate)"] == ".2f"
    assert tips["Entered in FY2026-Q2"] == ",d"
    assert layer(d, "bar")["encoding"]["y"]["sort"][0] == "Inquiry"


def test_stage_durations_on_a_symlog_axis_with_splits() -> None:
    overall = stage_durations(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN).collect()
    split = stage_durations(fn.LEADS_LF, fn.OPPS_LF, **FUNNEL_SPAN, by=["channel"]).collect()
    d = chart_stage_durations(overall, quarter="FY2026-Q2", splits=[split]).to_dict()
    x = layer(d, "point")["encoding"]["x"]
    assert x["scale"]["type"] == "symlog"
    assert x["scale"]["domain"] == [0.0, 400.0]  # a p90 over 364 days would widen it
    assert x["axis"]["values"][:4] == [0, 1, 2, 7]
    data = rows(d)
    labels = {r["step_label"]: r["label"] for r in data if r["group"] == "All leads"}
    # Q2: inquiry -> MQL median 7, p90 11.8; opportunity -> won has no record and is left out
    assert labels == {
        "Inquiry → MQL": "7.0 d (p90 12 d)",
        "MQL → SAL": "1.0 d (p90 1.0 d)",
        "SAL → SQL": "6.0 d (p90 6.0 d)",
        "SQL → Opportunity": "1.0 d (p90 1.0 d)",
    }
    assert params(d)["leads_from"]["bind"]["options"] == [
        "All leads",
        "Channel: Paid Search",
        "Channel: Webinar",
    ]
    tips = {t["title"]: t.get("format") for t in layer(d, "point")["encoding"]["tooltip"]}
    assert tips == {
        "Step": None,
        "Leads from": None,
        "Leads": ",d",
        "Median days": ",.1f",
        "p90 days": ",.1f",
    }
    with pytest.raises(ParameterError, match="split by one lead column"):
        chart_stage_durations(overall, quarter="FY2026-Q2", splits=[overall])


def test_no_scientific_notation_in_formats() -> None:
    """Every d3 format the builders use is fixed-point, percent, SI-free or a date."""
    specs = [
        chart_mql_outcomes(outcomes()).to_dict(),
        chart_funnel_cohorts(cohorts(), quarter="FY2026-Q2").to_dict(),
    ]
    formats = re.findall(r'"format": "([^"]+)"', json.dumps(specs))
    assert formats and all(not f.endswith(("e", "s", "g")) for f in formats)


# -- empty inputs: the chart says what is missing -------------------------------------------
def no_data(chart) -> str:
    """The message of a chart_no_data placeholder (fails on a real chart)."""
    d = chart.to_dict()
    assert [each["mark"]["type"] for each in d["layer"]] == ["text"]
    assert rows(d) == [{"message": d["description"]}]
    return d["description"]


def test_rejection_reasons_with_a_channel_without_rejections() -> None:
    # FY2026-Q1: Events 1 (no reason), Webinar 1 (Not a fit); Paid Search has a row with 0.
    # The channel's shares are 0/0: before, a NaN cast to an integer failed the render.
    frame = pl.concat(
        [
            rejection_reasons(ho.LEADS_LF, **ho.KW, by=["channel"]).collect(),
            pl.DataFrame(
                {
                    "quarter_index": [8104],
                    "fiscal_quarter": ["FY2026-Q1"],
                    "rejection_reason": ["Not a fit"],
                    "channel": ["Paid Search"],
                    "rejected": [0],
                    "share": [None],
                },
                schema_overrides={"quarter_index": pl.Int32, "share": pl.Float64},
            ),
        ]
    )
    d = chart_rejection_reasons(frame, quarter="FY2026-Q1").to_dict()
    # All channels: 2 rejections, 1 each (50%); each channel alone 1 of 1 (100%)
    assert sorted((r["group"], r["label"]) for r in rows(d)) == [
        ("All channels", "1 · 50%"),
        ("All channels", "1 · 50%"),
        ("Events", "1 · 100%"),
        ("Webinar", "1 · 100%"),
    ]
    assert params(d)["channel"]["bind"]["options"] == ["All channels", "Events", "Webinar"]
    assert no_data(chart_rejection_reasons(frame, quarter="FY2026-Q2", title="Why")) == (
        "No MQLs rejected in FY2026-Q2"
    )


def test_handoff_charts_without_mqls_say_so() -> None:
    empty = ho.LEADS_LF.clear()
    outcomes = mql_outcomes(empty, **TIMED, by=["channel"]).collect()
    assert no_data(chart_mql_outcomes(outcomes)) == "No MQLs in the quarters shown"
    assert no_data(chart_leaked_mqls(outcomes, quarter="FY2026-Q1")) == "No MQLs in FY2026-Q1"
    by_channel = response_times(empty, **TIMED, by=["channel"]).collect()
    assert no_data(chart_response_times(by_channel, by="channel", quarter="FY2026-Q1")) == (
        "No MQLs in FY2026-Q1 for any channel"
    )
    weekly = response_times(empty, **TIMED, period="week").collect()
    assert no_data(chart_weekly_sla(weekly)) == "No MQL was due for a first touch in these weeks"
    d = chart_mql_outcomes(outcomes, title="What became of the MQLs").to_dict()
    assert d["title"] == "What became of the MQLs"


def test_funnel_charts_without_leads_say_so() -> None:
    leads, opps = fn.LEADS_LF.clear(), fn.OPPS_LF.clear()
    split = funnel_cohort(leads, opps, **FUNNEL_SPAN, as_of=fn.AS_OF, by=["channel"]).collect()
    assert no_data(chart_funnel_cohorts(split, quarter="FY2026-Q2")) == "No leads in FY2026-Q2"
    unsplit = funnel_cohort(leads, opps, **FUNNEL_SPAN, as_of=fn.AS_OF).collect()
    assert no_data(chart_funnel_cohorts(unsplit, quarter="FY2026-Q2")) == (
        "No lead reached a stage in the cohorts up to FY2026-Q2"
    )
    flows = funnel_period(leads, opps, **FUNNEL_SPAN).collect()
    assert no_data(chart_funnel_period(flows, quarter="FY2026-Q2")) == (
        "No lead entered a stage in FY2026-Q2"
    )
    durations = stage_durations(leads, opps, **FUNNEL_SPAN).collect()
    assert no_data(chart_stage_durations(durations, quarter="FY2026-Q2")) == (
        "No lead moved between stages in FY2026-Q2"
    )
    # a quarter outside a non-empty frame is still the caller's mistake
    with pytest.raises(ParameterError, match="quarter FY2027-Q1 is not in the frame"):
        chart_funnel_period(flows, quarter="FY2027-Q1")
