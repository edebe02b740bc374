"""The canonical data model: the contract every other part of the kit reads.

Four tables, one file each in a data folder (``<table>.csv`` or
``<table>.parquet``). ``docs/data-model.md`` explains them for people; this
module is the machine-readable source of truth, and a test keeps the two in
step.

Timestamps are instants: values with an offset (``Z``, ``+02:00``) are
converted; naive values are read in the calendar's time zone. In memory every
timestamp is ``Datetime('us', 'UTC')``; quarters are assigned in the calendar's
time zone (see :mod:`alignment_lib.fiscal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

__all__ = [
    "LEADS",
    "OPPORTUNITIES",
    "OPPORTUNITY_OUTCOMES",
    "OPPORTUNITY_SOURCES",
    "STAGE_HISTORY",
    "TABLES",
    "TARGETS",
    "TARGET_METRICS",
    "TARGET_TEAMS",
    "Column",
    "Table",
]

Kind = Literal["id", "string", "timestamp", "date", "amount", "number", "category"]

TIMESTAMP = pl.Datetime("us", "UTC")

#: polars dtype of each column kind once loaded
DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "string": pl.String(),
    "category": pl.String(),
    "timestamp": TIMESTAMP,
    "date": pl.Date(),
    "amount": pl.Float64(),
    "number": pl.Float64(),
}

OPPORTUNITY_SOURCES = ("marketing", "sales", "partner")
OPPORTUNITY_OUTCOMES = ("won", "lost")
TARGET_TEAMS = ("shared", "marketing", "sales", "partner")
TARGET_METRICS = (
    "bookings",
    "pipeline_created",
    "marketing_pipeline_created",
    "mqls",
    "sla_compliance",
    "won_deals",
    "opportunities_created",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    kind: Kind
    nullable: bool
    meaning: str
    salesforce: str = ""
    hubspot: str = ""
    allowed: tuple[str, ...] = ()

    @property
    def dtype(self) -> pl.DataType:
        return DTYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One canonical table: its file stem, grain, key and columns."""

    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    #: the source must have this table (leads, stage_history and targets may be absent)
    required: bool = True
    checks: tuple[str, ...] = field(default=())
    #: columns the table must have; every other column may be absent from an export, and
    #: then reads as "not tracked" (docs/data-model.md, "Partial exports")
    required_columns: tuple[str, ...] = ()
    #: optional columns that narrow a row to part of the data (targets: segment, region);
    #: an empty one means the whole company. The key and these together are unique (an
    #: empty value matching an empty value)
    scope: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def requires_column(self, name: str) -> bool:
        """Whether an export must have column ``name`` (the key and the few others listed)."""
        return name in self.key or name in self.required_columns

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})


