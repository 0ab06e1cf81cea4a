"""Train the metric-learning embedding (dml) or the cross-entropy baseline (ce)."""

import pandas as pd

from cxr_cbir.io_utils import file_sha256
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.cohort_data import cohort_images
from cxr_cbir.training.entry import TrainPaths, train
from cxr_cbir.training.metric_learning import train_embedding
from cxr_cbir.training.severity_head import SeverityAux

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
kind, ml = snakemake.wildcards.mlmodel, snakemake.params.ml  # this model's own budget
index = pd.read_parquet(snakemake.input.index)
labels = pd.read_parquet(snakemake.input.labels)
cached = labels[labels["image_id"].isin(index["image_id"])]
train_films = cached[cached["split"] == "train"]
val = cached[cached["split"] == "validate"]
images = cohort_images(train_films, snakemake.input.images, snakemake.input.index)
val_images = cohort_images(val, snakemake.input.images, snakemake.input.index)
log.info(
    "%s on %s: %d training films %s, %d validation films",
    kind,
    device,
    len(train_films),
    train_films["class_name"].value_counts().to_dict(),
    len(val),
)
severity = SeverityAux.from_films(train_films, val, ml["severity"])
init = "random"
if snakemake.input.get("init"):
    init = f"{snakemake.input.init}@{file_sha256(snakemake.input.init)[:12]}"


def report(model, history):
    kept = history[history["kept"]]
    log.info(
        "loss: first chunk %.4f, last %.4f; kept iteration %s (validation %s %s)",
        history["train_loss"].iloc[0],
        history["train_loss"].iloc[-1],
        kept["iteration"].tolist(),
        ml["monitor"],
        kept[f"val_{ml['monitor']}"].round(3).tolist(),
    )


train(
    "metric",
    {**ml, "kind": kind},
    lambda model: train_embedding(
        model,
        images,
        train_films["label"].to_numpy(),
        kind=kind,
        iterations=ml["iterations"],
        lr=ml["lr"],
        per_class=ml["per_class"],
        classes_per_batch=ml["classes_per_batch"],
        seed=snakemake.params.seed,
        checkpoint=snakemake.params.checkpoint,
        device=device,
        checkpoint_every=ml["checkpoint_every"],
        val_images=val_images,
        val_labels=val["label"].to_numpy(),
        patience=ml["patience"],
        schedule=ml["schedule"],
        amp=snakemake.params.training["amp"],
        workers=snakemake.params.training["workers"],
        init=init,
        monitor=ml["monitor"],
        severity=severity,
    ),
    TrainPaths.of_job(snakemake.output, snakemake.params, snakemake.input.get("init")),
    seed=snakemake.params.seed,
    report=report,
)
