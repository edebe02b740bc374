"""The export layer: the altair renderer and the offline executive/analyst HTML."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import struct
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import altair as alt
import nbformat
import polars as pl
import pytest
import vl_convert
from _notebooks import (
    CODE_MARKER,
    ERROR_MARKER,
    HOSTILE,
    HOSTILE_2,
    KEPT_OUTPUT_MARKER,
    PARAM_DEFAULT,
    PARAM_INJECTED,
    REMOVED_CELL_MARKER,
    REMOVED_OUTPUT_MARKER,
    STDERR_MARKER,
    STDOUT_MARKER,
    execute,
    failing_notebook,
    report_notebook,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from alignment_lib._chart_snippet import script_json
from alignment_lib.exceptions import ParameterError, RenderError
from alignment_lib.export import (
    RENDERER_NAME,
    VEGALITE_JSON_MIME,
    enable_renderer,
    export_html,
)

CHART_ID = re.compile(r'<div id="(chart-[0-9a-f]{12}(?:-\d+)?)" class="alignment-chart">')
# nbconvert re-serialises the page with BeautifulSoup, which reorders attributes
PAGE_CHART_ID = re.compile(r'<div class="alignment-chart" id="(chart-[0-9a-f]{12}(?:-\d+)?)">')


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Collects script elements (attributes, text) and link elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[dict[str, str | None]] = []
        self.csp: str | None = None
        self._in_script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script, self._text = a, []
        elif tag == "link":
            self.links.append(a)
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content")

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._text)))
            self._in_script = None


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def _bundle(chart: alt.TopLevelMixin) -> tuple[dict, dict]:
    result = chart._repr_mimebundle_()
    assert isinstance(result, tuple)
    return result


def _chart(values: list[str]) -> alt.Chart:
    frame = pl.DataFrame({"campaign": values, "leads": list(range(len(values)))})
    return alt.Chart(frame).mark_bar().encode(x="campaign:N", y="leads:Q")


@pytest.fixture
def renderer() -> Iterator[None]:
    """The alignment renderer, active for one test only."""
    before = alt.renderers.active
    enable_renderer()
    yield
    alt.renderers.enable(before)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nbformat.NotebookNode]:
    """The report run twice with the same injected parameter, and a failing run."""
    workdir = tmp_path_factory.mktemp("notebooks")
    params = {"label": PARAM_INJECTED}
    source = report_notebook()  # one source (cell ids are made with it), run twice
    return {
        "report": execute(source, workdir, name="a", parameters=params),
        "report_again": execute(source, workdir, name="b", parameters=params),
        "failed": execute(failing_notebook(), workdir, name="failed"),
    }


@pytest.fixture(scope="module")
def pages(
    executed: dict[str, nbformat.NotebookNode], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    out = tmp_path_factory.mktemp("html")
    result = {}
    for name in ("report", "failed"):
        for variant in ("executive", "analyst"):
            path = export_html(
                executed[name], out / f"{name}-{variant}.html", variant=variant, title="Q3"
            )
            result[f"{name}-{variant}"] = path.read_text(encoding="utf-8")
    return result


# ---------------------------------------------------------------------------
# the renderer
# ---------------------------------------------------------------------------


def test_enable_renderer_makes_it_the_active_altair_renderer(renderer: None) -> None:
    assert alt.renderers.active == RENDERER_NAME


def test_bundle_has_escaped_html_vegalite_json_and_text(renderer: None) -> None:
    chart = _chart(["a", "b"])
    data, metadata = _bundle(chart)

    assert set(data) == {"text/html", VEGALITE_JSON_MIME, "text/plain"}
    assert VEGALITE_JSON_MIME == "application/vnd.vegalite.v6+json"
    assert data[VEGALITE_JSON_MIME] == chart.to_dict()
    assert metadata[VEGALITE_JSON_MIME]["embed_options"]["renderer"] == "svg"
    # nbformat accepts a JSON object only under a "+json" mimetype (altair's
    # own ".json" spelling would make papermill fail writing the notebook)
    output = new_output("display_data", data=data, metadata=metadata)
    nbformat.validate(new_notebook(cells=[new_code_cell("c", outputs=[output])]))


def test_chart_id_is_a_hash_of_the_spec_numbered_on_repeats(renderer: None) -> None:
    chart = _chart(["id-test", "x"])
    canonical = json.dumps(chart.to_dict(), sort_keys=True, separators=(",", ":"))
    expected = "chart-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    first = CHART_ID.search(_bundle(chart)[0]["text/html"])
    second = CHART_ID.search(_bundle(chart)[0]["text/html"])
    other = CHART_ID.search(_bundle(_chart(["id-test", "y"]))[0]["text/html"])

    assert first
    assert second
    assert other
    assert first.group(1) == expected
    assert second.group(1).startswith(expected + "-")
    assert other.group(1) != expected
    assert "uuid" not in _bundle(chart)[0]["text/html"]


def test_hostile_values_cannot_leave_the_script_element(renderer: None) -> None:
    html = _bundle(_chart([HOSTILE, HOSTILE_2]))[0]["text/html"]

    # one "</script", ours, at the very end
    assert html.lower().count("</script") == 1
    assert html.endswith("</script>")
    script = html[html.index("<script") : -len("</script>")]
    body = script[script.index(">") + 1 :]
    # no markup character at all inside the script, so no "<img", "<!--" ...
    assert "<" not in body
    assert ">" not in body
    assert "\u2028" not in body
    # the values survive: the JSON decodes back to them, but for U+2028, which the
    # renderer makes a space (raw, it breaks Vega's expressions: docs/text-display.md)
    spec = json.loads(re.search(r"var spec = (.*);\n", body).group(1))  # type: ignore[union-attr]
    values = next(iter(spec["datasets"].values()))
    assert [v["campaign"] for v in values] == [HOSTILE, HOSTILE_2.replace("\u2028", " ")]
    # and the escaping itself still covers the line separators
    assert script_json("a\u2028b\u2029") == '"a\\u2028b\\u2029"'


def test_snippet_needs_no_network_and_degrades_without_vega_embed(renderer: None) -> None:
    html = _bundle(_chart(["a"]))[0]["text/html"]

    assert "src=" not in html
    assert "import(" not in html
    assert "require" not in html
    assert 'typeof window.vegaEmbed !== "function"' in html
    # before (or without) any script, the div holds a readable message
    assert re.search(r'class="alignment-chart"><span[^>]*>[^<]+</span></div>', html)


# ---------------------------------------------------------------------------
# charts in a real kernel
# ---------------------------------------------------------------------------


def _chart_outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if VEGALITE_JSON_MIME in o.get("data", {})
    ]


@pytest.mark.slow
def test_kernel_renders_display_and_last_expression_through_the_renderer(
    executed: dict[str, nbformat.NotebookNode],
) -> None:
    outputs = _chart_outputs(executed["report"])

    assert sorted(o.output_type for o in outputs) == [
        "display_data",
        "execute_result",
        "execute_result",
    ]
    for o in outputs:
        assert CHART_ID.search(o.data["text/html"])
        assert "altair-viz-" not in o.data["text/html"]


@pytest.mark.slow
def test_chart_ids_do_not_change_between_runs(executed: dict[str, nbformat.NotebookNode]) -> None:
    def ids(nb: nbformat.NotebookNode) -> list[str]:
        return [CHART_ID.search(o.data["text/html"]).group(1) for o in _chart_outputs(nb)]  # type: ignore[union-attr]

    assert ids(executed["report"]) == ids(executed["report_again"])


# ---------------------------------------------------------------------------
# the exported pages
# ---------------------------------------------------------------------------


def _body(html: str) -> str:
    # the notebook's content, without <head>: the lab CSS names prompts and
    # editors, and the vega bundle holds tooltip markup such as "<img"
    return html.split("<main>", 1)[1]


@pytest.mark.slow
def test_executive_page_has_no_code_prompts_or_parameters(pages: dict[str, str]) -> None:
    html = _body(pages["report-executive"])

    for hidden in (
        CODE_MARKER,  # code
        "enable_renderer",
        PARAM_DEFAULT,  # the parameters cell
        PARAM_INJECTED,  # papermill's injected-parameters cell
        REMOVED_CELL_MARKER,  # remove-cell
        REMOVED_OUTPUT_MARKER,  # remove-output
        STDERR_MARKER,  # a warning on stderr
        "In&nbsp;[",
        "Out[",
        "jp-InputPrompt",
        "jp-OutputPrompt",
        "jp-InputArea-editor",
    ):
        assert hidden not in html, hidden
    for shown in ("Bookings reached 96% of target.", STDOUT_MARKER, KEPT_OUTPUT_MARKER):
        assert shown in html, shown


@pytest.mark.slow
def test_analyst_page_keeps_the_code(pages: dict[str, str]) -> None:
    html = pages["report-analyst"]

    assert CODE_MARKER in html
    assert PARAM_INJECTED in html
    assert STDERR_MARKER in html


@pytest.mark.slow
def test_executive_page_has_no_papermill_error_banner_or_traceback(pages: dict[str, str]) -> None:
    executive, analyst = _body(pages["failed-executive"]), _body(pages["failed-analyst"])

    assert "An Exception was encountered" in analyst
    assert ERROR_MARKER in analyst
    for hidden in (
        "An Exception was encountered",
        "papermill-error-cell",
        ERROR_MARKER,
        "never runs",
    ):
        assert hidden not in executive, hidden
    assert len(PAGE_CHART_ID.findall(executive)) == 1  # what ran before the error stays


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", ["report-executive", "report-analyst", "failed-executive", "failed-analyst"]
)
def test_page_loads_nothing_from_the_network(pages: dict[str, str], page: str) -> None:
    found = _elements(pages[page])

    for attrs, _ in found.scripts:
        assert "src" not in attrs, attrs
    for attrs in found.links:
        assert not re.match(r"\s*(https?:)?//", attrs.get("href") or ""), attrs
    lowered = pages[page].lower()
    for cdn in ("jsdelivr", "unpkg", "cdnjs", "googleapis", "require.js", "mathjax"):
        assert cdn not in lowered, cdn
    assert found.csp is not None
    assert found.csp.startswith("default-src 'none';")


@pytest.mark.slow
def test_bundle_is_inlined_once_for_three_charts(pages: dict[str, str]) -> None:
    html = pages["report-executive"]
    # a long piece of the library's own text identifies the bundle
    marker = vl_convert.javascript_bundle()[:400]

    assert len(PAGE_CHART_ID.findall(html)) == 3
    assert html.count(marker) == 1
    assert html.count("window.vegaEmbed=") == 1
    # the library comes before every chart that calls it
    assert html.index(marker) < html.index('class="alignment-chart"')


@pytest.mark.slow
def test_every_script_is_allowed_by_the_csp_and_nothing_else(pages: dict[str, str]) -> None:
    found = _elements(pages["report-executive"])
    assert found.csp is not None
    allowed = set(re.findall(r"'(sha256-[A-Za-z0-9+/=]+)'", found.csp))

    hashes = {
        "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        for _, text in found.scripts
    }
    assert len(found.scripts) == 4  # the library and three charts
    assert hashes == allowed
    assert "unsafe-inline" not in found.csp.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in found.csp


@pytest.mark.slow
def test_hostile_values_stay_inert_in_the_page(pages: dict[str, str]) -> None:
    html = _body(pages["report-executive"])

    assert "<img" not in html
    assert "<b onmouseover" not in html
    # in the table: escaped text
    assert "&lt;/script&gt;&lt;img src=x" in html


@pytest.mark.slow
def test_re_export_is_byte_identical(
    executed: dict[str, nbformat.NotebookNode], tmp_path: Path
) -> None:
    for variant in ("executive", "analyst"):
        a = export_html(executed["report"], tmp_path / "a.html", variant=variant, title="Q3")
        b = export_html(executed["report"], tmp_path / "b.html", variant=variant, title="Q3")
        assert a.read_bytes() == b.read_bytes(), variant


@pytest.mark.slow
def test_executive_page_of_a_re_run_is_byte_identical(
    executed: dict[str, nbformat.NotebookNode], tmp_path: Path
) -> None:
    # Two papermill runs of one source with the same parameters: papermill's
    # injected cell gets a new random id each run, the kernel a new pid. The
    # analyst page may differ (a warning names /tmp/ipykernel_<pid>/...), the
    # executive page must not.
    a = export_html(executed["report"], tmp_path / "a.html", variant="executive", title="Q3")
    b = export_html(executed["report_again"], tmp_path / "b.html", variant="executive", title="Q3")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.slow
def test_export_from_a_path_equals_export_from_the_node(
    executed: dict[str, nbformat.NotebookNode], tmp_path: Path
) -> None:
    source = tmp_path / "run.ipynb"
    nbformat.write(executed["report"], source)

    from_path = export_html(source, tmp_path / "p.html", variant="executive", title="Q3")
    from_node = export_html(
        executed["report"], tmp_path / "n.html", variant="executive", title="Q3"
    )
    assert from_path.read_bytes() == from_node.read_bytes()


@pytest.mark.slow
def test_title_is_escaped(executed: dict[str, nbformat.NotebookNode], tmp_path: Path) -> None:
    title = "Q3 <script>alert(1)</script> & more"
    html = export_html(
        executed["report"], tmp_path / "t.html", variant="executive", title=title
    ).read_text(encoding="utf-8")

    assert "<title>Q3 &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</title>" in html


@pytest.mark.slow
def test_export_leaves_the_callers_notebook_unchanged(
    executed: dict[str, nbformat.NotebookNode], tmp_path: Path
) -> None:
    before = copy.deepcopy(executed["report"])
    export_html(executed["report"], tmp_path / "x.html", variant="executive", title="Q3")
    assert executed["report"] == before


# ---------------------------------------------------------------------------
# what the exporter refuses or repairs (no kernel needed)
# ---------------------------------------------------------------------------


def _one_output_notebook(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    # from_dict, not new_notebook(): the latter validates, and one test needs
    # an output nbformat's schema refuses
    cell = {
        "cell_type": "code",
        "id": "chart-cell",
        "source": "chart",
        "metadata": {},
        "execution_count": 1,
        "outputs": [output],
    }
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})


@pytest.mark.slow
def test_snippet_is_rebuilt_from_a_bare_vegalite_output(tmp_path: Path) -> None:
    # A notebook run with altair's "mimetype" renderer has the spec and a
    # "<VegaLite 6 object>" text/plain, which nbconvert would print as is.
    with alt.renderers.enable("mimetype"):
        data, _ = _bundle(_chart([HOSTILE]))
    assert "application/vnd.vegalite.v6.json" in data
    spec = data["application/vnd.vegalite.v6.json"]
    for mime, value in (
        ("application/vnd.vegalite.v6.json", spec),  # altair's, in memory
        ("application/vnd.vegalite.v6.json", json.dumps(spec)),  # as nbformat keeps it
        (VEGALITE_JSON_MIME, spec),
    ):
        # built without new_output(): nbformat refuses a dict under ".json"
        output = nbformat.from_dict(
            {
                "output_type": "execute_result",
                "data": {mime: value, "text/plain": data["text/plain"]},
                "metadata": {},
                "execution_count": 1,
            }
        )
        html = export_html(
            _one_output_notebook(output), tmp_path / "r.html", variant="executive", title="t"
        ).read_text(encoding="utf-8")
        assert len(PAGE_CHART_ID.findall(html)) == 1
        assert "VegaLite 6 object" not in html
        assert "<img" not in _body(html)


def test_embed_options_pass_through_but_keep_the_csp_safe_interpreter(renderer: None) -> None:
    with alt.renderers.set_embed_options(theme="dark", ast=False):
        html = _bundle(_chart(["a"]))[0]["text/html"]
    options = json.loads(re.search(r"var opt = (.*);\n", html).group(1))  # type: ignore[union-attr]
    assert options == {"actions": False, "renderer": "svg", "ast": True, "theme": "dark"}


@pytest.mark.slow
def test_chart_from_altairs_own_renderer_is_refused(tmp_path: Path) -> None:
    with alt.renderers.enable("default"):
        data = _chart(["a"])._repr_mimebundle_()
    assert isinstance(data, dict)
    assert "text/html" in data
    output = new_output("display_data", data=data)

    with pytest.raises(RenderError, match="enable_renderer"):
        export_html(_one_output_notebook(output), tmp_path / "r.html", variant="analyst", title="t")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    "markdown",
    [
        '<img src="https://example.com/logo.png">',
        '<script src="//cdn.example.com/x.js"></script>',
        "<style>@import url('https://fonts.googleapis.com/css2?family=X');</style>",
    ],
)
def test_remote_content_is_refused(tmp_path: Path, markdown: str) -> None:
    nb = new_notebook(cells=[new_markdown_cell(markdown)])

    with pytest.raises(RenderError, match="offline"):
        export_html(nb, tmp_path / "r.html", variant="executive", title="t")


def test_a_link_in_text_is_fine(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_markdown_cell("See [the CRM](https://crm.example.com).")])
    html = export_html(nb, tmp_path / "r.html", variant="executive", title="t").read_text()
    assert 'href="https://crm.example.com"' in html


def test_unknown_variant_is_a_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="executive"):
        export_html(new_notebook(), tmp_path / "r.html", variant="board", title="t")  # type: ignore[arg-type]


def test_missing_notebook_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        export_html(tmp_path / "nope.ipynb", tmp_path / "r.html", variant="analyst", title="t")


# ---------------------------------------------------------------------------
# the static picture for JupyterLab (see alignment_lib/lab.py)
# ---------------------------------------------------------------------------

STATIC_PICTURE = re.compile(
    r'<div class="alignment-chart-static" [^>]*style="max-width:[0-9.]+px">'
    r'<div style="width:100%;height:0;padding-bottom:[0-9.]+%;'
    r"background-image:url\(data:image/png;base64,([A-Za-z0-9+/=]+)\);"
    r'background-size:100% 100%;background-repeat:no-repeat"></div></div>'
)


def test_chart_output_carries_a_static_png_picture_jupyterlab_keeps(renderer: None) -> None:
    html = _bundle(_chart([HOSTILE, HOSTILE_2]))[0]["text/html"]

    found = STATIC_PICTURE.search(html)
    assert found, html[:600]
    # between the chart div and its script, so the script finds it
    assert html.index('</div>\n<div class="alignment-chart-static"') < html.index("<script")
    # JupyterLab's sanitizer strips inline <svg> (its text would leak out)
    # and data: image sources; a CSS background it keeps
    markup = html[: html.index("<script")]
    assert "<svg" not in markup
    assert "src=" not in markup
    png = base64.b64decode(found.group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # the box is the picture's size in CSS pixels (a 1x PNG), the ratio its shape
    width, height = struct.unpack(">II", png[16:24])
    assert f'style="max-width:{width}px"' in html
    assert f"padding-bottom:{100 * height / width:.3f}%" in html
    # the data reaches the picture only as pixels: no markup of it anywhere
    assert "onerror" not in markup


def test_static_picture_can_be_turned_off() -> None:
    before = alt.renderers.active
    try:
        enable_renderer(static_image=False)
        html = _bundle(_chart(["a"]))[0]["text/html"]
    finally:
        enable_renderer()
        alt.renderers.enable(before)
    assert 'class="alignment-chart-static"' not in html
    assert "base64" not in html
    assert "Interactive chart: open the exported HTML report" in html


def test_static_picture_never_fetches_data(renderer: None) -> None:
    # vl-convert would fetch a data URL: no picture instead (the chart still
    # shows wherever vega-embed runs)
    chart = alt.Chart(alt.UrlData("https://example.com/leads.csv")).mark_bar().encode(x="a:N")
    data, _ = _bundle(chart)
    assert CHART_ID.search(data["text/html"])
    assert 'class="alignment-chart-static"' not in data["text/html"]


@pytest.mark.slow
def test_pages_drop_the_static_pictures_of_the_notebook(
    executed: dict[str, nbformat.NotebookNode], pages: dict[str, str], tmp_path: Path
) -> None:
    charts = _chart_outputs(executed["report"])
    assert all(STATIC_PICTURE.search(o.data["text/html"]) for o in charts)

    for name, html in pages.items():
        body = _body(html)
        assert 'class="alignment-chart-static"' not in body, name
        assert "data:image/png" not in body, name
    # the page's chart snippets are rebuilt from the spec: the page is the
    # one of a notebook without pictures, byte for byte
    stripped = copy.deepcopy(executed["report"])
    for o in _chart_outputs(stripped):
        o.data["text/html"] = STATIC_PICTURE.sub("", o.data["text/html"])
    page = export_html(stripped, tmp_path / "s.html", variant="executive", title="Q3")
    assert page.read_text(encoding="utf-8") == pages["report-executive"]
