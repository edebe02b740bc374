"""The kit installs anywhere: a wheel built from this repository, installed into a fresh
virtual environment outside the repository, renders the bundled sample from an empty folder.

This is the path of a user who runs ``pip install alignment-kit`` instead of cloning: the
workbooks and the sample must ship inside the package (``alignment_lib/_bundled``), and
nothing may reach back into a checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from alignment_lib.render import WORKBOOKS
from alignment_lib.schema import TABLES
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)], out)
    (built,) = out.glob("alignment_kit-*.whl")
    return built


def test_wheel_ships_the_workbooks_and_the_sample(wheel: Path) -> None:
    # the wheel holds the files themselves (not links back into a checkout), byte for byte
    shipped = {
        f"alignment_lib/_bundled/notebooks/{name}.ipynb": REPO / "notebooks" / f"{name}.ipynb"
        for name in WORKBOOKS
    }
    shipped |= {
        f"alignment_lib/_bundled/sample/{table}.csv": REPO / "data" / "sample" / f"{table}.csv"
        for table in TABLES
    }
    shipped |= {
        f"alignment_lib/presets/{path.name}": path
        for path in (REPO / "alignment_lib" / "presets").glob("*.toml")
    }
    shipped["alignment_lib/templates/alignment/index.html.j2"] = (
        REPO / "alignment_lib" / "templates" / "alignment" / "index.html.j2"
    )
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for member, original in shipped.items():
            assert member in names
            assert zf.read(member) == original.read_bytes(), member


def test_installed_wheel_renders_the_sample_from_an_empty_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    # nothing of the checkout on the path: not the repository, not its virtual environment
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([str(python), "-c", "import alignment_lib; print(alignment_lib.__file__)"], empty)
    assert Path(where.strip()).is_relative_to(venv), where
    index = _run(
        [str(venv / "bin" / "alignment"), "report", "--data", "sample", "--no-images"], empty, env
    ).strip()
    page_path = empty / index  # an absolute path stays as it is
    report = page_path.parent
    assert report == empty / "reports" / "FY2026-Q3" or report.samefile(
        empty / "reports" / "FY2026-Q3"
    ), index
    assert page_path.is_file()
    for name in WORKBOOKS:
        page = (report / f"{name}.html").read_text(encoding="utf-8")
        assert "Traceback" not in page
    text = (report / "scorecard.html").read_text(encoding="utf-8")
    assert "FY2026-Q3" in text
