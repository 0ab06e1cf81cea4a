"""Train one lung-segmentation ensemble member; score its held-out probabilities."""

import os

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.io_utils import write_csv, write_npy
from cxr_cbir.segmentation.inference import predict_probs
from cxr_cbir.segmentation.train import train_member
from cxr_cbir.splits import group_split
from cxr_cbir.torch_utils import pick_device, save_checkpoint, set_threads
from cxr_cbir.training.engine import Budget

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
member, train = snakemake.params.member, snakemake.params.train
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
is_train = (pairs["split"] == "train").to_numpy()
# the epoch is chosen on training patients kept aside, never on the held-out pairs
fit_part = group_split(
    pairs[is_train].assign(group=pairs.loc[is_train, "patient"].astype(str)),
    {"train": 1 - train["validation_fraction"], "validate": train["validation_fraction"]},
    snakemake.params.seed,
).to_numpy()
images, masks = arrays["images"][is_train], arrays["masks"][is_train]
# one output per lung convention when the member learns both: each pair trains its own
conventions = member.get("heads") or []
if conventions:
    heads = pairs["convention"].map({c: i for i, c in enumerate(conventions)}).to_numpy()
else:
    heads = np.zeros(len(pairs), np.int64)
train_heads = heads[is_train]
fit_rows, val_rows = fit_part == "train", fit_part == "validate"
log.info(
    "member %s on %s: %d training pairs (%d to fit, %d to choose the epoch)",
    member,
    device,
    int(is_train.sum()),
    int(fit_rows.sum()),
    int(val_rows.sum()),
)
model, history = train_member(
    member["arch"],
    member["encoder"],
    images[fit_rows],
    masks[fit_rows],
    val_images=images[val_rows],
    val_masks=masks[val_rows],
    budget=Budget.from_config({**train, "amp": snakemake.params.training["amp"]}),
    workers=snakemake.params.training["workers"],
    epochs=train["epochs"],
    batch_size=train["batch_size"],
    lr=train["lr"],
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    weights=member.get("weights"),
    device=device,
    heads=train_heads[fit_rows],
    val_heads=train_heads[val_rows],
    n_heads=max(len(conventions), 1),
)
# each held-out film scored on the output of its own convention
probs = predict_probs(
    model, arrays["images"][~is_train], train["batch_size"], device, heads[~is_train]
)
write_npy(probs.astype(np.float16), snakemake.output.holdout)
write_csv(history, snakemake.output.history)
save_checkpoint(model.state_dict(), snakemake.output.model)
os.remove(snakemake.params.checkpoint)  # complete: the next run starts afresh
