"""The tiny config through SLURM (snakemake-executor-plugin-slurm) on a single-node
cluster started on localhost: every result table equals the local run's.

The SLURM run takes about 11 minutes on an idle 2-core machine (the executor polls job
states at growing intervals), after the ~5-minute local run it is compared with: too long
for CI, so it runs with `make test-slurm` (CXR_RUN_SLURM=1), not in `make test`. Needs
root and Debian's apt: tests/slurm/cluster.sh installs slurm-wlm and munge and starts the
daemons.
"""

import os
import shutil
import subprocess
import time

import pandas as pd
import pytest
from support.workflow import REPO, SNAKEMAKE

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
TABLES = [
    "evaluation/ndcg.csv",
    "evaluation/ndcg_summary.csv",
    "classification/metrics.csv",
    "retrieval/recall_at_k.csv",
    "retrieval/knn_diagnosis.csv",
    "segmentation/dice.csv",
    "prognosis/auc.csv",
    "data/counts.csv",
]


@pytest.fixture(scope="module")
def cluster():
    if os.environ.get("CXR_RUN_SLURM") != "1":
        pytest.skip("SLURM end-to-end test: run `make test-slurm` (sets CXR_RUN_SLURM=1)")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("the SLURM test needs root and apt-get to install slurm-wlm and munge")
    subprocess.run(["bash", str(CLUSTER), "start"], check=True)
    yield
    subprocess.run(["bash", str(CLUSTER), "stop"], check=False)


def test_tiny_config_through_slurm_equals_the_local_run(cluster, tiny_run, tmp_path):
    shutil.copy(tiny_run / "tiny.yaml", tmp_path / "tiny.yaml")
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "tiny.yaml"),
        "--jobs",
        "4",
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    minutes = (time.monotonic() - start) / 60
    print(f"SLURM run of the tiny config: {minutes:.1f} min")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    log = proc.stdout + proc.stderr
    assert "submitted with SLURM jobid" in log  # really went through sbatch
    for rule in ("train_classifier", "saliency_shard", "embed_shard", "seg_train", "train_metric"):
        assert f"slurm_logs/rule_{rule}/" in log, f"{rule} was not submitted to SLURM"
    local, remote = tiny_run / "results/tiny", tmp_path / "results/tiny"
    for table in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_csv(local / table), pd.read_csv(remote / table), obj=table
        )
    for path in sorted((local / "rankings").rglob("*.csv")):
        rel = path.relative_to(local)
        pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(remote / rel), obj=str(rel))
