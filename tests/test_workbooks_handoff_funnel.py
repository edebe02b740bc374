"""Smoke test: 'The handoff' and 'The funnel' render with papermill on the sample data and
their executive pages record the sample's findings (see docs/metrics/funnel-handoff.md,
"Sample values": 753 MQLs in FY2026-Q3, acceptance 0.53, 112 leaked of which 66 stalled,
Content Syndication and Events slow at a median 66 h and 52 h)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WORKBOOKS = {"handoff": "The handoff", "funnel": "The funnel"}

HANDOFF_FINDINGS = [
    "Sales accepted 53% of FY2026-Q3's 753 MQLs (FY2026-Q2: 59%) and rejected 28%; 31 (4%) "
    "await a decision and 112 (15%) leaked: 46 never touched past the SLA, 66 touched but left "
    "without a decision for more than 12.5 days (stalled).",
    "Decisions take a median 2.8 days; an MQL touched but still undecided after 12.5 days (the "
    "p99 of the 7,521 decisions known) counts as stalled, leaked.",
    "Half of the touched MQLs got a first touch within 11 h; 1 in 10 waited more than 71 h. "
    "61% of the MQLs due were touched within the 24 h SLA (target 55%).",
    "Content Syndication and Events MQLs waited a median 66 h and 52 h for a first touch "
    "against a 24 h SLA; 10% and 14% of them were touched in time.",
    "Reps rep-007, rep-019 and rep-026 took a median 67 h, 67 h and 45 h to first touch an "
    "MQL, against a 24 h SLA.",
    "112 FY2026-Q3 MQLs leaked (46 never touched, 66 stalled), 27 of them from Content "
    "Syndication.",
    '"Not a fit" was the top reason for rejecting MQLs in FY2026-Q3 (32% of 216).',
]
FUNNEL_FINDINGS = [
    "In FY2026-Q3, 2,366 inquiries, 753 MQLs, 414 SALs, 236 SQLs, 200 new opportunities and "
    "66 wins entered their stage (flows in the quarter, not one cohort).",
    "Still maturing, so their shares will rise: every FY2026-Q3 cohort, FY2026-Q2's "
    "Opportunity → Won and FY2026-Q1's Opportunity → Won.",
    "MQL → Won, whatever the stages between: 7% of FY2025-Q4's 885 MQLs were won, from 1% "
    "(Content Syndication) to 13% (Partner Referral) by channel.",
    "By channel, MQL → SAL for FY2026-Q2's MQLs ranged from 41% (Events) to 83% "
    "(Partner Referral).",
]


@pytest.fixture(scope="module")
def report(sample_report: Path) -> Path:
    """The session's sample render (all workbooks, in parallel): the quarter's folder."""
    return sample_report / "FY2026-Q3"


def page(folder: Path, name: str) -> str:
    return (folder / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "findings"), [("handoff", HANDOFF_FINDINGS), ("funnel", FUNNEL_FINDINGS)]
)
def test_executive_page_states_the_sample_findings(report: Path, name, findings) -> None:
    text = page(report, name)
    shown = html.unescape(text)  # the findings list is escaped HTML
    for sentence in findings:
        assert sentence in shown, sentence
    # executive: no code, no parameters, nothing fetched from the network
    assert "open_workbook" not in text and "injected-parameters" not in text
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?https?://", text)


def test_handoff_page_charts_and_tables(report: Path) -> None:
    text = page(report, "handoff")
    assert text.count('class="alignment-chart"') == 6
    for table in ("mql-outcomes", "handoff-by-channel"):
        assert f'id="{table}"' in text
    # chart titles are the computed headlines (in the chart JSON, where only < > & are escaped)
    assert (
        "\"Sales accepted 53% of FY2026-Q3's 753 MQLs; 112 leaked (46 never touched, 66 "
        'stalled without a decision)"'
    ) in text
    assert '"channel"' in text and '"outcome_highlight"' in text  # dropdown and legend
    assert "Sales met the 55% SLA target in 21 of 27 weeks" in text


def test_funnel_page_charts_and_tables(report: Path) -> None:
    text = page(report, "funnel")
    assert text.count('class="alignment-chart"') == 3
    for table in ("funnel-cohorts", "funnel-by-channel", "funnel-by-segment", "stage-durations"):
        assert f'id="{table}"' in text
    assert "Period mode: ratio of flows in the period, not a cohort conversion rate." in text
    assert '"leads_from"' in text and "Still maturing" in text
    assert "The funnel narrows most at Opportunity → Won" in text


def test_executed_notebooks_got_the_quarter(report: Path) -> None:
    for name in WORKBOOKS:
        nb = json.loads((report / "notebooks" / f"{name}.ipynb").read_text())
        assert nb["metadata"]["papermill"]["parameters"]["quarter"] == "FY2026-Q3"
        assert (report / "analyst" / f"{name}.html").exists()
