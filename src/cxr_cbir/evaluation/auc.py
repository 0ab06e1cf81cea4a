"""ROC AUC from ranks (the Mann-Whitney U statistic), for bootstrap loops.

Equal to scikit-learn's ``roc_auc_score`` for binary labels (tied scores count one
half), without its input validation: the patient bootstrap of a 366-film test set
calls it 2,000 times per model, where ``roc_auc_score`` took minutes.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + P(tie) / 2; nan with one class."""
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, float))
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
