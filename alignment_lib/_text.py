"""Text on the way out: display limits for names, and characters the chart images refuse.

Three guarantees, documented in ``docs/text-display.md``:

- **Labels are short.** A name longer than :data:`LABEL_LIMIT` characters
  (a campaign, channel, owner, reason...) is shown as its first
  ``LABEL_LIMIT - 1`` characters and an ellipsis on chart axes, legends and
  dropdowns (the house theme's ``labelExpr``) and in a table's row labels
  (:func:`shorten_table`). The data keep the full value.
- **Tooltips and other text are bounded.** Every string in a chart spec that
  is not an expression, and every other table cell, is cut at
  :data:`TEXT_LIMIT` characters (with an ellipsis): a 10,000-character name
  adds a few kilobytes to a page, not half a megabyte. Tooltips show the
  value up to that limit.
- **Chart images never abort the process.** vl-convert (the chart-image
  library) aborts the Python process (a Rust panic that cannot be caught,
  exit 134) on any character XML 1.0 does not allow, such as BEL or ESC, in
  any text of a spec. :func:`image_safe_spec` removes them from every string
  before any vl-convert call.

Shortening happens on the way out only: metrics group, join and filter on
the full values, so two long names that share their first 59 characters stay
two rows, two bars (they may look alike; their tooltips tell them apart).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_tables._locations import Loc

__all__ = [
    "ELLIPSIS",
    "LABEL_LIMIT",
    "SHORT_LABEL_EXPR",
    "TEXT_LIMIT",
    "display_spec",
    "image_safe_spec",
    "one_line_error",
    "shorten",
    "shorten_table",
    "shorten_words",
    "spec_title",
    "strip_xml_invalid",
]

#: characters of a name shown on an axis, in a legend, dropdown or table row label
LABEL_LIMIT = 60
#: characters of any other text a chart or table carries (tooltips, titles, cells)
TEXT_LIMIT = 500
ELLIPSIS = "…"
#: the Vega expression that shows a label cut at LABEL_LIMIT (truncate counts the "…")
SHORT_LABEL_EXPR = f"truncate(datum.label, {LABEL_LIMIT})"
#: encoding channels that can have a legend
_LEGEND_CHANNELS = frozenset(
    {
        "color",
        "fill",
        "stroke",
        "shape",
        "size",
        "opacity",
        "fillOpacity",
        "strokeOpacity",
        "strokeWidth",
        "strokeDash",
        "angle",
    }
)

# Everything XML 1.0 does not allow: C0 controls but tab, line feed and carriage
# return; lone surrogates; U+FFFE and U+FFFF. Checked one by one against
# vl-convert 1.9: each of these aborts the process, nothing else tried does
# (C1 controls, U+202E, zero-width characters and emoji draw fine).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# U+2028 and U+2029 end a line in a Vega expression's string literal: Vega-Lite
# quotes data values into expressions (a custom sort order, for one) with
# JSON.stringify, which leaves them raw, and the chart fails to compile
# ("Unexpected token ILLEGAL"), in the browser and in vl-convert alike.
_LINE_SEPARATORS = str.maketrans({"\u2028": " ", "\u2029": " "})

#: spec keys whose string value is a Vega expression or a signal name: cutting
#: one would break the chart (none of them holds data values)
_EXPRESSION_KEYS = frozenset(
    {"expr", "calculate", "filter", "test", "labelExpr", "signal", "update", "as", "name"}
)


def shorten(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` if at most ``limit`` characters, else its first ``limit - 1`` and '…'."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shorten_words(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` with every run of more than ``limit`` non-space characters cut to
    ``limit`` (an ellipsis last): a sentence keeps its words and numbers, a
    10,000-character name in it becomes 60 characters."""
    return re.sub(rf"\S{{{limit + 1},}}", lambda m: shorten(m.group(0), limit), text)


def strip_xml_invalid(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow (see module docstring)."""
    return _XML_INVALID.sub("", text)


#: keys whose value is data rows: there a column may be called "name" or "filter"
_DATA_KEYS = frozenset({"datasets", "values"})


def _map_strings(
    value: Any, fn: Any, *, keys: bool = False, skip: frozenset[str] = frozenset()
) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in skip and isinstance(v, str):
                out[k] = v
            else:
                inner = frozenset() if k in _DATA_KEYS else skip
                out[fn(k) if keys and isinstance(k, str) else k] = _map_strings(
                    v, fn, keys=keys, skip=inner
                )
        return out
    if isinstance(value, list | tuple):
        return [_map_strings(v, fn, keys=keys, skip=skip) for v in value]
    return value


def _line_safe(text: str) -> str:
    return text.translate(_LINE_SEPARATORS)


def spec_title(spec: dict[str, Any]) -> str:
    """A Vega-Lite spec's title as plain text (a title object's text, lines joined)."""
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return str(title)


def one_line_error(exc: BaseException, *, limit: int = 300) -> str:
    """``Type: message`` on one line, the message cut at ``limit`` characters (for warnings)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:limit]}"


