"""Offline, self-contained, XSS-safe HTML export of executed notebooks.

:func:`export_html` turns an executed notebook into one HTML file that works
with the network off: nbconvert's lab page without its CDN scripts, the
vega/vega-lite/vega-embed bundle (from ``vl_convert``) inlined once, every
chart rebuilt from its Vega-Lite JSON as an escaped snippet
(:mod:`alignment_lib._chart_snippet`), a Content-Security-Policy that lets
only the page's own scripts run, and, for executives, no code, parameters,
error banners or stderr.

The notebooks' charts come from the renderer of
:mod:`alignment_lib.renderer`; :func:`enable_renderer` and
:data:`RENDERER_NAME` are re-exported here, where notebooks have always
found them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets.config import Config

from alignment_lib._chart_snippet import (
    FALLBACK_TEXT,
    STATIC_CLASS,
    VEGALITE_JSON_MIME,
    ChartIds,
    bundle_script,
    chart_embed_options,
    chart_html,
    chart_script,
)
from alignment_lib._text import display_spec
from alignment_lib.exceptions import ParameterError, RenderError
from alignment_lib.lab import LIBRARY_OUTPUT_KEY, LIBRARY_OUTPUT_ROLE
from alignment_lib.renderer import RENDERER_NAME, enable_renderer

__all__ = [
    "RENDERER_NAME",
    "STATIC_CLASS",
    "VEGALITE_JSON_MIME",
    "enable_renderer",
    "export_html",
]

Variant = Literal["executive", "analyst"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "alignment"

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


def _is_foreign_chart_html(html: str) -> bool:
    # altair's default renderer (and chart.to_html) write their own vegaEmbed
    # call with the spec unescaped and the library from a CDN.
    return "vegaEmbed" in html or "altair-viz-" in html


def _is_library_output(output: Any) -> bool:
    metadata = output.get("metadata") or {}
    return metadata.get(LIBRARY_OUTPUT_KEY) == LIBRARY_OUTPUT_ROLE


class _AlignmentPreprocessor(Preprocessor):
    """Rebuilds chart snippets, strips what a variant hides, collects script hashes."""

    def __init__(self, *, variant: Variant, **kw: Any) -> None:
        super().__init__(**kw)
        self.variant = variant

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._ids = ChartIds()
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
        script = chart_script(element_id, spec, chart_embed_options(extra))
        self._hashes.append(_csp_hash(script))
        output = copy.deepcopy(output)
        output.data = {
            "text/html": chart_html(element_id, script),
            "text/plain": output.data.get("text/plain", FALLBACK_TEXT),
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
        "alignment": {"bundle_script": bundle_script()},
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
