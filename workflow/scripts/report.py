"""Write Snakemake's HTML report for this run (a nested, read-only snakemake call)."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from cxr_cbir import runlog

log = runlog.setup(snakemake.log[0])
out = Path(snakemake.output[0])
cfg = out.parent / ".report-config.yaml"
cfg.write_text(yaml.safe_dump(dict(snakemake.params.config), sort_keys=False))
tmp = out.parent / f".{out.stem}.part.html"
cmd = [
    sys.executable,
    "-m",
    "snakemake",
    "--snakefile",
    str(snakemake.params.snakefile),
    "--directory",
    os.getcwd(),
    "--configfile",
    str(cfg),
    "--report",
    str(tmp),
    "--nolock",
    "--cores",
    "1",
]
log.info("running %s", " ".join(cmd))
proc = subprocess.run(cmd, capture_output=True, text=True)
log.info("%s\n%s", proc.stdout, proc.stderr)
if proc.returncode != 0 or not tmp.exists():
    raise SystemExit(f"report generation failed (exit {proc.returncode}); see {snakemake.log[0]}")
os.replace(tmp, out)
cfg.unlink()
