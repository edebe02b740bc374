"""Static images of every chart in an executed workbook, for slides.

Each chart the notebook displayed (through the alignment renderer, which
keeps the Vega-Lite spec in the output) is drawn by vl-convert as SVG and as
PNG (2x scale). No browser is needed and nothing is fetched: vl-convert draws
offline (``allowed_base_urls=[]`` refuses any data URL a spec might name).

An image is a convenience: a chart vl-convert cannot draw (it raises, e.g.
on a chart computed as infinitely wide) is skipped with a warning, and the
report's pages keep the interactive chart. Characters that would make
vl-convert abort the whole process (BEL, ESC, NUL...) are removed from the
spec first (:func:`alignment_lib._text.image_safe_spec`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import nbformat

from alignment_lib._text import image_safe_spec, one_line_error, spec_title

__all__ = ["export_chart_images"]

log = logging.getLogger(__name__)

_VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+[.+]json$")


def _slug(text: str, *, limit: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "chart"


def export_chart_images(
    notebook: str | Path,
    out_dir: str | Path,
    *,
    prefix: str,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write ``<prefix>-<nn>-<title>.svg`` and ``.png`` for each chart; return the paths.

    Charts are numbered in the order the notebook shows them, so file names stay
    the same across re-renders of the same workbook. A chart that cannot be
    drawn keeps its number, gets no file, and is reported through ``warn``
    (default: a warning on this module's logger) in one line naming the
    workbook, the chart and the error.
    """
    import vl_convert

    nb = nbformat.read(Path(notebook), as_version=4)
    out = Path(out_dir)
    written: list[Path] = []
    n = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            mime = next((m for m in data if _VEGALITE.match(m)), None)
            if mime is None:
                continue
            spec = data[mime]
            if isinstance(spec, str):
                spec = json.loads(spec)
            spec = image_safe_spec(spec)
            n += 1
            stem = f"{prefix}-{n:02d}-{_slug(spec_title(spec))}"
            try:
                svg_text = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
                png_bytes = vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[])
            except Exception as exc:  # an image never ends a render
                (warn or log.warning)(
                    f"chart image {stem} skipped (the pages keep the interactive chart): "
                    f"{one_line_error(exc)}"
                )
                continue
            out.mkdir(parents=True, exist_ok=True)
            svg = out / f"{stem}.svg"
            svg.write_text(svg_text, encoding="utf-8")
            png = out / f"{stem}.png"
            png.write_bytes(png_bytes)
            written += [svg, png]
    return written
