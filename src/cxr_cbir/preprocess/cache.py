"""The resized-image cache: scatter over shards, gather into one memory-mappable array.

Each shard job decodes its share of the images (every ``n``-th row) and writes a
``.npz`` with the uint8 arrays and ids, plus the list of unreadable files with reasons.
The gather job concatenates shards into ``images.npy`` (N, size, size) and an index,
lists every rejected image in ``rejected.csv``, and fails when more than
``max_bad_fraction`` of the images are bad. The index also holds each cached film's
fingerprint (a hash of its bytes), so that a query can be recognised as a film of the
archive without reading the whole cache.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import atomic_path, safe_join, write_csv, write_parquet
from cxr_cbir.preprocess.decode import UnreadableImage
from cxr_cbir.preprocess.films import FilmPreprocessing

log = logging.getLogger(__name__)

REJECTED_COLUMNS = ["image_id", "path", "reason"]


def fingerprint(image: np.ndarray) -> str:
    """A film's identity in the cache: a hash of its preprocessed bytes (hex, 32 chars)."""
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


def with_fingerprints(index: pd.DataFrame, images_npy: str | Path) -> pd.DataFrame:
    """``index`` (image_id, row) with the ``fingerprint`` of every row of ``images_npy``."""
    images = np.load(images_npy, mmap_mode="r")
    out = index.copy()
    out["fingerprint"] = [fingerprint(images[int(r)]) for r in index["row"]]
    return out


def shard_rows(df: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    return df.iloc[shard::n_shards]


def build_shard(
    images: pd.DataFrame,
    root: str,
    size: int,
    out_npz: str,
    out_rejected: str,
    intensity: str = "none",
) -> None:
    """Decode ``images`` (image_id, path) into ``out_npz``; list failures in ``out_rejected``."""
    prep = FilmPreprocessing(image_size=size, intensity=intensity)
    arrays, ids, rejected = [], [], []
    for r in tqdm(images.itertuples(index=False), total=len(images), desc="decode", mininterval=5):
        path = safe_join(root, r.path, where=f"image {r.image_id}")
        try:
            arrays.append(prep.plain(path))
            ids.append(r.image_id)
        except UnreadableImage as exc:
            log.warning("rejected %s: %s", r.image_id, exc.reason)
            rejected.append((r.image_id, r.path, exc.reason))
    stack = np.stack(arrays) if arrays else np.zeros((0, size, size), np.uint8)

    def _save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, images=stack, ids=np.array(ids, dtype=str))

    atomic_path(out_npz, _save)
    write_csv(pd.DataFrame(rejected, columns=REJECTED_COLUMNS), out_rejected)


def gather_shards(
    shard_npz: list[str],
    shard_rejected: list[str],
    n_total: int,
    out_images: str,
    out_index: str,
    out_rejected: str,
    max_bad_fraction: float,
) -> pd.DataFrame:
    """Concatenate shards into one array; fail above ``max_bad_fraction`` bad images."""
    rejected = pd.concat([pd.read_csv(p, dtype=str) for p in shard_rejected], ignore_index=True)
    rejected = rejected.reindex(columns=REJECTED_COLUMNS)
    write_csv(rejected, out_rejected)
    if n_total and len(rejected) / n_total > max_bad_fraction:
        raise InputError(
            f"{len(rejected)} of {n_total} images are unreadable "
            f"({len(rejected) / n_total:.1%} > data.max_bad_fraction {max_bad_fraction:.1%}); "
            f"see {out_rejected}"
        )
    shards = [np.load(p) for p in shard_npz]
    counts = [len(s["ids"]) for s in shards]
    size = shards[0]["images"].shape[1:] if shards else (0, 0)

    def _write(tmp: str) -> None:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(sum(counts), *size))
        pos = 0
        for s, n in zip(shards, counts, strict=True):
            arr[pos : pos + n] = s["images"]
            pos += n
        arr.flush()
        del arr

    atomic_path(out_images, _write)
    ids = np.concatenate([s["ids"] for s in shards]) if shards else np.array([], dtype=str)
    index = pd.DataFrame({"image_id": ids.astype(str), "row": np.arange(len(ids))})
    index = with_fingerprints(index, out_images)
    write_parquet(index, out_index)
    return index


class ImageCache:
    """Read access to the gathered cache by image id."""

    def __init__(self, images_npy: str | Path, index_parquet: str | Path):
        self.images = np.load(images_npy, mmap_mode="r")
        index = pd.read_parquet(index_parquet)
        self.row = dict(zip(index["image_id"], index["row"], strict=True))

    def __contains__(self, image_id: str) -> bool:
        return image_id in self.row

    def get(self, image_id: str) -> np.ndarray:
        return np.asarray(self.images[self.row[image_id]])

    def stack(self, image_ids) -> np.ndarray:
        return np.stack([self.get(i) for i in image_ids])
