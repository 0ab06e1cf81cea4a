"""Severity readout: a ridge regression from a classifier's embedding to the severity score.

The classifiers learn *whether* a film shows the condition, not how much of it: on the
real films, ranking a catalogue of COVID-19 films by distance of CNN features ordered
them little better than chance against a radiologist's severity ranking. The readout
(method ``cnn_sev``) fits a ridge regression from the CNN's 1024-d features to the
condition's severity score (the column its catalogues are graded by) on the training and
validation films that carry one, never on test films, whose catalogues are scored; the
catalogue is then ranked by distance of predicted severity. The ridge penalty is chosen
by leave-one-out error over a fixed grid (``RidgeCV``), on standardised features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.data.catalogues import graded_severity
from cxr_cbir.errors import InputError

ALPHAS = np.logspace(-1, 5, 13)
FIT_SPLITS = ("train", "validate")
MIN_FILMS = 10


def severity_targets(
    cohort: pd.DataFrame, column: str, negatives_zero: bool, where: str = "severity readout"
) -> pd.Series:
    """The severity score of every cohort film (NaN where unknown), indexed by image_id.

    Graded as the catalogues grade it (``catalogues.graded_severity``); ``where`` names
    the stage in the error for a missing column.
    """
    if column not in cohort.columns:
        raise InputError(
            f"{where}: column {column!r} is not in the cohort; available: {sorted(cohort.columns)}"
        )
    sev = graded_severity(cohort, column, negatives_zero)
    return pd.Series(sev.to_numpy(float), index=cohort["image_id"].astype(str), name=column)


def fit_readout(vectors: np.ndarray, targets: np.ndarray, alphas=ALPHAS) -> dict:
    """Ridge from standardised ``vectors`` (N, D) to ``targets`` (N,), alpha by LOO."""
    from sklearn.linear_model import RidgeCV

    x = np.asarray(vectors, np.float64)
    y = np.asarray(targets, np.float64)
    if len(y) < MIN_FILMS:
        raise InputError(
            f"severity readout: {len(y)} training/validation films have a severity score; "
            f"at least {MIN_FILMS} are needed"
        )
    if np.ptp(y) == 0:
        raise InputError("severity readout: every training/validation film has the same score")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    model = RidgeCV(alphas=alphas).fit((x - mean) / scale, y)
    return {
        "mean": mean,
        "scale": scale,
        "coef": np.asarray(model.coef_, np.float64),
        "intercept": np.float64(model.intercept_),
        "alpha": np.float64(model.alpha_),
    }


def apply_readout(params: dict, vectors: np.ndarray) -> np.ndarray:
    """Predicted severity of every row of ``vectors``, as an (N, 1) float32 embedding."""
    x = (np.asarray(vectors, np.float64) - params["mean"]) / params["scale"]
    pred = x @ params["coef"] + float(params["intercept"])
    return pred.astype(np.float32)[:, None]


def readout_for_cohort(
    ids: np.ndarray, vectors: np.ndarray, cohort: pd.DataFrame, column: str, negatives_zero: bool
) -> tuple[dict, np.ndarray, pd.DataFrame]:
    """Fit on the cohort's scored training/validation films; predict every embedded film.

    Returns (parameters, predictions (N, 1), a per-split table of films used and the
    Pearson correlation of prediction and score).
    """
    ids = np.asarray(ids, dtype=str)
    cohort = cohort.assign(image_id=cohort["image_id"].astype(str))
    target = severity_targets(cohort, column, negatives_zero).reindex(ids).to_numpy()
    split = cohort.set_index("image_id")["split"].reindex(ids).to_numpy()
    fit = np.isin(split, FIT_SPLITS) & np.isfinite(target)
    params = fit_readout(vectors[fit], target[fit])
    pred = apply_readout(params, vectors)
    rows = []
    for name in ("train", "validate", "test"):
        m = (split == name) & np.isfinite(target)
        r = float(np.corrcoef(pred[m, 0], target[m])[0, 1]) if m.sum() > 2 else float("nan")
        rows.append((name, int(m.sum()), r))
    fit_table = pd.DataFrame(rows, columns=["split", "films", "pearson_r"])
    return params, pred, fit_table
