"""MIMIC-scale readiness and packaging: every rule logged and benchmarked, every submitted
rule resourced in the SLURM profile, conda envs that provide what each rule imports, the
MIMIC-size plan with the shipped shard counts, the catalog file, the report's temporary
config."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from support.workflow import REPO, TINY, planned_jobs, run_snakemake

from cxr_cbir.data.archive.mimic import read_mimic
from cxr_cbir.data.demo.mimic_scale import write_mimic_metadata
from cxr_cbir.errors import InputError
from cxr_cbir.report.report_job import CONFIG_PREFIX, write_report
from cxr_cbir.run.conda_envs import env_packages, local_paths, rule_blocks, rule_envs, unsatisfied

RULES = REPO / "workflow" / "rules"
PKG = REPO / "src" / "cxr_cbir"


def _rule_blocks() -> dict[str, str]:
    return {name: block for name, (_, block) in rule_blocks(RULES).items()}


def _local_rules() -> set[str]:
    text = (REPO / "Snakefile").read_text()
    block = text.split("localrules:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"(\w+),", block))


def test_every_rule_has_a_log_a_benchmark_and_a_conda_env():
    blocks = _rule_blocks()
    assert len(blocks) > 40
    for name, block in blocks.items():
        for directive in ("log:", "benchmark:", "conda:", "script:"):
            assert f"\n    {directive}" in block or f"\n        {directive}" in block, (
                f"rule {name} has no {directive}"
            )


def test_the_slurm_profile_resources_every_submitted_rule():
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    submitted = set(_rule_blocks()) - _local_rules()
    assert {"seg_apply", "lung_mask_shard", "cache_gather", "train_classifier"} <= submitted
    resources = profile["set-resources"]
    assert set(resources) == submitted, (
        f"not resourced: {sorted(submitted - set(resources))}; "
        f"unknown rules: {sorted(set(resources) - submitted)}"
    )
    for rule, res in resources.items():
        assert {"runtime", "mem_mb"} <= set(res), rule
        assert "attempt" in str(res["runtime"]) and "attempt" in str(res["mem_mb"]), rule
    # the gathers scale with what they read
    for rule in ("cache_gather", "lung_mask_gather", "saliency", "embed", "embedding_index"):
        assert "input.size_mb" in str(resources[rule]["runtime"]) + str(resources[rule]["mem_mb"])


def test_the_slurm_profile_resources_evaluate_in_snakemake(tmp_path):
    """Snakemake itself evaluates the profile's expressions (a dry run of the tiny config
    with the profile's resources, the local executor in place of SLURM)."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    keep = {k: profile[k] for k in ("retries", "default-resources", "set-resources")}
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(yaml.safe_dump(keep))
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY.read_text())
    out = run_snakemake(tmp_path, cfg, "-n", "--workflow-profile", str(tmp_path / "profile")).stdout
    got = {}
    for m in re.finditer(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", out, re.M):
        res = dict(kv.split("=", 1) for kv in m.group(2).split(", "))
        got[m.group(1)] = res
    assert got["seg_train"]["runtime"] == "480" and got["seg_train"]["mem_mb"] == "16000"
    assert got["train_classifier"]["runtime"] == "720"
    assert got["seg_apply"]["runtime"] == "60" and got["lung_mask_shard"]["mem_mb"] == "4000"
    # inputs not made yet: evaluated when the job is ready
    assert got["cache_gather"]["runtime"] == "<TBD>"


def test_conda_envs_provide_every_rule_import_and_name_no_local_path():
    envs = rule_envs(RULES)
    assert {r.rule for r in envs} == set(_rule_blocks())
    assert unsatisfied(RULES, PKG) == {}
    for env in (REPO / "envs").glob("*.yaml"):
        assert local_paths(env) == [], env
    data = env_packages(REPO / "envs" / "data.yaml")
    assert "torch" not in data and "torchvision" not in data
    torch_env = env_packages(REPO / "envs" / "torch.yaml")
    assert "torch" in torch_env
    data_rules = {r.rule for r in envs if r.env.name == "data.yaml"}
    assert {"manifest", "cache_shard", "lung_mask_shard", "rank_ssim", "report"} <= data_rules


def test_the_env_check_finds_a_missing_package(tmp_path):
    rules, scripts, envs = tmp_path / "rules", tmp_path / "scripts", tmp_path / "envs"
    for d in (rules, scripts, envs):
        d.mkdir()
    (scripts / "a.py").write_text(
        "import torch\nfrom cxr_cbir.preprocess.decode import load_gray\n"
    )
    (envs / "e.yaml").write_text("dependencies:\n  - numpy\n  - pip\n  - pip:\n      - -e ..\n")
    (rules / "a.smk").write_text(
        'rule a:\n    conda:\n        "../envs/e.yaml"\n    script:\n        "../scripts/a.py"\n'
    )
    missing = unsatisfied(rules, PKG)
    assert missing["a"] >= {"torch", "pillow"}  # pillow: through cxr_cbir.preprocess.decode
    assert local_paths(envs / "e.yaml") == ["-e .."]


def test_the_catalog_file_and_readme_describe_conda_deployment():
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
    assert catalog["usage"]["report"] is True
    readme = (REPO / "README.md").read_text()
    assert "--software-deployment-method conda" in readme
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


def test_mimic_size_metadata_reads_as_mimic(tmp_path):
    counts = write_mimic_metadata(tmp_path, n_films=3000, seed=1)
    df = read_mimic(str(tmp_path))
    assert len(df) == 3000 and df["image_id"].is_unique
    assert df["subject_id"].nunique() == counts["patients"]
    assert df["study_id"].nunique() == counts["studies"]
    shares = df["view"].value_counts(normalize=True)
    assert 0.35 < shares["AP"] < 0.43 and 0.22 < shares["PA"] < 0.30
    # the official split is by patient
    assert (df.groupby("subject_id")["split_official"].nunique() == 1).all()
    assert set(df["Pleural Effusion"].dropna().unique()) == {1.0, 0.0, -1.0}


def test_a_mimic_size_plan_has_the_shipped_shard_counts(tmp_path):
    write_mimic_metadata(tmp_path / "archive", n_films=2000, seed=2)
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "metadata.csv").touch()
    cfg = yaml.safe_load((REPO / "config" / "mimic.yaml").read_text())
    cfg["data"]["root"] = str(tmp_path / "archive")
    cfg["segmentation"]["masks_root"] = str(tmp_path / "masks")
    path = tmp_path / "mimic.yaml"
    path.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(run_snakemake(tmp_path, path, "-n").stdout)
    n_cond, n_methods = len(cfg["conditions"]), len(cfg["models"]["methods"])
    assert jobs["cache_shard"] == cfg["preprocess"]["shards"] == 200
    assert jobs["seg_apply"] == jobs["lung_mask_shard"] == cfg["segmentation"]["shards"]
    assert jobs["saliency_shard"] == n_cond * cfg["models"]["shards"]
    assert jobs["embed_shard"] == n_cond * n_methods * cfg["models"]["shards"]
    assert jobs["seg_gather"] == jobs["lung_mask_gather"] == jobs["cache_gather"] == 1
    # the lung shards follow their own key
    cfg["segmentation"]["shards"] = 7
    path.write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(run_snakemake(tmp_path, path, "-n").stdout)
    assert jobs["seg_apply"] == jobs["lung_mask_shard"] == 7 and jobs["cache_shard"] == 200


