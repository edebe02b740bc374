"""Text on the way out: display limits, and chart images that never end a render.

Fast tests with the real vl-convert; the abort case runs in a subprocess, so
a regression kills a child, not pytest. The whole report built from hostile
data, in Chromium and JupyterLab, is tests/test_hostile_report.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import subprocess
import sys
import textwrap
from html import escape
from pathlib import Path

import altair as alt
import great_tables as gt
import nbformat
import polars as pl
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from alignment_lib._text import (
    LABEL_LIMIT,
    TEXT_LIMIT,
    display_spec,
    image_safe_spec,
    shorten,
    shorten_table,
    shorten_words,
    strip_xml_invalid,
)
from alignment_lib.index_page import FINDINGS_TAG, PageLink, build_index, findings_of
from alignment_lib.renderer import VEGALITE_JSON_MIME, _renderer, _static_picture
from alignment_lib.slides import export_chart_images
from alignment_lib.theme import register_theme
from alignment_lib.workbook import _Findings

#: every character vl-convert 1.9 aborts the process on, one of each kind
CONTROL = "\x00\x07\x08\x0b\x0c\x1b\x1f\ufffe\uffff"


def _bar(label: str, **extra: object) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": [{"a": label, "b": 1}, {"a": "other", "b": 2}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal"},
            "y": {"field": "b", "type": "quantitative"},
        },
        **extra,
    }


def _svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


# ---------------------------------------------------------------------------
# the limits
# ---------------------------------------------------------------------------


def test_shorten_keeps_short_text_and_cuts_long_text_to_the_limit() -> None:
    assert shorten("Webinar") == "Webinar"
    assert shorten("x" * 60) == "x" * 60  # at the limit: whole
    assert shorten("x" * 61) == "x" * 59 + "…"  # one over: 59 and the ellipsis
    assert len(shorten("y" * 10_000)) == LABEL_LIMIT
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("") == ""


def test_strip_xml_invalid_removes_exactly_the_characters_xml_refuses() -> None:
    kept = "tab\tnl\ncr\r é \u202e \u200b \U0001f680 \x7f \x85"
    assert strip_xml_invalid(kept) == kept
    assert strip_xml_invalid(f"a{CONTROL}b\ud800c") == "abc"


def test_display_spec_cuts_strings_alike_and_leaves_expressions() -> None:
    long = "L" * 10_000
    spec = {
        "datasets": {"d1": [{"group": long, "name": long, "n": 1}, {"group": "short", "n": 2}]},
        "data": {"name": "d1"},
        "params": [
            {
                "name": "pick",
                "value": long,
                "bind": {"input": "select", "options": [long, "short"], "name": "Pick "},
            }
        ],
        "transform": [{"filter": "datum.n > 0"}, {"calculate": "datum.n * 2", "as": "m"}],
        "mark": "bar",
        "encoding": {
            "x": {"field": "group", "sort": [long, "short"], "scale": {"domain": [long, "short"]}},
            "color": {"condition": {"test": "datum.group == pick", "value": "red"}},
        },
        "title": {"text": long, "subtitle": ["line\u2028two"]},
    }
    before = json.dumps(spec)
    out = display_spec(spec)
    assert json.dumps(spec) == before  # the caller's spec is untouched
    cut = "L" * (TEXT_LIMIT - 1) + "…"
    rows = out["datasets"]["d1"]
    # data, a column called "name", the param's value, the options, sort and domain:
    # all cut alike, so they still match one another
    assert rows[0]["group"] == rows[0]["name"] == cut
    assert out["params"][0]["value"] == cut
    assert out["params"][0]["bind"]["options"] == [cut, "short"]
    assert out["encoding"]["x"]["sort"] == out["encoding"]["x"]["scale"]["domain"] == [cut, "short"]
    # the dropdown shows 60 characters per entry
    assert out["params"][0]["bind"]["labels"] == ["L" * 59 + "…", "short"]
    assert out["title"]["text"] == cut
    assert out["title"]["subtitle"] == ["line two"]  # U+2028 breaks Vega's expressions
    # expressions, names and field names are left as they are
    assert out["transform"] == spec["transform"]
    assert out["encoding"]["color"] == spec["encoding"]["color"]
    assert out["params"][0]["name"] == "pick"
    assert display_spec(out) == out  # idempotent
    assert len(json.dumps(out, ensure_ascii=False)) < 5_000


def test_display_spec_without_long_options_adds_no_labels() -> None:
    spec = {"params": [{"name": "p", "bind": {"input": "select", "options": ["a", "b"]}}]}
    assert display_spec(spec) == spec


def test_line_separator_in_a_sorted_value_compiles_once_cleaned() -> None:
    """Vega-Lite writes a custom sort order into an expression; a raw U+2028 in a
    value makes it 'Unexpected token ILLEGAL' (seen in a hostile render)."""
    import vl_convert

    spec = _bar("a\u2028b")
    spec["encoding"]["x"]["sort"] = ["other", "a\u2028b"]
    with pytest.raises(ValueError, match="ILLEGAL"):
        vl_convert.vegalite_to_svg(spec)
    texts = _svg_texts(vl_convert.vegalite_to_svg(display_spec(spec)))
    assert "a b" in texts


def test_axis_and_legend_labels_are_cut_to_the_label_limit() -> None:
    import vl_convert

    long = "N" * 200
    data = pl.DataFrame({"a": [long, "short"], "b": [1, 2], "c": [long, "x"]})
    with alt.theme.enable(register_theme()):
        spec = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X("a:N", axis=alt.Axis(labelLimit=0)),  # no pixel limit: the theme's cut
                y="b:Q",
                color=alt.Color("c:N", legend=alt.Legend(labelLimit=0)),
            )
            .to_dict()
        )
    # the axis from the theme; the legend from display_spec (the renderer's)
    texts = _svg_texts(vl_convert.vegalite_to_svg(display_spec(spec)))
    assert texts.count("N" * 59 + "…") == 2  # axis and legend
    assert "short" in texts
    assert long not in texts


def test_shorten_table_cuts_row_labels_keeps_the_value_in_a_tooltip() -> None:
    long = "<b>" + "W" * 100 + "</b>"
    data = pl.DataFrame(
        {
            "group": [long, "short"],
            "split": ["S" * 70, "S" * 70],
            "note": ["n" * 700, "fine"],
            "share": [0.5, 0.25],
        }
    )
    plain = gt.GT(data).fmt_percent(columns="share", decimals=0)
    html = shorten_table(plain).as_raw_html()
    # the first column is the row label: 59 characters and the ellipsis, escaped,
    # the value (escaped) in the title
    shown = shorten(long)
    assert f'<span title="{escape(long)}">{escape(shown)}</span>' in html
    assert "<b>" not in html
    # other cells: cut at 500, no tooltip (nothing more to show)
    assert "n" * 499 + "…" in html and "n" * 500 not in html
    assert "S" * 70 in html  # a 70-character cell that is not a row label stays whole
    assert "50%" in html and "fine" in html

    # a stub and row groups are row labels too
    grouped = shorten_table(gt.GT(data, rowname_col="group", groupname_col="split")).as_raw_html()
    assert grouped.count('<span title="') == 2  # the long stub cell and the group label
    assert "S" * 59 + "…" in grouped


def test_shorten_table_leaves_markup_from_formatters_whole() -> None:
    data = pl.DataFrame({"label": ["a"], "v": [1.0]})
    table = gt.GT(data).text_transform(
        gt.loc.body(columns="label"), lambda _: "<span style='color:red'>" + "z" * 80 + "</span>"
    )
    html = shorten_table(table).as_raw_html()
    assert "<span style='color:red'>" + "z" * 80 + "</span>" in html


# ---------------------------------------------------------------------------
# chart images
# ---------------------------------------------------------------------------


def test_image_safe_spec_cleans_values_and_keys() -> None:
    spec = _bar(f"x{CONTROL}y", title=f"T{CONTROL}")
    spec["data"]["values"][1] = {f"k{CONTROL}": "v\u2029w"}
    out = image_safe_spec(spec)
    assert out["data"]["values"][0]["a"] == "xy"
    assert out["title"] == "T"
    assert out["data"]["values"][1] == {"k": "v w"}
    assert image_safe_spec(out) == out


_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from alignment_lib.renderer import VEGALITE_JSON_MIME, _static_picture
    from alignment_lib.slides import export_chart_images

    spec = json.loads(sys.argv[1])
    out = Path(sys.argv[2])
    picture = _static_picture(spec)
    assert picture is not None and "data:image/png;base64," in picture
    nb = new_notebook(cells=[new_code_cell("c", outputs=[
        new_output("display_data", data={VEGALITE_JSON_MIME: spec})])])
    nbformat.write(nb, out / "n.ipynb")
    written = export_chart_images(out / "n.ipynb", out / "charts", prefix="nb")
    print(json.dumps([p.name for p in written]))
    """
)


