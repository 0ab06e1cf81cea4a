"""End-to-end: the tiny config runs the whole workflow; reruns plan only what changed."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from support.workflow import REPO, planned_jobs, run_snakemake, write_config

pytestmark = pytest.mark.slow


def test_tiny_run_writes_the_result_contract(tiny_run):
    out = tiny_run / "results" / "tiny"
    ndcg = pd.read_csv(out / "evaluation/ndcg.csv", dtype={"query_id": str})
    assert list(ndcg.columns) == ["condition", "method", "query_id", "k", "ndcg"]
    assert set(ndcg["method"]) == {
        "ssim",
        "random",
        "rater:R2",
        "cnn",
        "ig",
        "att",
        "cnn_ig",
        "cnn_sev",
        "sev",
        "dml",
        "ce",
    }
    assert set(ndcg["condition"]) == {"effusion", "pneumonia"}
    assert set(ndcg["k"]) == {6, 3}
    assert ndcg["ndcg"].between(0, 1).all()
    assert ndcg.groupby(["condition", "method", "k"]).size().eq(8).all()  # 8 queries each
    counts = pd.read_csv(out / "data/counts.csv")
    assert list(counts.columns) == ["condition", "split", "label", "n"]
    assert (counts["n"] > 0).all()
    # one row per condition x split x label, and the rows add up to each cohort
    assert not counts.duplicated(["condition", "split", "label"]).any()
    for condition in ("effusion", "pneumonia"):
        cohort = pd.read_parquet(out / f"data/{condition}/cohort.parquet")
        mine = counts[counts["condition"] == condition]
        assert set(mine["split"]) == {"train", "validate", "test"}, condition
        assert set(mine["label"]) == {0, 1}, condition
        expected = cohort.groupby(["split", "label"]).size()
        assert (
            mine.set_index(["split", "label"])["n"]
            .sort_index()
            .equals(expected.sort_index().rename("n"))
        ), condition
    html = (out / "report.html").read_text(errors="ignore")
    assert len(html) > 100_000 and "ndcg_boxplot.png" in html and "counts.csv" in html


def test_demo_archive_has_mimic_layout(tiny_run):
    root = tiny_run / "results/tiny/archive"
    meta = pd.read_csv(root / "mimic-cxr-2.0.0-metadata.csv.gz", dtype=str)
    assert list(meta.columns)[:6] == [
        "dicom_id",
        "subject_id",
        "study_id",
        "PerformedProcedureStepDescription",
        "ViewPosition",
        "Rows",
    ]
    assert set(meta["ViewPosition"]) == {"PA", "AP", "LATERAL"}
    r = meta.iloc[0]
    jpeg = root / f"files/p{r.subject_id[:2]}/p{r.subject_id}/s{r.study_id}/{r.dicom_id}.jpg"
    assert jpeg.is_file() and jpeg.read_bytes()[:2] == b"\xff\xd8"  # a JPEG, where MIMIC has it
    labels = pd.read_csv(root / "mimic-cxr-2.0.0-chexpert.csv.gz")
    for column in ("Pleural Effusion", "Pneumonia"):
        values = labels[column]
        assert set(values.dropna().unique()) == {1.0, 0.0, -1.0}, column
        assert values.isna().any(), f"{column}: no blank labels"
    split = pd.read_csv(root / "mimic-cxr-2.0.0-split.csv.gz")
    assert list(split.columns) == ["dicom_id", "study_id", "subject_id", "split"]


def test_broken_demo_images_are_listed_not_dropped_silently(tiny_run):
    out = tiny_run / "results/tiny"
    truth = pd.read_csv(out / "archive/sidecar/truth.csv", dtype=str, keep_default_na=False)
    broken = truth[truth["broken"] != ""]
    rejected = pd.read_csv(out / "data/rejected.csv", dtype=str)
    needed = set(pd.read_parquet(out / "cache/images.parquet")["image_id"])
    expected = set(broken["dicom_id"]) & needed
    assert expected and set(rejected["image_id"]) == expected
    reasons = dict(zip(rejected["image_id"], rejected["reason"], strict=True))
    for r in broken.itertuples():
        if r.dicom_id in expected:
            assert reasons[r.dicom_id].startswith(r.broken)


def test_nothing_to_do_after_a_complete_run(tiny_run):
    proc = run_snakemake(tiny_run, tiny_run / "tiny.yaml", "-n")
    assert planned_jobs(proc.stdout) == {}


def test_changing_ndcg_cutoffs_reruns_only_evaluation_and_report(tiny_run, tmp_path):
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "changed.yaml", evaluation__ndcg_k=[5, 2]
    )
    proc = run_snakemake(tiny_run, changed, "-n")
    # the severity ceiling tabulates the same cut-offs
    assert planned_jobs(proc.stdout) == SCORING_JOBS | {"severity_ceiling": 1}


def test_changing_image_size_reruns_cache_and_everything_after(tiny_run, tmp_path):
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "changed.yaml", preprocess__image_size=48
    )
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    assert jobs["cache_shard"] == 2 and jobs["rank_ssim"] == 2
    assert "manifest" not in jobs and "demo_archive" not in jobs and "label_filter" not in jobs


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_tiny_run_segments_and_masks(tiny_run):
    out = tiny_run / "results/tiny"
    dice = pd.read_csv(out / "segmentation/dice.csv")
    assert list(dice.columns) == ["member", "image", "dice"]
    assert set(dice["member"]) == {"unet_b0", "fpn_b0", "ensemble"}
    assert dice.groupby("member").size().eq(8).all()
    assert dice["dice"].between(0, 1).all()
    # the same films per source (the demo's phantoms are one source), with intervals
    by_source = pd.read_csv(out / "segmentation/dice_by_source.csv")
    assert list(by_source.columns) == ["source", "member", "image", "dice"]
    merged = by_source.merge(dice, on=["member", "image"], suffixes=("", "_all"))
    assert len(merged) == len(dice) and (merged["dice"] == merged["dice_all"]).all()
    summary = pd.read_csv(out / "segmentation/dice_source_summary.csv")
    assert set(summary["source"]) == {"demo"}
    assert summary["comparison"].value_counts().to_dict() == {
        "dice": 3,
        "ensemble - best member": 1,
    }
    means = dice.groupby("member")["dice"].mean()
    for r in summary[summary["comparison"] == "dice"].itertuples():
        assert abs(r.mean - means[r.member]) < 1e-4 and r.ci_low <= r.mean <= r.ci_high
    # weights chosen on validation pairs (ensemble: selected): never below the best member
    ens = pd.read_csv(out / "segmentation/ensemble.csv")
    assert ens["member"].tolist() == ["unet_b0", "fpn_b0", "ensemble"]
    weights = ens.set_index("member")["weight"]
    assert (weights >= 0).all() and weights["ensemble"] == weights[["unet_b0", "fpn_b0"]].sum() > 0
    val = ens.set_index("member")["validation_dice"]
    assert val["ensemble"] >= val[["unet_b0", "fpn_b0"]].max() - 1e-4
    settings = json.loads((out / "index/settings.json").read_text())
    assert settings["segmentation"]["flips"] is True
    assert settings["segmentation"]["ensemble"].endswith("segmentation/ensemble.csv")
    base = np.load(out / "cache/images.npy")
    masked = np.load(out / "cache/lung-crop+mask/images.npy")
    assert masked.shape == base.shape
    assert (masked == 0).mean() > (base == 0).mean()  # outside the lungs is blacked out
    assert not (out / "segmentation/members/unet_b0/checkpoint.pt").exists()


MODEL_JOBS = {
    "train_classifier": 6,
    "saliency_shard": 4,  # 2 conditions x models.shards 2
    "saliency": 2,
    "embed_shard": 16,  # cnn, ig, att, cnn_ig x 2 conditions x 2 shards
    "embed": 8,
    "severity_readout": 2,  # cnn_sev: the CNN's features -> severity, per condition
    "pretrain": 1,  # every film recording a finding, all at once: it starts sev
    "train_severity": 2,  # sev: a DenseNet-121 trained on the scores, per condition
    "severity_eval": 1,  # held-out r and MAE of sev and cnn_sev
    "rank_embedding": 16,  # cnn, ig, att, cnn_ig, cnn_sev, sev, dml, ce x 2 conditions
    "embedding_index": 14,
    "query_settings": 1,
    "classification_report": 1,
    "learning_curves": 1,
    "train_metric": 2,
    "embed_metric_shard": 2,
    "embed_metric": 2,
    "retrieval_eval": 1,
    "attention_gallery": 1,
    "prognosis": 1,
}
# what reruns once any catalogue ranking changes: scores, intervals, verdicts, report
SCORING_JOBS = {"ndcg": 1, "ndcg_plot": 1, "ndcg_stats": 1, "verdicts": 1, "report": 1, "all": 1}
RETRIEVAL_JOBS = {"rank_ssim": 2, "topk_panel": 2} | SCORING_JOBS
# the masked cache: scattered over the tiny config's 2 segmentation shards, gathered
LUNG_CACHE_JOBS = {"lung_mask_shard": 2, "lung_mask_gather": 1}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("none", MODEL_JOBS | RETRIEVAL_JOBS),
        ("crop", LUNG_CACHE_JOBS | MODEL_JOBS | RETRIEVAL_JOBS),
    ],
)
def test_lung_mask_switch_reruns_only_its_dependants(tiny_run, tmp_path, mode, expected):
    changed = write_config(tiny_run / "tiny.yaml", tmp_path / "changed.yaml", lung_mask=mode)
    assert planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout) == expected


def test_intensity_switch_reruns_the_masked_cache_not_the_decode(tiny_run, tmp_path):
    """Equalisation is the last step of the cache the models read (the lung-masked one
    here): the decode and the lung masks stay, everything that reads the cache reruns."""
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "changed.yaml", preprocess__intensity="equalize"
    )
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    assert jobs == LUNG_CACHE_JOBS | MODEL_JOBS | RETRIEVAL_JOBS


def test_member_list_change_retrains_only_the_new_member(tiny_run, tmp_path):
    cfg = yaml.safe_load((tiny_run / "tiny.yaml").read_text())
    members = cfg["segmentation"]["members"] | {
        "manet_b0": {"arch": "MAnet", "encoder": "efficientnet-b0"}
    }
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "c.yaml", segmentation__members=members
    )
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    seg = {"seg_train": 1, "seg_probs": 1, "seg_select": 1, "seg_evaluate": 1}
    seg |= {"seg_apply": 2, "seg_gather": 1}
    assert jobs == seg | LUNG_CACHE_JOBS | MODEL_JOBS | RETRIEVAL_JOBS


def _seg_train_start_order(workdir: Path) -> list[str]:
    """Members in the order the run that trained them started their seg_train jobs."""
    for log in sorted((workdir / ".snakemake/log").glob("*.snakemake.log")):
        text = log.read_text()
        blocks = text.split("rule seg_train:")[1:]
        if blocks:
            return [re.search(r"wildcards: member=(\S+)", b).group(1) for b in blocks]
    raise AssertionError("no run log with seg_train jobs")


def test_member_priority_orders_training_and_reruns_nothing(tiny_run, tmp_path):
    # tiny.yaml gives unet_b0 priority 1 (Snakemake alone starts fpn_b0, listed second,
    # first); with one gpu slot the members train one after the other
    assert _seg_train_start_order(tiny_run) == ["unet_b0", "fpn_b0"]
    cfg = yaml.safe_load((tiny_run / "tiny.yaml").read_text())
    members = {
        name: {k: v for k, v in spec.items() if k != "priority"} | {"priority": 5}
        for name, spec in cfg["segmentation"]["members"].items()
    }
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "c.yaml", segmentation__members=members
    )
    # scheduling only: no member retrains; the report, which shows the config, is rewritten
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    assert jobs == {"report": 1, "all": 1}


def test_baseline_iterations_retrain_only_the_metric_models(tiny_run, tmp_path):
    out = tiny_run / "results/tiny/models/metric"
    # tiny.yaml: the ce baseline 2 iterations, the dml network 4
    assert pd.read_csv(out / "ce/history.csv")["iteration"].max() == 2
    assert pd.read_csv(out / "dml/history.csv")["iteration"].max() == 4
    changed = write_config(
        tiny_run / "tiny.yaml", tmp_path / "c.yaml", metric_learning__baseline_iterations=4
    )
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    assert jobs["train_metric"] == 2  # ce, and dml which starts from its trunk
    assert not {"seg_train", "train_classifier", "saliency_shard"} & set(jobs)
    # the dml model's own rate retrains the dml model only, not the ce baseline
    changed = write_config(tiny_run / "tiny.yaml", tmp_path / "d.yaml", metric_learning__lr=2e-4)
    dry = run_snakemake(tiny_run, changed, "-n").stdout
    assert planned_jobs(dry)["train_metric"] == 1
    assert "mlmodel=dml" in dry and "mlmodel=ce" not in dry


def test_saliency_setting_reruns_saliency_ig_embeddings_ranking_report(tiny_run, tmp_path):
    changed = write_config(
        tiny_run / "tiny.yaml",
        tmp_path / "c.yaml",
        models__saliency={"method": "input_x_gradient", "batch_size": 8},
    )
    jobs = planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout)
    assert (
        jobs
        == {
            "saliency_shard": 4,
            "saliency": 2,
            "train_classifier": 2,
            "embed_shard": 8,
            "embed": 4,
            "embedding_index": 4,
            "query_settings": 1,  # the query command computes maps with the same method
            "rank_embedding": 4,
            "classification_report": 1,
            "learning_curves": 1,
            "topk_panel": 2,
        }
        | SCORING_JOBS
    )


def test_report_only_setting_reruns_only_the_report(tiny_run, tmp_path):
    changed = write_config(tiny_run / "tiny.yaml", tmp_path / "c.yaml", report__title="Ward 7")
    assert planned_jobs(run_snakemake(tiny_run, changed, "-n").stdout) == {"report": 1, "all": 1}


def _workflow_copy(dest):
    """The workflow's tracked sources (Snakefile, workflow/, src/) copied with their
    mtimes, so that a test can edit a module without touching the checkout."""
    for name in ("workflow", "src"):
        shutil.copytree(
            REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    shutil.copy2(REPO / "Snakefile", dest / "Snakefile")
    return dest


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("evaluation/knn.py", {"retrieval_eval": 1, "verdicts": 1}),
        (
            "retrieval/ssim.py",
            {"rank_ssim": 2, "topk_panel": 2, "ndcg": 1, "ndcg_plot": 1}
            | {"ndcg_stats": 1, "verdicts": 1},
        ),
        # imported by no script, only by evaluation/ndcg_tables.py, which the ndcg script
        # imports, and by evaluation/severity_ceiling.py (the exact chance level)
        (
            "evaluation/ndcg.py",
            {"ndcg": 1, "ndcg_plot": 1, "ndcg_stats": 1, "verdicts": 1, "severity_ceiling": 1},
        ),
    ],
)
def test_editing_package_code_reruns_the_rules_that_import_it(tiny_run, tmp_path, module, expected):
    """The modules a rule imports, directly or through other modules, are its inputs: an
    edited module reruns that rule and its dependants only.

    A bare touch of the checkout's module (same bytes, newer mtime; the mtime is put
    back) is not an edit: Snakemake compares the recorded checksum and plans nothing.
    The edit itself is made in a copy of the workflow, never in the checkout. The copy's
    modules sit at other paths than the ones the run recorded, so only the mtime trigger
    is asked there (the input-set trigger would see new paths)."""
    path = REPO / "src" / "cxr_cbir" / module
    before = path.stat()
    try:
        os.utime(path, (before.st_atime, before.st_mtime + 3600 * 24 * 365))
        touched = planned_jobs(run_snakemake(tiny_run, tiny_run / "tiny.yaml", "-n").stdout)
    finally:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert touched == {}

    copy = _workflow_copy(tmp_path / "repo")

    def plan():
        proc = run_snakemake(
            tiny_run,
            tiny_run / "tiny.yaml",
            "-n",
            "--rerun-triggers",
            "mtime",
            snakefile=copy / "Snakefile",
        )
        return planned_jobs(proc.stdout)

    assert plan() == {}  # the copy, mtimes kept, is up to date
    edited = copy / "src" / "cxr_cbir" / module
    edited.write_bytes(edited.read_bytes() + b"\n# an edit that changes the module's checksum\n")
    assert plan() == expected | {"report": 1, "all": 1}
    assert path.read_bytes() != edited.read_bytes()  # the checkout was never edited


def test_every_method_ranks_every_catalogue(tiny_run):
    out = tiny_run / "results/tiny"
    methods = ["ssim", "random", "cnn", "ig", "att", "cnn_ig", "cnn_sev", "sev", "dml", "ce"]
    for cond in ("effusion", "pneumonia"):
        expert = pd.read_csv(out / f"catalogues/{cond}/expert_rankings.csv", dtype=str)
        truth = expert[expert["rater"] == "R1"]
        catalogue = {q: sorted(g["image_id"]) for q, g in truth.groupby("query_id")}
        assert len(catalogue) == 8 and all(len(v) == 6 for v in catalogue.values())
        for method in methods:
            ranked = pd.read_csv(out / f"rankings/{cond}/{method}.csv", dtype={"image_id": str})
            ranked["query_id"] = ranked["query_id"].astype(str)
            got = {q: sorted(g["image_id"]) for q, g in ranked.groupby("query_id")}
            assert got == catalogue, (cond, method)
            for q, g in ranked.groupby("query_id"):
                assert sorted(g["rank"]) == list(range(1, 7)), (cond, method, q)
                # ranks follow the score: SSIM highest first, embedding distance lowest
                ordered = np.diff(g.sort_values("rank")["score"].to_numpy())
                if method == "ssim":
                    assert (ordered <= 1e-9).all(), (cond, q)
                elif method != "random":
                    assert (ordered >= -1e-9).all(), (cond, method, q)
    metrics = pd.read_csv(out / "classification/metrics.csv")
    columns = ["condition", "model", "split", "f1", "precision", "recall", "auc", "threshold"]
    assert list(metrics.columns) == columns
    assert len(metrics) == 2 * 3 * 2  # conditions x models x (validate, test)
    # one threshold per model, set on validation and applied unchanged to test
    assert metrics.groupby(["condition", "model"])["threshold"].nunique().eq(1).all()
    assert metrics["threshold"].between(0, 1).all()
    for cond in ("effusion", "pneumonia"):
        maps = np.load(out / f"saliency/{cond}/maps.npy").astype(np.float32)
        cohort = pd.read_parquet(out / f"data/{cond}/cohort.parquet")
        assert maps.shape == (len(cohort), 64, 64)
        assert maps.min() >= 0 and np.allclose(maps.reshape(len(maps), -1).max(1), 1, atol=1e-3)
        emb = np.load(out / f"embeddings/{cond}/cnn.npz")
        assert emb["vectors"].shape == (len(cohort), 1024)


def test_learning_curves_cover_every_trained_model(tiny_run):
    out = tiny_run / "results/tiny"
    table = pd.read_csv(out / "training/history.csv")
    names = table.groupby("family")["name"].unique().map(sorted).to_dict()
    assert names == {
        "classifier": sorted(
            f"{c}/{m}" for c in ("effusion", "pneumonia") for m in ("cnn", "ig", "att")
        ),
        "metric": ["ce", "dml"],
        "segmentation": ["fpn_b0", "unet_b0"],
        "pretrain": ["pretrain"],
        "severity": ["effusion/sev", "pneumonia/sev"],
    }
    # exactly one kept epoch per model, and it is the best validation score
    for _, g in table.groupby(["family", "name"]):
        assert g["kept"].sum() == 1
        if g["score"].notna().any():
            assert g.loc[g["kept"], "score"].iloc[0] == g["score"].max()
    for cond in ("effusion", "pneumonia"):
        history = pd.read_csv(out / f"models/{cond}/cnn/history.csv")
        assert {"train_loss", "val_auc", "val_loss", "lr", "images_per_s"} <= set(history.columns)
    assert (out / "training/learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_metric_learning_tables(tiny_run):
    out = tiny_run / "results/tiny"
    # init: ce -- the dml network's trunk was copied from the trained baseline
    log = (out / "logs/train_metric_dml.log").read_text()
    assert re.search(r"dml trunk \(\d+ tensors\) from \S+/models/metric/ce/model\.pt", log)
    recall = pd.read_csv(out / "retrieval/recall_at_k.csv")
    assert list(recall.columns) == ["model", "class", "k", "recall"]
    assert set(recall["model"]) == {"dml", "ce", "random"}
    assert set(recall["k"]) == {1, 2, 4, 10} and recall["recall"].between(0, 1).all()
    knn = pd.read_csv(out / "retrieval/knn_diagnosis.csv")
    assert list(knn.columns) == ["model", "metric", "class", "value"]
    assert {"accuracy", "sensitivity", "ppv"} <= set(knn["metric"])
    auc = pd.read_csv(out / "prognosis/auc.csv")
    assert list(auc.columns) == ["features", "fold", "auc"]
    assert set(auc["features"]) == {"image", "image+clinical", "clinical"}
    assert auc.groupby("features").size().eq(3).all()
    # folds are grouped by the split group (patients and near-duplicates), not subject id
    pred = pd.read_csv(out / "prognosis/predictions.csv", dtype={"group": str})
    assert (pred.groupby(["features", "group"])["fold"].nunique() == 1).all()
    manifest = pd.read_parquet(out / "data/manifest.parquet").set_index("image_id")
    assert (pred["group"].to_numpy() == manifest.loc[pred["image_id"], "group"].to_numpy()).all()


def test_tiny_run_severity_model_and_its_agreement_table(tiny_run):
    out = tiny_run / "results/tiny"
    table = pd.read_csv(out / "evaluation/severity.csv")
    assert list(table.columns) == [
        "condition", "method", "target", "split", "films",
        "pearson_r", "r_low", "r_high", "mae", "mae_low", "mae_high",
    ]  # fmt: skip
    keys = set(
        zip(table["condition"], table["method"], table["target"], table["split"], strict=True)
    )
    for cond in ("effusion", "pneumonia"):
        for method in ("sev", "cnn_sev"):
            for split in ("train", "validate", "test"):
                assert (cond, method, f"severity_{cond}", split) in keys
    # every scored film of the cohort, once per split, in both methods' rows
    for cond in ("effusion", "pneumonia"):
        cohort = pd.read_parquet(out / f"data/{cond}/cohort.parquet")
        scored = cohort[cohort[f"severity_{cond}"].notna()]
        rows = table[(table["condition"] == cond)].set_index(["method", "split"])
        for split, n in scored["split"].value_counts().items():
            assert rows.loc[("sev", split), "films"] == n
            assert rows.loc[("cnn_sev", split), "films"] == n
    preds = pd.read_csv(out / "models/pneumonia/sev/predictions.csv")
    test = preds[preds["split"] == "test"]
    r = np.corrcoef(test["score"], test["predicted"])[0, 1]
    got = table.set_index(["condition", "method", "split"]).loc[("pneumonia", "sev", "test")]
    assert got["pearson_r"] == pytest.approx(r)
    assert got["mae"] == pytest.approx(np.abs(test["score"] - test["predicted"]).mean())
    # the pretraining stage that started it: every finding, on both held-out splits
    pre = pd.read_csv(out / "models/pretrain/cnn/metrics.csv")
    assert list(pre.columns) == ["split", "finding", "films", "positives", "auc"]
    assert len(pre) == 6 and set(pre["split"]) == {"validate", "test"}
    assert set(pre["finding"]) == {"Pleural Effusion", "Pneumonia", "No Finding"}
    log = (out / "logs/train_severity_pneumonia.log").read_text()
    assert "initialised from results/tiny/models/pretrain/cnn/model.pt" in log
    emb = np.load(out / "embeddings/pneumonia/sev.npz")
    assert emb["vectors"].shape == (len(pd.read_parquet(out / "data/pneumonia/cohort.parquet")), 1)
    assert not (out / "models/pneumonia/sev/checkpoint.pt").exists()
