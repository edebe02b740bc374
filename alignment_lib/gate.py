"""What each figure needs from the data, and what a page shows when the data cannot support it.

Real exports come in every shape (docs/partial-data.md): no SAL stage, no
first-touch times, no lost deals, no creation dates, no leads table. A chart,
table or finding that needs what the data does not track must not show a 0%
or a flat line in its place: it states what the data cannot show.

Two pieces do that, and nothing else on a page needs to remember it:

- :data:`MEASURES`: every measure a page shows (MQL outcomes, pipeline created,
  required coverage, ...), with a reader's name for it, the named needs of
  :mod:`alignment_lib.tracking` it rests on and the workbooks that show it. The
  data-health page and ``alignment validate`` list the measures a source
  switches off, and why (:func:`switched_off`).
- :func:`gated`, through which every chart, table and narrative builder
  declares the measures it shows (``@shows("mql_outcomes")``; the chart,
  table and narrative layers each wire their own placeholder). A declared
  builder takes ``tracking=`` (``wb.tracking`` in a notebook); when the data
  does not track what one of its measures needs, the builder is not run and
  the placeholder states :meth:`Tracking.missing`'s sentences instead: a
  chart-sized box (:func:`~alignment_lib.charts.chart_no_data`), a one-cell
  table (:func:`~alignment_lib.tables.table_no_data`), or the sentences
  themselves for a finding. A builder that shows parts of several measures
  (the scorecard's rows, a table's columns) declares none it cannot always
  show and reads ``tracking`` itself.

A notebook cell reads::

    al.chart_mql_outcomes(outcomes, title=..., report_quarter=q, tracking=wb.tracking)

Without ``tracking`` (tests with hand-built frames) everything counts as
tracked. ``tests/test_gate.py`` fails when a public builder declares nothing
or a notebook calls a declared builder without ``tracking=``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from alignment_lib.exceptions import ParameterError
from alignment_lib.tracking import NEEDS, Tracking

__all__ = [
    "GATED",
    "MEASURES",
    "Measure",
    "default_of",
    "gated",
    "missing",
    "not_shown",
    "short_reason",
    "switched_off",
]

F = TypeVar("F", bound=Callable[..., Any])
#: a layer's placeholder: (the builder, its label, the sentences, the call's keywords) -> output
Placeholder = Callable[[Callable[..., Any], str, list[str], Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Measure:
    """A number or figure a page shows, and what it rests on.

    ``label``: how a reader knows it ("What became of the MQLs"), also the
    title of its placeholder. ``needs``: names of :data:`alignment_lib.NEEDS`
    that must all be tracked. ``pages``: the workbooks that show it.
    """

    name: str
    label: str
    needs: tuple[str, ...]
    pages: tuple[str, ...]


_FUNNEL = ("funnel",)
_HANDOFF = ("handoff",)
_PIPELINE = ("pipeline_vs_closes",)
_CYCLES = ("business_cycles",)
_SCORECARD = ("scorecard",)
_BOOKINGS = ("closes", "won_deals", "amount")

#: every measure a page can show, in page order (docs/partial-data.md lists them)
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("targets", "Attainment of the shared targets", ("targets",), _SCORECARD),
        Measure("bookings", "Bookings", _BOOKINGS, (*_SCORECARD, *_PIPELINE, *_CYCLES)),
        Measure("won_deals", "Won deals (count)", ("closes", "won_deals"), _SCORECARD),
        Measure(
            "pipeline_created",
            "Pipeline created",
            ("opportunity_created", "amount", "lost_deals"),
            (*_SCORECARD, *_PIPELINE, *_CYCLES),
        ),
        Measure(
            "opportunities_created",
            "Opportunities created (count)",
            ("opportunity_created",),
            _SCORECARD,
        ),
        Measure(
            "team_shares",
            "Each team's share (marketing-, sales-, partner-sourced)",
            ("source",),
            (*_SCORECARD, *_PIPELINE),
        ),
        Measure("mqls", "MQLs", ("leads", "mql"), (*_SCORECARD, *_HANDOFF, *_CYCLES)),
        Measure(
            "coverage",
            "Pipeline coverage of the next quarters",
            ("open_deals", "expected_close", "stage", "amount"),
            _SCORECARD,
        ),
        Measure(
            "required_coverage",
            "Required coverage (1 / in-quarter conversion)",
            ("won_deals", "lost_deals", "amount", "close_date_history"),
            _SCORECARD,
        ),
        Measure(
            "pipeline_needed",
            "Pipeline to create for the targets ahead (the reverse waterfall)",
            ("targets", "opportunity_created", "won_deals", "lost_deals", "amount"),
            _SCORECARD,
        ),
        Measure(
            "mqls_needed",
            "MQLs needed for the targets ahead",
            ("leads", "mql", "lead_opportunity", "source"),
            _SCORECARD,
        ),
        Measure(
            "benchmarks",
            "Typical B2B ranges beside this data's numbers (context, not targets)",
            (),
            _SCORECARD,
        ),
        Measure(
            "creation_to_close_lag",
            "Creation-to-close lag",
            ("opportunity_created", *_BOOKINGS),
            _PIPELINE,
        ),
        Measure(
            "cohort_curves",
            "Cohort conversion curves",
            ("opportunity_created", "won_deals", "lost_deals", "amount"),
            _PIPELINE,
        ),
        Measure(
            "forecast",
            "Bookings forecast",
            (
                "open_deals",
                "expected_close",
                "stage",
                "opportunity_created",
                "won_deals",
                "lost_deals",
                "amount",
            ),
            (*_SCORECARD, *_PIPELINE),
        ),
        Measure(
            "mql_outcomes",
            "What became of the MQLs (accepted, rejected, pending, leaked)",
            ("leads", "mql", "sal", "rejection", "first_touch"),
            _HANDOFF,
        ),
        Measure(
            "rejection_reasons",
            "Why sales rejected MQLs",
            ("leads", "rejection", "rejection_reason"),
            _HANDOFF,
        ),
        Measure(
            "response_times",
            "How fast sales responded (first touch, SLA)",
            ("leads", "mql", "first_touch"),
            (*_HANDOFF, *_SCORECARD),
        ),
        Measure(
            "response_by_rep",
            "Response times by rep",
            ("leads", "mql", "first_touch", "lead_owner"),
            _HANDOFF,
        ),
        Measure("funnel", "The funnel, stage by stage", ("leads", "funnel_steps"), _FUNNEL),
        Measure(
            "mql_to_won",
            "MQL → Won by channel",
            ("leads", "mql", "lead_opportunity", "won_deals"),
            _FUNNEL,
        ),
        Measure("linearity", "Bookings linearity (the hockey stick)", _BOOKINGS, _CYCLES),
        Measure("seasonality", "Seasonality of bookings", _BOOKINGS, _CYCLES),
        Measure("sales_cycle", "Sales cycle", ("opportunity_created", "closes"), _CYCLES),
        Measure(
            "slipped_deals",
            "Slipped deals",
            ("stage_history", "expected_close", "open_deals"),
            _CYCLES,
        ),
    )
}

for _m in MEASURES.values():  # a typo in a need would silently read as "tracked"
    if _unknown := [n for n in _m.needs if n not in NEEDS]:
        raise ValueError(f"measure {_m.name!r} needs unknown {_unknown} (tracking.NEEDS)")

#: need -> the few words a table cell shows in place of a value ("needs lost deals")
SHORT: dict[str, str] = {
    "leads": "needs a leads table",
    "mql": "needs MQL dates",
    "sal": "needs acceptance dates",
    "rejection": "needs rejection dates",
    "rejection_reason": "needs rejection reasons",
    "first_touch": "needs first-touch times",
    "sql": "needs SQL dates",
    "funnel_steps": "needs two funnel stages",
    "lead_opportunity": "needs lead-to-deal links",
    "opportunity_created": "needs creation dates",
    "source": "needs deal sources",
    "amount": "needs amounts",
    "closes": "needs close dates",
    "won_deals": "needs won deals",
    "lost_deals": "needs lost deals",
    "open_deals": "needs open deals",
    "expected_close": "needs expected close dates",
    "stage": "needs deal stages",
    "stage_history": "needs stage history",
    "close_date_history": "needs close-date history",
    "lost_reason": "needs lost reasons",
    "channel": "needs channels",
    "lead_owner": "needs lead owners",
    "targets": "needs targets",
}

#: builder (module.name) -> the measures it declared; filled by :func:`gated` decorators
GATED: dict[str, tuple[str, ...]] = {}


def _check(measures: tuple[str, ...]) -> None:
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise ParameterError(
            f"unknown measure {', '.join(map(repr, unknown))}; measures are: "
            f"{', '.join(MEASURES)} (alignment_lib.gate.MEASURES)"
        )


def missing(tracking: Tracking | None, *measures: str) -> list[str]:
    """The sentences a page states in place of ``measures`` (empty: all can be shown).

    ``tracking`` None means everything is tracked (frames built by hand). The
    sentences are :meth:`Tracking.missing`'s, each once, in the order of the
    measures and their needs.
    """
    _check(measures)
    if tracking is None:
        return []
    return tracking.missing(*(n for m in measures for n in MEASURES[m].needs))


def not_shown(tracking: Tracking | None, *measures: str) -> str | None:
    """:func:`missing`'s sentences as one text, or None when the measures can be shown."""
    said = missing(tracking, *measures)
    return " ".join(said) if said else None


