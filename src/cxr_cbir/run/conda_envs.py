"""Static check that each rule's conda env provides what the rule's script imports.

With ``--software-deployment-method conda`` every rule runs in the env its ``conda:``
names (``envs/data.yaml``: no torch; ``envs/torch.yaml``). The package itself needs no
install there: the workflow puts ``src/`` on its search path (``common.smk``) and
Snakemake's script preamble hands that search path to every job's Python. What the env
must hold is every third-party module the script and the package modules it reaches
import (anywhere in the file: also inside functions, as ``code_deps`` counts them). This
module finds those, without network or conda: parse the rules, walk the imports, and
compare with the env file's package list.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from cxr_cbir.run.code_deps import PACKAGE, package_modules

# import name -> the conda / PyPI distribution that provides it
DISTRIBUTION = {
    "PIL": "pillow",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "segmentation_models_pytorch": "segmentation-models-pytorch",
    "pytorch_metric_learning": "pytorch-metric-learning",
    "faiss": "faiss-cpu",
    "cv2": "opencv-python-headless",  # what albumentations installs
}
# what a distribution needs at run time without importing it by name
IMPLIED = {
    "pandas": {"pyarrow"},  # read_parquet / to_parquet
    # a nested snakemake parses this workflow (config schema) and renders the report
    "snakemake": {"jsonschema", "pyyaml", "pygments"},
}
# several distributions provide the same modules
PROVIDES = {"snakemake-minimal": "snakemake", "faiss": "faiss-cpu", "pytorch": "torch"}


@dataclass(frozen=True)
class RuleEnv:
    rule: str
    env: Path
    script: Path


def rule_blocks(rules_dir: Path) -> dict[str, tuple[Path, str]]:
    """rule name -> (its .smk file, the text of its definition), for every rule."""
    blocks = {}
    for smk in sorted(Path(rules_dir).glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule \w+:)", smk.read_text()):
            name = re.match(r"\s*rule (\w+):", block)
            if name:
                blocks[name.group(1)] = (smk, block)
    return blocks


def rule_envs(rules_dir: Path) -> list[RuleEnv]:
    """Every rule with a ``conda:`` env and a ``script:``, from the .smk files."""
    found = []
    for rule, (smk, block) in rule_blocks(rules_dir).items():
        env = re.search(r'\n\s+conda:\n\s+"([^"]+)"', block)
        script = re.search(r'\n\s+script:\n\s+"([^"]+)"', block)
        if env and script:
            found.append(
                RuleEnv(
                    rule,
                    (smk.parent / env.group(1)).resolve(),
                    (smk.parent / script.group(1)).resolve(),
                )
            )
    return found


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def _runs_snakemake(path: Path) -> bool:
    """A script that starts a nested ``python -m snakemake`` (the report) needs it too."""
    return re.search(r"""["']-m["'],\s*["']snakemake["']""", Path(path).read_text()) is not None


def required_distributions(script: Path, package_dir: Path) -> set[str]:
    """Distributions the script and every package module it reaches import."""
    files = [Path(script), *map(Path, package_modules(Path(script), Path(package_dir)))]
    modules = set().union(*(_top_level_imports(f) for f in files))
    modules -= set(sys.stdlib_module_names) | {PACKAGE, "snakemake"}
    dists = {DISTRIBUTION.get(m, m).lower() for m in modules}
    for dist in list(dists):
        dists |= IMPLIED.get(dist, set())
    if any(_runs_snakemake(f) for f in files):
        dists |= {"snakemake"} | IMPLIED["snakemake"]
    return dists


def _name(spec: str) -> str:
    name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")
    return PROVIDES.get(name, name)


def env_packages(env_file: Path) -> set[str]:
    """Package names an env file installs (conda and pip), versions dropped."""
    spec = yaml.safe_load(Path(env_file).read_text())
    names = set()
    for dep in spec.get("dependencies", []):
        if isinstance(dep, dict):
            names.update(_name(p) for p in dep.get("pip", []))
        else:
            names.add(_name(dep))
    return names


def local_paths(env_file: Path) -> list[str]:
    """Entries that name a local path (``-e ..``, ``./x``): they break once Snakemake
    copies the env file to ``.snakemake/conda/<hash>.yaml``."""
    spec = yaml.safe_load(Path(env_file).read_text())
    bad = []
    for dep in spec.get("dependencies", []):
        for item in dep.get("pip", []) if isinstance(dep, dict) else [dep]:
            if item.startswith(("-e", ".", "/", "file:")) or ".." in item:
                bad.append(item)
    return bad


def unsatisfied(rules_dir: Path, package_dir: Path) -> dict[str, set[str]]:
    """rule -> distributions its script needs that its env does not list (empty: fine)."""
    missing = {}
    for r in rule_envs(rules_dir):
        lacking = required_distributions(r.script, package_dir) - env_packages(r.env)
        if lacking:
            missing[r.rule] = lacking
    return missing
