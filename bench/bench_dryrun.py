"""`snakemake -n` on a finished run: how long a user waits to learn nothing reruns.

    .venv/bin/python bench/bench_dryrun.py [--directory .] [--configfile config/config.yaml]

Run it after `make demo` (goal <= 5 s). Prints the wall time of each of --repeats dry
runs and the number of jobs planned (0 on a finished run).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--directory", default=str(REPO))
    ap.add_argument("--configfile", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", args.directory, "--configfile", args.configfile, "--cores", "2"]
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            sys.exit(proc.stdout[-2000:] + proc.stderr[-2000:])
    out = proc.stdout + proc.stderr
    m = re.search(r"^total\s+(\d+)", out, re.M)
    planned = int(m.group(1)) if m else 0
    print(
        f"snakemake -n: {', '.join(f'{t:.2f}' for t in times)} s; best {min(times):.2f} s "
        f"(goal <= 5 s); jobs planned: {planned}"
    )


if __name__ == "__main__":
    main()
