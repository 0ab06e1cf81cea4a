"""Pretrain a DenseNet-121 on every cached film of the run: every recorded finding at once."""

import os

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.cache import ImageCache
from cxr_cbir.io_utils import write_csv
from cxr_cbir.models.multi_output import MultiOutputDenseNet
from cxr_cbir.torch_utils import pick_device, save_checkpoint, seed_everything, set_threads
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.pretrain import finding_matrix, mean_auc, pretrain
from cxr_cbir.training.severity import predict_severity

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
spec = snakemake.params.spec
targets = spec["targets"]
cache = ImageCache(snakemake.input.images, snakemake.input.index)
table = pd.read_parquet(snakemake.input.split)
table = table[table["image_id"].isin(cache.row)].reset_index(drop=True)  # every cached film
y = finding_matrix(table, targets)
split = table["split"].to_numpy()
images = cache.stack(table["image_id"])
for name in ("train", "validate", "test"):
    m = split == name
    log.info(
        "%s: %d films; recorded (positive) per finding %s",
        name,
        int(m.sum()),
        {
            t: (int(np.isfinite(y[m, k]).sum()), int(np.nansum(y[m, k])))
            for k, t in enumerate(targets)
        },
    )
seed_everything(snakemake.params.seed)
model = MultiOutputDenseNet(n_outputs=len(targets))
train, val = split == "train", split == "validate"
model, history = pretrain(
    model,
    images[train],
    y[train],
    images[val],
    y[val],
    optimizer=spec["optimizer"],
    lr=spec["lr"],
    budget=Budget.from_config({**spec["budget"], "amp": snakemake.params.amp}),
    batch_size=spec["batch_size"],
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    device=device,
    workers=snakemake.params.workers,
)
rows = []
for name in ("validate", "test"):
    m = split == name
    scores = predict_severity(model, images[m], spec["batch_size"], device)
    mean, aucs = mean_auc(y[m], scores)
    for k, t in enumerate(targets):
        ok = np.isfinite(y[m, k])
        rows.append((name, t, int(ok.sum()), int(np.nansum(y[m, k])), aucs[k]))
    log.info("%s: mean AUC %.3f", name, mean)
metrics = pd.DataFrame(rows, columns=["split", "finding", "films", "positives", "auc"])
log.info("\n%s", metrics.to_string(index=False))
write_csv(metrics, snakemake.output.metrics)
write_csv(history.assign(condition="all", model="pretrain"), snakemake.output.history)
save_checkpoint(model.state_dict(), snakemake.output.model)
if os.path.exists(snakemake.params.checkpoint):
    os.remove(snakemake.params.checkpoint)  # complete: a later rerun starts afresh
