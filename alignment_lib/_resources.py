"""Where the kit's own files are: the workbooks and the sample data.

Installed from a wheel, they ship inside the package; in a clone of the
repository (an editable install) they are the top-level ``notebooks/`` and
``data/sample/`` folders. Everything that needs them asks here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["notebook_dir", "sample_dir"]

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def notebook_dir() -> Path:
    """The folder holding the six workbooks (``<name>.ipynb``)."""
    bundled = _PACKAGE / "_bundled" / "notebooks"
    return bundled if bundled.is_dir() else _CHECKOUT / "notebooks"


def sample_dir() -> Path:
    """The folder holding the bundled sample data."""
    bundled = _PACKAGE / "_bundled" / "sample"
    return bundled if bundled.is_dir() else _CHECKOUT / "data" / "sample"
