"""Documentation that must stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alignment_lib.schema import TABLES
from tests.conftest import REPO

DATA_MODEL = (REPO / "docs" / "data-model.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", list(TABLES.values()), ids=lambda t: t.name)
def test_data_model_doc_lists_every_column_with_its_type(table) -> None:
    section = DATA_MODEL.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \|", section, flags=re.M)
    assert documented == [(c.name, c.kind, "yes" if c.nullable else "no") for c in table.columns]
    required = ", ".join(f"`{c}`" for c in table.column_names if table.requires_column(c))
    assert f"Required columns: {required}; every other column" in section


def _metric_docs() -> str:
    pages = [REPO / "docs" / "metrics.md", *sorted((REPO / "docs" / "metrics").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


def test_every_public_metric_function_is_defined_in_docs() -> None:
    import alignment_lib.metrics as metrics

    docs = _metric_docs()
    functions = [n for n in metrics.__all__ if n[0].islower()]
    undocumented = [n for n in functions if f"{n}(" not in docs and f"`{n}`" not in docs]
    assert not undocumented, f"define these in docs/metrics*.md: {undocumented}"


def test_metrics_index_links_exist() -> None:
    index = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\((metrics/[\w-]+\.md)\)", index):
        assert (REPO / "docs" / link).exists(), link


def test_architecture_lists_every_module() -> None:
    """docs/architecture.md names every module of alignment_lib (subpackages by folder,
    their private helpers by file name)."""
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for path in sorted((root / "alignment_lib").rglob("*.py")):
        rel = path.relative_to(root / "alignment_lib")
        if rel.name == "__init__.py":
            continue
        if len(rel.parts) == 1 or rel.name.startswith("_"):
            wanted = f"`{rel.name}`"
        else:
            wanted = f"`{rel.parts[0]}/`"
        if wanted not in doc:
            missing.append(str(rel))
    assert missing == [], f"add to docs/architecture.md: {missing}"


def test_partial_data_doc_lists_every_statement_and_measure() -> None:
    """docs/partial-data.md: every "not tracked" sentence and every measure with its needs
    and pages, as alignment_lib.NEEDS and alignment_lib.MEASURES have them."""
    from alignment_lib.gate import MEASURES
    from alignment_lib.tracking import NEEDS

    doc = (REPO / "docs" / "partial-data.md").read_text(encoding="utf-8")
    for need in NEEDS.values():
        assert f"| `{need.name}` | {need.statement} |" in doc, need.name
    for m in MEASURES.values():
        needs = ", ".join(f"`{n}`" for n in m.needs)
        row = f"| `{m.name}` | {m.label} | {needs} | {', '.join(m.pages)} |"
        assert row in doc, m.name
