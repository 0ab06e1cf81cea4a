"""Held-out agreement of predicted and graded severity: Pearson r and MAE with intervals.

Every method that predicts a severity (``sev``: the severity model; ``cnn_sev``: the
ridge readout of the CNN's features) is scored on the films of each split that carry
the score, per target. Intervals resample whole patients (``group``), as the AUC
intervals do: films of one patient are not independent evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.intervals import cluster_bootstrap_statistic

PREDICTION_COLUMNS = ["image_id", "group", "split", "target", "score", "predicted"]
TABLE_COLUMNS = [
    "condition",
    "method",
    "target",
    "split",
    "films",
    "pearson_r",
    "r_low",
    "r_high",
    "mae",
    "mae_low",
    "mae_high",
]


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r (nan for fewer than 3 pairs or a constant side)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def long_predictions(
    cohort: pd.DataFrame, ids, predicted: np.ndarray, targets: list[str], scores: np.ndarray
) -> pd.DataFrame:
    """One row per (film, target) with a finite score: the ``PREDICTION_COLUMNS`` table.

    ``predicted`` and ``scores`` are (N, K) in the order of ``ids`` and ``targets``.
    """
    meta = cohort.assign(image_id=cohort["image_id"].astype(str)).set_index("image_id")
    ids = np.asarray(ids, dtype=str)
    rows = []
    for k, target in enumerate(targets):
        ok = np.isfinite(scores[:, k])
        rows.append(
            pd.DataFrame(
                {
                    "image_id": ids[ok],
                    "group": meta["group"].reindex(ids[ok]).astype(str).to_numpy(),
                    "split": meta["split"].reindex(ids[ok]).to_numpy(),
                    "target": target,
                    "score": scores[ok, k],
                    "predicted": predicted[ok, k],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)[PREDICTION_COLUMNS]


def agreement_table(
    predictions: pd.DataFrame, condition: str, method: str, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """r and MAE per (target, split), with patient-bootstrap intervals."""
    rows = []
    for (target, split), g in predictions.groupby(["target", "split"], sort=False):
        score = g["score"].to_numpy(float)
        pred = g["predicted"].to_numpy(float)
        groups = g["group"].to_numpy()
        r = cluster_bootstrap_statistic(
            lambda i, p=pred, s=score: pearson(p[i], s[i]), groups, n_boot=n_boot, seed=seed
        )
        mae = cluster_bootstrap_statistic(
            lambda i, p=pred, s=score: float(np.mean(np.abs(p[i] - s[i]))),
            groups,
            n_boot=n_boot,
            seed=seed,
        )
        rows.append([condition, method, target, split, len(g), *r, *mae])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
