"""Train one lung-segmentation ensemble member (its probabilities: rule seg_probs)."""

import numpy as np
import pandas as pd

from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.entry import TrainPaths, train
from cxr_cbir.training.lung_members import train_member
from cxr_cbir.training.lung_pairs import member_parts, pair_heads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
member, spec = snakemake.params.member, snakemake.params.train
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
# the epoch is chosen on training patients kept aside, never on the held-out pairs
parts = member_parts(pairs, spec["validation_fraction"], snakemake.params.seed)
# one output per lung convention when the member learns both: each pair trains its own
heads = pair_heads(pairs, member.get("heads") or [])
fit, val = parts == "fit", parts == "validate"
log.info(
    "member %s on %s: %d training pairs (%d to fit, %d to choose the epoch)",
    member,
    device,
    int(fit.sum() + val.sum()),
    int(fit.sum()),
    int(val.sum()),
)
train(
    "lung_member",
    member,
    lambda model: train_member(
        model,
        member,
        arrays["images"][fit],
        arrays["masks"][fit],
        val_images=arrays["images"][val],
        val_masks=arrays["masks"][val],
        budget=Budget.from_config({**spec, "amp": snakemake.params.training["amp"]}),
        workers=snakemake.params.training["workers"],
        epochs=spec["epochs"],
        batch_size=spec["batch_size"],
        lr=spec["lr"],
        seed=snakemake.params.seed,
        checkpoint=snakemake.params.checkpoint,
        device=device,
        heads=heads[fit],
        val_heads=heads[val],
        bn_films=spec["bn_films"],
    ),
    TrainPaths.of_job(snakemake.output, snakemake.params),
    seed=snakemake.params.seed,
)
