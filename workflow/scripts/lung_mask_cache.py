"""Rebuild the retrieval cache with the lung masks applied (crop, mask or crop+mask)."""

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir import runlog
from cxr_cbir.figures import lung_mask_examples
from cxr_cbir.imaging import load_gray, load_resized
from cxr_cbir.io_utils import safe_join, write_npy, write_parquet
from cxr_cbir.lung_crop import apply_mode

log = runlog.setup(snakemake.log[0])
mode, size = snakemake.wildcards.mode, snakemake.params.size
index = pd.read_parquet(snakemake.input.index)
paths = pd.read_parquet(snakemake.input.images).set_index("image_id")["path"]
seg = np.load(snakemake.input.masks)
mask_of = dict(zip(seg["ids"].tolist(), range(len(seg["ids"])), strict=True))
masks = seg["masks"]
out = np.zeros((len(index), size, size), np.uint8)
root = snakemake.params.root
for i, image_id in enumerate(tqdm(index["image_id"], desc=f"lung {mode}", mininterval=5)):
    film = load_gray(safe_join(root, paths[image_id]), 2 * size)
    out[i] = apply_mode(film, masks[mask_of[image_id]].astype(bool), mode, size)
log.info("applied %s to %d films", mode, len(index))
write_npy(out, snakemake.output.images)
write_parquet(index, snakemake.output.index)
shown = index["image_id"].tolist()[:6]
lung_mask_examples(
    [load_resized(safe_join(root, paths[i]), size) for i in shown],
    [masks[mask_of[i]].astype(bool) for i in shown],
    out[: len(shown)],
    mode,
    snakemake.output.examples,
)
