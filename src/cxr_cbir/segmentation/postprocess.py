"""Ensemble post-processing and Dice.

Mean of member probabilities (equal weights, or the weights `ensemble.select_weights`
chose on validation pairs), threshold, then scikit-image clean-up: keep the two
largest connected components (two lungs) and fill holes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage import measure


def dice(pred: np.ndarray, truth: np.ndarray, empty: float = 1.0) -> float:
    """Dice of two binary masks; ``empty`` when both are empty."""
    p, t = pred.astype(bool), truth.astype(bool)
    denom = p.sum() + t.sum()
    if denom == 0:
        return empty
    return float(2.0 * np.logical_and(p, t).sum() / denom)


def clean_mask(mask: np.ndarray, keep: int = 2, min_fraction: float = 0.002) -> np.ndarray:
    """Keep the ``keep`` largest components (each at least ``min_fraction`` of the image)."""
    labels = measure.label(mask.astype(bool), connectivity=1)
    if labels.max() == 0:
        return np.zeros(mask.shape, bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    order = np.argsort(sizes)[::-1][:keep]
    order = [c for c in order if sizes[c] >= min_fraction * mask.size]
    out = np.isin(labels, order)
    return ndimage.binary_fill_holes(out)


def weighted_probs(probs: np.ndarray, weights: Sequence[float] | None = None) -> np.ndarray:
    """``probs`` (members, ...) -> their mean, weighted by ``weights`` (None: equal)."""
    if weights is None:
        return probs.mean(axis=0)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(probs),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"ensemble weights {w.tolist()}: one non-negative weight per member")
    return np.tensordot(w / w.sum(), probs, axes=1).astype(probs.dtype)


def ensemble_mask(
    probs: np.ndarray, threshold: float = 0.5, weights: Sequence[float] | None = None
) -> np.ndarray:
    """``probs`` (members, H, W) -> cleaned binary mask of their (weighted) mean."""
    return clean_mask(weighted_probs(probs, weights) >= threshold)
