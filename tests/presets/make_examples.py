"""Write the presets' example exports (tests/presets/<preset>/) from the bundled sample.

Each folder holds a small export as the CRM writes it: the CRM's own column
names, ids, date formats, booleans and picklist values. The deals, leads and
stage changes are a fixed subset of the kit's sample (every 16th opportunity,
the leads that became them, every 80th other lead), so the funnel has the
sample's shape; the targets are the sample's, scaled to the subset.

    .venv/bin/python tests/presets/make_examples.py    # rewrites the CSV files

- ``salesforce/``: objects as the API names them (Data Loader / Bulk API): Lead.csv,
  Opportunity.csv, OpportunityHistory.csv; 18-character ids, ``2026-03-31T17:45:00.000Z``
  date-times, ``true``/``false``; a custom MQL field the preset does not read.
- ``salesforce-report/``: report exports of a US user (English labels, 15-character
  ids, ``3/31/2026`` dates, ``3/31/2026 5:45 PM`` date-times, owner names).
- ``salesforce-report-uk/``: the same reports from a UK user (``31/03/2026``,
  ``31/03/2026 17:45``, amounts in GBP, fiscal year from April) with ``mapping.toml``
  extending the preset.
- ``hubspot/``: contacts and deals with internal property names; contacts with ISO
  date-times, deals with epoch milliseconds (older API scripts write those), amounts in
  EUR (``deal_currency_code``), stage-entered dates per stage.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

HERE = Path(__file__).parent
SAMPLE = HERE.parent.parent / "data" / "sample"

OPP_EVERY = 16
LEAD_EVERY = 80

SF_STAGES = {
    "Discovery": "Prospecting",
    "Qualification": "Qualification",
    "Proposal": "Proposal/Price Quote",
    "Negotiation": "Negotiation/Review",
    "Closed Won": "Closed Won",
    "Closed Lost": "Closed Lost",
}
SF_PROBABILITY = {
    "Prospecting": 10,
    "Qualification": 20,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}
SF_FORECAST = {
    "Prospecting": "Pipeline",
    "Qualification": "Pipeline",
    "Proposal/Price Quote": "BestCase",
    "Negotiation/Review": "Forecast",
    "Closed Won": "Closed",
    "Closed Lost": "Omitted",
}
#: the sample's channels as a Salesforce org's Lead Source picklist writes them
SF_LEAD_SOURCE = {
    "Organic Search": "Web",
    "Paid Search": "Advertisement",
    "Paid Social": "Social Media",
    "Webinar": "Webinar",
    "Events": "Trade Show",
    "Content Syndication": "Purchased List",
    "Partner Referral": "Partner Referral",
    "Outbound": "Cold Call",
}
HS_STAGES = {
    "Discovery": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Proposal": "presentationscheduled",
    "Negotiation": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
HS_ORDER = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]
#: the sample's channels as HubSpot's Original Source (hs_analytics_source) writes them
HS_SOURCE = {
    "Organic Search": "ORGANIC_SEARCH",
    "Paid Search": "PAID_SEARCH",
    "Paid Social": "PAID_SOCIAL",
    "Webinar": "EMAIL_MARKETING",
    "Events": "OTHER_CAMPAIGNS",
    "Content Syndication": "OTHER_CAMPAIGNS",
    "Partner Referral": "REFERRALS",
    "Outbound": "OFFLINE",
}
OWNER_NAMES = [
    "Dana Whitfield", "Marcus Chen", "Priya Raman", "Tomás Ortega", "Keiko Sato",
    "Liam O'Brien", "Amara Okafor", "Jonas Becker", "Sofia Lindqvist", "Rahul Mehta",
    "Claire Dubois", "Ethan Brooks", "Nadia Haddad", "Oliver Grant", "Mei Lin",
    "Lucas Ferreira", "Hannah Weiss", "Samuel Adeyemi", "Isabel Navarro", "Noah Fischer",
    "Grace Kim", "Mateo Rossi", "Aisha Khan", "Daniel Novak", "Elena Popescu",
    "Victor Laurent", "Zoe Hartmann", "Kwame Mensah", "Laura Jensen", "Ravi Iyer",
    "Chloe Martin", "Felix Andersson", "Yara Costa",
]  # fmt: skip
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sf_id15(prefix: str, n: int) -> str:
    """A 15-character Salesforce id: key prefix, pod and a base-62 number."""
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return f"{prefix}5g0000{digits.rjust(6, '0')}"


def sf_id18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character id (Salesforce's checksum)."""
    suffix = ""
    for i in range(3):
        chunk = id15[i * 5 : (i + 1) * 5]
        bits = sum(1 << j for j, c in enumerate(chunk) if c.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return id15 + suffix


def number(sample_id: str | None) -> int:
    return int(sample_id[1:]) if sample_id else 0


def stamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def iso_z(t: dt.datetime | None) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z") if t else ""


def us_date(d: dt.date | None) -> str:
    return f"{d.month}/{d.day}/{d.year}" if d else ""


def us_datetime(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    hour = t.hour % 12 or 12
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def uk_date(d: dt.date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def uk_datetime(t: dt.datetime | None) -> str:
    return t.strftime("%d/%m/%Y %H:%M") if t else ""


def epoch_ms(t: dt.datetime | None) -> str:
    return str(int(t.timestamp() * 1000)) if t else ""


def midnight_ms(d: dt.date | None) -> str:
    return epoch_ms(dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC)) if d else ""


def owner_name(rep: str | None) -> str:
    return OWNER_NAMES[(number(rep.replace("rep-", "r")) - 1) % len(OWNER_NAMES)] if rep else ""


def account(n: int) -> str:
    words = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware"]
    kinds = ["Labs", "Logistics", "Health", "Systems", "Retail", "Energy", "Media", "Foods"]
    h = int(hashlib.sha256(str(n).encode()).hexdigest(), 16)
    return f"{words[h % len(words)]} {kinds[(h // 7) % len(kinds)]}"


def write(path: Path, header: list[str], rows: list[list[object]], *, quote_all: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(
            fh,
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
            lineterminator="\r\n" if quote_all else "\n",
        )
        writer.writerow(header)
        writer.writerows(rows)


def subset() -> tuple[list[dict], list[dict], list[dict], pl.DataFrame]:
    opps = pl.read_csv(SAMPLE / "opportunities.csv", infer_schema=False)
    leads = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False)
    history = pl.read_csv(SAMPLE / "stage_history.csv", infer_schema=False)
    targets = pl.read_csv(SAMPLE / "targets.csv")
    n = pl.col("opportunity_id").str.slice(1).cast(pl.Int64)
    kept = opps.filter(n % OPP_EVERY == 0)
    ids = kept["opportunity_id"]
    lead_n = pl.col("lead_id").str.slice(1).cast(pl.Int64)
    kept_leads = leads.filter(
        pl.col("opportunity_id").is_in(ids.implode())
        | (pl.col("opportunity_id").is_null() & (lead_n % LEAD_EVERY == 0))
    )
    kept_history = history.filter(pl.col("opportunity_id").is_in(ids.implode()))
    won = pl.col("outcome") == "won"
    amount = pl.col("amount").cast(pl.Float64)
    money = (
        kept.filter(won).select(amount.sum()).item() / opps.filter(won).select(amount.sum()).item()
    )
    mqls = kept_leads["mql_at"].drop_nulls().len() / leads["mql_at"].drop_nulls().len()
    scaled = targets.with_columns(
        pl.when(pl.col("metric") == "mqls")
        .then((pl.col("value") * mqls).round(0))
        .when(pl.col("metric") == "sla_compliance")
        .then(pl.col("value"))
        .otherwise((pl.col("value") * money / 1000).round(0) * 1000)
        .alias("value")
    )
    return kept.to_dicts(), kept_leads.to_dicts(), kept_history.to_dicts(), scaled


def write_targets(folder: Path, targets: pl.DataFrame, *, start_month: int = 1) -> None:
    if start_month != 1:
        targets = targets.with_columns(
            pl.col("fiscal_quarter").map_elements(
                lambda label: relabel(label, start_month), return_dtype=pl.String
            )
        )
    folder.mkdir(parents=True, exist_ok=True)
    targets.write_csv(folder / "targets.csv")


def relabel(label: str, start_month: int) -> str:
    """A calendar-year quarter label (FY2026-Q3 with a January start) in another fiscal year."""
    year, quarter = int(label[2:6]), int(label[-1])
    month = 3 * (quarter - 1) + 1
    shift = (month - start_month) % 12
    fiscal_year = year + (1 if month >= start_month and start_month != 1 else 0)
    return f"FY{fiscal_year}-Q{shift // 3 + 1}"


def salesforce(opps: list[dict], leads: list[dict], history: list[dict], targets) -> None:
    folder = HERE / "salesforce"
    opp_id = {
        o["opportunity_id"]: sf_id18(sf_id15("006", number(o["opportunity_id"]))) for o in opps
    }
    owner = {
        r: sf_id18(sf_id15("005", 9000 + number(r.replace("rep-", "r"))))
        for r in {o["owner_id"] for o in opps} | {lead["owner_id"] for lead in leads}
        if r
    }
    rows = []
    for o in opps:
        stage = SF_STAGES[o["stage"]]
        closed = o["closed_at"] is not None
        close = stamp(o["closed_at"]).date() if closed else day(o["expected_close_date"])
        channel = o["channel"]
        lead_source = "" if channel == "Outbound" else SF_LEAD_SOURCE[channel]
        rows.append(
            [
                opp_id[o["opportunity_id"]],
                f"{account(number(o['opportunity_id']))} - New Business",
                sf_id18(sf_id15("001", number(o["opportunity_id"]) // 2)),
                stage,
                o["amount"] or "",
                close.isoformat() if close else "",
                iso_z(stamp(o["created_at"])),
                "true" if closed else "false",
                "true" if o["outcome"] == "won" else "false",
                lead_source,
                owner[o["owner_id"]],
                "New Business",
                SF_FORECAST[stage],
                SF_PROBABILITY[stage],
                "USD",
                o["lost_reason"] or "",
            ]
        )
    write(
        folder / "Opportunity.csv",
        [
            "Id", "Name", "AccountId", "StageName", "Amount", "CloseDate", "CreatedDate",
            "IsClosed", "IsWon", "LeadSource", "OwnerId", "Type", "ForecastCategory",
            "Probability", "CurrencyIsoCode", "Loss_Reason__c",
        ],
        rows,
        quote_all=True,
    )  # fmt: skip
    rows = []
    for lead in leads:
        converted = lead["opportunity_id"] in opp_id
        if converted:
            status = "Closed - Converted"
        elif lead["rejected_at"]:
            status = "Closed - Not Converted"
        elif lead["accepted_at"]:
            status = "Working - Contacted"
        else:
            status = "Open - Not Contacted"
        opp = next((o for o in opps if o["opportunity_id"] == lead["opportunity_id"]), None)
        rows.append(
            [
                sf_id18(sf_id15("00Q", number(lead["lead_id"]))),
                iso_z(stamp(lead["created_at"])),
                SF_LEAD_SOURCE[lead["channel"]],
                status,
                owner.get(lead["owner_id"], sf_id18(sf_id15("00G", 1))),
                "true" if converted else "false",
                stamp(opp["created_at"]).date().isoformat() if opp else "",
                opp_id.get(lead["opportunity_id"], ""),
                iso_z(stamp(lead["mql_at"])),
                lead["segment"] or "",
            ]
        )
    write(
        folder / "Lead.csv",
        [
            "Id", "CreatedDate", "LeadSource", "Status", "OwnerId", "IsConverted",
            "ConvertedDate", "ConvertedOpportunityId", "MQL_Date__c", "Segment__c",
        ],
        rows,
        quote_all=True,
    )  # fmt: skip
    rows = []
    for i, h in enumerate(history, start=1):
        stage = SF_STAGES[h["stage"]]
        rows.append(
            [
                sf_id18(sf_id15("008", i)),
                opp_id[h["opportunity_id"]],
                iso_z(stamp(h["changed_at"])),
                stage,
                h["amount"] or "",
                h["expected_close_date"] or "",
                SF_PROBABILITY[stage],
                SF_FORECAST[stage],
            ]
        )
    write(
        folder / "OpportunityHistory.csv",
        [
            "Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "CloseDate",
            "Probability", "ForecastCategory",
        ],
        rows,
        quote_all=True,
    )  # fmt: skip
    write_targets(folder, targets)


def salesforce_report(
    opps: list[dict], leads: list[dict], history: list[dict], targets, *, uk: bool = False
) -> None:
    folder = HERE / ("salesforce-report-uk" if uk else "salesforce-report")
    date = uk_date if uk else us_date
    datetime = uk_datetime if uk else us_datetime
    opp_id = {o["opportunity_id"]: sf_id15("006", number(o["opportunity_id"])) for o in opps}
    rows = []
    for o in opps:
        stage = SF_STAGES[o["stage"]]
        closed = o["closed_at"] is not None
        close = stamp(o["closed_at"]).date() if closed else day(o["expected_close_date"])
        channel = o["channel"]
        name = account(number(o["opportunity_id"]))
        row = [
            owner_name(o["owner_id"]),
            name,
            f"{name} - New Business",
            stage,
            f"{float(o['amount']):.2f}" if o["amount"] else "",
            SF_PROBABILITY[stage],
            date(close),
            date(stamp(o["created_at"]).date()),
            "" if channel == "Outbound" else SF_LEAD_SOURCE[channel],
            "New Business",
            opp_id[o["opportunity_id"]],
        ]
        if uk:
            row.append(o["lost_reason"] or "")
        rows.append(row)
    header = [
        "Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Amount",
        "Probability (%)", "Close Date", "Created Date", "Lead Source", "Type", "Opportunity ID",
    ]  # fmt: skip
    write(
        folder / "opportunities.csv",
        header + (["Loss Reason"] if uk else []),
        rows,
        quote_all=True,
    )
    rows = []
    for lead in leads:
        converted = lead["opportunity_id"] in opp_id
        row = [
            owner_name(lead["owner_id"]) if lead["owner_id"] else "Marketing Queue",
            sf_id15("00Q", number(lead["lead_id"])),
            date(stamp(lead["created_at"]).date()),
            SF_LEAD_SOURCE[lead["channel"]],
            "Closed - Converted" if converted else "Open - Not Contacted",
            1 if converted else 0,
            opp_id.get(lead["opportunity_id"], ""),
        ]
        if uk:
            row.append(datetime(stamp(lead["mql_at"])))
        rows.append(row)
    header = [
        "Lead Owner", "Lead ID", "Create Date", "Lead Source", "Lead Status", "Converted",
        "Converted Opportunity ID",
    ]  # fmt: skip
    write(folder / "leads.csv", header + (["MQL Date"] if uk else []), rows, quote_all=True)
    rows = []
    previous: dict[str, str] = {}
    for h in history:
        stage = SF_STAGES[h["stage"]]
        o = h["opportunity_id"]
        rows.append(
            [
                opp_id[o],
                f"{account(number(o))} - New Business",
                datetime(stamp(h["changed_at"])),
                previous.get(o, ""),
                stage,
                f"{float(h['amount']):.2f}" if h["amount"] else "",
                SF_PROBABILITY[stage],
                date(day(h["expected_close_date"])),
            ]
        )
        previous[o] = stage
    write(
        folder / "opportunity_history.csv",
        [
            "Opportunity ID", "Opportunity Name", "Edit Date", "From Stage", "To Stage", "Amount",
            "Probability (%)", "Close Date",
        ],
        rows,
        quote_all=True,
    )  # fmt: skip
    write_targets(folder, targets, start_month=4 if uk else 1)


def hubspot(opps: list[dict], leads: list[dict], history: list[dict], targets) -> None:
    folder = HERE / "hubspot"
    deal_id = {o["opportunity_id"]: str(9_100_000_000 + number(o["opportunity_id"])) for o in opps}
    owner = {f"rep-{i:03d}": str(41_200_000 + 37 * i) for i in range(1, 40)}
    entered: dict[str, dict[str, dt.datetime]] = {}
    for h in history:
        stages = entered.setdefault(h["opportunity_id"], {})
        stages.setdefault(HS_STAGES[h["stage"]], stamp(h["changed_at"]))
    by_opp = {o["opportunity_id"]: o for o in opps}
    rows = []
    for lead in leads:
        opp = by_opp.get(lead["opportunity_id"])
        created = stamp(lead["created_at"])
        won = opp is not None and opp["outcome"] == "won"
        if won:
            stage = "customer"
        elif opp is not None:
            stage = "opportunity"
        elif lead["sql_at"]:
            stage = "salesqualifiedlead"
        elif lead["mql_at"]:
            stage = "marketingqualifiedlead"
        else:
            stage = "lead"
        if lead["rejected_at"]:
            status = "UNQUALIFIED"
        elif lead["accepted_at"]:
            status = "IN_PROGRESS"
        else:
            status = "NEW"
        rows.append(
            [
                str(51_000_000_000 + number(lead["lead_id"])),
                iso_z(created),
                iso_z(created + dt.timedelta(days=30)),
                stage,
                status,
                HS_SOURCE[lead["channel"]],
                lead["campaign"] or "",
                owner.get(lead["owner_id"] or "", ""),
                iso_z(created),
                iso_z(stamp(lead["mql_at"])),
                iso_z(stamp(lead["sql_at"])),
                iso_z(stamp(opp["created_at"])) if opp else "",
                iso_z(stamp(opp["closed_at"])) if won else "",
                iso_z(stamp(lead["first_touch_at"])),
            ]
        )
    write(
        folder / "contacts.csv",
        [
            "hs_object_id", "createdate", "lastmodifieddate", "lifecyclestage", "hs_lead_status",
            "hs_analytics_source", "hs_analytics_source_data_2", "hubspot_owner_id",
            "hs_lifecyclestage_lead_date", "hs_lifecyclestage_marketingqualifiedlead_date",
            "hs_lifecyclestage_salesqualifiedlead_date", "hs_lifecyclestage_opportunity_date",
            "hs_lifecyclestage_customer_date", "hs_sa_first_engagement_date",
        ],
        rows,
        quote_all=False,
    )  # fmt: skip
    rows = []
    for o in opps:
        closed = o["closed_at"] is not None
        stage = HS_STAGES[o["stage"]]
        stages = entered.get(o["opportunity_id"], {})
        rows.append(
            [
                deal_id[o["opportunity_id"]],
                f"{account(number(o['opportunity_id']))} - new business",
                "default",
                stage,
                o["amount"] or "",
                "EUR",
                epoch_ms(stamp(o["created_at"])),
                epoch_ms(stamp(o["closed_at"]))
                if closed
                else midnight_ms(day(o["expected_close_date"])),
                "true" if closed else "false",
                "true" if o["outcome"] == "won" else "false",
                o["lost_reason"] or "",
                owner.get(o["owner_id"] or "", ""),
                HS_SOURCE[o["channel"]],
                *(epoch_ms(stages.get(s)) for s in HS_ORDER),
            ]
        )
    write(
        folder / "deals.csv",
        [
            "hs_object_id", "dealname", "pipeline", "dealstage", "amount", "deal_currency_code",
            "createdate", "closedate", "hs_is_closed", "hs_is_closed_won", "closed_lost_reason",
            "hubspot_owner_id", "hs_analytics_source",
            *(f"hs_date_entered_{s}" for s in HS_ORDER),
        ],
        rows,
        quote_all=False,
    )  # fmt: skip
    write_targets(folder, targets)


def main() -> None:
    opps, leads, history, targets = subset()
    salesforce(opps, leads, history, targets)
    salesforce_report(opps, leads, history, targets)
    salesforce_report(opps, leads, history, targets, uk=True)
    hubspot(opps, leads, history, targets)


if __name__ == "__main__":
    main()
