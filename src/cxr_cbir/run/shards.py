"""Scatter/gather of per-image work (saliency, embeddings) over contiguous row shards.

A shard is a contiguous slice of the cohort (``np.array_split``), so gathering the
shards in order gives back the cohort order, and the number of shards changes how the
work is spread over jobs, never the result.
"""

from __future__ import annotations

import numpy as np

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import atomic_path


def shard_slice(n_rows: int, shard: int, n_shards: int) -> slice:
    """Rows of shard ``shard`` of ``n_shards`` (contiguous; shards may be empty)."""
    if not 0 <= shard < n_shards:
        raise InputError(f"shard {shard} is outside 0..{n_shards - 1}")
    bounds = np.linspace(0, n_rows, n_shards + 1).round().astype(int)
    return slice(int(bounds[shard]), int(bounds[shard + 1]))


def save_arrays(path: str, **arrays: np.ndarray) -> None:
    """Write named arrays to ``path`` (.npz, uncompressed), atomically."""

    def _write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_path(path, _write)


def gather_arrays(paths: list[str], expected_ids=None) -> dict[str, np.ndarray]:
    """Concatenate every array of the shard files in order; check the ids when given."""
    parts: dict[str, list[np.ndarray]] = {}
    for path in paths:
        with np.load(path) as z:
            for key in z.files:
                parts.setdefault(key, []).append(z[key])
    out = {k: np.concatenate(v) for k, v in parts.items()}
    if expected_ids is not None:
        _check_ids(out.get("ids", np.zeros(0, str)), expected_ids, paths)
    return out


def _check_ids(got, expected_ids, paths: list[str]) -> None:
    """The shards, in order, must hold exactly ``expected_ids``."""
    got, want = np.asarray(got).astype(str), np.asarray(expected_ids, dtype=str)
    if len(got) != len(want) or not (got == want).all():
        raise InputError(
            f"shards {paths[0] if paths else '-'} .. hold {len(got)} ids that do not match "
            f"the {len(want)} expected in order; rerun the shard jobs"
        )


def gather_images(paths: list[str], expected_ids, out_npy: str, key: str = "images") -> int:
    """Write the ``key`` arrays of the shard files, in order, into one .npy (atomically,
    through a memory map: the whole array is never held in memory, and each shard's
    images are read once); the shards' ids must be ``expected_ids`` in order. Returns
    the number of rows written."""
    ids = []
    for path in paths:
        with np.load(path) as z:
            ids.append(z["ids"])
    _check_ids(np.concatenate(ids) if ids else np.zeros(0, str), expected_ids, paths)
    n_rows = len(expected_ids)

    def _write(tmp: str) -> None:
        arr, pos = None, 0
        for path in paths:
            with np.load(path) as z:
                part = z[key]
            if arr is None and len(part):  # the image size: from the first non-empty shard
                shape = (n_rows, *part.shape[1:])
                arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            if len(part):
                arr[pos : pos + len(part)] = part
                pos += len(part)
        if arr is None:
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(0, 0, 0))
        arr.flush()
        del arr

    atomic_path(out_npy, _write)
    return n_rows