@pytest.mark.slow
def test_control_characters_in_a_spec_never_abort_the_process(tmp_path: Path) -> None:
    """vl-convert aborts the process (exit 134, a Rust panic) on BEL and its kind;
    the notebook's picture and the slide images clean the spec first."""
    spec = _bar(f"bell{CONTROL}name", title=f"Leads by campaign {CONTROL}")
    raw = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, vl_convert; vl_convert.vegalite_to_svg(json.loads(sys.argv[1]))",
            json.dumps(spec),
        ],
        capture_output=True,
        timeout=120,
    )
    # the hazard the cleaning is for (if vl-convert stops aborting, keep the cleaning
    # anyway and drop this line)
    assert raw.returncode != 0, "vl-convert no longer aborts on control characters"

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = json.loads(done.stdout.strip().splitlines()[-1])
    assert names == ["nb-01-leads-by-campaign.svg", "nb-01-leads-by-campaign.png"]
    svg = (tmp_path / "charts" / names[0]).read_text(encoding="utf-8")
    assert "bellname" in _svg_texts(svg)


def _infinite_chart() -> dict:
    """A chart vl-convert cannot draw: its image would be unboundedly large, and
    vl-convert raises ('SVG has an invalid size'). The kit's own linearity chart of
    quarters without bookings did this before it was fixed; a hand-made spec keeps
    the test independent of that chart."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "How back-loaded was each quarter?",
        "width": 1e308,
        "height": 1e308,
        "data": {"values": [{"a": 1}]},
        "mark": "point",
    }


def test_a_chart_that_cannot_be_drawn_is_skipped_with_a_warning(tmp_path: Path) -> None:
    import vl_convert

    bad = _infinite_chart()
    with pytest.raises(ValueError, match="invalid size"):
        vl_convert.vegalite_to_png(bad)
    good = _bar("fine", title="A good chart")
    nb = new_notebook(
        cells=[
            new_code_cell(
                "c",
                outputs=[new_output("display_data", data={VEGALITE_JSON_MIME: s})],
            )
            for s in (bad, good)
        ]
    )
    nbformat.write(nb, tmp_path / "cycles.ipynb")
    warnings: list[str] = []
    written = export_chart_images(
        tmp_path / "cycles.ipynb", tmp_path / "charts", prefix="cycles", warn=warnings.append
    )
    # the second chart keeps its number; the first has no file
    assert [p.name for p in written] == ["cycles-02-a-good-chart.svg", "cycles-02-a-good-chart.png"]
    assert len(warnings) == 1
    assert warnings[0].startswith("chart image cycles-01-how-back-loaded")
    assert "skipped" in warnings[0] and "invalid size" in warnings[0]
    assert "\n" not in warnings[0]


def test_skipped_image_goes_to_the_log_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell(
                "c",
                outputs=[new_output("display_data", data={VEGALITE_JSON_MIME: _infinite_chart()})],
            )
        ]
    )
    nbformat.write(nb, tmp_path / "n.ipynb")
    with caplog.at_level(logging.WARNING, logger="alignment_lib.slides"):
        assert export_chart_images(tmp_path / "n.ipynb", tmp_path / "c", prefix="n") == []
    assert "chart image n-01-how-back-loaded" in caplog.text


def test_in_notebook_picture_falls_back_to_text_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = _infinite_chart()
    with caplog.at_level(logging.WARNING, logger="alignment_lib.renderer"):
        assert _static_picture(bad) is None
        bundle, _ = _renderer(bad)
    assert "no static picture" in caplog.text and "invalid size" in caplog.text
    html = bundle["text/html"]
    assert 'class="alignment-chart-static"' not in html
    assert "Interactive chart: open the exported HTML report to see it." in html


def test_the_documented_limits_are_the_code_s() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "text-display.md").read_text(
        encoding="utf-8"
    )
    assert f"**{LABEL_LIMIT} characters** (`LABEL_LIMIT`)" in doc
    assert f"**{TEXT_LIMIT} characters** (`TEXT_LIMIT`)" in doc


# ---------------------------------------------------------------------------
# findings and the index
# ---------------------------------------------------------------------------


def test_shorten_words_cuts_only_long_runs_without_a_space() -> None:
    sentence = "By segment, SMB " + "x" * 100 + " 27% and " + "y" * 60 + " ok"
    assert shorten_words(sentence) == (
        "By segment, SMB " + "x" * 59 + "… 27% and " + "y" * 60 + " ok"
    )
    assert shorten_words("a b c") == "a b c"
    assert shorten_words("z" * 12, 5) == "zzzz…"


def test_findings_show_long_names_cut_and_keep_their_plain_text() -> None:
    line = "Most rejections: " + "<b>" + "r" * 200 + " 34%"
    findings = _Findings([line])
    html = findings._repr_html_()
    assert "r" * 60 not in html and "&lt;b&gt;" + "r" * 56 + "…" in html
    assert " 34%" in html
    assert repr(findings) == line  # the text the index and the tests read


def test_index_cuts_long_names_in_findings_and_splits_them_at_newlines_only(
    tmp_path: Path,
) -> None:
    finding = "Top campaign " + "c" * 10_000 + " \u2028 with 40%"
    nb = new_notebook(
        cells=[
            new_code_cell(
                "al.show_findings(findings)",
                metadata={"tags": [FINDINGS_TAG]},
                outputs=[
                    new_output("display_data", data={"text/plain": f"{finding}\nSecond one."})
                ],
            )
        ]
    )
    nbformat.write(nb, tmp_path / "n.ipynb")
    found = findings_of(tmp_path / "n.ipynb")
    assert found == (finding, "Second one.")  # U+2028 is not a new finding
    page = build_index(
        quarter="FY2026-Q3",
        as_of=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
        scorecard=pl.DataFrame(),
        pages=[PageLink("Funnel", "funnel.html", "analyst/funnel.html", found)],
        rendered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    )
    assert "<li>Top campaign " + "c" * 59 + "… \u2028 with 40%</li>" in page
    assert "c" * 60 not in page
    assert len(page) < 10_000
