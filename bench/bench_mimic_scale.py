"""MIMIC-size metadata stages and the plan of a full MIMIC-size run (no images).

    .venv/bin/python bench/bench_mimic_scale.py [--films 377110] [--workdir DIR] [--cores 2]

Writes the three MIMIC-CXR-JPG 2.0.0 CSVs with 377,110 rows (``cxr_cbir.data.demo.mimic_scale``)
under WORKDIR, then, with `config/mimic.yaml` pointed at them:

1. runs the metadata stages (manifest, split, view and label filters of both
   conditions, cache list) with Snakemake and prints each job's wall time and peak
   memory from its `benchmark:` file;
2. times `snakemake -n` of the whole run with the shipped shard counts and prints the
   number of jobs it plans, per rule.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from cxr_cbir.data.demo.mimic_scale import MIMIC_FILMS, write_mimic_metadata  # noqa: E402

RUN = "mimic-scale"


def snakemake(workdir: Path, config: Path, *args: str) -> tuple[float, str]:
    # targets first: --configfile takes several values and would swallow them
    cmd = [sys.executable, "-m", "snakemake", *args, "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(config)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, proc.stdout + proc.stderr


def planned_jobs(out: str) -> dict[str, int]:
    """The job-stats table of a dry run: rule -> count (with 'total')."""
    jobs = {}
    for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:")[-1], re.M):
        jobs[m.group(1)] = int(m.group(2))
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--films", type=int, default=MIMIC_FILMS)
    ap.add_argument("--workdir", default=None, help="kept when given (default: a temp dir)")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mimic-scale-"))
    archive = workdir / "archive"
    t = time.perf_counter()
    counts = write_mimic_metadata(archive, n_films=args.films)
    print(
        f"wrote {counts['films']:,} films / {counts['studies']:,} studies / "
        f"{counts['patients']:,} patients in {time.perf_counter() - t:.1f} s ({archive})"
    )
    masks = workdir / "lung-masks"
    masks.mkdir(exist_ok=True)
    (masks / "metadata.csv").touch()  # the plan needs the file, the metadata stages do not
    cfg = yaml.safe_load((REPO / "config" / "mimic.yaml").read_text())
    cfg["run"] = RUN
    cfg["data"]["root"] = str(archive)
    cfg["segmentation"]["masks_root"] = str(masks)
    config = workdir / "mimic-scale.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))

    out = f"results/{RUN}"
    targets = [f"{out}/cache/images.parquet"]
    wall, _ = snakemake(workdir, config, *targets, "--cores", str(args.cores))
    print(f"\nmetadata stages, {args.cores} cores: {wall:.1f} s wall (snakemake start included)")
    print(f"{'job':<34}{'wall s':>9}{'peak MB':>10}  rows out")
    for tsv in sorted((workdir / out / "benchmarks").glob("*.tsv")):
        b = pd.read_csv(tsv, sep="\t").iloc[-1]
        print(
            f"{tsv.stem:<34}{b['s']:>9.1f}{b['max_rss']:>10.0f}  {_rows(workdir / out, tsv.stem)}"
        )

    times = []
    for _ in range(2):
        t_plan, plan = snakemake(workdir, config, "-n", "--cores", str(args.cores))
        times.append(t_plan)
    jobs = planned_jobs(plan)
    print(
        f"\nsnakemake -n of the whole run (shipped shard counts): {jobs.get('total', 0):,} jobs "
        f"planned in {min(times):.1f} s (best of {len(times)}: "
        f"{', '.join(f'{x:.1f}' for x in times)} s)"
    )
    for rule, n in sorted(jobs.items(), key=lambda kv: -kv[1]):
        if rule != "total":
            print(f"  {rule:<26}{n:>6}")


def _rows(out: Path, job: str) -> str:
    """Rows of the table a metadata job wrote (for the printout)."""
    files = {
        "manifest": out / "data/manifest.parquet",
        "split": out / "data/split.parquet",
        "cache_list": out / "cache/images.parquet",
    }
    m = re.match(r"(view_filter|label_filter)_(\w+)", job)
    if m:
        kind = "views" if m.group(1) == "view_filter" else "labels"
        files[job] = out / f"data/{m.group(2)}/{kind}.parquet"
    path = files.get(job)
    return f"{len(pd.read_parquet(path, columns=[])):,}" if path and path.exists() else ""


if __name__ == "__main__":
    main()
