"""SSIM ranking: identical and less-degraded images rank first."""

import numpy as np
import pandas as pd

from cxr_cbir.retrieval.ranking import random_rankings, rank_scores
from cxr_cbir.retrieval.ssim import rank_catalogues_by_ssim


class DictCache:
    def __init__(self, images):
        self.images = images

    def get(self, image_id):
        return self.images[image_id]


def test_ssim_orders_by_degradation():
    rng = np.random.default_rng(0)
    base = (np.add.outer(np.arange(64), np.arange(64)) * 2 % 256).astype(np.uint8)
    base[20:40, 20:40] = 255
    images = {"q": base}
    for i, sd in enumerate([0, 10, 30, 60, 100]):
        noisy = np.clip(base + rng.normal(0, sd, base.shape), 0, 255).astype(np.uint8)
        images[f"n{i}"] = noisy
    cats = pd.DataFrame({"query_id": "q", "image_id": ["n3", "n0", "n4", "n1", "n2"]})
    ranked = rank_catalogues_by_ssim(cats, DictCache(images))
    assert ranked["image_id"].tolist() == ["n0", "n1", "n2", "n3", "n4"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked["score"].iloc[0] == 1.0
    assert ranked["score"].is_monotonic_decreasing


def test_rank_scores_breaks_ties_by_id():
    r = rank_scores("q", ["b", "a", "c"], [1.0, 1.0, 0.5], higher_is_better=True)
    assert r["image_id"].tolist() == ["a", "b", "c"]


def test_random_rankings_are_seeded_permutations():
    cats = pd.DataFrame({"query_id": ["q"] * 10, "image_id": [f"i{i}" for i in range(10)]})
    a, b = random_rankings(cats, 3), random_rankings(cats, 3)
    assert a.equals(b)
    assert sorted(a["image_id"]) == sorted(cats["image_id"])
    assert not a.equals(random_rankings(cats, 4))
