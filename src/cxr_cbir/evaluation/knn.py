"""Nearest-neighbour evaluation of an embedding: recall@k and distance-weighted KNN diagnosis.

Test films are queries, the training films the searched set. A query is recalled at k
when one of its k nearest neighbours shares its label. KNN (k = 10) votes with weights
1 / (distance + eps). Random retrieval recall is the chance that k films drawn without
replacement from the searched set include one of the query's class.

Per test film, the hits (recall@k), the KNN correctness and random retrieval's hit
probability are also kept (``per_query_rows``), so that intervals over test films and
paired comparisons of models (``recall_intervals``, ``verdicts``) can be computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import gammaln

from cxr_cbir.evaluation.intervals import bootstrap_mean
from cxr_cbir.retrieval.distances import pairwise_distances

PER_QUERY_COLUMNS = ["model", "image_id", "class", "metric", "value"]
RECALL_CI_COLUMNS = ["model", "class", "k", "recall", "ci_low", "ci_high", "n"]


def neighbours(queries, base, k: int, metric: str = "l2"):
    """Indices and distances of the k nearest base vectors of every query, nearest first."""
    d = pairwise_distances(queries, base, metric)
    k = min(k, d.shape[1])
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, axis=1)


def recall_at_k(query_labels, base_labels, idx: np.ndarray, ks) -> dict[int, np.ndarray]:
    """{k: per-query 0/1 hits}."""
    same = np.asarray(base_labels)[idx] == np.asarray(query_labels)[:, None]
    return {k: same[:, :k].any(axis=1).astype(float) for k in ks}


def knn_predict(base_labels, idx: np.ndarray, dist: np.ndarray, n_classes: int, eps=1e-8):
    """Distance-weighted vote of the neighbours in ``idx``."""
    votes = np.zeros((len(idx), n_classes))
    weights = 1.0 / (dist + eps)
    labels = np.asarray(base_labels)[idx]
    for c in range(n_classes):
        votes[:, c] = (weights * (labels == c)).sum(axis=1)
    return votes.argmax(axis=1)


def random_recall(n_same: int, n_total: int, k: int) -> float:
    """P(at least one of k films drawn without replacement from n_total is among n_same)."""
    if k > n_total - n_same:
        return 1.0
    log_none = (
        gammaln(n_total - n_same + 1)
        - gammaln(n_total - n_same - k + 1)
        - gammaln(n_total + 1)
        + gammaln(n_total - k + 1)
    )
    return float(1.0 - np.exp(log_none))


def evaluate(
    model_name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    train_vecs,
    test_vecs,
    classes: list[str],
    metric: str,
    ks=(1, 2, 4, 10),
    knn_k: int = 10,
    site_column: str | None = None,
):
    """Recall@k rows (model, class, k, recall), KNN rows (model, metric, class, value) and
    per-test-film rows (model, image_id, class, metric, value; metric recall@k or knn)."""
    idx, dist = neighbours(test_vecs, train_vecs, max(max(ks), knn_k), metric)
    hits = recall_at_k(test["label"].to_numpy(), train["label"].to_numpy(), idx, ks)
    recall_rows = []
    for k in ks:
        for c, name in enumerate(classes):
            mask = test["label"].to_numpy() == c
            if mask.any():
                recall_rows.append((model_name, name, k, float(hits[k][mask].mean())))
        recall_rows.append((model_name, "all", k, float(hits[k].mean())))
    pred = knn_predict(train["label"].to_numpy(), idx[:, :knn_k], dist[:, :knn_k], len(classes))
    truth = test["label"].to_numpy()
    knn_rows = [(model_name, "accuracy", "all", float((pred == truth).mean()))]
    for c, name in enumerate(classes):
        tp = float(((pred == c) & (truth == c)).sum())
        knn_rows.append((model_name, "sensitivity", name, tp / max((truth == c).sum(), 1)))
        knn_rows.append(
            (
                model_name,
                "ppv",
                name,
                tp / max((pred == c).sum(), 1) if (pred == c).any() else float("nan"),
            )
        )
    if site_column and site_column in test.columns:
        for site, g in test.groupby(site_column):
            m = test.index.get_indexer(g.index)
            knn_rows.append(
                (model_name, f"accuracy@{site}", "all", float((pred[m] == truth[m]).mean()))
            )
    names = np.asarray(classes, dtype=object)[truth]
    per_query = [
        per_query_frame(model_name, test["image_id"], names, f"recall@{k}", hits[k]) for k in ks
    ]
    per_query.append(
        per_query_frame(model_name, test["image_id"], names, "knn", (pred == truth).astype(float))
    )
    return (
        pd.DataFrame(recall_rows, columns=["model", "class", "k", "recall"]),
        pd.DataFrame(knn_rows, columns=["model", "metric", "class", "value"]),
        pd.concat(per_query, ignore_index=True),
    )


def per_query_frame(model, image_ids, class_names, metric, values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "image_id": np.asarray(image_ids),
            "class": np.asarray(class_names),
            "metric": metric,
            "value": np.asarray(values, dtype=float),
        },
        columns=PER_QUERY_COLUMNS,
    )


def random_per_query(
    train: pd.DataFrame, test: pd.DataFrame, classes: list[str], ks=(1, 2, 4, 10)
) -> pd.DataFrame:
    """Random retrieval's hit probability for every test film (its expected recall@k)."""
    n = len(train)
    same = train["label"].value_counts().reindex(range(len(classes)), fill_value=0)
    truth = test["label"].to_numpy()
    names = np.asarray(classes, dtype=object)[truth]
    parts = []
    for k in ks:
        p = np.array([random_recall(int(same[c]), n, k) for c in truth])
        parts.append(per_query_frame("random", test["image_id"], names, f"recall@{k}", p))
    return pd.concat(parts, ignore_index=True)


def recall_intervals(per_query: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """recall@k per model and class (and ``all``) with a bootstrap interval over test films."""
    rows = []
    recall = per_query[per_query["metric"].str.startswith("recall@")]
    for (model, metric), g in recall.groupby(["model", "metric"], sort=False):
        k = int(metric.split("@", 1)[1])
        for name, part in [*g.groupby("class", sort=False), ("all", g)]:
            mean, low, high = bootstrap_mean(part["value"].to_numpy(), seed=seed)
            rows.append((model, name, k, mean, low, high, len(part)))
    return pd.DataFrame(rows, columns=RECALL_CI_COLUMNS)


def random_recall_rows(
    train: pd.DataFrame, test: pd.DataFrame, classes: list[str], ks=(1, 2, 4, 10)
):
    """Random retrieval's expected recall@k per class present in ``test`` and over all
    test films: the per-film hit probabilities of ``random_per_query``, aggregated."""
    per_query = random_per_query(train, test, classes, ks)
    rows = []
    for k in ks:
        part = per_query[per_query["metric"] == f"recall@{k}"]
        for name in classes:
            same = part.loc[part["class"] == name, "value"]
            if len(same):
                rows.append(("random", name, k, float(same.iloc[0])))
        rows.append(("random", "all", k, float(part["value"].mean())))
    return pd.DataFrame(rows, columns=["model", "class", "k", "recall"])
