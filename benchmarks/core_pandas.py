"""The benchmark's core metric set in idiomatic pandas.

What an analyst would write with pandas from the definitions (docs/metrics.md,
docs/metrics/*.md): ``read_parquet`` of the needed columns, the same as-of
cut as ``FunnelData.at`` (events after the as-of instant blanked, deals closed
later reopened with the amount their stage history recorded then), boolean
masks, ``merge`` and ``groupby(...).agg``. Quarters of UTC timestamps in a
fiscal year that starts in January (the generated data's calendar); quantiles
with pandas' default linear interpolation (the kit's definition). Each
result holds only the rows with something in them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pandas as pd
import polars as pl

DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


def _quarter(ts: pd.Series) -> pd.Series:
    return ts.dt.year * 4 + (ts.dt.month - 1) // 3


def _days(end: pd.Series, start: pd.Series) -> pd.Series:
    return (end - start) / DAY


def cut(data: Path, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads and opportunities as known at ``as_of`` (the columns the core metrics read)."""
    history = pd.read_parquet(
        data / "stage_history.parquet", columns=["opportunity_id", "changed_at", "stage", "amount"]
    )
    history = history[history["changed_at"] <= as_of]
    # the last record of each deal, null values included (groupby "last" would skip them)
    last = (
        history.sort_values("changed_at")
        .groupby("opportunity_id")
        .tail(1)
        .set_index("opportunity_id")[["stage", "amount"]]
        .rename(columns={"stage": "h_stage", "amount": "h_amount"})
    )
    last["first_change"] = history.groupby("opportunity_id")["changed_at"].min()
    opps = pd.read_parquet(
        data / "opportunities.parquet",
        columns=[
            "opportunity_id",
            "created_at",
            "closed_at",
            "outcome",
            "amount",
            "source",
            "segment",
        ],
    ).merge(last, left_on="opportunity_id", right_index=True, how="left")
    first_seen = opps["created_at"].fillna(opps[["closed_at", "first_change"]].min(axis=1))
    opps = opps[first_seen.isna() | (first_seen <= as_of)].copy()
    later = opps["closed_at"] > as_of
    open_then = opps["closed_at"].isna() | later
    recorded = open_then & opps["h_stage"].notna()
    opps["amount"] = opps["amount"].where(~recorded, opps["h_amount"])
    opps.loc[later, ["closed_at", "outcome"]] = None
    opps = opps.drop(columns=["first_change", "h_stage", "h_amount"])

    leads = pd.read_parquet(
        data / "leads.parquet",
        columns=[
            "channel",
            "segment",
            "created_at",
            "mql_at",
            "accepted_at",
            "rejected_at",
            "rejection_reason",
            "first_touch_at",
            "sql_at",
            "opportunity_id",
        ],
    )
    leads = leads[leads["created_at"] <= as_of].copy()
    for column in ("mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at"):
        leads.loc[leads[column] > as_of, column] = pd.NaT
    leads.loc[leads["rejected_at"].isna(), "rejection_reason"] = None
    linked = opps[["opportunity_id", "created_at", "closed_at", "outcome"]].rename(
        columns={"created_at": "opp_created_at"}
    )
    linked["won_at"] = linked["closed_at"].where(linked["outcome"] == "won")
    leads = leads.merge(
        linked[["opportunity_id", "opp_created_at", "won_at"]], on="opportunity_id", how="left"
    )
    return leads, opps


def _in(q: pd.Series, first: int, last: int) -> pd.Series:
    return q.between(first, last)


