"""Shared ranking helpers: turn per-image scores into a ranking table; random baseline."""

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
    """One seeded random permutation of every catalogue: the chance baseline."""
    rng = np.random.default_rng(seed)
    parts = []
    for qid, g in catalogues.groupby("query_id", sort=True):
        ids = np.sort(g["image_id"].to_numpy(dtype=str))
        scores = rng.permutation(len(ids)).astype(float)
        parts.append(rank_scores(qid, ids, scores, higher_is_better=False))
    return pd.concat(parts, ignore_index=True)
