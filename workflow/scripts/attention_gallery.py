"""Attention masks of the metric model over test films of each class."""

import numpy as np
import pandas as pd

from cxr_cbir import models
from cxr_cbir.models.predict import embed_all
from cxr_cbir.report.figures import attention_gallery
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.cohort_data import cohort_images

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)  # the job's own share of a node, not all its cores
device = pick_device()
model = models.load("dml", snakemake.input.model, device, snakemake.params.ml)
labels = pd.read_parquet(snakemake.input.labels)
labels = labels[labels["image_id"].isin(pd.read_parquet(snakemake.input.index)["image_id"])]
test = labels[labels["split"] == "test"]
picks = pd.concat([g.head(2) for _, g in test.groupby("class_name")])
images = cohort_images(picks, snakemake.input.images, snakemake.input.index)
_, _, masks = embed_all(model, images, 8, device, with_mask=True)
attention_gallery(images, masks, picks["class_name"].tolist(), snakemake.output[0])
log.info(
    "attention maps of %d films; mask range %.3f..%.3f", len(picks), np.min(masks), np.max(masks)
)
