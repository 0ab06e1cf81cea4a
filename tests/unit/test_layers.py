"""The package is laid out by stage: a stage imports only from the stages before it.

The order is the run's: plumbing, data, preprocessing, retrieval and evaluation (pure
ranking and scoring code), the networks, lung segmentation, training, the report and
the apps. A module importing a later stage, or a cycle of modules, fails here with
the modules named. Imports are read statically (``run.code_deps``), so imports inside
functions count too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cxr_cbir
from cxr_cbir.run.code_deps import imported_names, module_file

PKG = Path(cxr_cbir.__file__).parent
BASE = {"errors", "io_utils", "torch_utils", "finite"}
STAGES = [
    "run",
    "data",
    "preprocess",
    "retrieval",
    "evaluation",
    "models",
    "segmentation",
    "training",
    "report",
    "app",
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (attributes of a module count as it)."""
    graph = {}
    for name, path in _modules().items():
        deps = set()
        for dotted in imported_names(path, name, path.name == "__init__.py"):
            if module_file(PKG, dotted) is None:
                dotted = dotted.rsplit(".", 1)[0]
            if dotted != name and dotted != "cxr_cbir" and module_file(PKG, dotted):
                deps.add(dotted)
        graph[name] = deps
    return graph


def layer(module: str) -> int:
    """0 for the shared base modules, then 1 + the stage's place in STAGES."""
    parts = module.split(".")
    if len(parts) < 2:
        return -1  # the top package: a docstring and the version
    if parts[1].removesuffix(".py") in BASE:
        return 0
    assert parts[1] in STAGES, f"{module}: not in a stage package; add it to one of {STAGES}"
    return 1 + STAGES.index(parts[1])


def test_every_module_sits_in_a_stage_and_imports_only_earlier_stages():
    upward = [
        f"{name} ({STAGES[layer(name) - 1] if layer(name) else 'base'}) imports {dep}"
        for name, deps in _graph().items()
        for dep in sorted(deps)
        if layer(dep) > layer(name)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, path):
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_check_sees_a_planted_upward_import_and_cycle(tmp_path, monkeypatch):
    """The two checks above fail on a package that breaks them."""
    fake = tmp_path / "cxr_cbir"
    for rel, text in {
        "__init__.py": "",
        "errors.py": "",
        "data/__init__.py": "",
        "data/a.py": "from cxr_cbir.app.b import x\n",
        "app/__init__.py": "",
        "app/b.py": "from cxr_cbir.app import c\n",
        "app/c.py": "import cxr_cbir.app.b\n",
    }.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert _graph()["cxr_cbir.data.a"] == {"cxr_cbir.app.b"}
    with pytest.raises(
        AssertionError, match=r"cxr_cbir\.data\.a \(data\) imports cxr_cbir\.app\.b"
    ):
        test_every_module_sits_in_a_stage_and_imports_only_earlier_stages()
    with pytest.raises(
        AssertionError, match=r"cxr_cbir\.app\.b -> cxr_cbir\.app\.c -> cxr_cbir\.app\.b"
    ):
        test_no_import_cycles()
