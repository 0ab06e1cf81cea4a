"""Shared ranking helpers: per-image scores or embedding distances to a ranking table."""

from __future__ import annotations

import numpy as np
import pandas as pd

RANKING_COLUMNS = ["query_id", "image_id", "score", "rank"]


def rank_scores(query_id: str, image_ids, scores, higher_is_better: bool) -> pd.DataFrame:
    """Rank ``image_ids`` by ``scores``; ties broken by image id for determinism."""
    ids = np.asarray(image_ids, dtype=str)
    s = np.asarray(scores, dtype=float)
    key = -s if higher_is_better else s
    order = np.lexsort((ids, key))
    return pd.DataFrame(
        {
            "query_id": query_id,
            "image_id": ids[order],
            "score": s[order],
            "rank": np.arange(1, len(ids) + 1),
        }
    )


def random_rankings(catalogues: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One seeded random permutation of every catalogue (a sample of chance, for panels).

    nDCG scores chance exactly instead (``ndcg.expected_random_ndcg``).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for qid, g in catalogues.groupby("query_id", sort=True):
        ids = np.sort(g["image_id"].to_numpy(dtype=str))
        scores = rng.permutation(len(ids)).astype(float)
        parts.append(rank_scores(qid, ids, scores, higher_is_better=False))
    return pd.concat(parts, ignore_index=True)


def rank_by_distance(
    catalogues: pd.DataFrame, ids, vectors: np.ndarray, metric: str = "l2"
) -> pd.DataFrame:
    """Rank every catalogue by distance of embeddings to the query's (L2 or cosine)."""
    row = {i: k for k, i in enumerate(ids)}
    vec = np.asarray(vectors, np.float64)
    if metric == "cosine":
        vec = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
    parts = []
    for qid, g in catalogues.groupby("query_id", sort=False):
        cand = g["image_id"].tolist()
        q = vec[row[qid]]
        c = vec[[row[i] for i in cand]]
        if metric == "cosine":
            dist = 1.0 - c @ q
        else:
            dist = np.linalg.norm(c - q, axis=1)
        parts.append(rank_scores(qid, cand, dist, higher_is_better=False))
    return pd.concat(parts, ignore_index=True)