def image_safe_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Vega-Lite spec with every string (keys too) free of XML-invalid
    characters, the only kind of spec vl-convert may be given (it aborts the
    process otherwise), and with U+2028/U+2029 as spaces (they break the
    chart's compilation). Expressions are cleaned too: such characters have no
    business there."""
    return _map_strings(spec, lambda s: _line_safe(strip_xml_invalid(s)), keys=True)


def display_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Vega-Lite spec as the kit shows it: every string that is not an
    expression cut at :data:`TEXT_LIMIT` characters, with U+2028/U+2029 as
    spaces (see :func:`image_safe_spec`), and every dropdown (a ``select``
    binding) labelled with its options cut at :data:`LABEL_LIMIT`, and every
    legend without a ``labelExpr`` of its own given :data:`SHORT_LABEL_EXPR`
    (axes get it from the house theme; Vega-Lite has no legend config for it).

    Data values, sort orders, scale domains and a dropdown's options are cut
    alike, so they still match each other. Idempotent.
    """
    out = _map_strings(spec, lambda s: shorten(_line_safe(s), TEXT_LIMIT), skip=_EXPRESSION_KEYS)
    _label_selects(out)
    _label_legends(out)
    return out


def _label_legends(value: Any) -> None:
    if isinstance(value, dict):
        encoding = value.get("encoding")
        if isinstance(encoding, dict):
            for channel, definition in encoding.items():
                if channel not in _LEGEND_CHANNELS or not isinstance(definition, dict):
                    continue
                if "field" not in definition or definition.get("legend", {}) is None:
                    continue  # a constant, or no legend at all
                legend = definition.get("legend") or {}
                if "labelExpr" not in legend:
                    definition["legend"] = {**legend, "labelExpr": SHORT_LABEL_EXPR}
        for v in value.values():
            _label_legends(v)
    elif isinstance(value, list):
        for v in value:
            _label_legends(v)


def _label_selects(value: Any) -> None:
    if isinstance(value, dict):
        bind = value.get("bind")
        if isinstance(bind, dict) and bind.get("input") == "select" and "labels" not in bind:
            options = bind.get("options")
            if isinstance(options, list) and any(
                isinstance(o, str) and len(o) > LABEL_LIMIT for o in options
            ):
                bind["labels"] = [shorten(o) if isinstance(o, str) else str(o) for o in options]
        for v in value.values():
            _label_selects(v)
    elif isinstance(value, list):
        for v in value:
            _label_selects(v)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def _cell(limit: int) -> Any:
    """A great_tables text transform: shortens a cell's escaped plain text."""

    def transform(text: str) -> str:
        if "<" in text:
            return text  # markup a formatter wrote, not a data value: leave it whole
        plain = html.unescape(text)
        if len(plain) <= limit:
            return text
        shown = html.escape(shorten(plain, limit))
        if limit >= TEXT_LIMIT:
            return shown
        full = html.escape(shorten(plain, TEXT_LIMIT), quote=True)
        return f'<span title="{full}">{shown}</span>'

    return transform


#: the one column of a table that states a sentence (``tables.table_no_data``: "not
#: tracked" statements run past 60 characters): kept whole, only overlong words cut
SENTENCE_COLUMN = "message"


def shorten_table(table: Any) -> Any:
    """The great_tables ``GT`` as the kit shows it: row labels (the stub, the
    first column and row-group labels) cut at :data:`LABEL_LIMIT` characters,
    any other cell at :data:`TEXT_LIMIT`, the value up to :data:`TEXT_LIMIT`
    in a tooltip (the cell's ``title``). A table whose only column is
    :data:`SENTENCE_COLUMN` is a statement: its words are cut like a finding's."""
    import great_tables as gt

    stub = table._boxhead._get_stub_column()
    shown = [c.var for c in table._boxhead._get_default_columns()]
    if shown == [SENTENCE_COLUMN] and stub is None:
        return table.text_transform(
            gt.loc.body(columns=SENTENCE_COLUMN),
            lambda text: text if "<" in text else html.escape(shorten_words(html.unescape(text))),
        )
    # without a stub, the first shown column holds the row labels
    first = shown[0] if stub is None and shown else None
    labels: list[Loc] = [gt.loc.body(columns=first)] if first is not None else []
    others = [c for c in shown if c != first]
    out = table
    if stub is not None:
        labels.append(gt.loc.stub())
    if table._boxhead._get_row_group_column() is not None:
        labels.append(gt.loc.row_groups())
    if labels:
        out = out.text_transform(labels, _cell(LABEL_LIMIT))
    if others:
        out = out.text_transform(gt.loc.body(columns=others), _cell(TEXT_LIMIT))
    return out
