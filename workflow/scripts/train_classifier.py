"""Train the CNN, IG or ATT classifier of one condition; score it on validate and test."""

import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.cohort_data import cohort_images, cohort_maps, split_arrays
from cxr_cbir.inference import predict
from cxr_cbir.io_utils import write_csv
from cxr_cbir.models import build_model
from cxr_cbir.torch_utils import (
    load_state_dict_file,
    pick_device,
    seed_everything,
    set_threads,
)
from cxr_cbir.training.classifier import choose_threshold, train_classifier
from cxr_cbir.training.engine import Budget, finish
from cxr_cbir.training.metrics import binary_metrics
from cxr_cbir.training.severity_head import SeverityAux

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
condition, kind = snakemake.wildcards.condition, snakemake.wildcards.model
train = snakemake.params.train
cohort = pd.read_parquet(snakemake.input.cohort)
if kind == "ig":
    inputs = cohort_maps(cohort, snakemake.input.maps, snakemake.input.map_ids)
else:
    inputs = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
data = split_arrays(cohort, inputs)
seed_everything(snakemake.params.seed)  # the random init too: same seed, same model
model = build_model(kind)
if snakemake.input.init:
    missing = load_state_dict_file(model, snakemake.input.init[0])
    log.info(
        "initialised from %s (%d tensors left at random)", snakemake.input.init[0], len(missing)
    )
log.info(
    "%s/%s on %s: train %d (pos %d), validate %d, test %d",
    condition,
    kind,
    device,
    len(data["train"][1]),
    int(data["train"][1].sum()),
    len(data["validate"][1]),
    len(data["test"][1]),
)
severity = SeverityAux.from_films(
    cohort[cohort["split"] == "train"],
    cohort[cohort["split"] == "validate"],
    snakemake.params.severity,
)
model, history = train_classifier(
    model,
    *data["train"],
    *data["validate"],
    optimizer=train["optimizer"],
    lr=train["lr"],
    budget=Budget.from_config({**train, "amp": snakemake.params.training["amp"]}),
    batch_size=snakemake.params.batch_size,
    seed=snakemake.params.seed,
    checkpoint=snakemake.params.checkpoint,
    device=device,
    workers=snakemake.params.training["workers"],
    severity=severity,
)
kept = history.loc[history["kept"], "epoch"]
log.info("kept epoch %s of %d", kept.iloc[0] if len(kept) else "-", len(history))
probs = {
    s: predict(model, data[s][0], snakemake.params.batch_size, device) for s in ("validate", "test")
}
# the F1 decision threshold is set on validation, then applied unchanged to test
threshold = choose_threshold(data["validate"][1], probs["validate"])
rows = []
for split in ("validate", "test"):
    m = binary_metrics(data[split][1], probs[split], threshold)
    rows.append(
        {"condition": condition, "model": kind, "split": split, **m, "threshold": threshold}
    )
    log.info("%s: %s (threshold %.3f)", split, m, threshold)
write_csv(pd.DataFrame(rows), snakemake.output.metrics)
held_out = cohort[cohort["split"].isin(["validate", "test"])]
predictions = pd.concat(
    [
        held_out.loc[held_out["split"] == s, ["image_id", "group", "split", "label"]].assign(
            prob=probs[s]
        )
        for s in ("validate", "test")
    ]
)
write_csv(predictions, snakemake.output.predictions)
finish(
    model,
    history.assign(condition=condition, model=kind),
    snakemake.output.model,
    snakemake.output.history,
    snakemake.params.checkpoint,
)
