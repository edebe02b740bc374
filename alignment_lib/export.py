"""Offline, self-contained, XSS-safe HTML export of executed notebooks.

Two halves:

- :func:`enable_renderer` makes every altair chart a notebook displays
  (``display(chart)`` or a chart as a cell's last expression) come out as a
  small HTML snippet with a deterministic id and its spec JSON escaped for a
  ``<script>`` element, next to the plain Vega-Lite JSON and a text fallback.
  The snippet carries a static picture of the chart, so the notebook shows
  it where no script runs (an untrusted notebook in JupyterLab); see
  :mod:`alignment_lib.lab` for what JupyterLab needs.
- :func:`export_html` turns an executed notebook into one HTML file that
  works with the network off: nbconvert's lab page without its CDN scripts,
  the vega/vega-lite/vega-embed bundle (from ``vl_convert``) inlined once,
  a Content-Security-Policy that lets only the page's own scripts run, and,
  for executives, no code, parameters, error banners or stderr.

Why not altair's own HTML: it writes the spec into a ``<script>`` without
escaping ``</``, so a data value such as ``</script><img src=x
onerror=alert(1)>`` runs in the reader's browser; its offline mode copies the
0.9 MB library into every chart and breaks on the second chart of a page.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import logging
import os
import re
import struct
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import altair as alt
import nbformat
from altair.vegalite.v6.display import VEGALITE_MIME_TYPE, VEGALITE_VERSION
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets.config import Config

from alignment_lib._text import (
    display_spec,
    image_safe_spec,
    one_line_error,
    shorten_table,
    spec_title,
    strip_xml_invalid,
)
from alignment_lib.exceptions import ParameterError, RenderError

__all__ = ["RENDERER_NAME", "enable_renderer", "export_html"]

#: name under which the renderer is registered in ``alt.renderers``
RENDERER_NAME = "alignment"

log = logging.getLogger(__name__)

#: The Vega-Lite mimetype our outputs carry the spec under. altair 6 itself
#: uses ``application/vnd.vegalite.v6.json``, but nbformat's schema accepts a
#: JSON object only under ``application/(...+)?json`` mimetypes: papermill
#: fails writing a notebook with altair's dict under the ``.json`` name. The
#: ``+json`` spelling is the Jupyter convention (Lab's ``...v5+json``).
VEGALITE_JSON_MIME = VEGALITE_MIME_TYPE.removesuffix(".json") + "+json"

Variant = Literal["executive", "analyst"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "alignment"

#: vega-embed options every chart gets; ``ast`` makes vega evaluate expressions
#: with its interpreter instead of ``new Function``, so the page's CSP needs no
#: 'unsafe-eval'
DEFAULT_EMBED_OPTIONS: dict[str, Any] = {"actions": False, "renderer": "svg", "ast": True}

#: papermill (execute.py, ERROR_MARKER_TAG) tags the two markdown cells it adds
#: to a failed run: "An Exception was encountered at In [n]" at the top and
#: "Execution using papermill encountered an exception here" above the cell
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
#: papermill tags the cell it adds with the run's parameter values
PAPERMILL_INJECTED_TAG = "injected-parameters"

#: cells an executive never sees, whatever their content
EXECUTIVE_REMOVE_CELL_TAGS = (
    PAPERMILL_INJECTED_TAG,
    "parameters",
    "remove-cell",
    PAPERMILL_ERROR_TAG,
)

#: the mimetypes the page renders, best first. ``application/javascript`` and
#: widget views are left out on purpose: they would run code the CSP blocks
#: anyway, and the lab template gives them random (uuid4) element ids.
DISPLAY_PRIORITY = (
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
)

#: any Vega-Lite or Vega JSON mimetype (altair 6 writes ``...v6.json``,
#: older tools ``...v5+json``)
_VEGA_JSON_MIME = re.compile(r"^application/vnd\.vega(lite)?\.v\d+[.+]json$")

_FALLBACK_TEXT = "Interactive chart: open the exported HTML report to see it."
_NO_LIBRARY_TEXT = "This chart needs the report page's chart library, which is not loaded here."
#: shown above the static picture in a notebook whose scripts do not run
_STATIC_TEXT = (
    "Static image of an interactive chart: run the cell in JupyterLab, or open the "
    "HTML report, to use it."
)
#: class of the element that holds a chart's static picture in a notebook
STATIC_CLASS = "alignment-chart-static"

# Escapes that keep JSON inert inside a <script> element: "<" and ">" end or
# open tags ("</script>", "<!--"), "&" starts character references in some
# parsers, U+2028/U+2029 end a line in older JavaScript string literals.
_SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


# ---------------------------------------------------------------------------
# chart snippets
# ---------------------------------------------------------------------------


def _script_json(value: Any) -> str:
    """JSON text that is safe verbatim inside ``<script>...</script>``.

    The escaped characters can only occur inside JSON strings, where
    ``\\u003c`` and ``<`` mean the same thing, so the value is unchanged.
    """
    return json.dumps(value, ensure_ascii=False).translate(_SCRIPT_ESCAPES)


def _spec_digest(spec: dict[str, Any]) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class _ChartIds:
    """Deterministic element ids: a hash of the spec, numbered on repeats.

    The same spec shown twice needs two elements, so the second gets ``-2``;
    a counter is used only then, so ids do not depend on how many other
    charts came before (nbval and byte-identical re-exports rely on it).
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def next(self, spec: dict[str, Any]) -> str:
        short = _spec_digest(spec)[:12]
        self._seen[short] += 1
        n = self._seen[short]
        return f"chart-{short}" if n == 1 else f"chart-{short}-{n}"


