"""Documentation that must stay in step with the code."""

from __future__ import annotations

import re

import pytest

from alignment_lib.schema import TABLES
from tests.conftest import REPO

DATA_MODEL = (REPO / "docs" / "data-model.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", list(TABLES.values()), ids=lambda t: t.name)
def test_data_model_doc_lists_every_column_with_its_type(table) -> None:
    section = DATA_MODEL.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \|", section, flags=re.M)
    assert documented == [(c.name, c.kind, "yes" if c.nullable else "no") for c in table.columns]


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
