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
