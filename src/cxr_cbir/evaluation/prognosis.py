"""Prognosis transfer (Zhong et al., Fig. 6): predict intubation from image features.

Three feature sets: the 2048-d image features of the metric model (before its
projection head), those plus the clinical fields, and the clinical fields alone. A
random forest (max depth 5, 50 trees) is scored by ROC AUC in 5-fold cross-validation
grouped by the split group (patients joined with near-duplicate films: neither one patient's
films nor two copies of one picture ever sit in two folds), stratified by outcome.
Out-of-fold predictions are kept so that feature sets can be compared paired by film,
with patients resampled (``verdicts``).

Missing clinical values: each fold fits a median imputer on its training part only and
adds a 0/1 "was missing" indicator per field, so missingness itself can inform the
forest without leaking test values. Categorical fields: sex (M = 1, F = 0) and Y/N flags
(Y = 1, N = 0); anything else non-numeric is treated as missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline

from cxr_cbir.errors import InputError

CODES = {"M": 1.0, "F": 0.0, "Y": 1.0, "N": 0.0, "MALE": 1.0, "FEMALE": 0.0}


def clinical_matrix(df: pd.DataFrame, fields: list[str]) -> np.ndarray:
    missing = [f for f in fields if f not in df.columns]
    if missing:
        raise InputError(f"prognosis.fields: {missing} not in the manifest")
    cols = []
    for f in fields:
        s = df[f]
        num = pd.to_numeric(s, errors="coerce")
        coded = s.astype(str).str.strip().str.upper().map(CODES)
        cols.append(num.where(num.notna(), coded).to_numpy(float))
    return np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))


def grouped_folds(y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int):
    """Stratified folds in which no group (patient) appears in two folds."""
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise InputError(f"prognosis: {n_groups} patients cannot fill {n_splits} folds")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y, groups))


def cross_validate(
    feature_sets: dict[str, np.ndarray],
    y: np.ndarray,
    groups: np.ndarray,
    n_splits: int = 5,
    seed: int = 0,
):
    """AUC rows (features, fold, auc), per-set ROC curves on a common FPR grid, the folds,
    and the out-of-fold predictions (features, fold, row, p)."""
    folds = grouped_folds(y, groups, n_splits, seed)
    grid = np.linspace(0, 1, 101)
    rows, curves, predictions = [], {}, []
    for name, X in feature_sets.items():
        tprs = []
        for fold, (tr, te) in enumerate(folds):
            model = make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                RandomForestClassifier(n_estimators=50, max_depth=5, random_state=seed),
            )
            model.fit(X[tr], y[tr])
            p = model.predict_proba(X[te])[:, 1]
            predictions += [(name, fold, int(i), float(v)) for i, v in zip(te, p, strict=True)]
            if len(np.unique(y[te])) < 2:
                rows.append((name, fold, float("nan")))
                continue
            rows.append((name, fold, float(roc_auc_score(y[te], p))))
            fpr, tpr, _ = roc_curve(y[te], p)
            tprs.append(np.interp(grid, fpr, tpr, left=0.0))
        curves[name] = (grid, np.array(tprs))
    auc = pd.DataFrame(rows, columns=["features", "fold", "auc"])
    oof = pd.DataFrame(predictions, columns=["features", "fold", "row", "p"])
    return auc, curves, folds, oof