# One per process: the kernel that renders a notebook.
_KERNEL_CHART_IDS = _ChartIds()


def _chart_script(element_id: str, spec: dict[str, Any], embed_options: dict[str, Any]) -> str:
    """The JavaScript of one chart: exactly the text between its script tags,
    newlines included, as the page's CSP hash covers it.

    The script finds its elements from its own position (the chart div, and
    the static picture between them in a notebook), and only falls back to
    the id: JupyterLab can show the same output twice (two views of one
    notebook, a report's copy next to its source), and an id lookup would
    draw both charts into the first. Without ``vegaEmbed`` it keeps the
    static picture, if there is one, or says the library is missing; with
    it, the interactive chart replaces the picture once drawn.
    """
    # element_id is "chart-" + hex digits (+ "-n"), safe in a JS string; the
    # spec and options are escaped JSON.
    return (
        "\n(function () {\n"
        '  "use strict";\n'
        "  var me = document.currentScript;\n"
        "  var prev = me && me.previousElementSibling;\n"
        f'  var pic = prev && prev.className === "{STATIC_CLASS}" ? prev : null;\n'
        "  var el = pic ? pic.previousElementSibling :\n"
        f'    prev && prev.id === "{element_id}" ? prev :\n'
        f'    document.getElementById("{element_id}");\n'
        "  if (!el) { return; }\n"
        '  if (typeof window.vegaEmbed !== "function") {\n'
        f"    if (!pic) {{ el.textContent = {_script_json(_NO_LIBRARY_TEXT)}; }}\n"
        "    return;\n"
        "  }\n"
        f"  var spec = {_script_json(spec)};\n"
        f"  var opt = {_script_json(embed_options)};\n"
        '  el.textContent = "";\n'
        "  window.vegaEmbed(el, spec, opt).then(function () {\n"
        "    if (pic && pic.parentNode) { pic.parentNode.removeChild(pic); }\n"
        "  }).catch(function (err) {\n"
        '    el.textContent = "This chart could not be drawn: " +\n'
        "      String(err && err.message || err);\n"
        "    console.error(err);\n"
        "  });\n"
        "})();\n"
    )


