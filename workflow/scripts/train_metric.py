"""Train the metric-learning embedding (dml) or the cross-entropy baseline (ce)."""

import os

import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.cohort_data import cohort_images
from cxr_cbir.io_utils import write_csv
from cxr_cbir.models.metric import build_metric_model
from cxr_cbir.torch_utils import pick_device, save_checkpoint, seed_everything, set_threads
from cxr_cbir.training.metric import train_embedding

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
kind, ml = snakemake.wildcards.mlmodel, snakemake.params.ml
index = pd.read_parquet(snakemake.input.index)
labels = pd.read_parquet(snakemake.input.labels)
train = labels[(labels["split"] == "train") & labels["image_id"].isin(index["image_id"])]
images = cohort_images(train, snakemake.input.images, snakemake.input.index)
log.info(
    "%s on %s: %d training films %s",
    kind,
    device,
    len(train),
    train["class_name"].value_counts().to_dict(),
)
seed_everything(snakemake.params.seed)  # the random init too: same seed, same model
model, history = train_embedding(
    build_metric_model(kind, ml),
    images,
    train["label"].to_numpy(),
    kind=kind,
    iterations=ml["iterations"],
    lr=ml["lr"] if kind == "dml" else ml["baseline_lr"],
    per_class=ml["per_class"],
    classes_per_batch=ml["classes_per_batch"],
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    device=device,
    checkpoint_every=ml["checkpoint_every"],
)
log.info(
    "loss: first %.4f, last %.4f; %.2f s per iteration",
    history["loss"].iloc[0],
    history["loss"].iloc[-1],
    history["seconds"].mean(),
)
write_csv(history, snakemake.output.history)
save_checkpoint(model.state_dict(), snakemake.output.model)
if os.path.exists(snakemake.params.checkpoint):
    os.remove(snakemake.params.checkpoint)
