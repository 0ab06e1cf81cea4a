"""nDCG of a retrieval ranking against a ground-truth (expert) ranking.

As in Silva et al. 2022, for a catalogue of n films the ground-truth rank r = 1..n gives
relevance rel = ((n + 1) - r) / 2 + 0.5 (5.5 for the best film down to 1.0 for the
last when n = 10; 3.5 .. 1.0 when n = 6), gain 2^rel - 1, discount log2(i + 1) at
retrieved position i = 1..k, normalised by the DCG of the ground-truth order itself.

The chance level is exact, not sampled: ``expected_random_ndcg`` is the mean nDCG@k over
all n! orders of a catalogue. Scoring one seeded random order instead adds that draw's
own spread (sd about 0.10 at @10 per catalogue) to every comparison with chance.
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


def expected_random_ndcg(n: int, k: int) -> float:
    """Mean nDCG@k over all ``n``! orders of a catalogue of ``n`` films (exact chance level).

    In a uniformly random order every film is equally likely at every position, so the
    expected DCG@k is the mean gain times the sum of the first k discounts; the ideal DCG
    does not depend on the order.
    """
    if n < 1 or k < 1:
        raise ValueError(f"expected_random_ndcg: n and k must be >= 1, got n={n}, k={k}")
    gains = np.power(2.0, relevance_from_rank(np.arange(1, n + 1), n)) - 1.0
    discounts = 1.0 / np.log2(np.arange(2, n + 2))
    k = min(k, n)
    return float(gains.mean() * discounts[:k].sum() / np.sum(gains[:k] * discounts[:k]))
