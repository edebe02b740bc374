from __future__ import annotations

import pytest

from alignment_lib import (
    FiscalQuarter,
    pipeline_vs_bookings,
    pipeline_vs_bookings_headline,
    pipeline_vs_bookings_summary,
)
from alignment_lib.narrative import escape_markdown, format_money
from tests.metrics.test_pipeline import DEALS, UTC

Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)


def test_summary_sentences_worked_by_hand() -> None:
    frame = pipeline_vs_bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    # Q2: bookings 125 (A + E, both marketing), target 250 -> 50%; FY2025-Q2 is outside
    # the frame, so no year-on-year claim. Pipeline created in Q2: E 25 + D (no amount).
    assert pipeline_vs_bookings_summary(frame, quarter=Q2, bookings_target=250.0) == [
        "Bookings in FY2026-Q2 were $125, 50% of the $250 target.",
        "Marketing-sourced deals made 100% of them.",
        "Pipeline created in FY2026-Q2 was $25, 100% of it sourced by marketing.",
    ]


def test_summary_without_target_or_bookings() -> None:
    frame = pipeline_vs_bookings(DEALS.clear(), calendar=UTC, first=Q1, last=Q1).collect()
    assert pipeline_vs_bookings_summary(frame, quarter=Q1, bookings_target=None) == [
        "Bookings in FY2026-Q1 were $0.",
        "No pipeline was created in FY2026-Q1.",
    ]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "$0"),
        (950, "$950"),
        (12_345, "$12.3K"),
        (4_560_000, "$4.6M"),
        (2.5e9, "$2.5B"),
        (-1500, "-$1.5K"),
    ],
)
def test_format_money(amount: float, text: str) -> None:
    assert format_money(amount) == text


def test_escape_markdown_neutralises_markup() -> None:
    out = escape_markdown("</script><img src=x onerror=alert(1)> *bold*")
    assert "<" not in out and ">" not in out and "\\*bold\\*" in out


def test_headline_worked_by_hand() -> None:
    frame = pipeline_vs_bookings(DEALS, calendar=UTC, first=Q1, last=Q2).collect()
    # Q1: bookings 110, none marketing (0%); pipeline 200, marketing 160 (80%).
    assert pipeline_vs_bookings_headline(frame, quarter=Q1) == (
        "Marketing sourced 0% of FY2026-Q1 bookings and 80% of its new pipeline"
    )
    empty = pipeline_vs_bookings(DEALS.clear(), calendar=UTC, first=Q1, last=Q1).collect()
    assert pipeline_vs_bookings_headline(empty, quarter=Q1) == (
        "No bookings and no new pipeline in FY2026-Q1"
    )
