"""Static images of every chart in an executed workbook, for slides.

Each chart the notebook displayed (through the alignment renderer, which
keeps the Vega-Lite spec in the output) is drawn by vl-convert as SVG and as
PNG (2x scale). No browser is needed and nothing is fetched: vl-convert draws
offline (``allowed_base_urls=[]`` refuses any data URL a spec might name).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

__all__ = ["export_chart_images"]

_VEGALITE = re.compile(r"^application/vnd\.vegalite\.v\d+[.+]json$")


def _slug(text: str, *, limit: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "chart"


def _title(spec: dict) -> str:
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return str(title)


def export_chart_images(notebook: str | Path, out_dir: str | Path, *, prefix: str) -> list[Path]:
    """Write ``<prefix>-<nn>-<title>.svg`` and ``.png`` for each chart; return the paths.

    Charts are numbered in the order the notebook shows them, so file names stay
    the same across re-renders of the same workbook.
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
            n += 1
            stem = f"{prefix}-{n:02d}-{_slug(_title(spec))}"
            out.mkdir(parents=True, exist_ok=True)
            svg = out / f"{stem}.svg"
            svg.write_text(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[]), encoding="utf-8")
            png = out / f"{stem}.png"
            png.write_bytes(vl_convert.vegalite_to_png(spec, scale=2, allowed_base_urls=[]))
            written += [svg, png]
    return written
