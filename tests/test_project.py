"""Project hygiene: dependencies in step, notebooks without outputs, the two commands documented."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import yaml

from tests.conftest import REPO

# conda-forge names that differ from PyPI names
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.strip())
    assert m, requirement
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        wanted += extra
    expected = {CONDA_NAMES.get(n, n): spec for n, spec in map(_split, wanted)}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    assert conda.pop("python") == ">=3.11" == project["requires-python"]
    assert conda.pop("pip") == ""
    assert conda == expected
    assert {"pip": ["-e ."]} in env["dependencies"]


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_source_notebooks_are_committed_without_outputs(path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for line in "".join(tagged[0]["source"]).splitlines():
        # name: type = value  # comment  (papermill --help-notebook documents it)
        assert re.match(r"^\w+: \w+ = .+  # .+$", line), line


def test_readme_quickstart_is_the_two_commands_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make report" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_nbval_reference_copy_has_the_same_code(path) -> None:
    """tests/notebooks/ holds recorded runs of the workbooks; their code must not drift."""
    reference = REPO / "tests" / "notebooks" / path.name
    assert reference.exists(), f"run `make nbval-refresh` to record {path.name}"

    def sources(p):
        return [
            (c["cell_type"], "".join(c["source"]), c.get("metadata", {}).get("tags", []))
            for c in json.loads(p.read_text())["cells"]
        ]

    assert sources(reference) == sources(path), "run `make nbval-refresh` and review the diff"
    checked = [
        c
        for c in json.loads(reference.read_text())["cells"]
        if "nbval-check-output" in c.get("metadata", {}).get("tags", [])
    ]
    assert checked and all(c["outputs"] for c in checked), "checked cells need recorded outputs"


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path) -> None:
    # papermill silently skips a parameter line it cannot parse (e.g. an extra '=' in
    # the comment): the parameter would then be unknown to every render.
    import papermill

    cell = next(
        c
        for c in json.loads(path.read_text())["cells"]
        if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    names = [line.split(":")[0] for line in "".join(cell["source"]).splitlines()]
    found = papermill.inspect_notebook(str(path))
    assert list(found) == names
    assert all(p["help"] for p in found.values()), "every parameter needs a help comment"


def test_readme_quotes_the_sample_finding_the_report_shows() -> None:
    # The README's example sentence must be what the sample report really says.
    readme = " ".join((REPO / "README.md").read_text().split())
    recorded = (REPO / "tests" / "notebooks" / "pipeline_vs_closes.ipynb").read_text()
    quote = re.search(r'on the sample: "(Bookings in [^"]+)"', readme).group(1)
    assert quote in recorded
