"""The funnel over the stages a source tracks (``stages=``), on the table of test_funnel.py.

Worked by hand from that table (its docstring has the dates), as of 2026-06-30 end of day.

**stages = inquiry, mql, opportunity, won** (no SAL, no SQL tracked):

| step | pair             | Q1 entered/reached, conv, median      | Q2                      |
|------|------------------|---------------------------------------|-------------------------|
| 1    | inquiry->mql     | 5/5, 1.0, 4 (as in test_funnel.py)    | 2/1, 0.5, 2             |
| 2    | mql->opportunity | 3/2 (L1 14 days, L3 11), 2/3, 12.5    | 3/1 (L6 8 days), 1/3, 8 |
| 3    | opportunity->won | 2/1 (O1 40 days), 0.5, 40             | 1/0, 0.0, null          |

Maturity days of step 2: the p90 of 8, 11, 14 (position 1.8): 11 + 0.8 * 3 = 13.4; Q1 is
91 days old at the as-of instant: mature; Q2 is 0 days old: still maturing.

**stages = mql, won** (MQL -> Won, whatever between): Q1 MQLs L1, L2, L3, of which L1 won
(06 Jan -> 01 Mar = 54 days): 1/3; Q2 MQLs L4, L7, L6: none won, 0/3. Maturity 54 days (the
one conversion): Q1 mature.

**Period mode, inquiry, mql, opportunity, won**: Q1 inquiry 5, mql 3 (3/5 = 0.6),
opportunity 2 (previous stage mql: 2/3), won 1 (1/2 = 0.5); Q2 inquiry 2, mql 3 (1.5),
opportunity 1 (1/3), won 0 (0.0).

**Stage durations, mql and won**: Q1 L1 54 days (1 record, median and p90 54); Q2 none.
"""

from __future__ import annotations

import polars as pl
import pytest

import tests.metrics.test_funnel as fn
from alignment_lib import ParameterError
from alignment_lib.metrics.funnel import funnel_cohort, funnel_period, stage_durations

SPAN = {"calendar": fn.UTC, "first": fn.Q1, "last": fn.Q2}
NO_HANDOFF = ("inquiry", "mql", "opportunity", "won")


def test_cohort_skips_the_stages_not_given() -> None:
    got = funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **SPAN, as_of=fn.AS_OF, stages=NO_HANDOFF)
    rows = got.collect().select(
        "fiscal_quarter", "step", "from_stage", "to_stage", "entered", "reached", "median_days"
    )
    assert rows.rows() == [
        ("FY2026-Q1", 1, "inquiry", "mql", 5, 5, 4.0),
        ("FY2026-Q1", 2, "mql", "opportunity", 3, 2, 12.5),
        ("FY2026-Q1", 3, "opportunity", "won", 2, 1, 40.0),
        ("FY2026-Q2", 1, "inquiry", "mql", 2, 1, 2.0),
        ("FY2026-Q2", 2, "mql", "opportunity", 3, 1, 8.0),
        ("FY2026-Q2", 3, "opportunity", "won", 1, 0, None),
    ]
    step2 = got.filter(pl.col("step") == 2).collect()
    assert step2["maturity_days"].to_list() == pytest.approx([13.4, 13.4])
    assert step2["mature"].to_list() == [True, False]
    assert step2["conversion"].to_list() == pytest.approx([2 / 3, 1 / 3])


def test_mql_straight_to_won() -> None:
    got = funnel_cohort(
        fn.LEADS_LF, fn.OPPS_LF, **SPAN, as_of=fn.AS_OF, stages=("mql", "won"), by=["channel"]
    ).collect()
    totals = got.group_by("fiscal_quarter", maintain_order=True).agg(
        pl.col("entered").sum(), pl.col("reached").sum(), pl.col("mature").all()
    )
    assert totals.rows() == [("FY2026-Q1", 3, 1, True), ("FY2026-Q2", 3, 0, False)]
    assert set(got["step"]) == {1} and set(got["from_stage"]) == {"mql"}
    webinar = got.filter(pl.col("channel") == "Webinar", pl.col("fiscal_quarter") == "FY2026-Q1")
    assert webinar.select("entered", "reached", "median_days").row(0) == (2, 1, 54.0)


def test_period_mode_over_the_tracked_stages() -> None:
    got = funnel_period(fn.LEADS_LF, fn.OPPS_LF, **SPAN, stages=NO_HANDOFF).collect()
    rows = got.select("fiscal_quarter", "stage_order", "stage", "previous_stage", "entering")
    assert rows.rows() == [
        ("FY2026-Q1", 0, "inquiry", None, 5),
        ("FY2026-Q1", 1, "mql", "inquiry", 3),
        ("FY2026-Q1", 2, "opportunity", "mql", 2),
        ("FY2026-Q1", 3, "won", "opportunity", 1),
        ("FY2026-Q2", 0, "inquiry", None, 2),
        ("FY2026-Q2", 1, "mql", "inquiry", 3),
        ("FY2026-Q2", 2, "opportunity", "mql", 1),
        ("FY2026-Q2", 3, "won", "opportunity", 0),
    ]
    assert got["flow_ratio"].to_list() == pytest.approx(
        [None, 0.6, 2 / 3, 0.5, None, 1.5, 1 / 3, 0.0]
    )


def test_stage_durations_over_the_tracked_stages() -> None:
    got = stage_durations(fn.LEADS_LF, fn.OPPS_LF, **SPAN, stages=("mql", "won")).collect()
    assert got.select("fiscal_quarter", "step", "records", "median_days", "p90_days").rows() == [
        ("FY2026-Q1", 1, 1, 54.0, 54.0),
        ("FY2026-Q2", 1, 0, None, None),
    ]


def test_all_stages_is_the_default() -> None:
    default = funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **SPAN, as_of=fn.AS_OF).collect()
    every = funnel_cohort(
        fn.LEADS_LF,
        fn.OPPS_LF,
        **SPAN,
        as_of=fn.AS_OF,
        stages=("inquiry", "mql", "sal", "sql", "opportunity", "won"),
    ).collect()
    assert default.equals(every)


def test_one_stage_has_no_step() -> None:
    # only the leads' creation tracked: no step; period mode counts the inquiries (5, 2)
    kw = {**SPAN, "stages": ("inquiry",)}
    cohorts = funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **kw, as_of=fn.AS_OF, by=["channel"])
    assert cohorts.collect().height == 0
    assert stage_durations(fn.LEADS_LF, fn.OPPS_LF, **kw).collect().height == 0
    flows = funnel_period(fn.LEADS_LF, fn.OPPS_LF, **kw).collect()
    assert flows.select("fiscal_quarter", "stage", "entering").rows() == [
        ("FY2026-Q1", "inquiry", 5),
        ("FY2026-Q2", "inquiry", 2),
    ]


@pytest.mark.parametrize(
    "stages",
    [("sal", "mql"), (), ("mql", "mql", "won"), ("mql", "deal"), "mql"],
    ids=["out-of-order", "none", "twice", "unknown", "a-string"],
)
def test_stages_must_be_in_funnel_order(stages) -> None:
    with pytest.raises(ParameterError, match="stage"):
        funnel_cohort(fn.LEADS_LF, fn.OPPS_LF, **SPAN, as_of=fn.AS_OF, stages=stages)
