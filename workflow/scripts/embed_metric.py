"""Embeddings (and 2048-d features) of every cached film for a metric model."""

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.io_utils import atomic_path
from cxr_cbir.models.metric import build_metric_model
from cxr_cbir.torch_utils import load_checkpoint, pick_device, set_threads
from cxr_cbir.training.metric import embed_all

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
kind = snakemake.wildcards.mlmodel
model = build_metric_model(kind, snakemake.params.ml)
model.load_state_dict(load_checkpoint(snakemake.input.model, map_location=device))
ids = pd.read_parquet(snakemake.input.index)["image_id"].to_numpy(dtype=str)
images = np.load(snakemake.input.images, mmap_mode="r")
vectors, features = embed_all(model, images, snakemake.params.batch_size, device)
log.info("%s: embeddings %s, features %s", kind, vectors.shape, features.shape)


def _save(tmp):
    with open(tmp, "wb") as fh:
        np.savez(fh, ids=ids, vectors=vectors, features=features.astype(np.float16))


atomic_path(snakemake.output[0], _save)