def run(data: Path, *, first: int, last: int, as_of: dt.datetime) -> dict[str, pl.DataFrame]:
    """The core metrics of the data folder ``data`` (canonical Parquet files), by name."""
    cutoff = pd.Timestamp(as_of)
    leads, opps = cut(data, cutoff)
    out: dict[str, pd.DataFrame] = {}

    # pipeline created (creation quarter) and bookings (close quarter), by source
    created = opps.assign(quarter_index=_quarter(opps["created_at"]), measure="pipeline_created")
    won = opps[opps["outcome"] == "won"]
    booked = won.assign(quarter_index=_quarter(won["closed_at"]), measure="bookings")
    both = pd.concat([created, booked])
    both = both[_in(both["quarter_index"], first, last)]
    out["pvb"] = (
        both.groupby(["quarter_index", "measure", "source"])
        .agg(deals=("amount", "size"), amount=("amount", "sum"))
        .reset_index()
    )

    # creation-to-close lag of bookings
    w = won[won["closed_at"].notna()].assign(quarter_index=_quarter(won["closed_at"]))
    w = w[_in(w["quarter_index"], first, last)]
    w["lag_quarters"] = (w["quarter_index"] - _quarter(w["created_at"])).clip(0, 3)
    lag = (
        w.groupby(["quarter_index", "lag_quarters"])
        .agg(deals=("amount", "size"), amount=("amount", "sum"))
        .reset_index()
    )
    total = lag.groupby("quarter_index")["amount"].transform("sum")
    lag["share"] = (lag["amount"] / total).where(total > 0)
    out["lag"] = lag

    # MQL outcomes and response times by channel (24 h SLA)
    m = leads[leads["mql_at"].notna()].copy()
    # stalled: touched, undecided and older than the p99 of the decision times known at
    # the cutoff (at least 1 day; 30 days with fewer than 100 decisions), over all MQLs
    decided = m["accepted_at"].fillna(m["rejected_at"])
    known = _days(decided, m["mql_at"])[decided <= cutoff]
    stall_days = max(known.quantile(0.99), 1.0) if len(known) >= 100 else 30.0
    m["quarter_index"] = _quarter(m["mql_at"])
    m = m[_in(m["quarter_index"], first, last)]
    accepted = m["accepted_at"].notna()
    rejected = m["rejected_at"].notna() & ~accepted
    touched = m["first_touch_at"].notna()
    overdue = (cutoff - m["mql_at"]) / HOUR > 24.0
    stalled = touched & (_days(cutoff, m["mql_at"]) > stall_days)
    leaked = ~accepted & ~rejected & ((~touched & overdue) | stalled)
    m = m.assign(
        accepted=accepted,
        rejected=rejected,
        leaked=leaked,
        pending=~accepted & ~rejected & ~leaked,
        due=touched | overdue,
        touched=touched,
        hours=(m["first_touch_at"] - m["mql_at"]) / HOUR,
    )
    m["within"] = touched & (m["hours"] <= 24.0)
    g = m.groupby(["quarter_index", "channel"], dropna=False)
    out["outcomes"] = g.agg(
        mqls=("accepted", "size"),
        accepted=("accepted", "sum"),
        rejected=("rejected", "sum"),
        pending=("pending", "sum"),
        leaked=("leaked", "sum"),
    ).reset_index()
    response = g.agg(
        mqls_due=("due", "sum"),
        touched=("touched", "sum"),
        median_hours=("hours", "median"),
        within_sla=("within", "sum"),
    )
    response["p90_hours"] = g["hours"].quantile(0.9)
    out["response"] = response.reset_index()

    # rejection reasons by channel
    r = leads[leads["rejected_at"].notna()].copy()
    r["quarter_index"] = _quarter(r["rejected_at"])
    r = r[_in(r["quarter_index"], first, last)]
    r["rejection_reason"] = r["rejection_reason"].fillna("(no reason given)")
    reasons = (
        r.groupby(["quarter_index", "rejection_reason", "channel"], dropna=False)
        .size()
        .rename("rejected")
        .reset_index()
    )
    reasons["share"] = reasons["rejected"] / reasons.groupby(
        ["quarter_index", "channel"], dropna=False
    )["rejected"].transform("sum")
    out["reasons"] = reasons

    # funnel: cohort conversion by channel and segment, and days between stages
    stages = ["created_at", "mql_at", "accepted_at", "sql_at", "opp_created_at", "won_at"]
    parts = []
    for step, (a, b) in enumerate(itertools.pairwise(stages), start=1):
        p = leads.loc[leads[a].notna(), ["channel", "segment", a, b]]
        parts.append(
            pd.DataFrame(
                {
                    "channel": p["channel"],
                    "segment": p["segment"],
                    "step": step,
                    "a": p[a],
                    "b": p[b],
                    "days": _days(p[b], p[a]),
                }
            )
        )
    pairs = pd.concat(parts, ignore_index=True)
    pairs["reached"] = pairs["b"].notna()
    # maturity: the p90 of the conversion times known at the cutoff
    known = pairs["reached"] & (pairs["b"] <= cutoff)
    typical = pairs[known].groupby("step")["days"].quantile(0.9).rename("maturity_days")
    pairs["quarter_index"] = _quarter(pairs["a"])
    cohort = pairs[_in(pairs["quarter_index"], first, last)]
    keys = ["quarter_index", "step", "channel", "segment"]
    cohorts = cohort.groupby(keys, dropna=False).agg(
        entered=("reached", "size"), reached=("reached", "sum")
    )
    cohorts["median_days"] = cohort[cohort["reached"]].groupby(keys, dropna=False)["days"].median()
    cohorts = cohorts.reset_index().merge(typical, on="step", how="left")
    q = cohorts["quarter_index"]
    ends = pd.to_datetime(
        pd.DataFrame({"year": q // 4, "month": (q % 4) * 3 + 1, "day": 1}), utc=True
    ) + pd.DateOffset(months=3)
    age = (cutoff - (ends - pd.Timedelta(microseconds=1))) / DAY
    cohorts["mature"] = age >= cohorts["maturity_days"].fillna(0.0)
    out["cohorts"] = cohorts

    reached = pairs[pairs["reached"]].copy()
    reached["quarter_index"] = _quarter(reached["b"])
    reached = reached[_in(reached["quarter_index"], first, last)]
    g = reached.groupby(["quarter_index", "step"])["days"]
    out["durations"] = pd.DataFrame(
        {"records": g.size(), "median_days": g.median(), "p90_days": g.quantile(0.9)}
    ).reset_index()

    # sales cycle by segment
    c = opps[opps["closed_at"].notna()].copy()
    c["quarter_index"] = _quarter(c["closed_at"])
    c = c[_in(c["quarter_index"], first, last)]
    c["won"] = c["outcome"] == "won"
    c["days"] = _days(c["closed_at"], c["created_at"])
    g = c.groupby(["quarter_index", "segment"], dropna=False)
    cycle = g.agg(won=("won", "sum"), closed=("won", "size"), median_days_closed=("days", "median"))
    cycle["p90_days_closed"] = g["days"].quantile(0.9)
    cycle["median_days_won"] = (
        c[c["won"]].groupby(["quarter_index", "segment"], dropna=False)["days"].median()
    )
    out["cycle"] = cycle.reset_index()

    # bookings linearity: month 3 and the last two weeks of the quarter
    w = won[won["closed_at"].notna()].assign(quarter_index=_quarter(won["closed_at"]))
    w = w[_in(w["quarter_index"], first, last)]
    day = w["closed_at"].dt.tz_localize(None).dt.normalize()
    q = w["quarter_index"]
    start = pd.to_datetime(pd.DataFrame({"year": q // 4, "month": (q % 4) * 3 + 1, "day": 1}))
    last_day = start + pd.DateOffset(months=3) - DAY
    w = w.assign(
        m3=w["amount"].where(day >= start + pd.DateOffset(months=2), 0.0),
        l2w=w["amount"].where(day > last_day - pd.Timedelta(days=14), 0.0),
    )
    out["linearity"] = (
        w.groupby("quarter_index")
        .agg(
            deals=("amount", "size"),
            bookings=("amount", "sum"),
            month3_bookings=("m3", "sum"),
            last_two_weeks_bookings=("l2w", "sum"),
        )
        .reset_index()
    )
    return {name: pl.from_pandas(frame) for name, frame in out.items()}
