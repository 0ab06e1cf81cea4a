"""SSIM baseline: rank catalogue images by structural similarity to the query.

``skimage.metrics.structural_similarity`` with its default parameters, on the cached
uint8 images (data range 255).
"""

from __future__ import annotations

import pandas as pd
from skimage.metrics import structural_similarity

from cxr_cbir.retrieval.ranking import rank_scores


def ssim_scores(query, images) -> list[float]:
    return [float(structural_similarity(query, img, data_range=255)) for img in images]


def rank_catalogues_by_ssim(catalogues: pd.DataFrame, cache) -> pd.DataFrame:
    """Ranking table (query_id, image_id, score, rank) for every catalogue; higher SSIM first."""
    parts = []
    for qid, g in catalogues.groupby("query_id", sort=False):
        ids = g["image_id"].tolist()
        scores = ssim_scores(cache.get(qid), [cache.get(i) for i in ids])
        parts.append(rank_scores(qid, ids, scores, higher_is_better=True))
    return pd.concat(parts, ignore_index=True)
