"""One chart as HTML that is safe in any page, and the library that draws it.

What the notebook renderer (:mod:`alignment_lib.renderer`) and the page
export (:mod:`alignment_lib.export`) share: the chart's spec as JSON that
cannot close its ``<script>`` element, a deterministic element id, the script
that calls the page's ``vegaEmbed``, the snippet around it, and the
vega/vega-lite/vega-embed bundle from vl-convert (inlined once per exported
page, sent once to a live JupyterLab page by :mod:`alignment_lib.lab`).

Nothing here imports another module of the kit's rendering layer: the
renderer, the export and :mod:`alignment_lib.lab` all build on it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from typing import Any

from altair.vegalite.v6.display import VEGALITE_MIME_TYPE, VEGALITE_VERSION

from alignment_lib.exceptions import RenderError

#: The Vega-Lite mimetype our outputs carry the spec under. altair 6 itself
#: uses ``application/vnd.vegalite.v6.json``, but nbformat's schema accepts a
#: JSON object only under ``application/(...+)?json`` mimetypes: papermill
#: fails writing a notebook with altair's dict under the ``.json`` name. The
#: ``+json`` spelling is the Jupyter convention (Lab's ``...v5+json``).
VEGALITE_JSON_MIME = VEGALITE_MIME_TYPE.removesuffix(".json") + "+json"

#: vega-embed options every chart gets; ``ast`` makes vega evaluate expressions
#: with its interpreter instead of ``new Function``, so the page's CSP needs no
#: 'unsafe-eval'
DEFAULT_EMBED_OPTIONS: dict[str, Any] = {"actions": False, "renderer": "svg", "ast": True}

FALLBACK_TEXT = "Interactive chart: open the exported HTML report to see it."
NO_LIBRARY_TEXT = "This chart needs the report page's chart library, which is not loaded here."
#: shown above the static picture in a notebook whose scripts do not run
STATIC_TEXT = (
    "Static image of an interactive chart: run the cell in JupyterLab, or open the "
    "HTML report, to use it."
)
#: class of the element that holds a chart's static picture in a notebook
STATIC_CLASS = "alignment-chart-static"

# Escapes that keep JSON inert inside a <script> element: "<" and ">" end or
# open tags ("</script>", "<!--"), "&" starts character references in some
# parsers, U+2028/U+2029 end a line in older JavaScript string literals.
SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def script_json(value: Any) -> str:
    """JSON text that is safe verbatim inside ``<script>...</script>``.

    The escaped characters can only occur inside JSON strings, where
    ``\\u003c`` and ``<`` mean the same thing, so the value is unchanged.
    """
    return json.dumps(value, ensure_ascii=False).translate(SCRIPT_ESCAPES)


def spec_digest(spec: dict[str, Any]) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class ChartIds:
    """Deterministic element ids: a hash of the spec, numbered on repeats.

    The same spec shown twice needs two elements, so the second gets ``-2``;
    a counter is used only then, so ids do not depend on how many other
    charts came before (nbval and byte-identical re-exports rely on it).
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def next(self, spec: dict[str, Any]) -> str:
        short = spec_digest(spec)[:12]
        self._seen[short] += 1
        n = self._seen[short]
        return f"chart-{short}" if n == 1 else f"chart-{short}-{n}"


def chart_script(element_id: str, spec: dict[str, Any], embed_options: dict[str, Any]) -> str:
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
        f"    if (!pic) {{ el.textContent = {script_json(NO_LIBRARY_TEXT)}; }}\n"
        "    return;\n"
        "  }\n"
        f"  var spec = {script_json(spec)};\n"
        f"  var opt = {script_json(embed_options)};\n"
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


def chart_html(element_id: str, script: str, picture: str | None = None) -> str:
    # The div holds a message until the script replaces it: a viewer that
    # runs no script (GitHub, an untrusted notebook) shows the message, and
    # the static picture after it if there is one.
    message = FALLBACK_TEXT if picture is None else STATIC_TEXT  # plain text, no markup
    return (
        f'<div id="{element_id}" class="alignment-chart">'
        f'<span class="alignment-chart-fallback">{message}</span></div>\n'
        + (picture + "\n" if picture else "")
        + f'<script type="text/javascript">{script}</script>'
    )


def chart_embed_options(extra: dict[str, Any] | None) -> dict[str, Any]:
    """vega-embed options of one chart: the defaults, ``extra`` over them, and
    always the expression interpreter (``ast``) the page's CSP needs."""
    options = dict(DEFAULT_EMBED_OPTIONS)
    options.update(extra or {})
    # Without the interpreter vega compiles expressions with new Function,
    # which the exported page's CSP refuses: the chart would not draw.
    options["ast"] = True
    return options


@functools.cache
def vl_version() -> str | None:
    """The Vega-Lite minor version altair writes specs for, if vl-convert has it."""
    import vl_convert

    wanted = ".".join(VEGALITE_VERSION.split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


@functools.cache
def bundle_script() -> str:
    """vega + vega-lite + vega-embed as the text of one classic script (cached).

    ``vl_convert.javascript_bundle()`` returns a self-contained ES2020 script
    (no import/export) ending in ``window.vegaEmbed = ...``. Its top level
    declares hundreds of ``const``s; wrapped in a strict function they stay
    out of the page's global scope (a classic script's top-level ``const``
    would clash with any later script declaring the same name) and run with
    module semantics (strict, ``this`` undefined).
    """
    import vl_convert

    # Pin the bundle to the Vega-Lite minor version altair writes specs for.
    # vl-convert's stub marks ``snippet`` required; the function defaults it to None
    # (its signature: (snippet=None, vl_version=None)), the bare library
    bundle = vl_convert.javascript_bundle(vl_version=vl_version())  # type: ignore[call-arg]
    # HTML normalises line ends before a CSP hash is checked; do it first.
    bundle = bundle.replace("\r\n", "\n").replace("\r", "\n")
    lowered = bundle.lower()
    if "</script" in lowered or "<!--" in lowered:
        raise RenderError(
            "the vega bundle from vl-convert-python contains '</script' or '<!--', which "
            "cannot be inlined in a <script> element; expected plain JavaScript. Pin "
            "vl-convert-python to a version whose bundle the kit has been checked with."
        )
    return f'(function () {{\n"use strict";\n{bundle}\n}})();'