LEADS = Table(
    name="leads",
    grain="one row per lead (an Inquiry: a person who raised a hand)",
    key=("lead_id",),
    required=False,
    required_columns=("created_at",),
    columns=(
        Column("lead_id", "id", False, "Unique lead id.", "Lead.Id", "Contact: hs_object_id"),
        Column(
            "created_at",
            "timestamp",
            False,
            "When the lead was created (Inquiry).",
            "Lead.CreatedDate",
            "Contact: createdate",
        ),
        Column(
            "channel",
            "category",
            True,
            "Marketing channel that produced the lead (Paid Search, Events, ...).",
            "Lead.LeadSource",
            "Contact: hs_analytics_source",
        ),
        Column(
            "campaign",
            "string",
            True,
            "Campaign name that produced the lead.",
            "CampaignMember / Lead campaign (custom)",
            "Contact: hs_analytics_source_data_2",
        ),
        Column(
            "segment",
            "category",
            True,
            "Company size segment (SMB, Mid-Market, Enterprise).",
            "Lead custom field (e.g. Segment__c)",
            "Contact/Company custom property",
        ),
        Column(
            "region",
            "category",
            True,
            "Sales region (e.g. NA, EMEA, APAC, LATAM).",
            "Lead custom field or Country mapping",
            "Contact: country mapped to region",
        ),
        Column(
            "owner_id",
            "id",
            True,
            "Sales rep who owns the lead after handoff.",
            "Lead.OwnerId",
            "Contact: hubspot_owner_id",
        ),
        Column(
            "mql_at",
            "timestamp",
            True,
            "When the lead became marketing-qualified (MQL).",
            "custom field (no standard MQL timestamp)",
            "Contact: hs_lifecyclestage_marketingqualifiedlead_date",
        ),
        Column(
            "accepted_at",
            "timestamp",
            True,
            "When sales accepted the MQL (SAL).",
            "custom field or Lead.Status history",
            "Contact: hs_lead_status history (custom)",
        ),
        Column(
            "rejected_at",
            "timestamp",
            True,
            "When sales rejected the MQL.",
            "custom field or Lead.Status history",
            "Contact: hs_lead_status history (custom)",
        ),
        Column(
            "rejection_reason",
            "string",
            True,
            "Why sales rejected the MQL.",
            "custom field (e.g. Rejection_Reason__c)",
            "Contact: custom property",
        ),
        Column(
            "first_touch_at",
            "timestamp",
            True,
            "First sales touch (call, email, meeting) after the MQL.",
            "first Task/Event on the lead (ActivityDate)",
            "Contact: hs_sa_first_engagement_date",
        ),
        Column(
            "sql_at",
            "timestamp",
            True,
            "When the lead became sales-qualified (SQL).",
            "custom field",
            "Contact: hs_lifecyclestage_salesqualifiedlead_date",
        ),
        Column(
            "opportunity_id",
            "id",
            True,
            "Opportunity the lead converted into, if any.",
            "Lead.ConvertedOpportunityId",
            "Deal associated with the contact",
        ),
    ),
    checks=(
        "lead_id is unique",
        "mql_at, accepted_at, rejected_at, first_touch_at, sql_at are not before created_at",
        "accepted_at and rejected_at are not both set",
    ),
)

OPPORTUNITIES = Table(
    name="opportunities",
    grain="one row per opportunity (deal), with its current state",
    key=("opportunity_id",),
    columns=(
        Column(
            "opportunity_id",
            "id",
            False,
            "Unique opportunity id.",
            "Opportunity.Id",
            "Deal: hs_object_id",
        ),
        Column(
            "created_at",
            "timestamp",
            False,
            "When the opportunity was created.",
            "Opportunity.CreatedDate",
            "Deal: createdate",
        ),
        Column(
            "source",
            "category",
            False,
            "Who sourced the deal: marketing, sales (outbound) or partner.",
            "Opportunity.LeadSource mapped to a source",
            "Deal: hs_analytics_source mapped",
            allowed=OPPORTUNITY_SOURCES,
        ),
        Column(
            "channel",
            "category",
            True,
            "Channel of the originating lead or campaign.",
            "Opportunity.LeadSource / Campaign.Type",
            "Deal: hs_analytics_source",
        ),
        Column(
            "amount",
            "amount",
            True,
            "Deal amount in the company's reporting currency (required once won).",
            "Opportunity.Amount (converted from CurrencyIsoCode)",
            "Deal: amount",
        ),
        Column(
            "stage",
            "category",
            False,
            "Current stage name.",
            "Opportunity.StageName",
            "Deal: dealstage (label)",
        ),
        Column(
            "expected_close_date",
            "date",
            True,
            "Expected close date while open (a calendar date, no time).",
            "Opportunity.CloseDate while IsClosed = false",
            "Deal: closedate while open",
        ),
        Column(
            "closed_at",
            "timestamp",
            True,
            "When the deal closed (won or lost); empty while open.",
            "Opportunity.CloseDate once IsClosed = true",
            "Deal: closedate once hs_is_closed",
        ),
        Column(
            "outcome",
            "category",
            True,
            "won or lost once closed; empty while open.",
            "Opportunity.IsWon / IsClosed",
            "Deal: hs_is_closed_won / hs_is_closed",
            allowed=OPPORTUNITY_OUTCOMES,
        ),
        Column(
            "lost_reason",
            "string",
            True,
            "Why a lost deal was lost ('No decision' counts).",
            "custom field (e.g. Loss_Reason__c)",
            "Deal: closed_lost_reason",
        ),
        Column(
            "owner_id",
            "id",
            True,
            "Sales rep who owns the deal.",
            "Opportunity.OwnerId",
            "Deal: hubspot_owner_id",
        ),
        Column(
            "segment",
            "category",
            True,
            "Company size segment.",
            "Account custom field",
            "Company custom property",
        ),
        Column(
            "region",
            "category",
            True,
            "Sales region.",
            "Account custom field",
            "Company country mapped to region",
        ),
        Column(
            "lead_id",
            "id",
            True,
            "Lead the deal came from, if any.",
            "Lead.ConvertedOpportunityId (reverse)",
            "Contact associated with the deal",
        ),
    ),
    checks=(
        "opportunity_id is unique",
        "source is one of marketing, sales, partner",
        "outcome is one of won, lost, and is set exactly when closed_at is set",
        "closed_at is not before created_at",
        "amount is not negative; a won deal has an amount",
    ),
)

