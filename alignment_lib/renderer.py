"""The notebook side of the kit's charts and tables: how a kernel displays them.

:func:`enable_renderer` makes every altair chart a notebook displays
(``display(chart)`` or a chart as a cell's last expression) come out as a
small HTML snippet with a deterministic id and its spec JSON escaped for a
``<script>`` element (:mod:`alignment_lib._chart_snippet`), next to the plain
Vega-Lite JSON and a text fallback. The snippet carries a static picture of
the chart, so the notebook shows it where no script runs (an untrusted
notebook in JupyterLab); see :mod:`alignment_lib.lab` for what JupyterLab
needs. It also makes great_tables tables display with long names cut.

:func:`alignment_lib.export.export_html` rebuilds every chart of the page
from the plain Vega-Lite JSON, so nothing this module writes into a
notebook's HTML reaches an exported page.

Why not altair's own HTML renderer: it writes the spec into a ``<script>``
without escaping ``</``, so a data value such as ``</script><img src=x
onerror=alert(1)>`` runs in the reader's browser; its offline mode copies
the 0.9 MB library into every chart and breaks on the second chart of a page.
"""

from __future__ import annotations

import base64
import functools
import logging
import struct
from typing import Any

import altair as alt

from alignment_lib import lab
from alignment_lib._chart_snippet import (
    FALLBACK_TEXT,
    STATIC_CLASS,
    VEGALITE_JSON_MIME,
    ChartIds,
    chart_embed_options,
    chart_html,
    chart_script,
    vl_version,
)
from alignment_lib._text import (
    display_spec,
    image_safe_spec,
    one_line_error,
    shorten_table,
    spec_title,
    strip_xml_invalid,
)

__all__ = ["RENDERER_NAME", "VEGALITE_JSON_MIME", "enable_renderer"]

#: name under which the renderer is registered in ``alt.renderers``
RENDERER_NAME = "alignment"

log = logging.getLogger(__name__)

# One per process: the kernel that renders a notebook.
_KERNEL_CHART_IDS = ChartIds()


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
            image_safe_spec(spec), vl_version=vl_version(), scale=1, allowed_base_urls=[]
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


def _renderer(
    spec: dict[str, Any],
    embed_options: dict[str, Any] | None = None,
    *,
    static_image: bool = True,
    **_: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """altair renderer: escaped HTML snippet (+ static picture) + Vega-Lite JSON + text."""
    # In a kernel a Jupyter server started (JupyterLab), put vega-embed into
    # the page once, before the first chart, so live charts are interactive.
    lab.load_chart_library_once()
    # long names cut, dropdowns labelled: what the notebook keeps and every page shows
    spec = display_spec(spec)
    element_id = _KERNEL_CHART_IDS.next(spec)
    options = chart_embed_options(embed_options)
    picture = _static_picture(spec) if static_image else None
    bundle: dict[str, Any] = {
        "text/html": chart_html(element_id, chart_script(element_id, spec, options), picture),
        VEGALITE_JSON_MIME: spec,
        "text/plain": f"<alignment chart {element_id}: {FALLBACK_TEXT}>",
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
