"""One preprocessing path: a film file -> the (S, S) uint8 image the run's cache holds.

The workflow runs it in stages (``cache_shard`` decodes, ``seg_apply`` segments,
``lung_mask_shard`` crops and masks), the query CLI and the web server run it whole, on
a batch of films (``segmentation.apply.preprocess_films``); every one of them calls
the methods of one ``FilmPreprocessing``
built from the run's settings, so an archive film queried later is exactly the film its
archive vector was computed from:

1. ``plain``: decode to grey (JPEG drafted), resize to the run's image size; this is
   the cache when the run uses no lung mask.
2. ``segmentation_input``: the same decode at the segmentation ensemble's size; the
   ensemble's cleaned masks of a batch of those come from
   ``segmentation.inference.segment`` (torch stays out of this module, so that the data
   rules' env needs none).
3. ``apply_mask``: decode at twice the image size, crop and/or mask to the lungs
   (``lung_mask`` mode), resize; a film where no lung was found keeps its full image.

The last step of the film the cache holds (``plain`` without a lung mask, ``apply_mask``
with one) normalises its intensity when ``intensity`` says so (``cxr_cbir.preprocess.intensity``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cxr_cbir.preprocess.decode import load_gray, load_resized
from cxr_cbir.preprocess.intensity import INTENSITY, normalise
from cxr_cbir.preprocess.lung_crop import MODES, apply_mode


@dataclass(frozen=True)
class FilmPreprocessing:
    """The run's preprocessing settings, and the steps that use them. A workflow stage
    gives only the settings its step reads (``seg_apply`` no ``image_size``), so that
    a config edit reruns only the stages it concerns."""

    image_size: int | None = None
    lung_mask: str = "none"
    seg_size: int | None = None
    threshold: float = 0.5
    intensity: str = "none"
    # the ensemble's output read as the lung mask: 0, or the run's lung convention's
    # head when the members learn both (segmentation.convention_heads)
    seg_head: int = 0
    # the members' weights (segmentation/ensemble.csv; None: equal) and test-time flips
    seg_weights: tuple[float, ...] | None = None
    seg_flips: bool = False

    def __post_init__(self):
        if self.lung_mask not in MODES:
            raise ValueError(f"lung_mask: unknown mode {self.lung_mask!r}; use one of {MODES}")
        if self.intensity not in INTENSITY:
            raise ValueError(f"intensity: unknown mode {self.intensity!r}; use one of {INTENSITY}")

    def _size(self, name: str) -> int:
        size = getattr(self, name)
        if not size:
            raise ValueError(f"preprocessing: {name} is not set")
        return int(size)

    @classmethod
    def from_settings(cls, settings: Mapping) -> FilmPreprocessing:
        """From the run's ``index/settings.json`` (written by rule query_settings)."""
        seg = settings.get("segmentation") or {}
        return cls(
            image_size=settings["image_size"],
            lung_mask=settings.get("lung_mask", "none"),
            seg_size=seg.get("image_size"),
            threshold=seg.get("threshold") or 0.5,
            intensity=settings.get("intensity", "none"),
            seg_head=seg.get("head") or 0,
            seg_flips=bool(seg.get("flips")),
        )

    @property
    def segments(self) -> bool:
        return self.lung_mask != "none"

    def plain(self, path: str | Path) -> np.ndarray:
        """Step 1: the film decoded and resized, no lung mask (intensity normalised)."""
        return normalise(load_resized(path, self._size("image_size")), self.intensity)

    def segmentation_input(self, path: str | Path) -> np.ndarray:
        """Step 2a: the film as the segmentation ensemble sees it."""
        return load_resized(path, self._size("seg_size"))

    def apply_mask(self, path: str | Path, mask: np.ndarray) -> np.ndarray:
        """Step 3: the film cropped/masked to ``mask`` and resized (what the cache holds)."""
        size = self._size("image_size")
        out = apply_mode(load_gray(path, 2 * size), mask, self.lung_mask, size)
        masked = "mask" in self.lung_mask and bool(np.asarray(mask).any())
        return normalise(out, self.intensity, masked)
