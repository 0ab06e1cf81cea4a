"""Penultimate embeddings of one shard of a condition's cohort (cnn, ig, att, cnn_ig)."""

import pandas as pd

from cxr_cbir import models
from cxr_cbir.models.predict import compute_embeddings
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays, shard_slice
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.cohort_data import cohort_images, cohort_maps

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
method = snakemake.wildcards.method
cohort = pd.read_parquet(snakemake.input.cohort)
rows = shard_slice(len(cohort), int(snakemake.wildcards.shard), snakemake.params.shards)
cohort = cohort.iloc[rows]
if method in ("ig", "cnn_ig"):
    inputs = cohort_maps(cohort, snakemake.input.maps, snakemake.input.map_ids)
else:
    inputs = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
model = models.load("cnn" if method == "cnn_ig" else method, snakemake.input.model, device)
vectors = compute_embeddings(model, inputs, snakemake.params.batch_size, device)
log.info("%s: %s embeddings (rows %d:%d)", method, vectors.shape, rows.start, rows.stop)
save_arrays(snakemake.output[0], ids=cohort["image_id"].to_numpy(dtype=str), vectors=vectors)
