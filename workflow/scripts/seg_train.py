"""Train one lung-segmentation ensemble member; score its held-out probabilities."""

import os

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.io_utils import write_csv, write_npy
from cxr_cbir.segmentation.train import predict_probs, train_member
from cxr_cbir.torch_utils import pick_device, save_checkpoint, set_threads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
member, train = snakemake.params.member, snakemake.params.train
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
is_train = (pairs["split"] == "train").to_numpy()
log.info("member %s on %s: %d training pairs", member, device, int(is_train.sum()))
model, history = train_member(
    member["arch"],
    member["encoder"],
    arrays["images"][is_train],
    arrays["masks"][is_train],
    epochs=train["epochs"],
    batch_size=train["batch_size"],
    lr=train["lr"],
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    weights=member.get("weights"),
    device=device,
)
probs = predict_probs(model, arrays["images"][~is_train], train["batch_size"], device)
write_npy(probs.astype(np.float16), snakemake.output.holdout)
write_csv(history, snakemake.output.history)
save_checkpoint(model.state_dict(), snakemake.output.model)
os.remove(snakemake.params.checkpoint)  # complete: the next run starts afresh
