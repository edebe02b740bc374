"""What a data source tracks, and which figures therefore can be shown.

Real exports come in every shape: no SAL stage, no first-touch times, no lost
deals, no opportunity creation date, no leads table at all. A column that is
absent from the export, or empty in every row of the whole source, is **not
tracked**: the kit does not read it as "zero happened" (a 0% acceptance rate
for a company that never records acceptance is a false statement). Pages ask
:meth:`Tracking.missing` before they state a figure, and say what the data
cannot show instead (docs/data-model.md, "Partial exports").

Tracking is decided once, on the whole source before any filter or as-of cut:
a filter that leaves no SAL in a quarter is "no SALs", not "not tracked". One
exception, targets: a filtered report compares with the targets set for its
filter only (``alignment_lib.matching_targets``), so a filter for which the
targets table has no row has no targets at all; ``FunnelData.where`` records
it (``Tracking.targets_unset_for``) and the pages say so in place of
attainment, pacing and coverage of a target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NEEDS", "Need", "Tracking", "no_targets_for"]


@dataclass(frozen=True)
class Need:
    """Something a figure needs from the data, and what a page says without it.

    ``any_of``: ``table.column`` names, at least one of which must be tracked
    (empty: the need is decided by a flag of :class:`Tracking`, see ``flag``).
    ``statement``: one sentence, stated on the page in place of the figure.
    """

    name: str
    statement: str
    any_of: tuple[str, ...] = ()
    flag: str = ""


#: every need a page can ask for, by name (docs/data-model.md lists them)
NEEDS: dict[str, Need] = {
    n.name: n
    for n in (
        Need(
            "leads",
            "This data has no leads table, so the marketing side of the funnel (leads, MQLs "
            "and the handoff to sales) cannot be shown.",
            flag="has_leads",
        ),
        Need(
            "mql",
            "MQLs are not tracked in this data (no MQL dates), so the handoff and the funnel "
            "from MQL cannot be shown.",
            any_of=("leads.mql_at",),
        ),
        Need(
            "sal",
            "SAL (sales acceptance of MQLs) is not tracked in this data (no acceptance dates).",
            any_of=("leads.accepted_at",),
        ),
        Need(
            "rejection",
            "MQL rejections by sales are not tracked in this data (no rejection dates).",
            any_of=("leads.rejected_at",),
        ),
        Need(
            "rejection_reason",
            "Rejection reasons are not tracked in this data.",
            any_of=("leads.rejection_reason",),
        ),
        Need(
            "first_touch",
            "First sales touches are not tracked in this data (no first-touch times), so "
            "response times and the SLA cannot be measured.",
            any_of=("leads.first_touch_at",),
        ),
        Need(
            "sql",
            "SQL (sales-qualified leads) is not tracked in this data (no SQL dates).",
            any_of=("leads.sql_at",),
        ),
        Need(
            "funnel_steps",
            "This data tracks no funnel stage after the lead's creation (no MQL, SAL or SQL "
            "dates, no link from leads to deals), so the funnel has no step to show.",
            flag="has_funnel_steps",
        ),
        Need(
            "lead_opportunity",
            "Which lead became which opportunity is not tracked in this data, so leads cannot "
            "be followed into deals.",
            any_of=("leads.opportunity_id", "opportunities.lead_id"),
        ),
        Need(
            "opportunity_created",
            "Opportunity creation dates are not in this data, so pipeline created, sales "
            "cycles and the lag from creation to close cannot be shown.",
            any_of=("opportunities.created_at",),
        ),
        Need(
            "source",
            "Deal sources (marketing, sales, partner) are not tracked in this data, so each "
            "team's share cannot be shown.",
            any_of=("opportunities.source",),
        ),
        Need(
            "amount",
            "Deal amounts are not in this data, so money figures cannot be shown.",
            any_of=("opportunities.amount",),
        ),
        Need(
            "closes",
            "Deal closes are not in this data (no close dates), so bookings and win rates "
            "cannot be shown.",
            any_of=("opportunities.closed_at",),
        ),
        Need(
            "won_deals",
            "This data has no won deals, so bookings and win rates cannot be shown.",
            flag="has_won_deals",
        ),
        Need(
            "lost_deals",
            "This data has no lost deals (won deals only?): win rates, pipeline created, "
            "required coverage and forecasts need lost deals and are not shown.",
            flag="has_lost_deals",
        ),
        Need(
            "open_deals",
            "This data has no open deals, so open pipeline and coverage cannot be shown.",
            flag="has_open_deals",
        ),
        Need(
            "expected_close",
            "Expected close dates of open deals are not in this data, so coverage and slipped "
            "deals cannot be shown.",
            any_of=("opportunities.expected_close_date",),
        ),
        Need(
            "stage",
            "Deal stages are not tracked in this data.",
            any_of=("opportunities.stage",),
        ),
        Need(
            "stage_history",
            "This data has no stage history, so slipped deals and past stages cannot be shown.",
            flag="has_stage_history",
        ),
        Need(
            "close_date_history",
            "Expected close dates are not recorded in this data's stage history, so the "
            "in-quarter conversion of pipeline, and the coverage it requires, cannot be shown.",
            any_of=("stage_history.expected_close_date",),
        ),
        Need(
            "lost_reason",
            "Lost reasons are not tracked in this data.",
            any_of=("opportunities.lost_reason",),
        ),
        Need(
            "channel",
            "Channels are not tracked in this data.",
            any_of=("leads.channel", "opportunities.channel"),
        ),
        Need(
            "lead_owner",
            "Lead owners (sales reps) are not tracked in this data.",
            any_of=("leads.owner_id",),
        ),
        Need(
            "targets",
            "This data has no targets table, so attainment, pacing and coverage of a target "
            "cannot be shown.",
            flag="has_targets",
        ),
    )
}

#: funnel stage -> the needs that say whether the data tracks it (inquiry: the leads; the
#: Opportunity stage is the linked deal's creation, which a won-deals-only export has for the
#: won deals alone; a lead reaches Won only through its deal)
FUNNEL_STAGE_NEEDS: dict[str, tuple[str, ...]] = {
    "inquiry": ("leads",),
    "mql": ("mql",),
    "sal": ("sal",),
    "sql": ("sql",),
    "opportunity": ("lead_opportunity", "opportunity_created", "lost_deals"),
    "won": ("lead_opportunity", "won_deals"),
}


@dataclass(frozen=True)
class Tracking:
    """What the whole source holds (before filters and the as-of cut).

    ``tracked``: ``table.column`` of every canonical column that has at least
    one value in the source (an absent column has none). The flags say which
    tables exist and which deal outcomes occur. The defaults describe a
    complete export (everything tracked), so code that builds frames by hand
    needs no tracking.
    """

    tracked: frozenset[str] | None = None
    has_leads: bool = True
    has_stage_history: bool = True
    has_targets: bool = True
    has_won_deals: bool = True
    has_lost_deals: bool = True
    has_open_deals: bool = True
    #: a filtered view for which the targets table has no row, the filter in words
    #: ("Segment: Enterprise"; empty: targets apply): the company's targets do not
    #: apply to it, so it has none (set by ``FunnelData.where``)
    targets_unset_for: str = ""

    @property
    def has_funnel_steps(self) -> bool:
        """Whether the leads track two funnel stages or more (a step to show). True without
        a leads table: the ``leads`` need says that one thing."""
        return not self.has_leads or len(self.funnel_stages(FUNNEL_STAGE_NEEDS)) >= 2

    def tracks(self, need: str) -> bool:
        """Whether the data can support figures that need ``need`` (a key of NEEDS)."""
        spec = NEEDS[need]
        if spec.flag and not getattr(self, spec.flag):
            return False
        if need == "targets" and self.targets_unset_for:
            return False
        if spec.any_of and not self.has_leads and all(_of_leads(c) for c in spec.any_of):
            return False
        if spec.any_of and self.tracked is not None:
            return any(c in self.tracked for c in spec.any_of)
        return True

    def missing(self, *needs: str) -> list[str]:
        """The statements of the needs the data does not meet, in the order asked, once each.

        Without a leads table, every need of lead columns says that one thing
        ("This data has no leads table, ...") rather than "MQLs are not tracked".
        """
        said: list[str] = []
        for need in needs:
            if self.tracks(need):
                continue
            spec = NEEDS[need]
            if not self.has_leads and spec.any_of and all(_of_leads(c) for c in spec.any_of):
                spec = NEEDS["leads"]
            statement = spec.statement
            if need == "targets" and self.has_targets:
                statement = no_targets_for(self.targets_unset_for)
            if statement not in said:
                said.append(statement)
        return said

    def funnel_stages(self, stages: Iterable[str]) -> tuple[str, ...]:
        """The funnel stages (of ``stages``, in order) that the data tracks."""
        return tuple(s for s in stages if all(map(self.tracks, FUNNEL_STAGE_NEEDS[s])))

    def untracked_columns(self, table: str, columns: Iterable[str]) -> tuple[str, ...]:
        """Columns of ``table`` with no value anywhere in the source."""
        if self.tracked is None:
            return ()
        return tuple(c for c in columns if f"{table}.{c}" not in self.tracked)


def no_targets_for(scope: str) -> str:
    """What a filtered page says when no target is set for its filter (``scope``, in words:
    "Segment: Enterprise")."""
    return (
        f"No targets are set for {scope}; the company's targets do not apply to a filtered report."
    )


def _of_leads(column: str) -> bool:
    return column.startswith("leads.")
