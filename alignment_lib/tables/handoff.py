"""Tables of 'The handoff' workbook."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.theme import NOT_SET
from alignment_lib.tracking import Tracking

__all__ = ["table_handoff_by_channel", "table_mql_outcomes"]

_PARTS = ("accepted", "rejected", "pending", "leaked")
_PART_LABELS = {
    "accepted": "Accepted",
    "rejected": "Rejected",
    "pending": "Pending",
    "leaked": "Leaked",
}


def _share(part: str, whole: str = "mqls") -> pl.Expr:
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole))


def _days(value: float) -> str:
    text = f"{value:,.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


@shows("mql_outcomes")
def table_mql_outcomes(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "mql-outcomes",
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per MQL quarter: MQLs and how many were accepted, rejected, pending or leaked,
    each with its share of the quarter's MQLs, and the leaked ones by kind (never touched
    past the SLA; stalled: touched, no decision past the threshold).

    ``frame`` is :func:`alignment_lib.metrics.mql_outcomes` output (a channel
    split is summed).
    """
    src = collect(frame)
    kinds = ["leaked_untouched", "leaked_stalled"]
    wide = (
        src.group_by("quarter_index", "fiscal_quarter")
        .agg(pl.col("mqls", *_PARTS, *kinds).sum())
        .sort("quarter_index")
        .with_columns(_share(p).alias(f"{p}_share") for p in _PARTS)
        .select("fiscal_quarter", "mqls", *(c for p in _PARTS for c in (p, f"{p}_share")), *kinds)
    )
    if wide.is_empty() or wide["mqls"].sum() == 0:
        return table_no_data(
            "What became of the MQLs handed to sales",
            "No MQLs in the quarters shown",
            table_id=table_id,
        )
    stall = src["stall_days"][0]
    table = (
        gt.GT(wide, id=table_id)
        .tab_header(
            title="What became of the MQLs handed to sales",
            subtitle="By the quarter the lead became an MQL; the four outcomes add up to the MQLs",
        )
        .cols_label(
            cases={
                "fiscal_quarter": "MQL quarter",
                "mqls": "MQLs",
                "leaked_untouched": "Never touched",
                "leaked_stalled": "Stalled",
                **_PART_LABELS,
            }
        )
        .fmt_integer(columns=["mqls", *_PARTS, *kinds])
        .fmt_percent(columns=[f"{p}_share" for p in _PARTS], decimals=0)
    )
    for p in _PARTS:
        table = table.cols_merge(columns=[p, f"{p}_share"], pattern="{0} ({1})")
    return (
        table.tab_spanner(label="MQLs by outcome (share)", columns=list(_PARTS))
        .tab_spanner(label="Leaked, by kind", columns=kinds)
        .sub_missing(missing_text="–")
        .tab_source_note(
            "Pending: neither accepted nor rejected yet (touched, and not yet stalled; or "
            "untouched and still inside the SLA). Leaked: never touched and past the SLA, or "
            f"stalled: touched but still undecided more than {_days(stall)} after the MQL."
        )
        .tab_style(
            style=gt.style.text(whitespace="nowrap"),
            locations=gt.loc.body(columns="fiscal_quarter"),
        )
    )


@shows("mql_outcomes", "response_times")
def table_handoff_by_channel(
    outcomes: pl.DataFrame | pl.LazyFrame,
    response: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    table_id: str = "handoff-by-channel",
    tracking: Tracking | None = None,
) -> gt.GT:
    """The handoff per channel for one quarter: outcome shares, leaked MQLs (and how many of
    them stalled: touched, no decision), response times and SLA compliance, lowest
    compliance first.

    ``outcomes`` is :func:`alignment_lib.metrics.mql_outcomes` and ``response``
    :func:`alignment_lib.metrics.response_times` output, both split by
    ``channel``; ``quarter`` a label like FY2026-Q3. Channels with no MQLs in
    the quarter are left out.
    """
    keys = ["fiscal_quarter", "channel"]
    out = collect(outcomes).filter(pl.col("fiscal_quarter") == quarter)
    resp = collect(response).filter(pl.col("fiscal_quarter") == quarter)
    wide = (
        out.select(*keys, "mqls", "accepted", "rejected", "pending", "leaked", "leaked_stalled")
        .join(
            resp.select(*keys, "median_hours", "p90_hours", "sla_compliance"),
            on=keys,
            how="left",
            nulls_equal=True,
        )
        .filter(pl.col("mqls") > 0)
        .with_columns(
            pl.col("channel").fill_null(NOT_SET),
            *(_share(p).alias(f"{p}_share") for p in ("accepted", "rejected", "pending")),
            leaked_share=_share("leaked"),
        )
        .sort(
            ["sla_compliance", "median_hours", "channel"],
            descending=[False, True, False],
            nulls_last=True,
        )
        .select(
            "channel",
            "mqls",
            "accepted_share",
            "rejected_share",
            "pending_share",
            "leaked",
            "leaked_share",
            "leaked_stalled",
            "median_hours",
            "p90_hours",
            "sla_compliance",
        )
    )
    if wide.is_empty():
        return table_no_data(
            f"The handoff by channel, {quarter}", f"No MQLs in {quarter}", table_id=table_id
        )
    return (
        gt.GT(wide, id=table_id)
        .tab_header(
            title=f"The handoff by channel, {quarter}",
            subtitle="Lowest SLA compliance first; hours from MQL to the first sales touch",
        )
        .cols_label(
            channel="Channel",
            mqls="MQLs",
            accepted_share="Accepted",
            rejected_share="Rejected",
            pending_share="Pending",
            leaked="Leaked MQLs",
            leaked_stalled="of which stalled",
            median_hours="Median",
            p90_hours="p90",
            sla_compliance="Within the SLA",
        )
        .fmt_integer(columns=["mqls", "leaked", "leaked_stalled"])
        .fmt_percent(
            columns=[
                "accepted_share",
                "rejected_share",
                "pending_share",
                "leaked_share",
                "sla_compliance",
            ],
            decimals=0,
        )
        .fmt_number(columns=["median_hours", "p90_hours"], decimals=1, pattern="{x} h")
        .cols_merge(columns=["leaked", "leaked_share"], pattern="{0} ({1})")
        .tab_spanner(
            label="Share of MQLs",
            columns=["accepted_share", "rejected_share", "pending_share"],
        )
        .tab_spanner(label="Hours to first touch", columns=["median_hours", "p90_hours"])
        .sub_missing(missing_text="–")
    )
