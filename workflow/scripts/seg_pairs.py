"""Collect image / lung-mask pairs, split by patient, decode them at the segmentation size."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import atomic_path, write_csv, write_parquet
from cxr_cbir.run import runlog
from cxr_cbir.training.lung_pairs import demo_pairs, load_pairs, lung_mask_pairs

log = runlog.setup(snakemake.log[0])
s = snakemake.params.seg
if s["pairs"] == "demo":
    pairs = demo_pairs(
        pd.read_parquet(snakemake.input.manifest),
        s["root"],
        s.get("max_train_pairs") or 0,
        s.get("max_holdout_pairs") or 0,
        snakemake.params.seed,
    )
else:
    pairs = lung_mask_pairs(
        s["masks_root"],
        s.get("holdout_fraction") or 0.2,
        snakemake.params.seed,
        s.get("datasets"),
        s.get("max_train_pairs") or 0,
        s.get("max_holdout_pairs") or 0,
    )
pairs, images, masks, rejected = load_pairs(pairs, s["image_size"])
log.info(
    "%d pairs (%s), %d patients; %d rejected",
    len(pairs),
    pairs["split"].value_counts().to_dict(),
    pairs["patient"].nunique(),
    len(rejected),
)
write_csv(rejected, snakemake.output.rejected)


def _save(tmp):
    with open(tmp, "wb") as fh:
        np.savez(fh, images=images, masks=masks)


atomic_path(snakemake.output.arrays, _save)
write_parquet(pairs, snakemake.output.table)
