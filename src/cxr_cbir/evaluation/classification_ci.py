"""ROC AUC of each classifier with a patient-resampled bootstrap interval.

The films of one patient (split group) are not independent, so the interval resamples
groups, not films (``intervals.cluster_bootstrap_statistic``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.auc import rank_auc
from cxr_cbir.evaluation.intervals import cluster_bootstrap_statistic

AUC_CI_COLUMNS = ["condition", "model", "split", "auc", "ci_low", "ci_high", "n"]


def _auc(labels: np.ndarray, probs: np.ndarray):
    def statistic(rows):
        return rank_auc(labels[rows], probs[rows])

    return statistic


def auc_intervals(predictions: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Rows (condition, model, split, auc, ci_low, ci_high, n) from per-film predictions."""
    rows = []
    keys = ["condition", "model", "split"]
    for key, g in predictions.groupby(keys, sort=True):
        y, p = g["label"].to_numpy(int), g["prob"].to_numpy(float)
        auc, low, high = cluster_bootstrap_statistic(
            _auc(y, p), g["group"].astype(str).to_numpy(), seed=seed
        )
        rows.append(dict(zip(keys, key, strict=True), auc=auc, ci_low=low, ci_high=high, n=len(g)))
    return pd.DataFrame(rows, columns=AUC_CI_COLUMNS)
