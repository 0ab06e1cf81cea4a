"""Snakemake's HTML report written by a job: a nested, read-only ``snakemake --report``.

The nested run needs the run's config with the front page added, so a temporary config
file exists while it runs. It lives in the system's temp folder, never beside the
results, and is removed whatever happens: on success, on failure of the nested run, and
when Snakemake stops the job (SIGTERM becomes SystemExit, so ``finally`` runs). Only a
SIGKILL can leave it, and then in the temp folder, not in ``results/<run>/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from cxr_cbir.errors import InputError

CONFIG_PREFIX = "cxr-cbir-report-config-"


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def write_report(config: dict, snakefile: str, out: str | os.PathLike, log) -> None:
    """Write the report of ``config``'s run to ``out`` (atomically: a failed run leaves
    no report that looks complete)."""
    out = Path(out)
    (out.parent / ".report-config.yaml").unlink(missing_ok=True)  # left by older versions
    previous = signal.signal(signal.SIGTERM, _terminate)
    fd, cfg = tempfile.mkstemp(prefix=CONFIG_PREFIX, suffix=".yaml")
    tmp = out.parent / f".{out.stem}.part.html"
    try:
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(config, fh, sort_keys=False)
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile)]
        cmd += ["--directory", os.getcwd(), "--configfile", cfg, "--report", str(tmp)]
        cmd += ["--nolock", "--cores", "1"]
        log.info("running %s", " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        log.info("%s\n%s", proc.stdout, proc.stderr)
        if proc.returncode != 0 or not tmp.exists():
            raise InputError(
                f"report generation failed (exit {proc.returncode}): {proc.stderr[-1500:]}"
            )
        os.replace(tmp, out)
    finally:
        Path(cfg).unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
