"""No import cycles in ``alignment_lib``.

The graph is built from the source with :mod:`ast`, not by importing: every
``import alignment_lib...`` / ``from alignment_lib... import ...`` (and
relative import) anywhere in a module counts, at module level and inside
functions alike (a function-level import hides a cycle from Python at
import time, not from the reader: the two modules still need each other).

What counts as an edge:

- ``import alignment_lib.a.b`` and ``from alignment_lib.a import b``: to
  ``alignment_lib.a.b`` when that is a module, else to ``alignment_lib.a``
  (a name defined in the package's ``__init__``);
- imports under ``if TYPE_CHECKING:`` are left out: they never run, and a
  type-only reference is how a cycle is broken;
- the implicit import of a parent package (importing ``alignment_lib.a.b``
  runs ``alignment_lib/a/__init__.py`` first) is left out: the package's
  ``__init__`` re-exports its modules, so counting it would make every
  module depend on every other one.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = "alignment_lib"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` (file ``path``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    target = _resolve(alias.name, known)
                    if target is not None:
                        targets.add(target)
            continue
        if node.level:
            # a relative import: from the module's package, up level - 1 more
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        if source != PACKAGE and not source.startswith(PACKAGE + "."):
            continue
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            target = sub if sub in known else _resolve(source, known)
            if target is not None:
                targets.add(target)
    targets.discard(name)
    return targets


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in its body."""
    found = modules(root)
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module
    (Tarjan), each as a path that returns to its start, sorted for stable
    messages."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(_cycle_in(graph, c) for c in components)


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if w not in parents:
                    parents[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")  # pragma: no cover


@functools.cache
def _package_graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_cycles() -> None:
    cycles = find_cycles(_package_graph())
    assert not cycles, "import cycles in alignment_lib (break each one):\n" + "\n".join(
        "  " + " -> ".join(c) for c in cycles
    )


def test_the_graph_sees_the_package() -> None:
    graph = _package_graph()
    # a module-level and a function-level import the package is known to have
    assert "alignment_lib.exceptions" in graph["alignment_lib.render"]
    assert "alignment_lib.export" in graph["alignment_lib.render"]  # inside a function
    assert "alignment_lib.metrics.funnel" in graph["alignment_lib.metrics"]


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / PACKAGE
    for rel, text in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return pkg


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "__init__.py": "",
                "a.py": "def f():\n    from alignment_lib import b\n",
                "b.py": "from alignment_lib.a import f\n",
            },
            [["alignment_lib.a", "alignment_lib.b", "alignment_lib.a"]],
            id="function-level import",
        ),
        pytest.param(
            {
                "__init__.py": "",
                "sub/__init__.py": "from .x import X\n",
                "sub/x.py": "import alignment_lib.y\nX = 1\n",
                "y.py": "from alignment_lib.sub import X\n",
            },
            [["alignment_lib.sub", "alignment_lib.sub.x", "alignment_lib.y", "alignment_lib.sub"]],
            id="relative import and a package's name",
        ),
        pytest.param(
            {
                "__init__.py": "from alignment_lib.a import f\n",
                "a.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from alignment_lib.b import B\n"
                    "def f(): ...\n"
                ),
                "b.py": "from alignment_lib.a import f\nclass B: ...\n",
            },
            [],
            id="type-only import and the parent package are no edges",
        ),
    ],
)
def test_find_cycles_names_each_cycle(
    tmp_path: Path, files: dict[str, str], expected: list[list[str]]
) -> None:
    pkg = _write(tmp_path, files)
    assert find_cycles(import_graph(pkg)) == expected