def _chart_html(element_id: str, script: str, picture: str | None = None) -> str:
    # The div holds a message until the script replaces it: a viewer that
    # runs no script (GitHub, an untrusted notebook) shows the message, and
    # the static picture after it if there is one.
    message = _FALLBACK_TEXT if picture is None else _STATIC_TEXT  # plain text, no markup
    return (
        f'<div id="{element_id}" class="alignment-chart">'
        f'<span class="alignment-chart-fallback">{message}</span></div>\n'
        + (picture + "\n" if picture else "")
        + f'<script type="text/javascript">{script}</script>'
    )


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _static_picture(spec: dict[str, Any]) -> str | None:
    """The chart as a static PNG picture that survives JupyterLab's sanitizer.

    An untrusted notebook's HTML goes through JupyterLab's sanitizer, which
    removes ``<svg>`` (its text would leak out as loose words) and ``data:``
    image sources, but keeps a ``background-image: url(data:...)`` style. So
    the picture (drawn by vl-convert, with the same Vega-Lite version as the
    page) is base64 data in a style: inert, nothing but ``[A-Za-z0-9+/=]``
    from the data, and nothing loaded over the network (``allowed_base_urls``
    is empty, so a spec with a data URL gets no picture rather than a fetch).
    An outer box limits the width, an inner one keeps the aspect ratio
    (padding in percent of the width), so a narrow output area scales the
    picture down instead of cutting it off.

    A PNG, not an SVG: vl-convert sizes an SVG with its own fonts, and the
    browser then sets the SVG's text in its fonts, often wider; long titles
    and axis labels were cut off (seen in JupyterLab in Chromium with DejaVu
    Sans). A PNG carries the text as drawn. At 1x it costs about 75-130 KB.

    None if the chart cannot be drawn statically (logged as a warning: the
    notebook shows it on stderr); the text fallback stays alone. The spec is
    cleaned of the characters that make vl-convert abort the process
    (:func:`alignment_lib._text.image_safe_spec`).
    """
    import vl_convert

    try:
        png = vl_convert.vegalite_to_png(
            image_safe_spec(spec), vl_version=_vl_version(), scale=1, allowed_base_urls=[]
        )
    except Exception as exc:  # a static copy is a convenience, never a reason to fail
        title = " ".join(strip_xml_invalid(spec_title(spec)).split())[:80]
        log.warning("chart %r: no static picture (%s)", title, one_line_error(exc))
        return None
    if not png.startswith(_PNG_SIGNATURE) or len(png) < 24:
        return None
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    if width <= 0 or height <= 0:
        return None
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<div class="{STATIC_CLASS}" role="img" aria-label="chart" '
        f'style="max-width:{width}px">'
        f'<div style="width:100%;height:0;padding-bottom:{100 * height / width:.3f}%;'
        f"background-image:url(data:image/png;base64,{data});"
        'background-size:100% 100%;background-repeat:no-repeat"></div></div>'
    )


