"""Image / lung-mask training pairs: the demo's phantom masks or lung-mask folders
(../shared/data/lung-masks, lung-masks-jsrt).

Pairs are split by patient: the held-out part is never seen in training. Images and
masks are decoded once, resized to the segmentation size, and stored in one ``.npz``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_cbir.data.splits import group_split
from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import read_table, safe_join
from cxr_cbir.preprocess.decode import UnreadableImage, load_resized
from cxr_cbir.segmentation.conventions import CONVENTIONS

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["pair_id", "image", "mask", "patient", "dataset", "split", "convention"]


def convention_of(text: str, where: str) -> str:
    """A metadata ``lung_convention`` text ("includes lung behind heart ...", "excludes
    lung region behind the heart", or a CONVENTIONS name) as a CONVENTIONS name."""
    words = str(text).strip().lower()
    for name, word in zip(CONVENTIONS, ("includes", "excludes"), strict=True):
        if words == name or words.startswith(word):
            return name
    raise InputError(
        f"{where}: lung_convention {text!r} names neither convention; start it with "
        "'includes' (the lung behind the heart is in the mask) or 'excludes'"
    )


def demo_pairs(manifest: pd.DataFrame, root: str, max_train: int, max_holdout: int, seed: int):
    """Frontal demo films with their phantom lung masks; the official test split is held out."""
    frontal = manifest[manifest["view"].isin(["PA", "AP"])]
    rows = []
    for r in frontal.itertuples(index=False):
        rows.append(
            {
                "pair_id": r.image_id,
                "image": str(safe_join(root, r.path, where=f"image {r.image_id}")),
                "mask": str(Path(root) / "sidecar" / "lung_masks" / f"{r.image_id}.png"),
                "patient": str(r.subject_id),
                "dataset": "demo",
                "split": "holdout" if r.split_official == "test" else "train",
                "convention": "includes_heart",
            }
        )
    pairs = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    return _cap(pairs, {"train": max_train, "holdout": max_holdout}, seed)


def lung_mask_pairs(
    masks_root: str | list[str],
    holdout_fraction: float,
    seed: int,
    datasets: list[str] | None,
    max_train: int,
    max_holdout: int,
):
    """Pairs from one or several lung-mask folders (each ``metadata.csv`` + ``images/`` +
    ``masks/``, e.g. lung-masks and lung-masks-jsrt: two lung conventions, read from the
    metadata's ``lung_convention``), split by patient, stratified by source dataset (V7,
    Shenzhen, JSRT, ...)."""
    roots = [masks_root] if isinstance(masks_root, str) else list(masks_root)
    pairs = pd.concat([_folder_pairs(root) for root in roots], ignore_index=True)
    twice = pairs["pair_id"][pairs["pair_id"].duplicated()]
    if len(twice):
        raise InputError(f"segmentation.masks_root: pair {twice.iloc[0]!r} is in two folders")
    if datasets:
        unknown = sorted(set(datasets) - set(pairs["dataset"]))
        if unknown:
            raise InputError(f"segmentation.datasets: {unknown} not in {roots}")
        pairs = pairs[pairs["dataset"].isin(datasets)].reset_index(drop=True)
    split = group_split(
        pairs.assign(group=pairs["patient"]),
        {"train": 1 - holdout_fraction, "test": holdout_fraction},
        seed,
        stratify="dataset",
    )
    pairs["split"] = split.map({"train": "train", "test": "holdout"}).to_numpy()
    return _cap(pairs, {"train": max_train, "holdout": max_holdout}, seed)


def _folder_pairs(masks_root: str) -> pd.DataFrame:
    meta_path = Path(masks_root) / "metadata.csv"
    meta = read_table(meta_path, ["file", "dataset", "patient_id", "lung_convention"], dtype=str)
    where = [f"{meta_path} row {i + 2}" for i in range(len(meta))]
    return pd.DataFrame(
        {
            "pair_id": meta["file"].str.rsplit(".", n=1).str[0],
            "image": [
                str(safe_join(masks_root, f"images/{f}", where=w))
                for f, w in zip(meta["file"], where, strict=True)
            ],
            "mask": [
                str(safe_join(masks_root, f"masks/{f}", where=w))
                for f, w in zip(meta["file"], where, strict=True)
            ],
            "patient": meta["patient_id"],
            "dataset": meta["dataset"],
            "split": "",
            "convention": [
                convention_of(c, w) for c, w in zip(meta["lung_convention"], where, strict=True)
            ],
        }
    )


def _cap(pairs: pd.DataFrame, caps: dict[str, int], seed: int) -> pd.DataFrame:
    """Keep at most ``caps[split]`` pairs of each split (0 = all), by a seeded draw."""
    parts = []
    for split, g in pairs.groupby("split"):
        cap = caps.get(split) or 0
        if cap and len(g) > cap:
            g = g.sample(n=cap, random_state=seed)
        parts.append(g)
    out = pd.concat(parts).sort_values(["split", "pair_id"]).reset_index(drop=True)
    for split in ("train", "holdout"):
        if not (out["split"] == split).any():
            raise InputError(f"segmentation pairs: the {split} part is empty")
    return out


def load_pairs(pairs: pd.DataFrame, size: int):
    """Decode images and masks at ``size``; returns (kept pairs, images, masks, rejected)."""
    images, masks, keep, rejected = [], [], [], []
    for i, r in enumerate(pairs.itertuples(index=False)):
        try:
            img = load_resized(r.image, size)
            msk = load_resized(r.mask, size) > 127
        except UnreadableImage as exc:
            log.warning("pair %s rejected: %s", r.pair_id, exc)
            rejected.append((r.pair_id, exc.path, exc.reason))
            continue
        images.append(img)
        masks.append(msk.astype(np.uint8))
        keep.append(i)
    return (
        pairs.iloc[keep].reset_index(drop=True),
        np.stack(images),
        np.stack(masks),
        pd.DataFrame(rejected, columns=["image_id", "path", "reason"]),
    )


def member_parts(pairs: pd.DataFrame, validation_fraction: float, seed: int) -> np.ndarray:
    """Each pair's part for the members: "fit" (trains), "validate" (training patients
    kept aside to choose the epoch and the ensemble's weights) or "holdout" (never seen)."""
    is_train = (pairs["split"] == "train").to_numpy()
    train = pairs[is_train]
    fit_part = group_split(
        train.assign(group=train["patient"].astype(str)),
        {"train": 1 - validation_fraction, "validate": validation_fraction},
        seed,
    ).to_numpy()
    parts = np.full(len(pairs), "holdout", dtype=object)
    parts[is_train] = np.where(fit_part == "train", "fit", "validate")
    return parts


def pair_heads(pairs: pd.DataFrame, conventions: list[str] | tuple[str, ...]) -> np.ndarray:
    """The output each pair trains and is scored on: its lung convention's index when the
    members learn both (``conventions``), else 0."""
    if not conventions:
        return np.zeros(len(pairs), np.int64)
    return pairs["convention"].map({c: i for i, c in enumerate(conventions)}).to_numpy()
