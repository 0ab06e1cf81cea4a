"""Intensity normalisation of a cached film: histogram equalisation.

Films of different hospitals differ in grey level and contrast before they differ in
disease (JSRT films come washed out, mean grey 195 against 142 for NIH films; figure
crops of case reports have their own contrast), and a model trained where class and
source are confounded learns the source. Equalising each film's histogram maps its
grey levels to their share of the film (the cumulative distribution), so that every
film spans the same range with the same spread; only the order of grey levels, the
anatomy, remains. With a lung mask, only the lung pixels are equalised (the black
outside stays 0), so the lungs' own contrast is what the model sees.
"""

from __future__ import annotations

import numpy as np

INTENSITY = ("none", "equalize")


def equalize(image: np.ndarray, inside: np.ndarray | None = None) -> np.ndarray:
    """uint8 (H, W) histogram-equalised over the pixels ``inside`` (all when None):
    each grey level goes to 1 + 254 x its mid-rank share; pixels outside become 0."""
    img = np.asarray(image, np.uint8)
    sel = np.ones(img.shape, bool) if inside is None else np.asarray(inside, bool)
    if not sel.any():
        return img.copy()
    counts = np.bincount(img[sel], minlength=256).astype(np.float64)
    cdf = (np.cumsum(counts) - counts / 2) / counts.sum()
    lut = np.rint(1 + 254 * cdf).astype(np.uint8)
    return np.where(sel, lut[img], 0).astype(np.uint8)


def normalise(image: np.ndarray, mode: str, masked: bool = False) -> np.ndarray:
    """The run's ``preprocess.intensity`` step: ``none`` leaves the film as it is;
    ``equalize`` equalises it (its non-zero pixels when it is lung-masked)."""
    if mode not in INTENSITY:
        raise ValueError(f"preprocess.intensity: unknown mode {mode!r}; use one of {INTENSITY}")
    if mode == "none":
        return image
    return equalize(image, image > 0 if masked else None)
