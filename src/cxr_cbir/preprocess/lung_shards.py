"""Lung-mask inference and the masked retrieval cache, one shard of the cache at a time.

At MIMIC scale (377,110 films) neither step fits one job: ``seg_apply`` segments one
contiguous shard of the cache index (``shards.shard_slice``) with the ensemble
(``segmentation.apply.segment_shard``),
``lung_mask_shard`` crops/masks the same shard's films with those masks, and the gather
steps put the shards back in cache order. Every film is handled on its own (eval-mode
networks, per-film masking), so the shard count changes how work is spread over jobs,
not the result (tested for 1, 3 and 5 shards).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir.io_utils import safe_join
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.run.shards import shard_slice

NO_LUNG_COLUMNS = ["image_id", "path"]


def shard_films(
    index: pd.DataFrame, images: pd.DataFrame, shard: int, n_shards: int
) -> pd.DataFrame:
    """The (image_id, path) rows of one shard of the cache index, in cache order."""
    rows = index.iloc[shard_slice(len(index), shard, n_shards)]
    paths = images.set_index("image_id")["path"]
    return pd.DataFrame(
        {"image_id": rows["image_id"].to_numpy(), "path": paths[rows["image_id"]].to_numpy()}
    )


def mask_shard(
    films: pd.DataFrame, root: str, prep: FilmPreprocessing, masks: np.ndarray
) -> np.ndarray:
    """(N, S, S) uint8: each film of the shard cropped/masked to its lung mask."""
    size = prep._size("image_size")
    out = np.zeros((len(films), size, size), np.uint8)
    rows = zip(films["image_id"], films["path"], masks, strict=True)
    for i, (image_id, rel, mask) in enumerate(
        tqdm(rows, total=len(films), desc=f"lung {prep.lung_mask}", mininterval=5)
    ):
        out[i] = prep.apply_mask(safe_join(root, rel, where=f"image {image_id}"), mask.astype(bool))
    return out


def read_shard_films(index_parquet: str, images_parquet: str, shard: int, n_shards: int, log):
    """``shard_films`` from the cache's index and image list files (a shard job's start)."""
    films = shard_films(
        pd.read_parquet(index_parquet), pd.read_parquet(images_parquet), shard, n_shards
    )
    log.info("shard %d of %d: %d films", shard, n_shards, len(films))
    return films
