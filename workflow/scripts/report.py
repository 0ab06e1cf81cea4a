"""Write Snakemake's HTML report for this run (a nested, read-only snakemake call), with
a front page built from this run's own result tables."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from cxr_cbir import runlog
from cxr_cbir.front_page import front_page

log = runlog.setup(snakemake.log[0])
out = Path(snakemake.output[0])
cfg = out.parent / ".report-config.yaml"
config = dict(snakemake.params.config)
config["report"] = dict(config["report"]) | {
    "front_page": front_page(
        config,
        pd.read_csv(snakemake.input.ci),
        pd.read_csv(snakemake.input.verdicts),
        pd.read_csv(snakemake.input.counts),
        pd.read_csv(snakemake.input.auc[0]) if snakemake.input.auc else None,
    )
}
cfg.write_text(yaml.safe_dump(config, sort_keys=False))
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
try:
    proc = subprocess.run(cmd, capture_output=True, text=True)
finally:
    cfg.unlink(missing_ok=True)  # never left behind, whatever the nested run did
log.info("%s\n%s", proc.stdout, proc.stderr)
if proc.returncode != 0 or not tmp.exists():
    tmp.unlink(missing_ok=True)
    raise SystemExit(f"report generation failed (exit {proc.returncode}); see {snakemake.log[0]}")
os.replace(tmp, out)
