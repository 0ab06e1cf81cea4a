"""Run the workflow from a test: repo paths, a snakemake runner, its dry-run plan, configs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = REPO / "tests" / "config" / "tiny.yaml"


def run_snakemake(
    workdir: Path, configfile: Path, *args: str, check: bool = True, snakefile: Path | None = None
):
    """Run the workflow in ``workdir`` with ``configfile``; return the completed process."""
    cmd = [
        *SNAKEMAKE,
        *args,
        "--snakefile",
        str(snakefile or REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        "--resources",
        "gpu=1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run into {rule: count}.

    ``{}`` only when Snakemake says there is nothing to be done; output in any other
    shape (Snakemake changed its wording) fails, so that "nothing reruns" can never pass
    because the table was not found.
    """
    if "Job stats:" not in output:
        if "Nothing to be done" in output:
            return {}
        raise AssertionError(f"no 'Job stats' table in the dry run output:\n{output[-3000:]}")
    jobs: dict[str, int] = {}
    table = output.split("Job stats:", 1)[1]
    lines = table.splitlines()
    if len(lines) < 4 or not re.match(r"^job\s+count$", lines[1].strip()):
        raise AssertionError(f"unexpected 'Job stats' table:\n{table[:2000]}")
    for line in lines[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) == "total":
            if sum(jobs.values()) != int(m.group(2)):
                raise AssertionError(f"job counts do not add up to the total:\n{table[:2000]}")
            return jobs
        jobs[m.group(1)] = int(m.group(2))
    raise AssertionError(f"'Job stats' table without a total row:\n{table[:2000]}")


def write_config(base: Path, dest: Path, drop=(), **changes) -> Path:
    """Copy a YAML config without the top-level keys in ``drop`` and with ``changes``
    (``a__b=1`` sets a.b)."""
    cfg = yaml.safe_load(base.read_text())
    for key in drop:
        cfg.pop(key, None)
    for key, value in changes.items():
        node = cfg
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest
