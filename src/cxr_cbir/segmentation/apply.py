"""The ensemble applied to films: one shard of the cache (``seg_apply``) or a batch of
query films through the whole preprocessing path (``preprocess_films``).

Kept apart from ``segmentation.inference`` so that the members' training, which
validates with ``inference``, does not depend on the preprocessing modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir.io_utils import safe_join
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.preprocess.lung_shards import NO_LUNG_COLUMNS
from cxr_cbir.segmentation.inference import segment


def segment_films(prep: FilmPreprocessing, models: Sequence, inputs: np.ndarray, device):
    """The ensemble's masks of ``inputs`` (segmentation-size films) with the run's head,
    member weights and flips."""
    return segment(
        models,
        inputs,
        prep.threshold,
        device,
        head=prep.seg_head,
        weights=prep.seg_weights,
        flips=prep.seg_flips,
    )


def preprocess_films(
    prep: FilmPreprocessing, paths: Sequence[str | Path], models: Sequence = (), device="cpu"
) -> tuple[np.ndarray, np.ndarray | None]:
    """The whole preprocessing path for a batch of films (the query's): (images (N, S, S)
    uint8, the ensemble's masks or None when the run does not segment).

    ``models``: the loaded segmentation members (needed when the run segments).
    Raises ``imaging.UnreadableImage`` for the first film that cannot be decoded.
    """
    if not prep.segments:
        return np.stack([prep.plain(p) for p in paths]), None
    if not models:
        raise ValueError(f"lung_mask {prep.lung_mask!r}: the segmentation members are needed")
    inputs = np.stack([prep.segmentation_input(p) for p in paths])
    masks = segment_films(prep, models, inputs, device)
    return np.stack([prep.apply_mask(p, m) for p, m in zip(paths, masks, strict=True)]), masks


def segment_shard(
    films: pd.DataFrame,
    root: str,
    prep: FilmPreprocessing,
    models: Sequence,
    device,
    batch_size: int = 64,
    log=None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The ensemble's (N, s, s) uint8 lung masks of ``films`` (image_id, path: one shard of
    the cache, ``lung_shards.shard_films``) and the films where no lung was found (their
    mask is empty: the masked cache keeps their full image)."""
    size = prep._size("seg_size")
    masks = np.zeros((len(films), size, size), np.uint8)
    no_lung = []
    ids, rel = films["image_id"].tolist(), films["path"].tolist()
    for start in tqdm(range(0, len(ids), batch_size), desc="segment", mininterval=5):
        stop = start + batch_size
        paths = [
            safe_join(root, p, where=f"image {i}")
            for i, p in zip(ids[start:stop], rel[start:stop], strict=True)
        ]
        inputs = np.stack([prep.segmentation_input(p) for p in paths])
        masks_batch = segment_films(prep, models, inputs, device)
        for j, mask in enumerate(masks_batch):
            if not mask.any():
                if log is not None:
                    log.warning("no lung found in %s: the full image is kept", ids[start + j])
                no_lung.append((ids[start + j], rel[start + j]))
            masks[start + j] = mask
    return masks, pd.DataFrame(no_lung, columns=NO_LUNG_COLUMNS)
