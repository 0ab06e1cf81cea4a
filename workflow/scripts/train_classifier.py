"""Train the CNN, IG or ATT classifier of one condition; score it on validate and test."""

import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.models.predict import predict
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.classifier import choose_threshold, train_classifier
from cxr_cbir.training.cohort_data import cohort_images, cohort_maps, split_arrays
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.entry import TrainPaths, train
from cxr_cbir.training.scores import binary_metrics
from cxr_cbir.training.severity_head import SeverityAux

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
condition, kind = snakemake.wildcards.condition, snakemake.wildcards.model
spec = snakemake.params.train
cohort = pd.read_parquet(snakemake.input.cohort)
if kind == "ig":
    inputs = cohort_maps(cohort, snakemake.input.maps, snakemake.input.map_ids)
else:
    inputs = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
data = split_arrays(cohort, inputs)
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


def report(model, history):
    """Validation and test figures at the F1 threshold chosen on validation, and every
    held-out film's probability."""
    kept = history.loc[history["kept"], "epoch"]
    log.info("kept epoch %s of %d", kept.iloc[0] if len(kept) else "-", len(history))
    probs = {
        s: predict(model, data[s][0], snakemake.params.batch_size, device)
        for s in ("validate", "test")
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


train(
    "classifier",
    {"kind": kind},
    lambda model: train_classifier(
        model,
        *data["train"],
        *data["validate"],
        optimizer=spec["optimizer"],
        lr=spec["lr"],
        budget=Budget.from_config({**spec, "amp": snakemake.params.training["amp"]}),
        batch_size=snakemake.params.batch_size,
        seed=snakemake.params.seed,
        checkpoint=snakemake.params.checkpoint,
        device=device,
        workers=snakemake.params.training["workers"],
        severity=severity,
    ),
    TrainPaths.of_job(snakemake.output, snakemake.params, snakemake.input.init),
    seed=snakemake.params.seed,
    report=report,
    label={"condition": condition, "model": kind},
)