def short_reason(tracking: Tracking | None, *measures: str) -> str | None:
    """A table cell's few words for the first need of ``measures`` the data lacks
    ("needs lost deals"), or None when they can be shown."""
    _check(measures)
    if tracking is None:
        return None
    for m in measures:
        for need in MEASURES[m].needs:
            if tracking.tracks(need):
                continue
            columns = NEEDS[need].any_of
            # as Tracking.missing: without a leads table, a lead column's need is "leads"
            of_leads = bool(columns) and all(c.startswith("leads.") for c in columns)
            return SHORT["leads" if of_leads and not tracking.has_leads else need]
    return None


def switched_off(tracking: Tracking) -> list[tuple[Measure, list[str]]]:
    """Every measure the data cannot support, with the sentences that say why (page order)."""
    return [(m, said) for m in MEASURES.values() if (said := missing(tracking, m.name))]


def gated(placeholder: Placeholder) -> Callable[..., Callable[[F], F]]:
    """A ``shows(*measures, label=None)`` decorator for one layer, with its placeholder.

    The decorated builder must take a keyword ``tracking`` (``Tracking | None``).
    Called with a ``tracking`` that lacks a need of one of ``measures``, it
    returns ``placeholder(builder, label, sentences, keywords)`` instead of
    running (``label`` defaults to the first unmet measure's label). A builder
    that reads ``tracking`` itself (row or column level) declares only the
    measures it cannot show at all, possibly none: ``@shows()``.
    """

    def shows(*measures: str, label: str | None = None) -> Callable[[F], F]:
        _check(measures)

        def decorate(builder: F) -> F:
            if "tracking" not in inspect.signature(builder).parameters:
                raise TypeError(
                    f"{builder.__qualname__} declares measures but takes no `tracking` keyword; "
                    "add `tracking: Tracking | None = None`"
                )

            @functools.wraps(builder)
            def run(*args: Any, **kwargs: Any) -> Any:
                tracking = kwargs.get("tracking")
                if tracking is not None and not isinstance(tracking, Tracking):
                    raise ParameterError(
                        f"tracking must be a Tracking (wb.tracking in a notebook), got "
                        f"{type(tracking).__name__}"
                    )
                unmet = [m for m in measures if missing(tracking, m)]
                if unmet:
                    said = missing(tracking, *unmet)
                    return placeholder(builder, label or MEASURES[unmet[0]].label, said, kwargs)
                return builder(*args, **kwargs)

            run.__shows__ = measures  # type: ignore[attr-defined]
            GATED[f"{builder.__module__}.{builder.__name__}"] = measures
            return run  # type: ignore[return-value]

        return decorate

    return shows


def default_of(builder: Callable[..., Any], name: str, kwargs: Mapping[str, Any]) -> Any:
    """The value of keyword ``name`` in a call: given, else the builder's default (or None)."""
    if name in kwargs:
        return kwargs[name]
    param = inspect.signature(builder).parameters.get(name)
    if param is None or param.default is inspect.Parameter.empty:
        return None
    return param.default
