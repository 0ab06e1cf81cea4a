"""Pairwise L2 or cosine distances between embedding rows.

Shared by the retrieval evaluation (test films against training films) and the metric
trainers' validation (leave-one-out recall@1), so both measure with the same distance;
a module of its own so that editing the evaluation does not retrain the models.
"""

from __future__ import annotations

import numpy as np


def pairwise_distances(queries: np.ndarray, base: np.ndarray, metric: str) -> np.ndarray:
    q = np.asarray(queries, np.float64)
    b = np.asarray(base, np.float64)
    if metric == "cosine":
        q = q / np.clip(np.linalg.norm(q, axis=1, keepdims=True), 1e-12, None)
        b = b / np.clip(np.linalg.norm(b, axis=1, keepdims=True), 1e-12, None)
        return 1.0 - q @ b.T
    d2 = (q**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * q @ b.T
    return np.sqrt(np.clip(d2, 0, None))
