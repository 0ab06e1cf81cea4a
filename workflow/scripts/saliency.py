"""Gather the saliency shards of one condition into maps.npy + ids.parquet, and a gallery."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import write_npy, write_parquet
from cxr_cbir.report.figures import saliency_gallery
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import gather_arrays
from cxr_cbir.training.cohort_data import cohort_images

log = runlog.setup(snakemake.log[0])
cohort = pd.read_parquet(snakemake.input.cohort)
parts = gather_arrays(list(snakemake.input.shards), cohort["image_id"])
maps = parts["maps"]
log.info("gathered %d maps from %d shards", len(maps), len(snakemake.input.shards))
write_npy(maps, snakemake.output.maps)
write_parquet(cohort[["image_id"]].reset_index(drop=True), snakemake.output.ids)
# the gallery shows the first two positives and negatives; only those images are loaded
labels = cohort["label"].to_numpy()
picks = [*np.flatnonzero(labels == 1)[:2], *np.flatnonzero(labels == 0)[:2]]
shown = cohort.iloc[picks]
saliency_gallery(
    cohort_images(shown, snakemake.input.images, snakemake.input.index),
    maps[picks],
    labels[picks],
    snakemake.params.method,
    snakemake.output.gallery,
)
