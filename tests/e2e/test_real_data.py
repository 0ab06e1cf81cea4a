"""The real covid-chestxray config (cxr-real + cxr-extra, COVID-Net and BrixIA severity)
runs through filtering, catalogues, SSIM, nDCG and its intervals on ../shared/data."""

import pandas as pd
import pytest
from support.workflow import REPO, run_snakemake, write_config

from cxr_cbir.data.catalogues import graded_severity

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def test_real_config_counts_ssim_and_ndcg(shared_data, tmp_path):
    cfg = write_config(
        REPO / "config/covid-chestxray.yaml",
        tmp_path / "real.yaml",
        drop=("metric_learning", "prognosis"),  # trained in the real run, not in CI
        data__root=str(shared_data),
        data__severity={
            "covidnet": str(shared_data / "severity/covidnet.csv"),
            "brixia": str(shared_data / "severity/brixia.csv"),
        },
        data__nih_labels=str(shared_data / "labels/nih_data_entry_2017_v2020.csv.gz"),
        segmentation__masks_root=str(shared_data / "lung-masks"),
        lung_mask="none",  # the segmentation stage has its own smoke test below
        models__methods=[],  # filtering, SSIM and nDCG only: the models train in the real run
    )
    out = tmp_path / "results/covid-chestxray"
    run_snakemake(
        tmp_path,
        cfg,
        "results/covid-chestxray/evaluation/ndcg_ci.csv",
        "results/covid-chestxray/data/counts.csv",
    )
    counts = pd.read_csv(out / "data/counts.csv")
    totals = counts.groupby("condition")["n"].sum().to_dict()
    # PA/AP films of cxr-real (571) and cxr-extra (917); `pneumonia` is blank for the 4
    # ARDS-only films of cxr-real (see the data README); effusion: the frontal NIH films of
    # cxr-extra (NIH's table) and cxr-pool
    assert totals == {"covid": 1488, "pneumonia": 1484, "effusion": 1534}
    assert counts.query("condition == 'effusion' and label == 1")["n"].sum() == 169
    assert counts.query("condition == 'pneumonia' and label == 0")["n"].sum() == 536  # 37 + 499
    split = pd.read_parquet(out / "data/split.parquet")
    assert (split.groupby("split_group")["split"].nunique() == 1).all()
    ndcg = pd.read_csv(out / "evaluation/ndcg.csv")
    per_study = ndcg.groupby("condition")["method"].agg(set).to_dict()
    assert per_study == {
        "covid": {"ssim", "random"},
        "pneumonia": {"ssim", "random"},
        "effusion": {"ssim", "random"},
        "covid_brixia": {"ssim", "random", "rater:junior"},
    }
    queries = ndcg.groupby("condition")["query_id"].nunique().to_dict()
    # every graded test film is a query (n_queries: 0): all scored COVID-19 films for
    # covid; scored films and controls (graded 0) for pneumonia
    for study in ("covid", "pneumonia"):
        cohort = pd.read_parquet(out / f"data/{study}/cohort.parquet")
        test = cohort[cohort["split"] == "test"]
        graded = graded_severity(test, "severity_geographic", study == "pneumonia")
        # (the split with cxr-pool's groups holds 67 scored COVID-19 test films)
        assert queries[study] == graded.notna().sum() >= 60, (study, queries[study])
    assert queries["covid_brixia"] >= 35  # every BrixIA-scored test film
    # effusion: every test film a query, 5 of its 10 films with effusion; a film shares
    # the rank of every film of its status (1: the query's status, 6: the other)
    eff = pd.read_parquet(out / "data/effusion/cohort.parquet").set_index("image_id")
    assert queries["effusion"] == (eff["split"] == "test").sum() >= 400
    rankings = pd.read_csv(out / "catalogues/effusion/expert_rankings.csv", dtype=str)
    rankings["positive"] = rankings["image_id"].map(eff["label"])
    assert (rankings.groupby("query_id")["positive"].sum() == 5).all()
    same = rankings["positive"] == rankings["query_id"].map(eff["label"])
    assert (rankings["rank"].astype(int) == (~same) * 5 + 1).all()
    manifest = pd.read_parquet(out / "data/manifest.parquet").set_index("image_id")
    for study in ("covid", "pneumonia", "covid_brixia"):  # graded: no ties
        rankings = pd.read_csv(out / f"catalogues/{study}/expert_rankings.csv", dtype=str)
        assert set(rankings["rank"].astype(int)) == set(range(1, 11))  # catalogues of 10
        group = manifest["group"]
        assert (rankings["image_id"].map(group) != rankings["query_id"].map(group)).all()
        if study == "covid":  # covid catalogues: COVID-Net/Cohen-graded films only
            films = set(rankings["image_id"]) | set(rankings["query_id"])
            assert manifest.loc[sorted(films), "severity_geographic"].notna().all()
    # the junior radiologist, scored against the senior one, is the human ceiling: far
    # above chance, below perfect
    ci = pd.read_csv(out / "evaluation/ndcg_ci.csv").set_index(["condition", "method", "k"])
    junior = ci.loc[("covid_brixia", "rater:junior", 10)]
    chance = ci.loc[("covid_brixia", "random", 10)]
    assert junior["ci_low"] > chance["ci_high"] and junior["mean"] < 0.99


def test_real_lung_masks_segmentation_smoke(shared_data, tmp_path):
    cfg = write_config(
        REPO / "config/covid-chestxray.yaml",
        tmp_path / "real.yaml",
        data__root=str(shared_data / "cxr-real"),
        # both lung conventions, as the real config reads them
        segmentation__masks_root=[
            str(shared_data / "lung-masks"),
            str(shared_data / "lung-masks-jsrt"),
        ],
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
    assert "jsrt" in set(pairs["dataset"])
    # split by patient: no patient on both sides
    assert not set(pairs.loc[pairs["split"] == "train", "patient"]) & set(
        pairs.loc[pairs["split"] == "holdout", "patient"]
    )
    dice = pd.read_csv(out / "dice.csv")
    assert set(dice["member"]) == {"unet_b0", "ensemble"} and len(dice) == 12