def _embed_options(extra: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(DEFAULT_EMBED_OPTIONS)
    options.update(extra or {})
    # Without the interpreter vega compiles expressions with new Function,
    # which the exported page's CSP refuses: the chart would not draw.
    options["ast"] = True
    return options


def _renderer(
    spec: dict[str, Any],
    embed_options: dict[str, Any] | None = None,
    *,
    static_image: bool = True,
    **_: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """altair renderer: escaped HTML snippet (+ static picture) + Vega-Lite JSON + text."""
    from alignment_lib import lab

    # In a kernel a Jupyter server started (JupyterLab), put vega-embed into
    # the page once, before the first chart, so live charts are interactive.
    lab.load_chart_library_once()
    # long names cut, dropdowns labelled: what the notebook keeps and every page shows
    spec = display_spec(spec)
    element_id = _KERNEL_CHART_IDS.next(spec)
    options = _embed_options(embed_options)
    picture = _static_picture(spec) if static_image else None
    bundle: dict[str, Any] = {
        "text/html": _chart_html(element_id, _chart_script(element_id, spec, options), picture),
        VEGALITE_JSON_MIME: spec,
        "text/plain": f"<alignment chart {element_id}: {_FALLBACK_TEXT}>",
    }
    metadata = {VEGALITE_JSON_MIME: {"embed_options": options}}
    return bundle, metadata


def enable_renderer(*, static_image: bool = True) -> None:
    """Make every altair chart this process displays use the alignment renderer.

    Call it once at the top of a notebook (the kernel's process). After it,
    ``display(chart)``, ``chart.show()`` and a chart as a cell's last
    expression all produce a mimebundle with:

    - ``text/html``: ``<div id="chart-<12 hex>" class="alignment-chart">`` and
      a script that calls the page's global ``vegaEmbed`` (svg renderer, no
      action menu). The id is a hash of the spec, so re-running a notebook
      gives the same output; the spec JSON has ``<``, ``>``, ``&``, U+2028
      and U+2029 escaped, so a data value cannot close the script element.
      Nothing is loaded from the network; without ``vegaEmbed`` the div
      shows a short message instead of failing.
      With ``static_image`` (the default) a static PNG picture of the chart
      follows the div, as base64 data in a CSS background (about 75-130 KB
      and 0.1-0.3 s per chart): JupyterLab shows it even in an untrusted
      notebook, where no script runs and inline SVG is stripped; the
      interactive chart replaces it wherever ``vegaEmbed`` exists.
      :func:`export_html` never copies it into a page.
    - every string of the spec that is not an expression is cut at 500
      characters, and dropdowns get labels cut at 60
      (:func:`alignment_lib._text.display_spec`; docs/text-display.md).
    - ``application/vnd.vegalite.v6+json``: the plain spec, from which
      :func:`export_html` rebuilds the snippet.
    - ``text/plain``: a one-line description.

    Extra vega-embed options set with ``alt.renderers.set_embed_options``
    are passed on.

    In an IPython kernel it also makes every great_tables ``GT`` display with
    its long row labels cut at 60 characters (the value in a tooltip) and
    other cells at 500 (:func:`alignment_lib._text.shorten_table`).

    In a kernel started by a Jupyter server (JupyterLab sets
    ``JPY_SESSION_NAME``), the first chart also loads the chart library into
    the page once (:func:`alignment_lib.lab.load_chart_library`), so charts
    drawn in a live session are interactive; papermill runs skip that.
    """
    alt.renderers.register(RENDERER_NAME, functools.partial(_renderer, static_image=static_image))
    alt.renderers.enable(RENDERER_NAME)
    _enable_table_display()


def _table_html(table: Any) -> str:
    # the ignore classes keep JupyterLab's MathJax from typesetting a "$x$" in a
    # name, or "$25K ... $100K" in two cells, as math
    return (
        '<div class="alignment-table tex2jax_ignore mathjax_ignore">'
        f"{shorten_table(table)._repr_html_()}</div>"
    )


def _enable_table_display() -> None:
    """In an IPython kernel, show every great_tables ``GT`` with its long names cut
    (:func:`alignment_lib._text.shorten_table`): the one place the kit's tables
    are displayed, whichever builder made them."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    import great_tables as gt

    shell.display_formatter.formatters["text/html"].for_type(gt.GT, _table_html)


# ---------------------------------------------------------------------------
# the page's chart library
# ---------------------------------------------------------------------------


@functools.cache
def _vl_version() -> str | None:
    """The Vega-Lite minor version altair writes specs for, if vl-convert has it."""
    import vl_convert

    wanted = ".".join(VEGALITE_VERSION.split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


@functools.cache
def _bundle_script() -> str:
    """vega + vega-lite + vega-embed as the text of one classic script.

    ``vl_convert.javascript_bundle()`` returns a self-contained ES2020 script
    (no import/export) ending in ``window.vegaEmbed = ...``. Its top level
    declares hundreds of ``const``s; wrapped in a strict function they stay
    out of the page's global scope (a classic script's top-level ``const``
    would clash with any later script declaring the same name) and run with
    module semantics (strict, ``this`` undefined).
    """
    import vl_convert

    # Pin the bundle to the Vega-Lite minor version altair writes specs for.
    bundle = vl_convert.javascript_bundle(vl_version=_vl_version())
    # HTML normalises line ends before a CSP hash is checked; do it first.
    bundle = bundle.replace("\r\n", "\n").replace("\r", "\n")
    lowered = bundle.lower()
    if "</script" in lowered or "<!--" in lowered:
        raise RenderError(
            "the vega bundle from vl-convert-python contains '</script' or '<!--', which "
            "cannot be inlined in a <script> element; expected plain JavaScript. Pin "
            "vl-convert-python to a version whose bundle export.py has been checked with."
        )
    return f'(function () {{\n"use strict";\n{bundle}\n}})();'


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _csp(script_hashes: list[str]) -> str:
    """A policy that lets the page run only its own scripts and load nothing.

    ``default-src 'none'`` blocks every fetch, image, font and frame from
    outside the file; images and fonts the page carries as data: URLs stay.
    Inline styles are allowed: vega-embed, the lab CSS and polars tables use
    them, and a style cannot run script.
    """
    scripts = " ".join(f"'{h}'" for h in sorted(set(script_hashes)))
    return (
        "default-src 'none'; "
        f"script-src {scripts}; "
        "style-src 'unsafe-inline'; "
        "img-src data: blob:; "
        "font-src data:; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


def _is_foreign_chart_html(html: str) -> bool:
    # altair's default renderer (and chart.to_html) write their own vegaEmbed
    # call with the spec unescaped and the library from a CDN.
    return "vegaEmbed" in html or "altair-viz-" in html


def _is_library_output(output: Any) -> bool:
    from alignment_lib.lab import LIBRARY_OUTPUT_KEY, LIBRARY_OUTPUT_ROLE

    metadata = output.get("metadata") or {}
    return metadata.get(LIBRARY_OUTPUT_KEY) == LIBRARY_OUTPUT_ROLE


class _AlignmentPreprocessor(Preprocessor):
    """Rebuilds chart snippets, strips what a variant hides, collects script hashes."""

    def __init__(self, *, variant: Variant, **kw: Any) -> None:
        super().__init__(**kw)
        self.variant = variant

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._ids = _ChartIds()
        self._hashes = [_csp_hash(resources["alignment"]["bundle_script"])]
        counts: Counter[str] = Counter()
        for cell in nb.cells:
            # papermill's own cells get a random id on every run; give them a
            # stable one so re-exports of re-runs can be byte-identical.
            for tag in (PAPERMILL_INJECTED_TAG, PAPERMILL_ERROR_TAG):
                if tag in cell.get("metadata", {}).get("tags", []):
                    counts[tag] += 1
                    cell["id"] = f"{tag}-{counts[tag]}"
        nb, resources = super().preprocess(nb, resources)
        if self.variant == "executive":
            # A code cell without output is an empty box once its code is hidden.
            nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
        resources["alignment"]["csp"] = _csp(self._hashes)
        return nb, resources

    def preprocess_cell(
        self, cell: Any, resources: dict[str, Any], index: int
    ) -> tuple[Any, dict[str, Any]]:
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.outputs:
            if _is_library_output(output):
                continue  # an emptied output of a live JupyterLab session
            if self.variant == "executive":
                # Warnings and logs go to stderr; a traceback is code. Neither
                # belongs on an executive's page.
                if output.output_type == "stream" and output.get("name") == "stderr":
                    continue
                if output.output_type == "error":
                    continue
            if output.output_type in ("display_data", "execute_result"):
                output = self._chart_output(output, cell_index=index)
                if not any(mime in output.data for mime in DISPLAY_PRIORITY):
                    # nothing the page can show (e.g. only JavaScript)
                    continue
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources

    def _chart_output(self, output: Any, *, cell_index: int) -> Any:
        data = output.get("data", {})
        mime = next((m for m in data if _VEGA_JSON_MIME.match(m)), None)
        if mime is None:
            html = data.get("text/html", "")
            if isinstance(html, list):
                html = "".join(html)
            if _is_foreign_chart_html(html):
                raise RenderError(
                    f"cell {cell_index} shows a chart drawn by altair's own renderer: it loads "
                    "vega from a CDN and does not escape the data, so it cannot be exported. "
                    "Expected charts from the alignment renderer. Fix: call "
                    "alignment_lib.export.enable_renderer() before the first chart and "
                    "re-run the notebook."
                )
            return output
        spec = data[mime]
        if isinstance(spec, str):
            spec = json.loads(spec)
        spec = display_spec(spec)  # a no-op on the alignment renderer's specs
        # The page's snippet is always rebuilt from the spec here, so what an
        # executive's browser runs is written by this module, whatever HTML
        # the kernel produced.
        extra = output.get("metadata", {}).get(mime, {}).get("embed_options")
        element_id = self._ids.next(spec)
        script = _chart_script(element_id, spec, _embed_options(extra))
        self._hashes.append(_csp_hash(script))
        output = copy.deepcopy(output)
        output.data = {
            "text/html": _chart_html(element_id, script),
            "text/plain": output.data.get("text/plain", _FALLBACK_TEXT),
        }
        return output


def _exporter(variant: Variant) -> HTMLExporter:
    c = Config()
    c.NbConvertBase.display_data_priority = list(DISPLAY_PRIORITY)
    c.HTMLExporter.template_name = TEMPLATE_NAME
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.HTMLExporter.theme = "light"
    c.HTMLExporter.sanitize_html = False  # would strip the chart scripts
    c.HTMLExporter.embed_images = True  # markdown images become data: URLs
    c.HTMLExporter.exclude_anchor_links = True
    if variant == "executive":
        c.HTMLExporter.exclude_input = True
        c.HTMLExporter.exclude_input_prompt = True
        c.HTMLExporter.exclude_output_prompt = True
        c.TagRemovePreprocessor.enabled = True
        c.TagRemovePreprocessor.remove_cell_tags = set(EXECUTIVE_REMOVE_CELL_TAGS)
        c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
        c.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    # TagRemovePreprocessor is one of nbconvert's default preprocessors; the
    # config above enables it. Ours runs after it, on what is left.
    exporter = HTMLExporter(config=c)
    exporter.register_preprocessor(_AlignmentPreprocessor(variant=variant), enabled=True)
    return exporter


# An element that would fetch from the network when the page opens. (A
# link in text, <a href="https://...">, fetches nothing until clicked.)
_REMOTE_ELEMENT = re.compile(
    r"<(?:script|link|img|iframe|embed|object|audio|video|source)\b[^>]*"
    r"\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//[^\s\"'>]*",
    re.IGNORECASE,
)
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_REMOTE_CSS = re.compile(
    r"(?:@import\s*(?:url\()?|url\()\s*[\"']?\s*(?:https?:)?//[^\s\"')]*", re.IGNORECASE
)


def _remote_load(html: str) -> str | None:
    """The first thing in the page that would be fetched from the network."""
    found = _REMOTE_ELEMENT.search(html)
    if found:
        return found.group(0)
    for style in _STYLE_ELEMENT.finditer(html):
        found = _REMOTE_CSS.search(style.group(1))
        if found:
            return found.group(0)
    return None


def _read_notebook(notebook: nbformat.NotebookNode | str | os.PathLike[str]) -> Any:
    if isinstance(notebook, nbformat.NotebookNode):
        return copy.deepcopy(notebook)  # never change the caller's notebook
    path = Path(notebook)
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError as err:
        raise RenderError(
            f"cannot export {path}: the file does not exist. Expected an executed .ipynb "
            "(papermill's output); check the path."
        ) from err


def export_html(
    notebook: nbformat.NotebookNode | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    variant: Variant,
    title: str,
) -> Path:
    """Write an executed notebook as one self-contained, offline HTML page.

    Parameters
    ----------
    notebook
        The executed notebook (``nbformat.NotebookNode``, left unchanged) or
        the path of an ``.ipynb``. Its charts must come from the alignment
        renderer (:func:`enable_renderer`).
    out_path
        The HTML file to write (replaced atomically; parent folders created).
    variant
        ``"executive"``: no code, prompts, parameters cells (``parameters``,
        papermill's ``injected-parameters``), papermill error banners, cells
        tagged ``remove-cell``, outputs of cells tagged ``remove-output``,
        stderr output (warnings, logs) or tracebacks.
        ``"analyst"``: the whole notebook, code included.
    title
        The page title (escaped).

    Both variants inline the vega/vega-lite/vega-embed bundle once, load
    nothing over the network (a Content-Security-Policy forbids it, and
    forbids any script the page did not write itself), and are
    deterministic: the same notebook gives byte-identical HTML.

    Returns the path written.

    Raises
    ------
    ParameterError
        ``variant`` is not one of the two.
    RenderError
        The notebook cannot be read, or shows a chart not drawn by the
        alignment renderer (its HTML would load vega from a CDN).
    """
    if variant not in ("executive", "analyst"):
        raise ParameterError(
            f"export variant must be 'executive' or 'analyst', got {variant!r}; "
            "pass one of those two."
        )
    nb = _read_notebook(notebook)
    nb.metadata["title"] = title
    # Widget state would make the lab template load the widget manager.
    nb.metadata.pop("widgets", None)

    resources = {
        "alignment": {"bundle_script": _bundle_script()},
        # markdown images are embedded relative to this folder
        "metadata": {"name": Path(out_path).stem, "path": _notebook_dir(notebook)},
    }
    html, _ = _exporter(variant).from_notebook_node(nb, resources=resources)

    remote = _remote_load(html)
    if remote:
        # The page's CSP would block the load anyway; failing here tells the
        # author instead of leaving a hole in an executive's page.
        raise RenderError(
            f"the exported page would load {remote!r} from the network; expected a page "
            "that works offline. A markdown cell or an output embeds a remote script, "
            "stylesheet, font or image: remove it or embed the file (e.g. a local image)."
        )

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a reader never sees half a page.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(html.encode("utf-8"))
        # mkstemp creates 0600; a report is shared, so give it the usual
        # permissions of a new file under the caller's umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _notebook_dir(notebook: object) -> str:
    if isinstance(notebook, nbformat.NotebookNode):
        return ""
    return str(Path(notebook).parent)  # type: ignore[arg-type]
