"""nDCG against values computed by hand (relevance 5.5 .. 1.0, gain 2^rel - 1, log2 discount)."""

import numpy as np
import pytest

from cxr_cbir.ndcg import dcg, ndcg_at_k, relevance_from_rank


def test_relevance_scale_runs_from_5_5_to_1_0_in_half_steps():
    assert relevance_from_rank(np.arange(1, 11)).tolist() == [
        5.5,
        5.0,
        4.5,
        4.0,
        3.5,
        3.0,
        2.5,
        2.0,
        1.5,
        1.0,
    ]


def test_dcg_by_hand():
    # gains 2^5.5-1 = 44.254834, 2^5-1 = 31; discounts 1, log2(3) = 1.5849625
    assert dcg([5.5, 5.0], 2) == pytest.approx(44.254834 + 31 / 1.5849625, rel=1e-7)


def test_ndcg_three_images_by_hand():
    # truth a > b > c (rel 5.5, 5.0, 4.5); retrieved c, a, b
    # DCG  = 21.627417 + 44.254834 / 1.5849625 + 31 / 2      = 65.049109
    # IDCG = 44.254834 + 31 / 1.5849625      + 21.627417 / 2 = 74.627365
    assert ndcg_at_k(["c", "a", "b"], ["a", "b", "c"], 3) == pytest.approx(0.8716522, abs=1e-6)
    # @2: (21.627417 + 44.254834 / 1.5849625) / (44.254834 + 31 / 1.5849625) = 0.7764656
    assert ndcg_at_k(["c", "a", "b"], ["a", "b", "c"], 2) == pytest.approx(0.7764656, abs=1e-6)


def test_perfect_and_reversed_rankings():
    truth = [f"i{j}" for j in range(10)]
    assert ndcg_at_k(truth, truth, 10) == pytest.approx(1.0)
    assert ndcg_at_k(truth, truth, 3) == pytest.approx(1.0)
    # the 5.5 .. 1.0 scale is compressed: even a reversed ranking keeps about half
    assert ndcg_at_k(truth[::-1], truth, 10) == pytest.approx(0.506, abs=0.001)


def test_random_rankings_average_about_0_70_and_0_40():
    rng = np.random.default_rng(0)
    truth = [f"i{j}" for j in range(10)]
    at10, at3 = [], []
    for _ in range(4000):
        perm = list(rng.permutation(truth))
        at10.append(ndcg_at_k(perm, truth, 10))
        at3.append(ndcg_at_k(perm, truth, 3))
    assert np.mean(at10) == pytest.approx(0.698, abs=0.01)
    assert np.mean(at3) == pytest.approx(0.399, abs=0.015)


def test_ndcg_refuses_different_image_sets():
    with pytest.raises(ValueError, match="same images"):
        ndcg_at_k(["a", "x"], ["a", "b"], 2)
