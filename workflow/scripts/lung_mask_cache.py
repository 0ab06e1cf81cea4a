"""Rebuild the retrieval cache with the lung masks applied (crop, mask or crop+mask)."""

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir import runlog
from cxr_cbir.figures import lung_mask_examples
from cxr_cbir.io_utils import safe_join, write_npy, write_parquet
from cxr_cbir.preprocessing import FilmPreprocessing

log = runlog.setup(snakemake.log[0])
mode, size = snakemake.wildcards.mode, snakemake.params.size
prep = FilmPreprocessing(image_size=size, lung_mask=mode)
index = pd.read_parquet(snakemake.input.index)
paths = pd.read_parquet(snakemake.input.images).set_index("image_id")["path"]
seg = np.load(snakemake.input.masks)
mask_of = dict(zip(seg["ids"].tolist(), range(len(seg["ids"])), strict=True))
masks = seg["masks"]
out = np.zeros((len(index), size, size), np.uint8)
root = snakemake.params.root
for i, image_id in enumerate(tqdm(index["image_id"], desc=f"lung {mode}", mininterval=5)):
    out[i] = prep.apply_mask(
        safe_join(root, paths[image_id]), masks[mask_of[image_id]].astype(bool)
    )
log.info("applied %s to %d films", mode, len(index))
write_npy(out, snakemake.output.images)
write_parquet(index, snakemake.output.index)
shown = index["image_id"].tolist()[:6]
lung_mask_examples(
    [prep.plain(safe_join(root, paths[i])) for i in shown],
    [masks[mask_of[i]].astype(bool) for i in shown],
    out[: len(shown)],
    mode,
    snakemake.output.examples,
)
