"""The real covid-chestxray config runs through filtering, SSIM and nDCG on ../shared/data."""

import pandas as pd
import pytest
from conftest import REPO, run_snakemake, write_config

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def test_real_config_counts_ssim_and_ndcg(shared_data, tmp_path):
    cfg = write_config(
        REPO / "config/covid-chestxray.yaml",
        tmp_path / "real.yaml",
        drop=("metric_learning", "prognosis"),  # trained in the real run, not in CI
        data__root=str(shared_data / "cxr-real"),
        segmentation__masks_root=str(shared_data / "lung-masks"),
        lung_mask="none",  # the segmentation stage has its own smoke test below
        models__methods=[],  # filtering, SSIM and nDCG only: the models train in the real run
    )
    out = tmp_path / "results/covid-chestxray"
    run_snakemake(
        tmp_path,
        cfg,
        "results/covid-chestxray/evaluation/ndcg.csv",
        "results/covid-chestxray/data/counts.csv",
    )
    counts = pd.read_csv(out / "data/counts.csv")
    totals = counts.groupby("condition")["n"].sum().to_dict()
    # frontal films: 571; `pneumonia` is blank for the 4 ARDS-only films (see data README)
    assert totals == {"covid": 571, "pneumonia": 567}
    assert counts.query("condition == 'pneumonia' and label == 0")["n"].sum() == 37
    split = pd.read_parquet(out / "data/split.parquet")
    assert (split.groupby("split_group")["split"].nunique() == 1).all()
    ndcg = pd.read_csv(out / "evaluation/ndcg.csv")
    assert set(ndcg["method"]) == {"ssim", "random"}
    assert ndcg.groupby(["condition", "method", "k"]).size().eq(12).all()
    rankings = pd.read_csv(out / "catalogues/covid/expert_rankings.csv")
    meta = pd.read_csv(shared_data / "cxr-real/metadata.csv", low_memory=False)
    meta["image_id"] = meta["file"].str.rsplit(".", n=1).str[0]
    scored = set(meta.loc[meta["severity_geographic_mean"].notna(), "image_id"])
    assert set(rankings["image_id"]) <= scored  # covid catalogues: scored films only


def test_real_lung_masks_segmentation_smoke(shared_data, tmp_path):
    cfg = write_config(
        REPO / "config/covid-chestxray.yaml",
        tmp_path / "real.yaml",
        data__root=str(shared_data / "cxr-real"),
        segmentation__masks_root=str(shared_data / "lung-masks"),
        segmentation__image_size=64,
        segmentation__epochs=1,
        segmentation__max_train_pairs=16,
        segmentation__max_holdout_pairs=6,
        segmentation__members={"unet_b0": {"arch": "Unet", "encoder": "efficientnet-b0"}},
    )
    run_snakemake(tmp_path, cfg, "results/covid-chestxray/segmentation/dice.csv")
    out = tmp_path / "results/covid-chestxray/segmentation"
    pairs = pd.read_parquet(out / "pairs.parquet")
    assert pairs["split"].value_counts().to_dict() == {"train": 16, "holdout": 6}
    # split by patient: no patient on both sides
    assert not set(pairs.loc[pairs["split"] == "train", "patient"]) & set(
        pairs.loc[pairs["split"] == "holdout", "patient"]
    )
    dice = pd.read_csv(out / "dice.csv")
    assert set(dice["member"]) == {"unet_b0", "ensemble"} and len(dice) == 12
