"""Verdicts on the orderings the two papers claim, each from a paired 95 % interval.

Silva et al. 2022 (per nDCG condition and cut-off k, paired by query): IG > CNN,
IG > ATT, ATT > CNN, CNN > SSIM (the pleural effusion order IG > ATT > CNN > SSIM),
IG > CNN(IG), and every learned method > random.
Zhong et al. (paired by test film, or by patient for the AUC): DML > CE in recall@1 and
in KNN accuracy, the segmentation ensemble's Dice > its best member's, and image +
clinical fields > clinical fields alone in intubation AUC.

A claim whose methods did not run in this configuration gets verdict ``not run`` (so
the table always lists every claim); otherwise ``holds`` / ``reversed`` / ``unresolved``
follows from the interval of the mean difference (see ``intervals.verdict``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.auc import rank_auc
from cxr_cbir.evaluation.intervals import (
    cluster_bootstrap_statistic,
    paired_difference,
    verdict,
)
from cxr_cbir.evaluation.ndcg_stats import compare

VERDICT_COLUMNS = [
    "claim",
    "condition",
    "metric",
    "method",
    "baseline",
    "mean_diff",
    "ci_low",
    "ci_high",
    "verdict",
]
NOT_RUN = "not run"
SILVA_PAIRS = [
    ("IG > CNN", "ig", "cnn"),
    ("IG > ATT", "ig", "att"),
    ("ATT > CNN", "att", "cnn"),
    ("CNN > SSIM", "cnn", "ssim"),
    ("IG > CNN(IG)", "ig", "cnn_ig"),
]
LEARNED = ("cnn", "ig", "att", "cnn_ig", "cnn_sev", "sev", "dml", "ce")
CLAIMS = [
    *(c for c, _, _ in SILVA_PAIRS),
    "learned > random",
    "SEV > CNN_SEV",
    "DML > CE (recall@1)",
    "DML > CE (KNN accuracy)",
    "ensemble Dice > best member",
    "image+clinical > clinical (AUC)",
]


def _row(claim, condition, metric, method, baseline, diff=None) -> tuple:
    if diff is None:
        return (claim, condition, metric, method, baseline, np.nan, np.nan, np.nan, NOT_RUN)
    mean, low, high = diff[:3]
    return (claim, condition, metric, method, baseline, mean, low, high, verdict(low, high))


def silva_rows(ndcg: pd.DataFrame, seed: int = 0) -> list[tuple]:
    rows = []
    for (condition, k), g in ndcg.groupby(["condition", "k"], sort=False):
        methods = set(g["method"])
        metric = f"ndcg@{int(k)}"
        pairs = list(SILVA_PAIRS)
        pairs += [("learned > random", m, "random") for m in LEARNED if m in methods]
        # the trained severity model against the ridge readout of the CNN's features
        pairs.append(("SEV > CNN_SEV", "sev", "cnn_sev"))
        for claim, method, baseline in pairs:
            ran = method in methods and baseline in methods
            diff = compare(ndcg, condition, int(k), method, baseline, seed) if ran else None
            rows.append(_row(claim, condition, metric, method, baseline, diff))
    return rows


def metric_learning_rows(per_query: pd.DataFrame | None, seed: int = 0) -> list[tuple]:
    """DML vs CE on per-test-film hits (recall@1) and KNN correctness."""
    rows = []
    for claim, metric in (("DML > CE (recall@1)", "recall@1"), ("DML > CE (KNN accuracy)", "knn")):
        diff = None
        if per_query is not None:
            part = per_query[per_query["metric"] == metric]
            table = part.pivot(index="image_id", columns="model", values="value")
            if {"dml", "ce"} <= set(table.columns):
                pair = table[["dml", "ce"]].dropna()
                diff = paired_difference(pair["dml"], pair["ce"], seed=seed)
        label = "knn_accuracy" if metric == "knn" else metric
        rows.append(_row(claim, "metric", label, "dml", "ce", diff))
    return rows


def segmentation_rows(dice: pd.DataFrame | None, seed: int = 0) -> list[tuple]:
    """Ensemble vs the member with the best mean held-out Dice, paired by image."""
    claim = "ensemble Dice > best member"
    if dice is None or "ensemble" not in set(dice["member"]):
        return [_row(claim, "segmentation", "dice", "ensemble", "best member")]
    table = dice.pivot(index="image", columns="member", values="dice")
    members = table.drop(columns="ensemble")
    if members.empty:
        return [_row(claim, "segmentation", "dice", "ensemble", "best member")]
    best = members.mean().idxmax()
    diff = paired_difference(table["ensemble"], table[best], seed=seed)
    return [_row(claim, "segmentation", "dice", "ensemble", best, diff)]


def prognosis_rows(predictions: pd.DataFrame | None, seed: int = 0) -> list[tuple]:
    """Pooled out-of-fold AUC of image+clinical minus clinical, patients resampled."""
    claim = "image+clinical > clinical (AUC)"
    method, baseline = "image+clinical", "clinical"
    if predictions is None or not {method, baseline} <= set(predictions["features"]):
        return [_row(claim, "prognosis", "auc", method, baseline)]
    table = predictions.pivot(index="image_id", columns="features", values="p")
    meta = predictions.drop_duplicates("image_id").set_index("image_id").loc[table.index]
    y = meta["y"].to_numpy(int)
    a, b = table[method].to_numpy(), table[baseline].to_numpy()

    def auc_gap(rows):
        return rank_auc(y[rows], a[rows]) - rank_auc(y[rows], b[rows])

    diff = cluster_bootstrap_statistic(auc_gap, meta["group"].astype(str).to_numpy(), seed=seed)
    return [_row(claim, "prognosis", "auc", method, baseline, diff)]


def verdict_table(
    ndcg: pd.DataFrame,
    per_query: pd.DataFrame | None = None,
    dice: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    rows = silva_rows(ndcg, seed)
    rows += metric_learning_rows(per_query, seed)
    rows += segmentation_rows(dice, seed)
    rows += prognosis_rows(predictions, seed)
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)
