"""Ensemble post-processing and Dice.

Mean of member probabilities, threshold, then scikit-image clean-up: keep the two
largest connected components (two lungs) and fill holes.
"""

from __future__ import annotations

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


def ensemble_mask(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``probs`` (members, H, W) -> cleaned binary mask of their mean."""
    return clean_mask(probs.mean(axis=0) >= threshold)
