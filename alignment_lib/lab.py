"""What JupyterLab needs to show the kit's charts.

JupyterLab 4 renders Vega-Lite only up to v5 (its own vega 5 extension) and
has no global ``vegaEmbed``, so the HTML snippet of
`alignment_lib.renderer.enable_renderer` cannot draw there by itself.
Three things make the charts visible anyway:

- **A static picture in every chart output** (``renderer.enable_renderer``,
  on by default): a PNG drawn by vl-convert, carried as base64 in a CSS
  background because that is what JupyterLab's sanitizer keeps in an
  untrusted notebook (it strips ``<svg>`` and ``data:`` image sources).
  Every notebook shows its charts, trusted or not, scripts or not.
- **The chart library in a live session**: in a kernel started by a Jupyter
  server, the first chart sends the vega/vega-lite/vega-embed bundle to the
  page once (:func:`load_chart_library`); the charts of that session are
  then interactive (tooltips, legend selections). The bundle's output is
  emptied right away, so a saved notebook does not carry 0.9 MB of script.
- **Trust for the kit's own notebooks** (:func:`trust_notebook`): papermill's
  executed notebooks are untrusted, so JupyterLab sanitizes their HTML (the
  tables lose their styles) and runs none of their scripts. Signing them, as
  ``jupyter trust`` does, records them as trusted for the user who rendered
  them.

Measured with JupyterLab 4.6 (tests/test_lab.py drives it in Chromium): an
inline ``<svg>`` in an untrusted output is removed and its labels leak out
as loose text (dollar amounts even get typeset by MathJax); an extra
``application/vnd.vegalite.v5+json`` output is never chosen while
``text/html`` is present (Lab ranks HTML first, trusted or not), and
without HTML Lab's Vega-Lite 5.6 compiler rejects some v6 specs ("Duplicate
signal name"). The picture (a PNG: an SVG's text, re-set in the browser's
fonts, overflowed its box) costs about 75-130 KB of notebook and 0.1-0.3 s
per chart, plus about 1.4 s once per kernel to start vl-convert.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import nbformat

from alignment_lib.exceptions import RenderError

__all__ = ["is_trusted", "load_chart_library", "load_chart_library_once", "trust_notebook"]

log = logging.getLogger(__name__)

#: set by jupyter_server in the environment of the kernels it starts (a
#: notebook open in JupyterLab); papermill and nbclient do not set it
JUPYTER_SERVER_KERNEL_ENV = "JPY_SESSION_NAME"

#: output metadata of the (emptied) output that loaded the chart library
LIBRARY_OUTPUT_KEY = "alignment_lib"
LIBRARY_OUTPUT_ROLE = {"role": "chart-library"}

_library_sent = False


def load_chart_library() -> bool:
    """Send the vega/vega-lite/vega-embed bundle to the page showing this kernel.

    Displays the bundle (the one :func:`alignment_lib.export.export_html`
    inlines, from vl-convert, ~0.9 MB, nothing from the network) as a script
    output and empties that output at once: JupyterLab runs the script of a
    trusted output when it draws it, and outputs made in a live session are
    trusted, so ``window.vegaEmbed`` exists for the charts that follow while
    the notebook keeps only an empty output. The script does nothing if the
    page already has ``vegaEmbed`` (a second kernel in the same page).

    Charts displayed before this call, or in a notebook opened later, keep
    their static picture. After reloading the browser page (the kernel keeps
    running, the page forgets the library), call it again. Returns False
    outside an IPython kernel.
    """
    global _library_sent
    from IPython import get_ipython
    from IPython.display import display, update_display

    from alignment_lib._chart_snippet import bundle_script

    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    script = (
        '\nif (typeof window.vegaEmbed !== "function") {\n'
        + bundle_script()
        + '\n}\nwindow.alignmentChartLibrary = "loaded";\n'
    )
    display_id = f"alignment-chart-library-{uuid.uuid4().hex}"  # transient, never saved
    display(
        {"text/html": f'<script type="text/javascript">{script}</script>'},
        raw=True,
        display_id=display_id,
    )
    # What the notebook keeps: an empty output that says what it was, which
    # export_html leaves out of the pages.
    update_display(
        {"text/plain": ""},
        raw=True,
        display_id=display_id,
        metadata={LIBRARY_OUTPUT_KEY: LIBRARY_OUTPUT_ROLE},
    )
    _library_sent = True
    return True


def load_chart_library_once() -> bool:
    """:func:`load_chart_library`, the first time only, and only in a kernel a
    Jupyter server started (``JPY_SESSION_NAME`` set): a papermill or nbval
    run has no page to load it into. Returns whether it loaded it now."""
    if _library_sent or not os.environ.get(JUPYTER_SERVER_KERNEL_ENV):
        return False
    return load_chart_library()


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(data_dir) if data_dir is not None else Path(jupyter_data_dir())


def _check(nb: nbformat.NotebookNode, data_dir: Path) -> bool:
    from nbformat.sign import NotebookNotary

    with NotebookNotary(data_dir=str(data_dir)) as notary:
        return bool(notary.check_signature(nb))


def _read(path: Path) -> nbformat.NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except FileNotFoundError as err:
        raise RenderError(
            f"cannot trust {path}: the file does not exist. Expected an executed .ipynb "
            "(the report's notebooks/ folder); check the path."
        ) from err
    except (ValueError, nbformat.reader.NotJSONError) as err:
        raise RenderError(
            f"cannot trust {path}: it is not a notebook ({err}). Expected an executed .ipynb."
        ) from err


def trust_notebook(
    path: str | os.PathLike[str], *, data_dir: str | os.PathLike[str] | None = None
) -> bool:
    """Record a notebook the kit wrote as trusted, as ``jupyter trust`` does.

    JupyterLab then renders its outputs as they are: styled HTML tables, and
    the charts' scripts run (each keeps its static picture; none becomes
    interactive, as no chart library is saved in the notebook). Call it on
    the final file: the signature is a hash of the content, kept in the
    user's Jupyter data folder (``nbsignatures.db`` beside the
    ``notebook_secret`` key, under ``$JUPYTER_DATA_DIR`` or
    ``~/.local/share/jupyter``; ``data_dir`` to use another), so it holds
    for this user on this machine, for this exact content, wherever the file
    moves. Anyone else, or an edited copy, sees an untrusted notebook, which
    still shows every chart's static picture.

    Sign only notebooks the kit executed itself from its own sources: trust
    lets their HTML and JavaScript run in JupyterLab.

    Returns True once the notebook checks as trusted, False if the signature
    could not be stored (e.g. a read-only data folder; logged, never raised:
    trust is a convenience, a report must not fail for it).

    Raises
    ------
    RenderError
        The file does not exist or is not a notebook.
    """
    from nbformat.sign import NotebookNotary

    nb_path = Path(path)
    nb = _read(nb_path)
    folder = _data_dir(data_dir)
    try:
        # a fresh machine may not have the folder yet; the key in it is private
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _check(nb, folder):
            return True
        with NotebookNotary(data_dir=str(folder)) as notary:
            notary.sign(nb)
        # a notary that cannot write its database signs in memory only and
        # just logs it: ask a new one, which reads what is on disk
        trusted = _check(nb, folder)
    except Exception as err:  # sqlite or file-system trouble in the data folder
        log.warning("could not record %s as trusted in %s: %s", nb_path, folder, err)
        return False
    if not trusted:
        log.warning("could not record %s as trusted in %s", nb_path, folder)
    return trusted


def is_trusted(
    path: str | os.PathLike[str], *, data_dir: str | os.PathLike[str] | None = None
) -> bool:
    """Whether JupyterLab, run by this user, would open the notebook as trusted."""
    nb = _read(Path(path))
    folder = _data_dir(data_dir)
    if not (folder / "notebook_secret").is_file():
        return False  # nothing was ever signed here (and checking would create a key)
    return _check(nb, folder)
