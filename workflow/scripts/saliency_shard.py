"""Saliency maps of the condition's CNN for one shard of the cohort (Deep Taylor by default)."""

import pandas as pd

from cxr_cbir import models
from cxr_cbir.models.saliency import saliency_maps
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays, shard_slice
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.cohort_data import cohort_images

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
cfg = snakemake.params.saliency
cohort = pd.read_parquet(snakemake.input.cohort)
rows = shard_slice(len(cohort), int(snakemake.wildcards.shard), snakemake.params.shards)
cohort = cohort.iloc[rows]
images = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
model = models.load("cnn", snakemake.input.model, device)
ids = cohort["image_id"].to_numpy(dtype=str)
maps = saliency_maps(model, images, cfg["method"], cfg["batch_size"], device, ids=ids)
log.info("%s maps for %d images (rows %d:%d)", cfg["method"], len(maps), rows.start, rows.stop)
save_arrays(snakemake.output[0], ids=ids, maps=maps)
