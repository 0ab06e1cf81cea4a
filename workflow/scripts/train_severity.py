"""Train the severity model (sev) of one condition; predict every cohort film's scores."""

import numpy as np
import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.cohort_data import cohort_images
from cxr_cbir.io_utils import write_csv
from cxr_cbir.models.multi_output import MultiOutputDenseNet
from cxr_cbir.severity_eval import long_predictions
from cxr_cbir.shards import save_arrays
from cxr_cbir.torch_utils import load_state_dict_file, pick_device, seed_everything, set_threads
from cxr_cbir.training.engine import finish
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
seed_everything(snakemake.params.seed)  # the random head too: same seed, same model
model = MultiOutputDenseNet(n_outputs=len(targets))
if snakemake.input.init:
    missing = load_state_dict_file(model, snakemake.input.init[0])
    log.info(
        "initialised from %s (%d tensors left at random)", snakemake.input.init[0], len(missing)
    )
train, val = split == "train", split == "validate"
model, history, scaler = train_severity(
    model, images[train], scores[train], images[val], scores[val],
    Recipe.from_rule(spec, snakemake.params, device),
)  # fmt: skip
kept = history.loc[history["kept"], "epoch"]
log.info("kept epoch %s of %d", kept.iloc[0] if len(kept) else "-", len(history))
predicted = scaler.inverse(predict_outputs(model, images, spec["batch_size"], device))
ids = cohort["image_id"].to_numpy(dtype=str)
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
history = history.assign(condition=snakemake.wildcards.condition, model="sev")
finish(
    model, history, snakemake.output.model, snakemake.output.history, snakemake.params.checkpoint
)
