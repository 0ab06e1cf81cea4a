"""Pretrain a DenseNet-121 on the pretraining films of the run: every recorded finding at once."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.preprocess.cache import ImageCache
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.entry import TrainPaths, train
from cxr_cbir.training.multi_output import Recipe, predict_outputs
from cxr_cbir.training.pretrain import finding_matrix, mean_auc, pretrain

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
spec = snakemake.params.spec
targets = spec["targets"]
cache = ImageCache(snakemake.input.images, snakemake.input.index)
table = pd.read_parquet(snakemake.input.cohort)
readable = table["image_id"].isin(cache.row)  # unreadable films: in data/rejected.csv
if not readable.all():
    log.info("%d pretraining films unreadable (data/rejected.csv)", int((~readable).sum()))
table = table[readable].reset_index(drop=True)
y = finding_matrix(table, targets)
split = table["split"].to_numpy()
images = cache.stack(table["image_id"])
for name in sorted(set(split)):
    m = split == name
    recorded = {
        t: (int(np.isfinite(y[m, k]).sum()), int(np.nansum(y[m, k]))) for k, t in enumerate(targets)
    }
    log.info("%s: %d films; recorded (positive) per finding %s", name, int(m.sum()), recorded)
train_films, val = split == "train", split == "validate"


def report(model, history):
    """Validation and test AUC of every finding."""
    rows = []
    for name in ("validate", "test"):
        m = split == name
        mean, aucs = mean_auc(y[m], predict_outputs(model, images[m], spec["batch_size"], device))
        for k, t in enumerate(targets):
            rows.append(
                (name, t, int(np.isfinite(y[m, k]).sum()), int(np.nansum(y[m, k])), aucs[k])
            )
        log.info("%s: mean AUC %.3f", name, mean)
    metrics = pd.DataFrame(rows, columns=["split", "finding", "films", "positives", "auc"])
    log.info("\n%s", metrics.to_string(index=False))
    write_csv(metrics, snakemake.output.metrics)


train(
    "multi_output",
    spec,
    lambda model: pretrain(
        model,
        images[train_films],
        y[train_films],
        images[val],
        y[val],
        Recipe.from_rule(spec, snakemake.params, device),
    ),
    TrainPaths.of_job(snakemake.output, snakemake.params),
    seed=snakemake.params.seed,
    report=report,
    label={"condition": "all", "model": "pretrain"},
)
