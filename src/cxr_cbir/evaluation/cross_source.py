"""Films of a source the models never saw: do they still separate the disease?

Class and source are confounded in public chest X-ray collections (most controls come
from one archive, most COVID-19 films from another), so a model can learn the source
and still separate the classes in-domain. The run's split can hold whole sources out
(``cross_source.held_out``: ``source_holdout`` gives their films the split ``external``,
never trained, validated or tested on). This module scores every model on those films,
beside the in-domain test films, with patient-bootstrap intervals:

- ``disease_auc``: the classifier's own probability (its head on its embedding);
- ``knn_auc``: the distance-weighted share of positive films among the k nearest
  training films of the same embedding (what a radiologist browsing the neighbours
  would see);
- ``severity_r``: Pearson r of a severity method's prediction and the graded score
  (the rows of ``evaluation/severity.csv``, not computed again).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.data.source_holdout import EXTERNAL
from cxr_cbir.evaluation.auc import rank_auc
from cxr_cbir.evaluation.intervals import cluster_bootstrap_statistic
from cxr_cbir.evaluation.knn import neighbours

SPLITS = ("test", EXTERNAL)
COLUMNS = [
    "condition",
    "method",
    "metric",
    "split",
    "films",
    "positives",
    "value",
    "ci_low",
    "ci_high",
]


def knn_positive_share(train_vecs, train_pos, query_vecs, k: int, metric: str = "l2"):
    """Per query: the distance-weighted share of positives among its k nearest."""
    idx, dist = neighbours(np.asarray(query_vecs), np.asarray(train_vecs), k, metric)
    w = 1.0 / (dist + 1e-8)
    pos = np.asarray(train_pos, float)[idx]
    return (w * pos).sum(axis=1) / w.sum(axis=1)


def head_probability(vectors: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A binary classifier's probability from its embedding and its linear head."""
    logits = np.asarray(vectors, np.float64) @ np.asarray(weight, np.float64).T + bias
    return 1.0 / (1.0 + np.exp(-logits[:, 0]))


def _auc_row(condition, method, metric, split, y, score, groups, seed):
    y = np.asarray(y, int)
    score = np.asarray(score, float)

    def stat(rows):
        t = y[rows]
        return rank_auc(t, score[rows]) if 0 < t.sum() < len(t) else float("nan")

    value, low, high = cluster_bootstrap_statistic(stat, np.asarray(groups), seed=seed)
    return [condition, method, metric, split, len(y), int(y.sum()), value, low, high]


def embedding_rows(
    condition: str,
    method: str,
    table: pd.DataFrame,
    vectors: np.ndarray,
    k: int,
    metric: str = "l2",
    head: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
) -> list[list]:
    """knn_auc (and disease_auc when the model's ``head`` is given) on test and external
    films. ``table`` holds split, group and a 0/1 ``positive`` per row of ``vectors``."""
    split = table["split"].to_numpy()
    pos = table["positive"].to_numpy()
    train = (split == "train") & np.isfinite(pos)
    rows = []
    for name in SPLITS:
        m = (split == name) & np.isfinite(pos)
        if not m.any():
            continue
        groups = table["group"].astype(str).to_numpy()[m]
        share = knn_positive_share(vectors[train], pos[train], vectors[m], k, metric)
        rows.append(_auc_row(condition, method, "knn_auc", name, pos[m], share, groups, seed))
        if head is not None:
            prob = head_probability(vectors[m], *head)
            rows.append(
                _auc_row(condition, method, "disease_auc", name, pos[m], prob, groups, seed)
            )
    return rows


def severity_rows(agreement: pd.DataFrame, condition: str, method: str, target: str):
    """severity_r of one method's ``target`` on test and external films, as the severity
    agreement table (``severity_eval.agreement_table``, evaluation/severity.csv) has it."""
    rows = []
    for name in SPLITS:
        g = agreement[
            (agreement["condition"] == condition)
            & (agreement["method"] == method)
            & (agreement["target"] == target)
            & (agreement["split"] == name)
        ]
        for r in g.itertuples():
            rows.append(
                [condition, method, "severity_r", name, r.films, np.nan]
                + [r.pearson_r, r.r_low, r.r_high]
            )
    return rows
