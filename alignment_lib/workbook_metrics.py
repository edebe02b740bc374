"""What each workbook computes: its metric frames, listed once.

Each of the six notebooks calls the metric functions with its workbook's data
and options; :func:`workbook_metrics` makes the same calls, with the same
arguments, and returns the results by name, lazily. One list serves the
benchmark (``benchmarks/metrics.py``: the kit's full metric set for one
quarter, timed against pandas and DuckDB) and anything else that needs a
page's numbers without running the notebook (the index page, issue 12).
``tests/test_workbook_metrics.py`` fails when a notebook calls a metric this
module does not, or the other way round.

Not included: the "By <dimension>" sections (``alignment_lib.dimensions``;
nothing without extra dimensions) and targets read as plain numbers
(``target_value``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from alignment_lib.metrics import (
    bookings_by_week,
    bookings_linearity,
    cohort_conversion_curve,
    creation_to_close_lag,
    deal_size_band,
    forecast_overview,
    funnel_cohort,
    funnel_period,
    health_report,
    mql_outcomes,
    pipeline_coverage,
    pipeline_to_create,
    pipeline_vs_bookings,
    rejection_reasons,
    response_times,
    sales_cycle,
    seasonality,
    shared_scorecard,
    slipped_deals,
    stage_durations,
    stall_threshold,
)

if TYPE_CHECKING:
    from alignment_lib.workbook import Workbook

__all__ = ["WORKBOOK_NAMES", "collect_metrics", "metric_names", "workbook_metrics"]

#: the workbooks, in the report's order (``render.WORKBOOKS`` names their titles)
WORKBOOK_NAMES = (
    "scorecard",
    "pipeline_vs_closes",
    "handoff",
    "funnel",
    "business_cycles",
    "data_health",
)

#: a metric of a workbook: (the workbook's context, the notebook's options) -> its frame
_Metric = Callable[["Workbook", dict[str, Any]], pl.LazyFrame]


def _forecast(wb: Workbook, **span: Any) -> pl.LazyFrame:
    # the scorecard and the pipeline page show the same forecast
    return forecast_overview(
        wb.data.opportunities,
        wb.data.stage_history,
        wb.data.targets,
        quarter=wb.quarter,
        calibration="seasonal" if wb.data.has_stage_history else "ever",
        **span,
    )


def _scorecard() -> dict[str, _Metric]:
    def span(wb: Workbook) -> dict[str, Any]:
        return {"calendar": wb.calendar, "as_of": wb.as_of}

    return {
        "scorecard": lambda wb, o: shared_scorecard(
            wb.data.leads,
            wb.data.opportunities,
            wb.data.targets,
            quarter=wb.quarter,
            sla_clock=o["sla_clock"],
            **span(wb),
        ),
        "coverage": lambda wb, o: pipeline_coverage(
            wb.data.opportunities,
            wb.data.targets,
            stage_history=wb.data.stage_history,
            quarter=wb.quarter.shift(1),
            quarters=2,
            **span(wb),
        ),
        "needed": lambda wb, o: pipeline_to_create(
            wb.data.opportunities, wb.data.leads, wb.data.targets, **span(wb)
        ),
        "forecast": lambda wb, o: _forecast(wb, **span(wb)),
        "sla_by_channel": lambda wb, o: response_times(
            wb.data.leads,
            first=wb.quarter,
            last=wb.quarter,
            by=["channel"],
            sla_clock=o["sla_clock"],
            **span(wb),
        ),
    }


def _pipeline_vs_closes() -> dict[str, _Metric]:
    return {
        "pvb": lambda wb, o: pipeline_vs_bookings(wb.data.opportunities, **wb.span),
        "lag": lambda wb, o: creation_to_close_lag(wb.data.opportunities, **wb.span),
        "curves": lambda wb, o: cohort_conversion_curve(
            wb.data.opportunities, **wb.span, as_of=wb.as_of, max_months=12
        ),
        "forecast": lambda wb, o: _forecast(wb, calendar=wb.calendar, as_of=wb.as_of),
    }


def _handoff() -> dict[str, _Metric]:
    def timing(wb: Workbook, o: dict[str, Any]) -> dict[str, Any]:
        return {"as_of": wb.as_of, "sla_clock": o["sla_clock"], **wb.span}

    def stall(wb: Workbook, o: dict[str, Any]) -> pl.LazyFrame:
        return stall_threshold(
            wb.data.leads, calendar=wb.calendar, as_of=wb.as_of, stall_days=o["stall_days"] or None
        )

    return {
        "stall": stall,
        # the notebook reads the threshold as a number: one small eager step
        "outcomes": lambda wb, o: mql_outcomes(
            wb.data.leads,
            **timing(wb, o),
            stall_days=stall(wb, o).collect()["stall_days"][0],
            by=["channel"],
        ),
        "reasons": lambda wb, o: rejection_reasons(wb.data.leads, **wb.span, by=["channel"]),
        "response": lambda wb, o: response_times(wb.data.leads, **timing(wb, o)),
        "by_channel": lambda wb, o: response_times(wb.data.leads, **timing(wb, o), by=["channel"]),
        "by_owner": lambda wb, o: response_times(wb.data.leads, **timing(wb, o), by=["owner_id"]),
        "weekly": lambda wb, o: response_times(
            wb.data.leads, **{**timing(wb, o), "first": wb.quarter.shift(-1)}, period="week"
        ),
    }


def _funnel() -> dict[str, _Metric]:
    def funnel(wb: Workbook) -> dict[str, Any]:
        # the stages this data tracks
        return {**wb.span, "stages": wb.funnel_stages}

    def pair(wb: Workbook) -> tuple[pl.LazyFrame, pl.LazyFrame]:
        return wb.data.leads, wb.data.opportunities

    splits = ["channel", "segment"]
    return {
        "cohorts": lambda wb, o: funnel_cohort(*pair(wb), **funnel(wb), as_of=wb.as_of, by=splits),
        "flows": lambda wb, o: funnel_period(*pair(wb), **funnel(wb), by=splits),
        "durations": lambda wb, o: stage_durations(*pair(wb), **funnel(wb)),
        "by_channel": lambda wb, o: stage_durations(*pair(wb), **funnel(wb), by=["channel"]),
        "by_segment": lambda wb, o: stage_durations(*pair(wb), **funnel(wb), by=["segment"]),
        "mql_to_won": lambda wb, o: funnel_cohort(
            *pair(wb), **wb.span, as_of=wb.as_of, by=["channel"], stages=("mql", "won")
        ),
    }


def _business_cycles() -> dict[str, _Metric]:
    def sized(wb: Workbook) -> pl.LazyFrame:
        return wb.data.opportunities.with_columns(deal_size_band(pl.col("amount")))

    return {
        "linearity": lambda wb, o: bookings_linearity(wb.data.opportunities, **wb.span),
        "weeks": lambda wb, o: bookings_by_week(wb.data.opportunities, **wb.span),
        "seasons": lambda wb, o: seasonality(wb.data.opportunities, wb.data.leads, **wb.span),
        "cycle_source": lambda wb, o: sales_cycle(wb.data.opportunities, **wb.span, by=("source",)),
        "cycle_segment": lambda wb, o: sales_cycle(
            wb.data.opportunities, **wb.span, by=("segment",)
        ),
        "cycle_band": lambda wb, o: sales_cycle(sized(wb), **wb.span, by=("deal_size_band",)),
        "slipped": lambda wb, o: slipped_deals(
            wb.data.opportunities, wb.data.stage_history, **wb.span
        ),
    }


#: the data-health page's frames: fields of one HealthReport (computed once per call)
_HEALTH = {
    "health": "checks",
    "loaded": "loaded",
    "notices": "notices",
    "tracked": "tracked",
    "switched_off": "switched_off",
}

_METRICS: dict[str, dict[str, _Metric]] = {
    "scorecard": _scorecard(),
    "pipeline_vs_closes": _pipeline_vs_closes(),
    "handoff": _handoff(),
    "funnel": _funnel(),
    "business_cycles": _business_cycles(),
}


def metric_names(name: str) -> tuple[str, ...]:
    """The names of the frames :func:`workbook_metrics` gives for the workbook ``name``."""
    _check(name)
    return tuple(_HEALTH) if name == "data_health" else tuple(_METRICS[name])


def _check(name: str) -> None:
    if name not in WORKBOOK_NAMES:
        from alignment_lib.exceptions import ParameterError

        raise ParameterError(
            f"unknown workbook {name!r}; the workbooks are: {', '.join(WORKBOOK_NAMES)}"
        )


def workbook_metrics(
    name: str,
    wb: Workbook,
    *,
    only: Sequence[str] | None = None,
    sla_clock: str = "calendar",
    stall_days: float = 0.0,
) -> dict[str, pl.LazyFrame]:
    """The metric frames the workbook ``name`` computes, as its notebook computes them.

    ``wb``: the workbook's context (:func:`alignment_lib.open_workbook`). Keys
    are the notebook's variable names (``"cohorts"``, ``"by_owner"``, ...;
    :func:`metric_names`); ``only``: just these of them. Values are lazy
    (collect them together with :func:`collect_metrics`, which lets polars
    share the work common to several frames), but for the data-health page,
    whose report is computed here (small frames of rule counts, over the data
    and its un-cut copy) and handed on lazily, and the handoff's stall
    threshold, which its MQL outcomes take as a number. ``sla_clock`` and
    ``stall_days``: the notebooks' parameters of those names (defaults: theirs;
    ``alignment report --sla-clock``, ``--stall-days``). Grain and units: each
    metric function's docstring. ``name`` is one of :data:`WORKBOOK_NAMES`.
    """
    names = metric_names(name)
    wanted = names if only is None else tuple(n for n in names if n in set(only))
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        from alignment_lib.exceptions import ParameterError

        raise ParameterError(
            f"the {name} workbook computes no {', '.join(unknown)}; it computes: {', '.join(names)}"
        )
    if name != "data_health":
        options = {"sla_clock": sla_clock, "stall_days": stall_days}
        return {key: _METRICS[name][key](wb, options) for key in wanted}
    if not wanted:
        return {}
    from alignment_lib.workbook import load_uncut

    report = health_report(wb.data, full=load_uncut(wb.data, filters=wb.filters))
    return {key: getattr(report, _HEALTH[key]).lazy() for key in wanted}


def collect_metrics(frames: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """Every frame of ``frames`` collected in one pass (``pl.collect_all``), same keys."""
    return dict(zip(frames, pl.collect_all(list(frames.values())), strict=True))
