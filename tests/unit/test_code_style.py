"""ruff and snakefmt are clean."""

import shutil
import subprocess
import sys
from pathlib import Path

from support.workflow import REPO

BIN = Path(sys.executable).parent


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)


def test_ruff_clean():
    proc = _run([str(BIN / "ruff"), "check", "src", "workflow/scripts", "tests", "bench"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_clean():
    exe = BIN / "snakefmt" if (BIN / "snakefmt").exists() else shutil.which("snakefmt")
    proc = _run([str(exe), "--check", "Snakefile", "workflow/rules"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
