"""What must happen before the package imports altair.

altair imports jsonschema, whose format checkers import ``rfc3987_syntax`` when
it is installed (jupyterlab's jupyter-events brings it). That import builds a
parser grammar: about 1.7 s of CPU in every process that imports the kit, so
in each of a report's six kernels (measured with ``python -X importtime``:
more than half of ``import alignment_lib``). Nothing in the kit checks IRI
formats, so the import is skipped: jsonschema then simply has no "iri"
checker. A process that imported it already keeps it.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
