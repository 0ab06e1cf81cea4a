"""Embeddings (and 2048-d features) of one shard of the cached films for a metric model."""

import numpy as np
import pandas as pd

from cxr_cbir import models
from cxr_cbir.models.predict import embed_all
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays, shard_slice
from cxr_cbir.torch_utils import pick_device, set_threads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
kind = snakemake.wildcards.mlmodel
model = models.load(kind, snakemake.input.model, device, snakemake.params.ml)
ids = pd.read_parquet(snakemake.input.index)["image_id"].to_numpy(dtype=str)
rows = shard_slice(len(ids), int(snakemake.wildcards.shard), snakemake.params.shards)
images = np.load(snakemake.input.images, mmap_mode="r")[rows]
vectors, features = embed_all(model, images, snakemake.params.batch_size, device)
log.info(
    "%s: embeddings %s, features %s (rows %d:%d)",
    kind,
    vectors.shape,
    features.shape,
    rows.start,
    rows.stop,
)
save_arrays(
    snakemake.output[0], ids=ids[rows], vectors=vectors, features=features.astype(np.float16)
)
