"""Arrays for one condition's cohort: cached images or saliency maps, with labels and splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.preprocess.cache import ImageCache


def cohort_images(cohort: pd.DataFrame, images_npy: str, index_parquet: str) -> np.ndarray:
    """Cached uint8 images (N, S, S) in cohort order."""
    return ImageCache(images_npy, index_parquet).stack(cohort["image_id"])


def cohort_maps(cohort: pd.DataFrame, maps_npy: str, ids_parquet: str) -> np.ndarray:
    """Saliency maps (N, S, S) float32 in cohort order."""
    maps = np.load(maps_npy, mmap_mode="r")
    ids = pd.read_parquet(ids_parquet)["image_id"].tolist()
    row = {i: k for k, i in enumerate(ids)}
    return np.stack([np.asarray(maps[row[i]], np.float32) for i in cohort["image_id"]])


def split_arrays(cohort: pd.DataFrame, inputs: np.ndarray):
    """{split: (inputs, labels)} for train / validate / test."""
    out = {}
    for split in ("train", "validate", "test"):
        mask = (cohort["split"] == split).to_numpy()
        out[split] = (inputs[mask], cohort.loc[mask, "label"].to_numpy())
    return out
