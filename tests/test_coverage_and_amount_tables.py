"""What the coverage, pipeline and pipeline-needed tables say: the overdue line, the deals
without an amount, the conversion behind the required coverage; frames built by hand.

Coverage (two quarters): Q-next 20 qualified deals, $200, 2 of them without an amount;
Q-later 1 deal, $10; conversion 25% (required 4.0x); 3 overdue deals, $30.
Pipeline vs bookings: pipeline created Q1 3 deals (1 without an amount), Q2 2 deals (none
without): 1 of 5. Pipeline needed: win rate by amount 25%, 4 closed deals without an amount.
"""

from __future__ import annotations

import html
import re

import polars as pl

from alignment_lib import (
    Tracking,
    table_coverage,
    table_pipeline_needed,
    table_pipeline_vs_bookings,
)
from alignment_lib.schema import TABLES
from tests.test_scorecard_page import COVERAGE, NEEDED


def text(page: str) -> str:
    """The visible text of a table, one space between cells (style sheet dropped)."""
    body = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


WITHOUT_AMOUNT = COVERAGE.with_columns(pl.Series("open_deals_without_amount", [2, 0]))


def test_coverage_table_has_an_overdue_line_and_says_what_it_counts() -> None:
    shown = text(table_coverage(WITHOUT_AMOUNT).as_raw_html())
    assert "Q-next 20 $200 $0 $100 $100 2.0x 4.0x short" in shown
    assert "Q-later 1 $10 $0 $100 $100 0.1x 4.0x short" in shown
    # the overdue deals on their own line, in no quarter's coverage
    assert "Overdue (expected in a quarter already over) 3 $30 – – – – – not counted" in shown
    assert (
        "Overdue: 3 qualified deals are still open with an expected close date in a quarter "
        "already over ($30), in no quarter's pipeline above" in shown
    )
    assert "Required coverage = 1 / the in-quarter conversion of the same pipeline" in shown
    assert "(25%)" in shown
    assert (
        "2 of the qualified open deals have no amount: counted as deals, adding nothing to "
        "the open pipeline" in shown
    )


def test_coverage_table_without_overdue_or_missing_amounts_says_neither() -> None:
    clean = COVERAGE.with_columns(overdue_deals=pl.lit(0), overdue_pipeline=pl.lit(0.0))
    shown = text(table_coverage(clean).as_raw_html())
    assert "Overdue (expected in a quarter already over) 0 $0" in shown
    assert "Overdue:" not in shown and "no amount" not in shown


def test_coverage_table_without_targets_shows_pipeline_and_says_why() -> None:
    why = (
        "No targets are set for Segment: SMB; the company's targets do not apply to a filtered "
        "report."
    )
    shown = text(
        table_coverage(COVERAGE, tracking=Tracking(targets_unset_for="Segment: SMB")).as_raw_html()
    )
    # open pipeline and the required coverage stay; nothing is measured against a target
    assert "Q-next 20 $200 $0 – – – 4.0x –" in shown
    assert why in shown and "short" not in shown


def test_coverage_table_without_close_date_history_needs_it() -> None:
    every = {f"{t.name}.{c}" for t in TABLES.values() for c in t.column_names}
    no_history = Tracking(tracked=frozenset(every - {"stage_history.expected_close_date"}))
    shown = text(table_coverage(COVERAGE, tracking=no_history).as_raw_html())
    assert "needs close-date history" in shown and "4.0x" not in shown
    assert shown.endswith(
        "Expected close dates are not recorded in this data's stage history, so the in-quarter "
        "conversion of pipeline, and the coverage it requires, cannot be shown."
    )


def pvb(missing_q1: int) -> pl.DataFrame:
    rows = [
        ("FY2026-Q1", "pipeline_created", "marketing", 3, 300.0, missing_q1),
        ("FY2026-Q2", "pipeline_created", "sales", 2, 200.0, 0),
        ("FY2026-Q2", "bookings", "sales", 1, 100.0, 0),
    ]
    return pl.DataFrame(
        [(8104 + int(q[-1]) - 1, *r) for q, *r in [(r[0], *r) for r in rows]],
        schema={
            "quarter_index": pl.Int32,
            "fiscal_quarter": pl.String,
            "measure": pl.String,
            "source": pl.String,
            "deals": pl.Int64,
            "amount": pl.Float64,
            "deals_without_amount": pl.Int64,
        },
        orient="row",
    )


def test_pipeline_table_counts_opportunities_without_an_amount() -> None:
    shown = text(table_pipeline_vs_bookings(pvb(1)).as_raw_html())
    assert (
        "1 of the 5 opportunities created in these quarters have no amount: counted as "
        "opportunities, left out of the amounts (and of the win rate by amount), never given a "
        "guessed one." in shown
    )
    assert "no amount" not in text(table_pipeline_vs_bookings(pvb(0)).as_raw_html())


def test_pipeline_needed_table_states_the_win_rate_and_what_it_leaves_out() -> None:
    needed = NEEDED.with_columns(win_rate=pl.lit(0.25), closed_without_amount=pl.lit(4))
    shown = text(table_pipeline_needed(needed).as_raw_html())
    assert (
        "Pipeline required = target x share of bookings x 1 / the trailing win rate by amount "
        "(25%) of the deals closed with an amount; 4 deals closed without one are left out of "
        "it, as they are of pipeline created, which it converts." in shown
    )
    none = NEEDED.with_columns(win_rate=pl.lit(0.25), closed_without_amount=pl.lit(0))
    assert "left out" not in text(table_pipeline_needed(none).as_raw_html())
