"""Train one lung-segmentation ensemble member (its probabilities: rule seg_probs)."""

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.segmentation.pairs import member_parts, pair_heads
from cxr_cbir.segmentation.train import train_member
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.engine import Budget, finish

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
member, train = snakemake.params.member, snakemake.params.train
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
# the epoch is chosen on training patients kept aside, never on the held-out pairs
parts = member_parts(pairs, train["validation_fraction"], snakemake.params.seed)
# one output per lung convention when the member learns both: each pair trains its own
conventions = member.get("heads") or []
heads = pair_heads(pairs, conventions)
fit, val = parts == "fit", parts == "validate"
log.info(
    "member %s on %s: %d training pairs (%d to fit, %d to choose the epoch)",
    member,
    device,
    int(fit.sum() + val.sum()),
    int(fit.sum()),
    int(val.sum()),
)
model, history = train_member(
    member["arch"],
    member["encoder"],
    arrays["images"][fit],
    arrays["masks"][fit],
    val_images=arrays["images"][val],
    val_masks=arrays["masks"][val],
    budget=Budget.from_config({**train, "amp": snakemake.params.training["amp"]}),
    workers=snakemake.params.training["workers"],
    epochs=train["epochs"],
    batch_size=train["batch_size"],
    lr=train["lr"],
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    weights=member.get("weights"),
    device=device,
    heads=heads[fit],
    val_heads=heads[val],
    n_heads=max(len(conventions), 1),
    bn_films=train.get("bn_films") or 0,
)
finish(
    model, history, snakemake.output.model, snakemake.output.history, snakemake.params.checkpoint
)
