"""nDCG of a retrieval ranking against a ground-truth (expert) ranking.

As in Silva et al. 2022, for a catalogue of n films the ground-truth rank r = 1..n gives
relevance rel = ((n + 1) - r) / 2 + 0.5 (5.5 for the best film down to 1.0 for the
last when n = 10; 3.5 .. 1.0 when n = 6), gain 2^rel - 1, discount log2(i + 1) at
retrieved position i = 1..k, normalised by the DCG of the ground-truth order itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def relevance_from_rank(rank: int | np.ndarray, n: int = 10):
    """The paper's relevance of ground-truth rank ``rank`` in a catalogue of ``n`` films."""
    return ((n + 1) - np.asarray(rank, dtype=float)) / 2.0 + 0.5


def dcg(relevances: Sequence[float], k: int) -> float:
    rel = np.asarray(relevances, dtype=float)[:k]
    gains = np.power(2.0, rel) - 1.0
    discounts = np.log2(np.arange(2, len(rel) + 2))
    return float(np.sum(gains / discounts))


def ndcg_at_k(retrieved: Sequence[str], ground_truth: Sequence[str], k: int) -> float:
    """nDCG@k of the ``retrieved`` order, ``ground_truth`` listing the same ids best first."""
    if sorted(retrieved) != sorted(ground_truth):
        raise ValueError("retrieved and ground-truth rankings must hold the same images")
    n = len(ground_truth)
    rel = {img: float(relevance_from_rank(i + 1, n)) for i, img in enumerate(ground_truth)}
    ideal = dcg([rel[i] for i in ground_truth], k)
    return dcg([rel[i] for i in retrieved], k) / ideal
