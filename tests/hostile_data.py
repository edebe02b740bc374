"""The bundled sample with hostile text in every free-text field (deterministic).

Every distinct value of every text column a person or a CRM can fill in
(ids, channel, campaign, segment, region, owner, reasons, stage) gets a
hostile payload appended: markup and script, event handlers, template
expressions, ``javascript:`` links, markdown, ``$...$`` math, a right-to-left
override, zero-width characters, emoji. One value per column becomes a
10,000-character name. Values stay distinct and keep their cardinality, so
every metric sees the sample's shape under other names, and ids stay joined
across tables. Columns with an allowed set (source, outcome, targets' metric
and team) and the targets' quarter labels cannot hold free text and are left
alone. Control characters are not here: loading removes them (see
tests/test_hostile_text.py for the chart-image case that has them).

Run ``python tests/hostile_data.py OUT_FOLDER`` to write the folder.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import polars as pl

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"

#: a product no page may show: evaluated template syntax would print it
EVALUATED = str(1234 * 5678)
#: the marker of the markdown payload's bold text (must never be bold)
BOLD_MARKER = "HOSTILEBOLD"
#: length of the one very long name per column
LONG = 10_000

#: ``{tag}`` becomes the column's name, so an alert says where it came from
PAYLOADS = (
    "<script>alert('{tag}')</script>",
    "<img src=x onerror=alert('{tag}')>",
    "{{{{7*7}}}} {{{{1234*5678}}}}",
    "${{alert('{tag}')}} ${{1234*5678}} #{{1234*5678}}",
    "javascript:alert('{tag}')",
    "**" + BOLD_MARKER + " {tag}** [link](javascript:alert('{tag}')) _em_",
    "$x_{tag}$ and $$y$$",
    "\u202e{tag} override",
    "zero\u200bwidth\u200d\u2060\ufeff{tag}",
    "emoji \U0001f680\U0001f469\u200d\U0001f4bb {tag}",
    "</script><svg onload=alert('{tag}')>",
    '"><a href="javascript:alert(\'{tag}\')">{tag}</a>',
    "</title></style><iframe src=https://example.com/{tag}></iframe>",
    "<!-- {tag} --> &amp; &lt;b&gt; \u2028 line",
)

#: table -> its free-text columns (ids are joined across tables and renamed alike)
TEXT_COLUMNS = {
    "leads": (
        "lead_id",
        "channel",
        "campaign",
        "segment",
        "region",
        "owner_id",
        "rejection_reason",
        "opportunity_id",
    ),
    "opportunities": (
        "opportunity_id",
        "channel",
        "stage",
        "lost_reason",
        "owner_id",
        "segment",
        "region",
        "lead_id",
    ),
    "stage_history": ("opportunity_id", "stage"),
}


#: values the kit gives a meaning (the forecast leaves "Discovery" deals out by default)
KEEP = frozenset({"Discovery"})


def long_name(tag: str) -> str:
    """A 10,000-character name without a space (nothing can wrap it)."""
    head = f"Long-{tag}-<b>"
    return head + "x" * (LONG - len(head))


def hostile(values: list[str], column: str) -> dict[str, str]:
    """Old value -> new one, for the sorted distinct values of one column: each gets
    a payload (cycling, shifted per column), the last one the long name."""
    shift = sum(map(ord, column))
    mapping = {
        v: v if v in KEEP else f"{v} " + PAYLOADS[(i + shift) % len(PAYLOADS)].format(tag=column)
        for i, v in enumerate(sorted(values))
    }
    if values and column not in ("lead_id", "opportunity_id"):
        mapping[max(values)] = f"{max(values)} {long_name(column)}"
    return mapping


def build(out: Path, *, sample: Path = SAMPLE) -> Path:
    """Write the hostile copy of ``sample`` to ``out``; returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for f in sample.glob("*.csv"):
        shutil.copy(f, out / f.name)
    # one mapping per column name, shared by the tables: ids and names stay joined
    frames = {t: pl.read_csv(out / f"{t}.csv", infer_schema=False) for t in TEXT_COLUMNS}
    mappings: dict[str, dict[str, str]] = {}
    for column in {c for cols in TEXT_COLUMNS.values() for c in cols}:
        values = pl.concat(
            [f[column] for t, f in frames.items() if column in TEXT_COLUMNS[t]]
        ).drop_nulls()
        mappings[column] = hostile(values.unique().to_list(), column)
    for table, columns in TEXT_COLUMNS.items():
        frame = frames[table].with_columns(
            pl.col(c).replace_strict(mappings[c], default=None) for c in columns
        )
        frame.write_csv(out / f"{table}.csv")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile_data.py OUT_FOLDER")
    print(build(Path(sys.argv[1])))
