"""nDCG of a retrieval ranking against a ground-truth (expert) ranking.

As in Silva et al. 2022, for a catalogue of n films the ground-truth rank r = 1..n gives
relevance rel = ((n + 1) - r) / 2 + 0.5 (5.5 for the best film down to 1.0 for the
last when n = 10; 3.5 .. 1.0 when n = 6), gain 2^rel - 1, discount log2(i + 1) at
retrieved position i = 1..k, normalised by the DCG of the ground-truth order itself.

The chance level is exact, not sampled: ``expected_random_ndcg`` is the mean nDCG@k over
all n! orders of a catalogue. Scoring one seeded random order instead adds that draw's
own spread (sd about 0.10 at @10 per catalogue) to every comparison with chance.

Ties: a ground truth may rank films equally (competition ranks 1, 1, 3, ...: a finding
with no grade, or equal scores). Tied films share the mean relevance of the positions
they occupy (``tied_relevance``), so that no order within a tie is rewarded and the
ideal DCG is reached by any order that keeps the tie groups in turn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def relevance_from_rank(rank: int | np.ndarray, n: int = 10):
    """The paper's relevance of ground-truth rank ``rank`` in a catalogue of ``n`` films."""
    return ((n + 1) - np.asarray(rank, dtype=float)) / 2.0 + 0.5


def tied_relevance(ranks: Sequence[int], n: int | None = None) -> np.ndarray:
    """Relevance of each film from competition ranks (ties share their positions' mean).

    ``ranks`` are 1-based competition ranks (a tie of m films at rank r occupies positions
    r .. r + m - 1); the relevance is linear in the position, so a tie's mean relevance is
    that of its middle position. Untied ranks give ``relevance_from_rank`` unchanged.
    """
    r = np.asarray(ranks, dtype=float)
    n = len(r) if n is None else n
    values, counts = np.unique(r, return_counts=True)
    size = dict(zip(values.tolist(), counts.tolist(), strict=True))
    middle = r + (np.array([size[v] for v in r.tolist()], dtype=float) - 1.0) / 2.0
    return relevance_from_rank(middle, n)


def dcg(relevances: Sequence[float], k: int) -> float:
    rel = np.asarray(relevances, dtype=float)[:k]
    gains = np.power(2.0, rel) - 1.0
    discounts = np.log2(np.arange(2, len(rel) + 2))
    return float(np.sum(gains / discounts))


def ndcg_at_k(
    retrieved: Sequence[str],
    ground_truth: Sequence[str],
    k: int,
    ranks: Sequence[int] | None = None,
) -> float:
    """nDCG@k of the ``retrieved`` order, ``ground_truth`` listing the same ids best first.

    ``ranks``: the ground truth's competition ranks, aligned with it (None: 1..n, no tie).
    """
    if sorted(retrieved) != sorted(ground_truth):
        raise ValueError("retrieved and ground-truth rankings must hold the same images")
    n = len(ground_truth)
    grades = tied_relevance(np.arange(1, n + 1) if ranks is None else ranks, n)
    rel = {img: float(g) for img, g in zip(ground_truth, grades, strict=True)}
    ideal = dcg(sorted(rel.values(), reverse=True), k)
    return dcg([rel[i] for i in retrieved], k) / ideal


def expected_random_ndcg(n: int, k: int, ranks: Sequence[int] | None = None) -> float:
    """Mean nDCG@k over all ``n``! orders of a catalogue of ``n`` films (exact chance level).

    In a uniformly random order every film is equally likely at every position, so the
    expected DCG@k is the mean gain times the sum of the first k discounts; the ideal DCG
    does not depend on the order. ``ranks``: the catalogue's competition ranks (ties).
    """
    if n < 1 or k < 1:
        raise ValueError(f"expected_random_ndcg: n and k must be >= 1, got n={n}, k={k}")
    grades = tied_relevance(np.arange(1, n + 1) if ranks is None else ranks, n)
    gains = np.sort(np.power(2.0, grades) - 1.0)[::-1]
    discounts = 1.0 / np.log2(np.arange(2, n + 2))
    k = min(k, n)
    return float(gains.mean() * discounts[:k].sum() / np.sum(gains[:k] * discounts[:k]))
