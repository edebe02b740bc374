"""The house look: one altair theme, and one colour per team on every chart.

Colours come from the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness. Marketing is always orange, sales always
blue, partner always green, whatever chart they appear on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alignment_lib._text import SHORT_LABEL_EXPR
from alignment_lib.money import vega_number_locale

if TYPE_CHECKING:
    import altair as alt

# altair is imported where a chart is made, not with the labels and colours below, which
# findings, tables and `alignment validate` use too (docs/architecture.md, "Imports")

__all__ = [
    "GROUP_LABELS",
    "MESSAGE_GREY",
    "NOT_SET",
    "PLACEHOLDER_FRAME",
    "SOURCE_COLORS",
    "SOURCE_LABELS",
    "SPLIT_COLORS",
    "STAGE_LABELS",
    "THEME_NAME",
    "enable_theme",
    "register_theme",
    "source_color_scale",
    "step_label",
]

THEME_NAME = "alignment"

SOURCE_COLORS: dict[str, str] = {
    "marketing": "#E69F00",
    "sales": "#0072B2",
    "partner": "#009E73",
}
SOURCE_LABELS: dict[str, str] = {
    "marketing": "Marketing-sourced",
    "sales": "Sales-sourced",
    "partner": "Partner-sourced",
}
NEUTRAL = "#6B6B6B"
#: the measures of a "By <dimension>" chart (not the team colours: they are not teams)
SPLIT_COLORS: tuple[str, ...] = ("#56B4E9", "#D55E00", "#CC79A7", "#F0E442")
#: the text of a "no data" placeholder, in charts and tables alike, and its chart's frame
MESSAGE_GREY = "#555555"
PLACEHOLDER_FRAME = "#cccccc"
#: funnel stage codes -> the labels every chart, table and sentence uses
STAGE_LABELS: dict[str, str] = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}
#: the columns a funnel or handoff view can be split by -> their labels
GROUP_LABELS: dict[str, str] = {
    "channel": "Channel",
    "segment": "Segment",
    "region": "Region",
    "campaign": "Campaign",
    "owner_id": "Owner",
}
#: how a missing channel, owner, segment or region is shown
NOT_SET = "(not set)"
#: axis labels show at most LABEL_LIMIT characters, the last an ellipsis (Vega's
#: truncate counts the ellipsis); an axis with a labelExpr of its own shows only the
#: kit's fixed labels. Vega-Lite ignores a labelExpr in the legend config: legends
#: get theirs from alignment_lib._text.display_spec. See docs/text-display.md.
_SHORT_LABEL = SHORT_LABEL_EXPR
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def step_label(from_stage: str, to_stage: str) -> str:
    """'MQL → SAL' for the stage codes ``mql`` and ``sal``."""
    return f"{STAGE_LABELS.get(from_stage, from_stage)} → {STAGE_LABELS.get(to_stage, to_stage)}"


def source_color_scale() -> alt.Scale:
    """The fixed source -> colour mapping, for ``alt.Color(..., scale=...)``."""
    import altair as alt

    return alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values()))


def _theme() -> alt.theme.ThemeConfig:
    theme: alt.theme.ThemeConfig = {
        "config": {
            "font": FONT,
            "view": {"stroke": None, "continuousWidth": 560, "continuousHeight": 220},
            "title": {
                "anchor": "start",
                "fontSize": 15,
                "fontWeight": 600,
                "subtitleColor": NEUTRAL,
                "subtitleFontSize": 12,
                "offset": 10,
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleColor": NEUTRAL,
                "labelColor": "#333333",
                "gridColor": "#E6E6E6",
                "domainColor": "#BBBBBB",
                "tickColor": "#BBBBBB",
                "labelExpr": _SHORT_LABEL,
            },
            "axisX": {"labelAngle": 0, "grid": False},
            "legend": {
                "orient": "top",
                "labelFontSize": 12,
                "titleFontSize": 12,
                "symbolType": "square",
            },
            "range": {
                "category": [
                    *SOURCE_COLORS.values(),
                    "#56B4E9",
                    "#D55E00",
                    "#CC79A7",
                    "#F0E442",
                    NEUTRAL,
                ]
            },
            "bar": {"cornerRadiusTopLeft": 1, "cornerRadiusTopRight": 1},
        }
    }
    # Read when a chart is serialised: the session's reporting currency (set by
    # open_workbook) writes the "$" of every d3 format ("$~s", "$,.0f") as its symbol.
    number = vega_number_locale()
    if number is not None:
        theme["config"]["locale"] = {"number": number}
    return theme


def register_theme() -> str:
    """Register the house theme with altair (once; not enabled); return its name."""
    import altair as alt

    if THEME_NAME not in alt.theme.names():
        alt.theme.register(THEME_NAME, enable=False)(_theme)
    return THEME_NAME


def enable_theme() -> None:
    """Make the house theme the active altair theme."""
    import altair as alt

    alt.theme.enable(register_theme())
