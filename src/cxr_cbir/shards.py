"""Scatter/gather of per-image work (saliency, embeddings) over contiguous row shards.

A shard is a contiguous slice of the cohort (``np.array_split``), so gathering the
shards in order gives back the cohort order, and the number of shards changes how the
work is spread over jobs, never the result.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .io_utils import atomic_path


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
        got = out.get("ids", np.zeros(0, str)).astype(str)
        want = np.asarray(expected_ids, dtype=str)
        if len(got) != len(want) or not (got == want).all():
            raise InputError(
                f"shards {paths[0]} .. hold {len(got)} ids that do not match the "
                f"{len(want)} expected in order; rerun the shard jobs"
            )
    return out


def gather_images(paths: list[str], expected_ids, out_npy: str, key: str = "images") -> int:
    """Write the ``key`` arrays of the shard files, in order, into one .npy (atomically,
    through a memory map: the whole array is never held in memory twice); the shards'
    ids must be ``expected_ids`` in order. Returns the number of rows written."""
    want = np.asarray(expected_ids, dtype=str)
    got = []
    shapes = []
    for path in paths:
        with np.load(path) as z:
            got.append(z["ids"].astype(str))
            shapes.append(z[key].shape)
    got = np.concatenate(got) if got else np.zeros(0, str)
    if len(got) != len(want) or not (got == want).all():
        raise InputError(
            f"shards {paths[0] if paths else '-'} .. hold {len(got)} ids that do not match "
            f"the {len(want)} expected in order; rerun the shard jobs"
        )
    size = next((s[1:] for s in shapes if s[0]), shapes[0][1:] if shapes else (0, 0))

    def _write(tmp: str) -> None:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(want), *size))
        pos = 0
        for path in paths:
            with np.load(path) as z:
                part = z[key]
            arr[pos : pos + len(part)] = part
            pos += len(part)
        arr.flush()
        del arr

    atomic_path(out_npy, _write)
    return len(want)
