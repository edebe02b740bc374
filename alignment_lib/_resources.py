"""Where the kit's own files are: the workbooks and the sample data.

Both ship inside the package as ``alignment_lib/_bundled/{notebooks,sample}``.
In a clone of the repository those two are symlinks to the top-level
``notebooks/`` and ``data/sample/`` folders (one copy, edited where analysts
expect it); building a wheel copies the files they point at into the package
(``pyproject.toml``'s package-data), so ``pip install`` of the wheel renders
from any folder. Everything that needs them asks here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["notebook_dir", "sample_dir"]

_PACKAGE = Path(__file__).resolve().parent


def notebook_dir() -> Path:
    """The folder holding the six workbooks (``<name>.ipynb``)."""
    return (_PACKAGE / "_bundled" / "notebooks").resolve()


def sample_dir() -> Path:
    """The folder holding the bundled sample data."""
    return (_PACKAGE / "_bundled" / "sample").resolve()