def _leftover_configs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{CONFIG_PREFIX}*")}


class _Log:
    def info(self, *args):
        pass


def test_a_failed_report_job_leaves_no_config_and_no_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _leftover_configs()
    (tmp_path / "Snakefile").write_text("raise ValueError('broken workflow')\n")
    out = tmp_path / "results" / "report.html"
    out.parent.mkdir()
    (out.parent / ".report-config.yaml").write_text("left by an old version")
    with pytest.raises(InputError, match="report generation failed"):
        write_report({"run": "x"}, str(tmp_path / "Snakefile"), out, _Log())
    assert _leftover_configs() == before
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_a_killed_report_job_leaves_no_config(tmp_path):
    """SIGTERM (what Snakemake sends a job it stops) while the nested run works."""
    before = _leftover_configs()
    (tmp_path / "Snakefile").write_text("import time\ntime.sleep(60)\n")
    (tmp_path / "results").mkdir()
    code = (
        "import logging, sys; from cxr_cbir.report.report_job import write_report; "
        f"write_report({{'run': 'x'}}, {str(tmp_path / 'Snakefile')!r}, "
        f"{str(tmp_path / 'results' / 'report.html')!r}, logging.getLogger())"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    deadline = time.monotonic() + 30
    while not (_leftover_configs() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftover_configs() - before, "the job never wrote its temporary config"
    time.sleep(1.0)  # the nested snakemake is running
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert _leftover_configs() == before
    assert list((tmp_path / "results").iterdir()) == []
