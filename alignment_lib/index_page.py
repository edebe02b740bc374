"""The report's landing page: the quarter's headline numbers and a link to each page.

Static HTML with no script at all, every value escaped, and the same
Content-Security-Policy idea as the workbook pages (nothing loads from the
network). The only line that changes between two renders of the same inputs
is the one that says when it was rendered.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import polars as pl

from alignment_lib._text import TEXT_LIMIT, shorten, shorten_words
from alignment_lib.money import DEFAULT_CURRENCY, format_money
from alignment_lib.narrative._format import format_count, format_share

__all__ = ["FINDINGS_TAG", "PageLink", "build_index", "findings_of"]

#: the tag of the cell whose output states a workbook's findings
FINDINGS_TAG = "findings"

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
#: a quarter still running is on track, at risk or behind; one that is over, hit or missed
_STATUS_COLOR = {
    "on track": "#1b7837",
    "at risk": "#b35806",
    "behind": "#b2182b",
    "hit": "#1b7837",
    "missed": "#b2182b",
}


@dataclass(frozen=True)
class PageLink:
    """One workbook page of the bundle."""

    title: str
    href: str
    analyst_href: str
    findings: tuple[str, ...]


def findings_of(notebook: str | Path) -> tuple[str, ...]:
    """The sentences shown by the executed notebook's cell tagged ``findings``."""
    nb = nbformat.read(Path(notebook), as_version=4)
    for cell in nb.cells:
        if FINDINGS_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain")
            if text:
                text = "".join(text) if isinstance(text, list) else text
                # "\n" only: splitlines() would also break a finding at a U+2028 in a name
                return tuple(line for line in text.split("\n") if line.strip())
    return ()


def _finding(sentence: str) -> str:
    """A finding as the index shows it: long names cut (docs/text-display.md)."""
    return shorten(shorten_words(sentence), TEXT_LIMIT)


def _value(kind: str, value: float | None, currency: str) -> str:
    if value is None:
        return "–"
    if kind == "amount":
        return format_money(value, currency=currency)
    if kind == "rate":
        return format_share(value)
    return format_count(value)


def _scorecard_rows(scorecard: pl.DataFrame, currency: str) -> str:
    rows = []
    for r in scorecard.iter_rows(named=True):
        team = "" if r["team"] == "shared" else f" ({r['team']})"
        # narrative.gate_scorecard: a target the data cannot measure is "not tracked"
        untracked = bool(r.get("not_tracked"))
        status = "not tracked" if untracked else r["status"] or "n/a"
        if r["target"] is None:  # an actual without a target: nothing to attain
            status = "no target"
        actual = "not tracked" if untracked else _value(r["kind"], r["actual"], currency)
        color = _STATUS_COLOR.get(status, "#555555")
        attained = "–" if r["target"] is None else format_share(r["attainment"])
        rows.append(
            "<tr>"
            f"<td>{html.escape(r['label'] + team)}</td>"
            f"<td class='num'>{html.escape(actual)}</td>"
            f"<td class='num'>{html.escape(_value(r['kind'], r['target'], currency))}</td>"
            f"<td class='num'>{html.escape(attained)}</td>"
            f"<td><span class='status' style='color:{color}'>{html.escape(status)}</span></td>"
            "</tr>"
        )
    return "".join(rows)


def build_index(
    *,
    quarter: str,
    as_of: dt.datetime,
    scorecard: pl.DataFrame,
    pages: Sequence[PageLink],
    rendered_at: dt.datetime,
    filters: str = "",
    currency: str = DEFAULT_CURRENCY,
    targets_note: str = "",
) -> str:
    """The landing page's HTML (a complete document).

    ``filters``: the filter of a filtered render in words (``Segment:
    Enterprise · Region: EMEA``), named in the title and the heading; empty
    for the company report. ``currency``: the ISO 4217 code amounts are
    written in (the data's, :attr:`FunnelData.currency`). ``targets_note``:
    why the report has no targets (``Headline.targets_note``), stated above
    the actuals; empty when targets apply. A filtered report compares only
    with the targets set for its filter, never with the company's.
    """
    e = html.escape
    named = f" · {filters}" if filters else ""
    compared = targets_note or f"The targets are those set for {filters}."
    notice = (
        f"<p class='filter'><strong>Filtered report: {e(filters)}.</strong> Every actual "
        f"counts only the leads and deals of this filter. {e(compared)}</p>"
        if filters
        else ""
    )
    targeted = scorecard.height > 0 and scorecard["target"].is_not_null().any()
    why = targets_note or "No targets are set for this quarter."
    cards = "".join(
        "<section class='page'>"
        f"<h2><a href='{e(p.href, quote=True)}'>{e(p.title)}</a></h2>"
        + (
            "<ul>" + "".join(f"<li>{e(_finding(s))}</li>" for s in p.findings) + "</ul>"
            if p.findings
            else ""
        )
        + f"<p class='small'><a href='{e(p.analyst_href, quote=True)}'>analyst version, with "
        "the code</a></p></section>"
        for p in pages
    )
    table = (
        ("" if targeted else f"<p>{e(why)}</p>")
        + "<table><thead><tr><th>Shared target</th><th>Actual</th><th>Target</th>"
        "<th>Attainment</th><th>Status</th></tr></thead>"
        f"<tbody>{_scorecard_rows(scorecard, currency)}</tbody></table>"
        if scorecard.height
        else f"<p>{e(why)}</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(quarter + named)} · Marketing and sales alignment report</title>
<style>
body {{ font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
       max-width: 980px; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }}
h1 {{ font-weight: 600; margin-bottom: .2rem; }}
.small {{ color: #666; font-size: .9rem; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }}
th, td {{ padding: .45rem .6rem; border-bottom: 1px solid #e3e3e3; text-align: left; }}
li, td {{ overflow-wrap: anywhere; }}
th {{ font-weight: 600; border-bottom: 2px solid #999; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.status {{ font-weight: 600; }}
section.page {{ border-top: 1px solid #e3e3e3; padding-top: .4rem; }}
section.page h2 {{ font-size: 1.15rem; margin-bottom: .3rem; }}
a {{ color: #0b5394; }}
p.filter {{ background: #fff4e0; border-left: 4px solid #b35806; padding: .5rem .8rem; }}
</style>
</head>
<body>
<h1>{e(quarter + named)}: marketing and sales on one page</h1>
{notice}
<p class="small">Every number is computed as of {e(f"{as_of:%Y-%m-%d %H:%M}")} UTC; later events are
ignored, so this report re-renders the same. Definitions: docs/metrics.md of the kit.</p>
<h2>Shared targets</h2>
{table}
<h2>The pages</h2>
{cards}
<p class="small">Rendered at {e(f"{rendered_at:%Y-%m-%d %H:%M}")} UTC.</p>
</body>
</html>
"""
