"""The package modules a workflow script runs: found from its imports, transitively."""

from pathlib import Path

import pytest
from support.workflow import REPO

from cxr_cbir.run.code_deps import package_modules

PKG = REPO / "src" / "cxr_cbir"
SCRIPTS = REPO / "workflow" / "scripts"


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _names(paths: list[str], pkg: Path) -> set[str]:
    return {Path(p).relative_to(pkg).as_posix() for p in paths}


@pytest.fixture
def fake_package(tmp_path):
    pkg = tmp_path / "cxr_cbir"
    _write(
        pkg,
        {
            "__init__.py": '"""Docs."""\n\n__version__ = "1.0"\n',
            "a.py": "from .sub.b import g\n",
            "sub/__init__.py": "",
            "sub/b.py": "def g():\n    from .. import c\n    return c\n",
            "c.py": "import os\n",
            "d.py": "import cxr_cbir.e as e\n",
            "e.py": "",
            "unused.py": "",
        },
    )
    return pkg


def test_closure_follows_relative_lazy_and_parent_package_imports(tmp_path, fake_package):
    script = tmp_path / "script.py"
    script.write_text("from cxr_cbir.a import f\nimport json\n")
    found = _names(package_modules(script, fake_package), fake_package)
    # a -> sub.b (its package init runs first) -> c, imported inside a function
    assert found == {"a.py", "sub/__init__.py", "sub/b.py", "c.py"}


def test_closure_of_plain_import_and_of_a_module_named_in_from_import(tmp_path, fake_package):
    script = tmp_path / "script.py"
    script.write_text("from cxr_cbir import d\n")
    assert _names(package_modules(script, fake_package), fake_package) == {"d.py", "e.py"}


def test_top_level_init_counts_only_when_it_holds_code(tmp_path, fake_package):
    script = tmp_path / "script.py"
    script.write_text("from cxr_cbir import c\n")
    assert _names(package_modules(script, fake_package), fake_package) == {"c.py"}
    (fake_package / "__init__.py").write_text("from .e import *\n")
    found = _names(package_modules(script, fake_package), fake_package)
    assert found == {"__init__.py", "c.py", "e.py"}


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_every_workflow_script_declares_the_modules_it_imports(script):
    """Each module a script names directly is in its closure, as is io/logging code the
    package modules use; nothing outside the package is."""
    found = _names(package_modules(SCRIPTS / script, PKG), PKG)
    text = (SCRIPTS / script).read_text()
    assert "run/runlog.py" in found
    for line in text.splitlines():
        if line.startswith("from cxr_cbir.") and "import" in line:
            module = line.split()[1].removeprefix("cxr_cbir.").replace(".", "/")
            assert f"{module}.py" in found or f"{module}/__init__.py" in found, line
    assert all((PKG / name).is_file() for name in found)


def test_transitive_modules_are_in_the_closure_and_unrelated_ones_are_not():
    train = _names(package_modules(SCRIPTS / "train_classifier.py", PKG), PKG)
    # the script imports training.classifier, which imports augment, scores and models
    assert {"training/augment.py", "training/scores.py", "models/densenet.py"} <= train
    assert "errors.py" in train  # via io_utils
    # reading a real archive does not depend on the demo generator
    view = _names(package_modules(SCRIPTS / "view_filter.py", PKG), PKG)
    assert "data/archive/mimic.py" in view and "data/mimic_layout.py" in view
    assert not any(name.startswith("data/demo/") for name in view)