STAGE_HISTORY = Table(
    name="stage_history",
    grain="one row per change of an opportunity's stage, amount or expected close date",
    key=("opportunity_id", "changed_at"),
    required=False,
    required_columns=("stage",),
    columns=(
        Column(
            "opportunity_id",
            "id",
            False,
            "The opportunity that changed.",
            "OpportunityHistory.OpportunityId",
            "Deal property history",
        ),
        Column(
            "changed_at",
            "timestamp",
            False,
            "When the change was made.",
            "OpportunityHistory.CreatedDate",
            "Deal: hs_date_entered_<stageId>",
        ),
        Column(
            "stage",
            "category",
            False,
            "Stage after the change.",
            "OpportunityHistory.StageName",
            "Deal: dealstage history",
        ),
        Column(
            "amount",
            "amount",
            True,
            "Amount after the change.",
            "OpportunityHistory.Amount",
            "Deal: amount history",
        ),
        Column(
            "expected_close_date",
            "date",
            True,
            "Expected close date after the change.",
            "OpportunityHistory.CloseDate",
            "Deal: closedate history",
        ),
    ),
    checks=("opportunity_id exists in opportunities", "amount is not negative"),
)

TARGETS = Table(
    name="targets",
    grain="one row per fiscal quarter, metric and team, and optionally segment and region",
    key=("fiscal_quarter", "metric", "team"),
    required=False,
    required_columns=("value",),
    scope=("segment", "region"),
    columns=(
        Column(
            "fiscal_quarter",
            "string",
            False,
            "Fiscal quarter label, e.g. FY2026-Q3.",
            "Forecasting quota / planning sheet",
            "Goals / planning sheet",
        ),
        Column(
            "metric", "category", False, "Which number the target is for.", allowed=TARGET_METRICS
        ),
        Column(
            "team",
            "category",
            False,
            "Who is held to it: shared, marketing, sales, partner.",
            allowed=TARGET_TEAMS,
        ),
        Column(
            "value",
            "number",
            False,
            "Target value: an amount in the reporting currency (bookings, pipeline_created, "
            "marketing_pipeline_created), a count (mqls, won_deals, opportunities_created) or a "
            "0-1 share (sla_compliance).",
        ),
        Column(
            "segment",
            "category",
            True,
            "The segment the target is set for (a report filtered to that segment compares "
            "with it); empty: the whole company.",
            "Forecasting quota by territory / planning sheet",
            "Goals / planning sheet",
        ),
        Column(
            "region",
            "category",
            True,
            "The region the target is set for; empty: the whole company.",
            "Forecasting quota by territory / planning sheet",
            "Goals / planning sheet",
        ),
    ),
    checks=(
        "fiscal_quarter is a label like FY2026-Q3",
        "(fiscal_quarter, metric, team, segment, region) is unique",
        "value is not negative",
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS)}
