"""Train the severity model (sev) of one condition; predict every cohort film's scores."""

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.severity import long_predictions
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.cohort_data import cohort_images
from cxr_cbir.training.entry import TrainPaths, train
from cxr_cbir.training.multi_output import Recipe, predict_outputs
from cxr_cbir.training.severity import train_severity
from cxr_cbir.training.targets import target_matrix

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
spec = snakemake.params.spec
targets = spec["targets"]
cohort = pd.read_parquet(snakemake.input.cohort)
images = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
scores = target_matrix(cohort, targets, spec["negatives_zero"])
split = cohort["split"].to_numpy()
for name in sorted(set(split)):
    m = split == name
    scored = dict(zip(targets, np.isfinite(scores[m]).sum(0).tolist(), strict=True))
    log.info("%s: %d films, scored per target %s", name, int(m.sum()), scored)
train_films, val = split == "train", split == "validate"
ids = cohort["image_id"].to_numpy(dtype=str)


def report(model, history, scaler):
    """Every cohort film's predicted scores, the target scaler and the ranking vector."""
    kept = history.loc[history["kept"], "epoch"]
    log.info("kept epoch %s of %d", kept.iloc[0] if len(kept) else "-", len(history))
    predicted = scaler.inverse(predict_outputs(model, images, spec["batch_size"], device))
    table = long_predictions(cohort, ids, predicted, targets, scores)
    for (target, name), g in table.groupby(["target", "split"], sort=False):
        r = np.corrcoef(g["score"], g["predicted"])[0, 1] if len(g) > 2 else float("nan")
        log.info("%s %s: %d films, r %.3f", target, name, len(g), r)
    write_csv(table, snakemake.output.predictions)
    save_arrays(
        snakemake.output.scaler, mean=scaler.mean, scale=scaler.scale, targets=np.array(targets)
    )
    # the ranking embedding: the predicted primary score (the one the catalogues are graded by)
    save_arrays(snakemake.output.embeddings, ids=ids, vectors=predicted[:, :1].astype(np.float32))


train(
    "multi_output",
    spec,
    lambda model: train_severity(
        model,
        images[train_films],
        scores[train_films],
        images[val],
        scores[val],
        Recipe.from_rule(spec, snakemake.params, device),
    ),  # fmt: skip
    TrainPaths.of_job(snakemake.output, snakemake.params, snakemake.input.init),
    seed=snakemake.params.seed,
    report=report,
    label={"condition": snakemake.wildcards.condition, "model": "sev"},
)
