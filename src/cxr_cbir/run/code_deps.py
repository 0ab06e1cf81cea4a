"""Which package modules a workflow script runs, so that rules declare them as inputs.

Snakemake reruns a job when an input's checksum changes, and it tracks the rule's own
script, but not the package modules that script imports. Declaring the transitive
closure of the script's ``cxr_cbir`` imports as inputs makes an edit to any of them
rerun exactly the jobs that run it, and what reads their outputs. The closure is found
statically with ``ast`` (imports anywhere in a file count, also inside functions), and
an imported module's parent packages are in it, since Python runs their ``__init__``.

The top-level ``cxr_cbir/__init__.py`` is left out while it holds only a docstring and
constants (the version): a version bump is not a change of any stage's code.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "cxr_cbir"


def module_file(package_dir: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` (``cxr_cbir.x.y``), or None if it is not a module."""
    base = Path(package_dir).joinpath(*dotted.split(".")[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _in_package(dotted: str | None) -> bool:
    return bool(dotted) and (dotted == PACKAGE or dotted.startswith(PACKAGE + "."))


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` inside ``importer``."""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


def _facts(path: Path) -> tuple[tuple, bool]:
    """The file's import statements and whether it is inert, read once per file version."""
    stat = Path(path).stat()
    return _facts_of_version(Path(path), stat.st_mtime_ns, stat.st_size)


@cache
def _facts_of_version(path: Path, mtime_ns: int, size: int) -> tuple[tuple, bool]:
    """Each rule asks for the same few dozen modules: parse and walk each only once."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imports = []  # (level, module, names); level None for `import a.b`
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.extend((None, a.name, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imports.append((node.level, node.module, tuple(a.name for a in node.names)))
    inert = all(
        isinstance(stmt, (ast.Expr, ast.Assign)) and isinstance(stmt.value, ast.Constant)
        for stmt in tree.body
    )
    return tuple(imports), inert


def imported_names(path: Path, importer: str = "", is_package: bool = False) -> set[str]:
    """Dotted names under the package that the file imports, modules or attributes.

    ``from cxr_cbir import runlog`` yields ``cxr_cbir`` and ``cxr_cbir.run.runlog``; the caller
    keeps those that are modules. ``importer`` names the file's own module, for relative
    imports (``from .x import y``); a script outside the package has none.
    """
    names: set[str] = set()
    for level, module, members in _facts(path)[0]:
        if level is None:
            if _in_package(module):
                names.add(module)
            continue
        if level:
            if not importer:
                continue
            module = _resolve_relative(importer, is_package, level, module)
        if _in_package(module):
            names.add(module)
            names.update(f"{module}.{name}" for name in members if name != "*")
    return names


def package_modules(script: Path, package_dir: Path) -> list[str]:
    """Every package file ``script`` runs when imported or executed, sorted, as strings."""
    package_dir = Path(package_dir)
    seen: dict[str, Path] = {}
    todo = sorted(imported_names(Path(script)))
    while todo:
        dotted = todo.pop()
        parts = dotted.split(".")
        # a module's parent packages run first: cxr_cbir.models.densenet runs models/__init__
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in seen:
                continue
            path = module_file(package_dir, name)
            if path is None:
                continue
            seen[name] = path
            todo.extend(imported_names(path, name, path.name == "__init__.py"))
    top = seen.get(PACKAGE)
    if top is not None and _facts(top)[1]:  # only a docstring and constants
        del seen[PACKAGE]
    return sorted(str(p) for p in seen.values())
