"""The gate (alignment_lib/gate.py): what each figure needs, and what a page shows without it.

Three kinds of test: the mechanism on builders made here (placeholders, pass-through,
errors); the registry (every measure's needs exist, every public builder declares what it
shows, every measure is shown by some builder); and the notebooks (every call of a
declared builder passes ``tracking=``, on a page its measures list). The last two fail
when a future page author forgets the gate.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import altair as alt
import great_tables as gt
import pytest

import alignment_lib as al
from alignment_lib.exceptions import ParameterError
from alignment_lib.gate import (
    GATED,
    MEASURES,
    SHORT,
    missing,
    not_shown,
    short_reason,
    switched_off,
)
from alignment_lib.tracking import NEEDS, Tracking
from tests._charts import layer

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

SAL = "SAL (sales acceptance of MQLs) is not tracked in this data (no acceptance dates)."
TOUCH = (
    "First sales touches are not tracked in this data (no first-touch times), so response "
    "times and the SLA cannot be measured."
)
NO_LEADS = (
    "This data has no leads table, so the marketing side of the funnel (leads, MQLs and the "
    "handoff to sales) cannot be shown."
)
NO_LOST = (
    "This data has no lost deals (won deals only?): win rates, pipeline created, required "
    "coverage and forecasts need lost deals and are not shown."
)


def tracking_without(*columns: str, **flags: bool) -> Tracking:
    """Every canonical column tracked but ``columns`` (``table.column``)."""
    from alignment_lib.schema import TABLES

    every = {f"{t.name}.{c}" for t in TABLES.values() for c in t.column_names}
    return Tracking(tracked=frozenset(every - set(columns)), **flags)


NO_HANDOFF = tracking_without(
    "leads.accepted_at",
    "leads.rejected_at",
    "leads.rejection_reason",
    "leads.first_touch_at",
    "leads.sql_at",
)


# -- missing, not_shown, short_reason, switched_off ------------------------------------------
def test_missing_states_the_sentences_of_the_unmet_needs_in_order() -> None:
    assert missing(None, "mql_outcomes") == []
    assert missing(Tracking(), "mql_outcomes", "forecast") == []
    # mql_outcomes needs leads, mql, sal, rejection, first_touch
    assert missing(NO_HANDOFF, "mql_outcomes") == [
        SAL,
        "MQL rejections by sales are not tracked in this data (no rejection dates).",
        TOUCH,
    ]
    # each sentence once, whichever measure needed it first
    assert missing(NO_HANDOFF, "response_times", "mql_outcomes")[0] == TOUCH
    assert len(missing(NO_HANDOFF, "response_times", "mql_outcomes")) == 3
    # without a leads table every need of a lead column says that one thing
    assert missing(Tracking(has_leads=False), "mql_outcomes") == [NO_LEADS]
    assert not_shown(Tracking(has_lost_deals=False), "required_coverage") == NO_LOST
    assert not_shown(Tracking(), "required_coverage") is None


def test_short_reason_is_a_table_cell() -> None:
    assert short_reason(Tracking(has_lost_deals=False), "required_coverage") == "needs lost deals"
    assert short_reason(Tracking(has_leads=False), "mqls_needed") == "needs a leads table"
    assert short_reason(NO_HANDOFF, "response_times") == "needs first-touch times"
    assert short_reason(Tracking(), "response_times") is None
    assert short_reason(None, "response_times") is None
    assert set(SHORT) == set(NEEDS)


def test_switched_off_lists_measures_in_page_order_with_reasons() -> None:
    off = switched_off(Tracking(has_stage_history=False, has_open_deals=False))
    assert [m.name for m, _ in off] == ["coverage", "forecast", "slipped_deals"]
    assert off[0][1] == [
        "This data has no open deals, so open pipeline and coverage cannot be shown."
    ]
    assert off[2][1] == [
        "This data has no stage history, so slipped deals and past stages cannot be shown.",
        "This data has no open deals, so open pipeline and coverage cannot be shown.",
    ]
    assert switched_off(Tracking()) == []


def test_unknown_measure_is_refused() -> None:
    with pytest.raises(ParameterError, match="unknown measure 'nope'"):
        missing(Tracking(), "nope")


# -- the decorator on builders made here ---------------------------------------------------
@al.charts._common.shows("response_times")
def chart_demo(frame: object, *, title: str = "t", tracking: Tracking | None = None) -> str:
    return "the chart"


@al.tables._empty.shows("required_coverage")
def table_demo(frame: object, *, table_id: str = "demo-table", tracking: Tracking | None = None):
    return "the table"


@al.narrative._format.shows("response_times")
def demo_headline(frame: object, *, tracking: Tracking | None = None) -> str:
    return "the headline"


@al.narrative._format.shows("response_times")
def demo_summary(frame: object, *, tracking: Tracking | None = None) -> list[str]:
    return ["the findings"]


@al.narrative._format.shows()
def demo_reads_tracking(*, tracking: Tracking | None = None) -> list[str]:
    return [f"got {type(tracking).__name__}"]


def test_a_gated_builder_runs_when_the_data_supports_it() -> None:
    for tracking in (None, Tracking(), tracking_without("leads.sql_at")):
        assert chart_demo(1, tracking=tracking) == "the chart"
        assert table_demo(1, tracking=tracking) == "the table"
        assert demo_headline(1, tracking=tracking) == "the headline"
        assert demo_summary(1, tracking=tracking) == ["the findings"]
    # the builder's own tracking keyword reaches it as given
    assert demo_reads_tracking(tracking=NO_HANDOFF) == ["got Tracking"]
    assert demo_reads_tracking() == ["got NoneType"]


def test_a_chart_the_data_cannot_support_is_a_placeholder_stating_why() -> None:
    chart = chart_demo(1, title="a headline computed from zeros", tracking=NO_HANDOFF)
    assert isinstance(chart, alt.LayerChart)
    d = chart.to_dict()
    # titled with the measure's label, never the headline the caller computed
    assert d["title"] == "How fast sales responded (first touch, SLA)"
    assert d["description"] == TOUCH
    assert [r for v in d["datasets"].values() for r in v] == [{"message": TOUCH}]
    # the long sentence wraps onto lines, the box grows to hold them
    lines = layer(d, "text")["encoding"]["text"]["value"]
    assert " ".join(lines) == TOUCH and all(len(line) <= 93 for line in lines)
    assert d["height"] >= 18 * len(lines) + 40


def test_a_table_the_data_cannot_support_is_one_cell_stating_why() -> None:
    table = table_demo(1, tracking=Tracking(has_lost_deals=False))
    assert isinstance(table, gt.GT)
    html = table.as_raw_html()
    assert 'id="demo-table"' in html and "Required coverage (1 / in-quarter conversion)" in html
    assert NO_LOST.replace("'", "&#x27;") in html or NO_LOST in html
    other = table_demo(1, table_id="mine", tracking=Tracking(has_lost_deals=False))
    assert 'id="mine"' in other.as_raw_html()


def test_a_finding_the_data_cannot_support_is_the_sentences() -> None:
    assert demo_headline(1, tracking=NO_HANDOFF) == TOUCH
    assert demo_summary(1, tracking=NO_HANDOFF) == [TOUCH]


def test_misuse_is_refused() -> None:
    with pytest.raises(ParameterError, match="tracking must be a Tracking"):
        chart_demo(1, tracking="everything")
    with pytest.raises(TypeError, match="takes no `tracking` keyword"):

        @al.charts._common.shows("funnel")
        def chart_forgot(frame: object) -> None:
            return None

    with pytest.raises(ParameterError, match="unknown measure"):
        al.charts._common.shows("not-a-measure")


# -- the registry ----------------------------------------------------------------------------
def test_every_need_of_a_measure_exists_and_pages_are_workbooks() -> None:
    from alignment_lib.render import WORKBOOKS

    for m in MEASURES.values():
        assert set(m.needs) <= set(NEEDS), m.name
        assert m.pages and set(m.pages) <= set(WORKBOOKS), m.name


#: public functions of the presentation layers that are not figures or findings
_NOT_FIGURES = {
    "chart_no_data",
    "table_no_data",
    "escape_markdown",
    "format_money",
    "format_share",
    "gate_scorecard",
    "health_report_text",
    # the 'By <dimension>' builders draw whatever alignment_lib.dimensions hands them: its
    # sections leave out the figures the data does not track (tested with the dimensions)
    "chart_by_dimension",
    "table_by_dimension",
}


def _presentation() -> list[str]:
    import alignment_lib.narrative as narrative

    names = [n for n in al.__all__ if n.startswith(("chart_", "table_"))]
    names += [n for n in narrative.__all__ if n[0].islower()]
    return sorted(set(names) - _NOT_FIGURES)


@pytest.mark.parametrize("name", _presentation())
def test_every_public_builder_declares_what_it_shows(name: str) -> None:
    """A chart, table or finding without ``@shows(...)`` would show a 0% for an untracked
    stage: declare its measures (or ``@shows()`` when it reads ``tracking`` itself)."""
    fn = getattr(al, name)
    assert hasattr(fn, "__shows__"), f"{name}: decorate it with @shows(...) (alignment_lib/gate.py)"


def test_every_measure_is_shown_by_some_builder_or_row() -> None:
    from alignment_lib.narrative.scorecard import TARGET_MEASURES

    declared = {m for measures in GATED.values() for m in measures}
    by_rows = {m for measures in TARGET_MEASURES.values() for m in measures}
    # read inside builders (row, column, panel or series level)
    inside = {"required_coverage", "mqls_needed", "team_shares", "response_by_rep"}
    assert set(MEASURES) == declared | by_rows | inside


# -- the notebooks -----------------------------------------------------------------------------
def _calls(path: Path) -> list[tuple[str, set[str]]]:
    """(function name, keyword names) of every ``al.<name>(...)`` call in the notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "al"
            ):
                found.append((node.func.attr, {k.arg for k in node.keywords if k.arg}))
    return found


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_pass_tracking_to_every_declared_builder(notebook: Path) -> None:
    calls = _calls(notebook)
    gated = [(name, kw) for name, kw in calls if hasattr(getattr(al, name, None), "__shows__")]
    assert gated, "a workbook shows figures"
    forgot = [name for name, kw in gated if "tracking" not in kw]
    assert not forgot, f"{notebook.name}: pass tracking=wb.tracking to {forgot}"
    for name, _ in gated:
        for measure in getattr(al, name).__shows__:
            assert notebook.stem in MEASURES[measure].pages, (
                f"{name} shows {measure} on {notebook.stem}: add the page to "
                f"MEASURES[{measure!r}].pages"
            )


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_funnel_metrics_follow_the_tracked_stages(notebook: Path) -> None:
    """A funnel metric over every stage would read an untracked stage as 0%."""
    for name, kw in _calls(notebook):
        if name in ("funnel_cohort", "funnel_period", "stage_durations"):
            assert "stages" in kw or re.search(r"\*\*funnel", notebook.read_text()), name
